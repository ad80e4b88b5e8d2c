"""Config flattening, differing parameters and summary rows for the compare view."""

from __future__ import annotations

from types import SimpleNamespace

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
