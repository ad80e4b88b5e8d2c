"""Config flattening, differing parameters and summary rows for the compare view."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrstudio.core.compare import (
    MISSING,
    SUMMARY_COLUMNS,
    all_params,
    differing_params,
    flatten_config,
    format_duration,
    format_number,
    format_value,
    summary_row,
)
from lrstudio.core.config import RunConfig


def _cfg(**kw):
    return RunConfig(**kw).to_dict()


def test_flatten_run_config_has_dotted_keys():
    cfg = _cfg(
        lr=0.1,
        optimizer={"name": "adam", "params": {"beta1": 0.9, "beta2": 0.999}},
        schedule={"name": "linear_warmup",
                  "params": {"warmup_steps": 10, "inner": {"name": "cosine", "params": {"min_lr": 0.0}}}},
    )
    flat = flatten_config(cfg)
    assert flat["lr"] == 0.1
    assert flat["optimizer.name"] == "adam"
    assert flat["optimizer.params.beta1"] == 0.9
    assert flat["schedule.params.inner.name"] == "cosine"
    assert flat["schedule.params.inner.params.min_lr"] == 0.0
    assert flat["dataset.name"] == "windsor"
    assert flat["dataset.val_fraction"] == 0.2
    assert not any(isinstance(v, dict) for v in flat.values())


def test_flatten_lists_of_specs_and_of_values():
    flat = flatten_config({"schedule": {"name": "sequential", "params": {
        "schedules": [{"name": "constant", "params": {}}, {"name": "step", "params": {"milestones": [3, 6]}}],
        "boundaries": [100],
    }}})
    assert flat["schedule.params.schedules.0.name"] == "constant"
    assert flat["schedule.params.schedules.1.params.milestones"] == (3, 6)
    assert flat["schedule.params.boundaries"] == (100,)


def test_differing_params_lr_and_schedule_only():
    a = _cfg(name="a", lr=0.1, schedule={"name": "constant", "params": {}})
    b = _cfg(name="b", lr=0.01, schedule={"name": "cosine", "params": {"min_lr": 0.0}})
    # The run name is not a parameter; a key present in one config only differs.
    assert differing_params([a, b]) == ["lr", "schedule.name", "schedule.params.min_lr"]


def test_differing_params_identical_single_and_ignore():
    a = _cfg(lr=0.1)
    assert differing_params([a, dict(a)]) == []
    assert differing_params([a]) == []
    b = _cfg(lr=0.2, seed=3)
    assert differing_params([a, b], ignore=("lr",)) == ["seed"]
    assert differing_params([a, b], ignore=()) == ["lr", "seed"]


def test_differing_params_three_configs_and_bool_vs_int():
    a, b, c = _cfg(seed=1), _cfg(seed=1), _cfg(seed=2)
    assert differing_params([a, b, c]) == ["seed"]
    assert differing_params([{"x": True}, {"x": 1}]) == ["x"]
    assert differing_params([{"x": 1}, {"x": 1.0}]) == []


def test_all_params_skips_ignored_and_keeps_order():
    keys = all_params([_cfg(), _cfg(optimizer={"name": "adam", "params": {"beta1": 0.9}})])
    assert "name" not in keys and "schema_version" not in keys
    assert keys.index("model") < keys.index("dataset.name") < keys.index("optimizer.params.beta1")


def test_formatting():
    assert format_number(None) == ""
    assert format_number(0.0123456) == "0.01235"
    assert format_number(float("nan")) == "nan"
    assert format_number(float("-inf")) == "-inf"
    assert format_number(42) == "42"
    assert format_duration(None) == ""
    assert format_duration(4.25) == "4.2 s"
    assert format_duration(185) == "3 min 05 s"
    assert format_duration(7620) == "2 h 07 min"
    assert format_value(MISSING) == ""
    assert format_value((3, 6)) == "3, 6"
    assert format_value(1e-4) == "0.0001"


def test_summary_row_full_and_partial():
    info = SimpleNamespace(id=3, name="adam-cos", status="completed", final_loss=0.5, best_loss=0.25,
                           final_val_loss=0.6, best_val_loss=0.55, best_accuracy=0.9731, steps=1200,
                           duration_s=65.0)
    row = summary_row(info)
    assert len(row) == len(SUMMARY_COLUMNS)
    assert row == ["adam-cos", "completed", "0.5", "0.25", "0.6", "0.55", "97.3 %", "1200", "1 min 05 s"]
    partial = summary_row(SimpleNamespace(id=7, name="", status="running"))
    assert partial[0] == "run 7" and partial[2:] == [""] * 7


# -- loss kinds and the outlier range (issue 9) ---------------------------------------------------
def test_loss_kind_from_model_dataset_and_summary():
    from lrstudio.core.compare import LOSS_KINDS, loss_kind
    from lrstudio.core.config import DatasetConfig

    assert loss_kind(_cfg(model="cnn", dataset=DatasetConfig(name="digits"))) == "cross_entropy"
    assert loss_kind(_cfg()) == "mse_standardised"
    unscaled = _cfg(dataset=DatasetConfig(name="synthetic", unscaled=True))
    assert loss_kind(unscaled) == "mse_units"
    assert loss_kind(_cfg(), {"loss_units": "raw"}) == "mse_units"  # the run's own summary wins
    assert loss_kind(unscaled, {"loss_units": "standardised"}) == "mse_standardised"
    assert set(LOSS_KINDS) == {"cross_entropy", "mse_standardised", "mse_units"}


def _loss(n, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(1, n + 1)
    return 2.0 * np.exp(-t / (n / 5)) + 0.05 + 0.02 * rng.random(n)


def test_outlier_range_ignores_a_divergence_and_keeps_ordinary_curves_whole():
    from lrstudio.core.compare import outlier_range

    curves = [_loss(500, s) for s in range(9)]
    diverged = np.concatenate([_loss(500, 9)[:40], np.geomspace(3.0, 1e12, 10)])
    for log in (True, False):
        lo, hi = outlier_range([*curves, diverged], log=log)
        assert hi < 10.0  # the divergence (up to 1e12) is left out
        allv = np.concatenate(curves)
        assert lo == pytest.approx(allv.min())  # the ordinary curves' low end is shown
        if log:
            assert hi >= allv.max()  # in decades, the first steps' loss is inside the margin
    # Without outliers: the exact extent.
    assert outlier_range([np.linspace(1.0, 2.0, 100)]) == (1.0, 2.0)


def test_outlier_range_few_points_none_and_log_skips_non_positive():
    from lrstudio.core.compare import outlier_range

    assert outlier_range([np.array([1.0, 1e12])], log=True) is None  # too few points: show them all
    assert outlier_range([]) is None
    assert outlier_range([np.full(50, np.nan)]) is None
    values = np.concatenate([np.linspace(0.1, 1.0, 100), [0.0, -1.0, np.inf]])
    lo, hi = outlier_range([values], log=True)
    assert lo == pytest.approx(0.1) and hi == pytest.approx(1.0)
    with pytest.raises(ValueError, match="percentiles"):
        outlier_range([values], lower=99, upper=1)


@given(st.lists(st.floats(-1e6, 1e6), min_size=20, max_size=200),
       st.lists(st.floats(1e8, 1e15), min_size=0, max_size=2))
def test_outlier_range_is_inside_the_data_extent(values, spikes):
    from lrstudio.core.compare import outlier_range

    data = np.array(values + spikes)
    lo, hi = outlier_range([data])
    assert data.min() <= lo <= hi <= data.max()


def test_outlier_sample_keeps_the_true_extent_of_a_long_run():
    from lrstudio.core.compare import OUTLIER_SAMPLE, outlier_sample

    values = np.linspace(0.0, 1.0, 100_000)
    values[12_345] = 50.0  # a spike the stride misses
    parts = outlier_sample(values)
    assert sum(len(p) for p in parts) <= OUTLIER_SAMPLE + 2 + 2 * OUTLIER_SAMPLE // 100
    assert max(p.max() for p in parts) == 50.0 and min(p.min() for p in parts) == 0.0
    short = np.arange(10.0)
    assert len(outlier_sample(short)) == 1 and outlier_sample(short)[0] is not None
    assert len(outlier_sample(np.full(20_000, np.nan))) == 1  # all NaN: no extent to add


def test_loss_range_with_diverged_runs_left_out_shows_every_remaining_point():
    from lrstudio.core.compare import loss_range, outlier_range

    ordinary = [np.concatenate([np.linspace(1.0, 2.0, 200), [40.0]])]  # one spike
    assert loss_range(ordinary, log=False, diverged_left_out=True) == (1.0, 40.0)
    assert loss_range(ordinary, log=False, diverged_left_out=False) == outlier_range(ordinary)
    assert loss_range([], log=True, diverged_left_out=True) is None


def test_view_span_in_decades_from_zero_and_never_empty():
    from lrstudio.core.compare import lr_range, view_span

    assert view_span((1e-3, 1e-1), log=True) == pytest.approx((-3.0, -1.0))
    assert view_span((0.2, 0.5), log=False, from_zero=True) == (0.0, 0.5)
    assert view_span((0.2, 0.5), log=True, from_zero=True) == pytest.approx((np.log10(0.2), np.log10(0.5)))
    assert view_span((3.0, 3.0), log=False) == (2.5, 3.5)
    assert lr_range([np.array([0.1, 0.01])], log=False) == (0.01, 0.1)
