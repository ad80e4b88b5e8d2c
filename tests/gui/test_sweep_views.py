"""The sweep panel's numbers and plots (issue 13): the parameters offered, the trial list, the
parameter-against-metric points with their seed band, parallel coordinates; against numpy."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from lrstudio.core.config import RunConfig
from lrstudio.core.sweep import ExperimentSpec, summarise_trials
from lrstudio.gui.sweeps.space import (
    declared_parameters,
    default_dimension,
    metric_points,
    parallel_axes,
    planned_points,
    trial_rows,
)
from lrstudio.gui.sweeps.views import metric_key


def _run(rid, trial, seed, status="completed", best=None, **params):
    cfg = {"seed": seed, "lr": params.get("lr", 0.01),
           "optimizer": {"name": "adam", "params": {"beta1": params.get("beta1", 0.9)}}, "epochs": params.get("epochs", 1)}
    return SimpleNamespace(id=rid, trial=trial, status=status, config_dict=cfg, best_val_loss=best)


def _spec(**kw):
    base = RunConfig(model="linear", optimizer={"name": "adam", "params": {}})
    space = kw.pop("space", {"lr": {"log_uniform": [1e-3, 1.0]}})
    return ExperimentSpec(base=base, space=space, method=kw.pop("method", "random"), trials=kw.pop("trials", 4),
                          seeds=kw.pop("seeds", (0, 1, 2)), **kw).validated()


def test_the_form_s_parameters_are_offered_with_ranges_that_validate():
    cfg = RunConfig(model="linear", optimizer={"name": "adam", "params": {}},
                    schedule={"name": "cosine", "params": {}}, weight_decay=0.0)
    params = {p.path: p for p in declared_parameters(cfg)}
    for path in ("lr", "weight_decay", "epochs", "batch_size", "optimizer.name", "optimizer.params.beta1",
                 "schedule.name", "schedule.params.T_max", "dataset.val_fraction"):
        assert path in params, path
    assert "seed" not in params and "name" not in params
    assert default_dimension(params["lr"]) == {"log_uniform": [0.001, 0.1]}
    assert "log_uniform" in default_dimension(params["weight_decay"])  # LR-like even at 0
    # Every default range is a valid sweep of this config (the registries accept both ends).
    for p in params.values():
        ExperimentSpec(base=cfg, space={p.path: default_dimension(p)}, method="random", trials=2).validated()


def test_metric_points_and_the_seed_band_against_numpy():
    spec = _spec()
    values = {0: [1.0, 1.2, 0.8], 1: [0.5, 0.7, 0.3], 2: [2.0, 2.5, math.inf], 3: [None, None, None]}
    lrs = {0: 0.01, 1: 0.1, 2: 0.001, 3: 0.5}
    runs = [_run(10 * t + s, t, s, best=v, lr=lrs[t]) for t, vs in values.items() for s, v in enumerate(vs)]
    results = summarise_trials(spec, runs)
    for band in ("std", "minmax"):
        pts = metric_points(spec, results, "lr", band)
        # sorted by LR; trial 3 has no value; trial 2 has one seed without a finite value: it is
        # incomplete (2 of 3 seeds), not drawn as a trial mean and never the best
        assert pts.log_x and pts.trials == (0, 1)
        assert pts.incomplete == (2,)
        np.testing.assert_array_equal(pts.x, [0.01, 0.1])
        finite = [np.array([1.0, 1.2, 0.8]), np.array([0.5, 0.7, 0.3])]
        np.testing.assert_allclose(pts.mean, [a.mean() for a in finite], rtol=1e-15)
        lo = [a.mean() - a.std() for a in finite] if band == "std" else [a.min() for a in finite]
        hi = [a.mean() + a.std() for a in finite] if band == "std" else [a.max() for a in finite]
        np.testing.assert_allclose(pts.lo, lo, rtol=1e-15)
        np.testing.assert_allclose(pts.hi, hi, rtol=1e-15)
        assert pts.best == 1 and pts.seeds_x.size == 6
    rows = trial_rows(spec, results, runs, planned_points(spec, {}))
    assert [r.trial for r in rows] == [0, 1, 2, 3] and [r.seeds_done for r in rows] == [3, 3, 3, 3]


def test_trial_rows_fold_statuses_and_list_queued_points():
    spec = _spec(method="grid", space={"lr": [0.1, 0.01, 0.001]}, trials=None, seeds=(0, 1))
    runs = [_run(1, 0, 0, best=1.0, lr=0.1), _run(2, 0, 1, best=1.1, lr=0.1),
            _run(3, 1, 0, status="running", lr=0.01), _run(4, 1, 1, status="pruned", best=3.0, lr=0.01)]
    rows = trial_rows(spec, summarise_trials(spec, runs), runs, planned_points(spec, {}))
    assert [(r.trial, r.status, r.seeds_done) for r in rows] == [(0, "completed", 2), (1, "running", 1), (2, "queued", 0)]
    assert rows[2].params == {"lr": 0.001}
    failed = [_run(5, 0, 0, status="failed", lr=0.1), _run(6, 0, 1, best=1.0, lr=0.1)]
    assert trial_rows(spec, summarise_trials(spec, failed), failed)[0].status == "failed"


def test_a_cancelled_sweep_s_partial_trials_read_incomplete_and_are_not_drawn_as_results():
    # Cancelled with 3 seeds: trial 0 completed one seed (the others stopped, or never started),
    # trial 1 completed all three. Trial 0's one seed reads better (0.2) but is not its mean.
    spec = _spec(method="grid", space={"lr": [0.1, 0.01, 0.001]}, trials=None, seeds=(0, 1, 2))
    runs = [_run(1, 0, 0, best=0.2, lr=0.1), _run(2, 0, 1, status="stopped", best=0.1, lr=0.1),
            _run(3, 1, 0, best=1.0, lr=0.01), _run(4, 1, 1, best=1.2, lr=0.01), _run(5, 1, 2, best=0.8, lr=0.01),
            _run(6, 2, 0, best=0.3, lr=0.001)]
    results = summarise_trials(spec, runs)
    rows = trial_rows(spec, results, runs, planned_points(spec, {}), sweep_running=False)
    assert [(r.trial, r.status, r.seeds_done, r.seeds) for r in rows] == [
        (0, "stopped", 1, 3), (1, "completed", 3, 3), (2, "incomplete", 1, 3)]
    assert [(r.mean, r.partial_mean) for r in rows] == [(None, 0.2), (pytest.approx(1.0), None), (None, 0.3)]
    # while the sweep runs, a trial whose other seeds have not started is running, not incomplete
    live = trial_rows(spec, results, runs, planned_points(spec, {}), sweep_running=True)
    assert live[2].status == "running"
    pts = metric_points(spec, results, "lr")
    assert pts.trials == (1,) and pts.best == 0 and pts.incomplete == (0, 2)
    assert "2 incomplete trials not drawn" in metric_key(pts, "std")
    axes = parallel_axes(spec, results)
    assert axes.trials == (1,) and axes.incomplete == (0, 2)


def test_parallel_axes_normalise_each_parameter_and_the_metric():
    space = {"lr": {"log_uniform": [1e-3, 1.0]}, "optimizer.params.beta1": {"uniform": [0.8, 0.99]},
             "epochs": {"int": [1, 5]}}
    spec = _spec(space=space, seeds=(0,))
    pts = [(0.001, 0.8, 1, 2.0), (1.0, 0.99, 5, 1.0), (0.031622776601683794, 0.895, 3, 1.5)]
    runs = [_run(i + 1, i, 0, best=m, lr=lr, beta1=b, epochs=e) for i, (lr, b, e, m) in enumerate(pts)]
    runs[0].config_dict["epochs"] = 1
    axes = parallel_axes(spec, summarise_trials(spec, runs))
    assert axes.names == ("lr", "optimizer.params.beta1", "epochs", "best_val_loss")
    by_trial = dict(zip(axes.trials, axes.lines, strict=True))
    np.testing.assert_allclose(by_trial[0], [0.0, 0.0, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(by_trial[1], [1.0, 1.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(by_trial[2], [0.5, 0.5, 0.5, 0.5], atol=1e-12)
    assert axes.ranges[0] == ("0.001", "1") and axes.ranges[3] == ("1", "2")


@pytest.mark.usefixtures("qapp")
def test_parallel_view_draws_a_line_per_trial_coloured_by_the_metric():
    from lrstudio.gui.sweeps.views import ParallelView

    space = {"lr": {"log_uniform": [1e-3, 1.0]}, "optimizer.params.beta1": {"uniform": [0.8, 0.99]},
             "epochs": {"int": [1, 5]}}
    spec = _spec(space=space, seeds=(0,))
    runs = [_run(i + 1, i, 0, best=m, lr=lr, beta1=0.9, epochs=2) for i, (lr, m) in
            enumerate([(0.01, 3.0), (0.1, 1.0), (0.3, 2.0)])]
    axes = parallel_axes(spec, summarise_trials(spec, runs))
    view = ParallelView()
    view.show(axes)
    assert len(view.lines) == 3
    for line, row in zip(view.lines, axes.lines, strict=True):
        np.testing.assert_allclose(line.getData()[1], row)
    colours = {float(m): line.opts["pen"].color().name() for m, line in zip(axes.metric, view.lines, strict=True)}
    assert colours[1.0] == view.cmap.map(0.0, mode="qcolor").name()  # low metric: the map's dark end
    assert colours[3.0] == view.cmap.map(1.0, mode="qcolor").name()


@pytest.mark.usefixtures("qapp")
def test_the_metric_view_joins_trials_only_when_one_parameter_is_swept():
    # With a second swept parameter, neighbours along lr differ in beta1 too: a line and a band
    # through them drew a curve of lr that the sweep did not measure. Each trial then gets its
    # own seed bar; with one parameter the line and the band stay.
    import pyqtgraph as pg

    from lrstudio.gui.sweeps.views import MetricView, metric_key

    runs = [_run(10 * t + s, t, s, best=v, lr=lr, beta1=b) for t, (lr, b, vs) in
            enumerate([(0.01, 0.8, (1.0, 1.2)), (0.1, 0.95, (0.5, 0.7)), (0.03, 0.9, (2.0, 2.5))])
            for s, v in enumerate(vs)]
    two = _spec(space={"lr": {"log_uniform": [1e-3, 1.0]}, "optimizer.params.beta1": {"uniform": [0.8, 0.99]}},
                seeds=(0, 1))
    view = MetricView()
    view.show(metric_points(two, summarise_trials(two, runs), "lr"), "lr", "best_val_loss",
              connect=False)
    assert view.band_item is None and view.mean_item.opts["pen"] is None
    bars = [i for i in view.plot.getPlotItem().items if isinstance(i, pg.ErrorBarItem)]
    assert len(bars) == 1 and len(bars[0].opts["x"]) == 3
    np.testing.assert_allclose(bars[0].opts["top"] + bars[0].opts["y"], view.points.hi, rtol=1e-15)
    one = _spec(seeds=(0, 1))
    view.show(metric_points(one, summarise_trials(one, runs), "lr"), "lr", "best_val_loss")
    assert view.band_item is not None and view.mean_item.opts["pen"] is not None
    assert not [i for i in view.plot.getPlotItem().items if isinstance(i, pg.ErrorBarItem)]
    assert "bars: mean ± std" in metric_key(view.points, "std", connect=False)
