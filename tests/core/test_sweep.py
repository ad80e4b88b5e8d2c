"""The sweep spec (issue 13): validation messages, deterministic trials, JSON round trip."""

from __future__ import annotations

import math

import pytest

from lrstudio.core.config import RunConfig
from lrstudio.core.params import ParamError
from lrstudio.core.sweep import ExperimentSpec, parse_dimension, summarise_trials


def spec(**kw):
    base = dict(base=RunConfig(model="linear", epochs=3), space={"lr": {"log_uniform": [1e-4, 1.0]}},
                method="random", trials=5, seeds=(0, 1))
    base.update(kw)
    return ExperimentSpec(**base)


def test_random_trials_are_deterministic_by_sweep_seed_and_independent_of_the_count():
    a = spec(sweep_seed=3).validated().points()
    b = spec(sweep_seed=3, trials=8).validated().points()
    c = spec(sweep_seed=4).validated().points()
    assert a == b[:5]
    assert a != c
    assert all(1e-4 <= p["lr"] <= 1.0 for p in a)


def test_grid_over_two_dimensions_in_order():
    s = spec(method="grid", trials=None, space={"lr": [0.1, 0.01], "schedule.name": ["constant", "cosine"],
                                                "epochs": {"int": [2, 3]}}).validated()
    pts = s.points()
    assert len(pts) == s.n_trials() == 8
    assert pts[0] == {"lr": 0.1, "schedule.name": "constant", "epochs": 2}
    assert pts[1] == {"lr": 0.1, "schedule.name": "constant", "epochs": 3}
    grid = spec(method="grid", trials=None, space={"lr": {"log_uniform": [1e-3, 1e-1], "num": 3}}).validated()
    assert [round(p["lr"], 12) for p in grid.points()] == [1e-3, 1e-2, 1e-1]


def test_config_for_sets_nested_paths_and_the_seed():
    s = spec(base=RunConfig(optimizer={"name": "adam", "params": {}}, schedule={"name": "cosine", "params": {"T_max": 10}}),
             space={"optimizer.params.beta1": {"uniform": [0.8, 0.95]}, "schedule.params.T_max": {"int": [5, 50]},
                    "weight_decay": {"choice": [0.0, 0.01]}}).validated()
    p = s.points()[0]
    cfg = s.config_for(p, seed=7, trial=0)
    assert cfg.seed == 7 and cfg.optimizer["params"]["beta1"] == p["optimizer.params.beta1"]
    assert cfg.schedule["params"]["T_max"] == p["schedule.params.T_max"]
    assert "#0" in cfg.name


@pytest.mark.parametrize("kw,field,words", [
    ({"method": "bayes"}, "method", "grid, random, optuna"),
    ({"metric": "loss"}, "metric", "best_val_loss"),
    ({"space": {"seed": [1, 2]}}, "space", "seeds"),
    ({"space": {"lrr": [1, 2]}}, "space", "run field"),
    ({"space": {"lr": {"log_uniform": [0, 1]}}}, "lr", "0 < low"),
    ({"space": {"lr": {"normal": [0, 1]}}}, "lr", "log_uniform"),
    ({"space": {"optimizer.params.nope": [1, 2]}}, "nope", ""),
    ({"space": {"lr": [-1.0, 0.1]}}, "lr", ""),
    ({"trials": None}, "trials", "number of trials"),
    ({"seeds": (1, 1)}, "seeds", "distinct"),
    ({"prune": True}, "prune", "optuna"),
    ({"sampler": "magic", "method": "optuna"}, "sampler", "tpe"),
    ({"method": "grid", "trials": None, "space": {"lr": {"uniform": [0.1, 1]}}}, "lr", "num"),
])
def test_bad_specs_say_what_is_wrong_and_what_is_allowed(kw, field, words):
    with pytest.raises(ParamError) as info:
        spec(**kw).validated()
    msg = str(info.value)
    assert field in msg and words in msg and "allowed" in msg


def test_json_round_trip_and_version():
    s = spec(method="optuna", prune=True, pruner="median", sampler="tpe", name="x").validated()
    again = ExperimentSpec.from_json(s.to_json()).validated()
    assert again == s and again.to_dict()["spec_version"] == 1
    data = s.to_dict()
    data["spec_version"] = 2
    with pytest.raises(ParamError, match="newer lrstudio"):
        ExperimentSpec.from_dict(data)
    data["spec_version"] = 1
    data["extra"] = 1
    with pytest.raises(ParamError, match="known sweep field"):
        ExperimentSpec.from_dict(data)


def test_int_dimension_samples_stay_in_range():
    import numpy as np

    d = parse_dimension("epochs", {"int": [1, 100], "log": True})
    rng = np.random.default_rng(0)
    vals = [d.sample(rng) for _ in range(500)]
    assert min(vals) >= 1 and max(vals) <= 100 and all(isinstance(v, int) for v in vals)


class R:
    def __init__(self, id, trial, seed, status, best_val_loss, lr):
        self.id, self.trial, self.status, self.best_val_loss = id, trial, status, best_val_loss
        self.config_dict = {"seed": seed, "lr": lr}


def test_summarise_trials_sorted_by_metric_latest_finished_run_counts():
    s = spec().validated()
    runs = [R(1, 0, 0, "completed", 2.0, 0.1), R(2, 0, 1, "completed", 4.0, 0.1),
            R(3, 1, 0, "interrupted", None, 0.2), R(4, 1, 0, "completed", 1.0, 0.2),
            R(5, 1, 1, "diverged", math.inf, 0.2)]
    rows = summarise_trials(s, runs)
    assert [r.trial for r in rows] == [0, 1]
    assert rows[0].mean == 3.0 and rows[0].std == 1.0 and rows[0].params == {"lr": 0.1}
    # A seed that diverged: the trial is not ranked (its other seed alone would read best).
    assert rows[1].run_ids == (4, 5) and rows[1].mean is None and rows[1].status == "diverged"


@pytest.mark.parametrize("status", ["pruned", "diverged", "failed"])
def test_a_trial_with_a_seed_that_did_not_complete_has_no_mean_and_is_never_best(status):
    # A pruned or diverged run's metric is a partial one (the best val loss before it stopped);
    # averaged with the other seed it made the trial look best (1.5 < 2.0 here).
    s = spec().validated()
    runs = [R(1, 0, 0, "completed", 2.0, 0.1), R(2, 0, 1, "completed", 2.0, 0.1),
            R(3, 1, 0, "completed", 2.5, 0.2), R(4, 1, 1, status, 0.5, 0.2)]
    rows = summarise_trials(s, runs)
    assert [r.trial for r in rows] == [0, 1]
    assert rows[0].mean == 2.0 and rows[1].status == status
    assert (rows[1].mean, rows[1].std, rows[1].min, rows[1].max) == (None, None, None, None)
    assert rows[1].values == (2.5,)  # only the completed seed's value is listed


def test_a_path_through_a_missing_object_is_a_clear_error():
    with pytest.raises(ParamError, match="not an object there"):
        spec(space={"schedule.params.inner.name": ["cosine"]}).validated()


def test_a_path_below_a_plain_run_field_names_that_field():
    # 'lr.x' was refused with "a path starting with a run field, ...", which lr is.
    with pytest.raises(ParamError, match="lr is a run field with no parts"):
        spec(space={"lr.x": [1]}).validated()


def test_a_trial_missing_seeds_has_no_mean_says_n_of_n_and_is_never_best():
    # A cancelled sweep: trial 0 finished one seed (0.5) and its other was stopped; trial 1 finished
    # one seed (0.4) and its other never started; trial 2 finished both (mean 1.1). The partial
    # trials read better but are one seed each: they are not ranked (Optuna ranks only COMPLETE
    # trials), and say how many of their seeds finished.
    s = spec(trials=3).validated()
    runs = [R(1, 0, 0, "completed", 0.5, 0.1), R(2, 0, 1, "stopped", 0.3, 0.1),
            R(3, 1, 0, "completed", 0.4, 0.2),
            R(4, 2, 0, "completed", 1.0, 0.3), R(5, 2, 1, "completed", 1.2, 0.3)]
    rows = summarise_trials(s, runs)
    assert [r.trial for r in rows] == [2, 0, 1]
    best = rows[0]
    assert best.complete and best.mean == pytest.approx(1.1) and (best.n_done, best.n_seeds) == (2, 2)
    t0, t1 = rows[1], rows[2]
    assert (t0.mean, t0.std, t0.min, t0.max) == (None, None, None, None)
    assert not t0.complete and (t0.n_done, t0.n_seeds) == (1, 2) and t0.values == (0.5,)
    assert t0.partial_mean == 0.5 and t0.status == "stopped"
    assert not t1.complete and t1.mean is None and (t1.n_done, t1.n_seeds) == (1, 2)
    assert t1.status == "incomplete" and t1.partial_mean == 0.4
    assert best.partial_mean is None  # a complete trial has its mean, not a partial one
