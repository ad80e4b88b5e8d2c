"""Schedule API: registry and declarations, spec validation and messages, JSON round trip,
run-length checks, conventions, the plateau fast path vs the step-by-step reference. Speed is
measured in bench/bench_schedules.py (ratios against torch's schedulers), not here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lrstudio.core.params import ParamError
from lrstudio.core.schedules import (
    SCHEDULES,
    PlateauState,
    ScheduleError,
    check_run_length,
    lr_curve,
    validate_spec,
)
from lrstudio.core.schedules.plateau import plateau_lrs, plateau_lrs_loop, plateau_lrs_reference

CATALOGUE = {
    "constant", "piecewise_constant", "step", "multistep", "exponential", "natural_exp", "inverse_time",
    "polynomial", "lambda", "multiplicative", "linear", "cosine", "cosine_restarts", "linear_cosine",
    "noisy_linear_cosine", "noam", "reduce_on_plateau", "linear_warmup", "factor", "multi_factor", "cyclic",
    "one_cycle", "sequential", "inverse_sqrt", "wsd",
    # issue 15
    "hf_linear", "hf_cosine", "hf_cosine_with_restarts", "hf_polynomial", "hf_constant_with_warmup",
    "hf_cosine_with_min_lr", "hf_cosine_warmup_with_min_lr", "timm_cosine", "timm_tanh", "timm_poly",
    "optax_warmup_cosine_decay", "optax_exponential_decay", "optax_piecewise_interpolate", "optax_linear_onecycle",
    "optax_cosine_onecycle", "optax_sgdr", "chained", "noise", "hf_warmup_stable_decay",
}


def test_catalogue_complete_and_declared():
    assert set(SCHEDULES) == CATALOGUE
    for name, info in SCHEDULES.items():
        assert info.name == name and info.title and info.source and info.formula
        assert info.doc and ("lr" in info.doc), name  # docstring states the formula
        for p in info.params:
            assert p.help, (name, p.name)
            # every default passes its own declaration
            assert p.coerce(p.default) == p.default or p.kind in ("schedule", "schedule_list")
    assert [n for n, i in SCHEDULES.items() if i.metric_driven] == ["reduce_on_plateau"]


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_default_spec_curve_and_json_round_trip(name):
    spec = validate_spec(name)
    assert spec["name"] == name and set(spec["params"]) == {p.name for p in SCHEDULES[name].params}
    again = validate_spec(json.loads(json.dumps(spec)))
    assert again == spec
    metrics = np.linspace(1, 0.5, 500) if SCHEDULES[name].metric_driven else None
    c = lr_curve(spec, 500, 0.1, metrics=metrics)
    assert c.dtype == np.float64 and c.shape == (500,)
    assert np.all(np.isfinite(c)) and np.all(c >= 0)
    assert len(lr_curve(spec, 0, 0.1)) == 0
    assert len(lr_curve(spec, 1, 0.1)) == 1


def test_element_i_is_the_value_after_i_steps():
    c = lr_curve({"name": "step", "params": {"step_size": 2, "gamma": 0.5}}, 5, 1.0)
    assert list(c) == [1.0, 1.0, 0.5, 0.5, 0.25]


@pytest.mark.parametrize("spec,param,words", [
    ({"name": "multistep", "params": {"milestones": [30, 20]}}, "milestones", "strictly increasing"),
    ({"name": "multistep", "params": {"milestones": [0, 20]}}, "milestones", "in [1, "),
    ({"name": "piecewise_constant", "params": {"boundaries": [10], "values": [1.0]}}, "values",
     "2 values for 1 boundaries"),
    ({"name": "step", "params": {"gamma": 0}}, "gamma", "in (0, 1]"),
    ({"name": "step", "params": {"gamma": -0.5}}, "gamma", "in (0, 1]"),
    ({"name": "step", "params": {"step_size": 0}}, "step_size", "in [1, "),
    ({"name": "cosine", "params": {"T_max": 0}}, "T_max", "in [1, "),
    ({"name": "cosine", "params": {"after_end": "loop"}}, "after_end", "one of 'rise', 'hold'"),
    ({"name": "lambda", "params": {"lr_lambda": "0.95 **"}}, "lr_lambda", "does not parse"),
    ({"name": "sequential", "params": {"milestones": [5, 6]}}, "milestones", "one milestone fewer"),
    ({"name": "sequential", "params": {"schedules": [{"name": "step"}, {"name": "cosine", "params": {"T_max": 0}}],
                                       "milestones": [3]}}, "schedules[1].T_max", "in [1, "),
    ({"name": "linear_warmup", "params": {"inner": {"name": "nope"}}}, "inner.name", "one of constant"),
    ({"name": "linear_warmup", "params": {"inner": "cosine"}}, "inner", "schedule spec"),
    ({"name": "one_cycle", "params": {"total_steps": 3, "pct_start": 0.2}}, "pct_start", "phases of positive"),
    ({"name": "reduce_on_plateau", "params": {"threshold": 1.5}}, "threshold", "[0, 1)"),
    ({"name": "step", "params": {"stepsize": 3}}, "stepsize", "one of the parameters"),
    ({"name": "nope"}, "name", "one of constant"),
    ({"name": "step", "params": [1]}, "params", "object"),
    ({"nam": "step"}, "nam", '"name" and "params"'),
    (17, "", "schedule spec"),
])
def test_validation_messages(spec, param, words):
    with pytest.raises(ScheduleError) as exc:
        validate_spec(spec)
    err = exc.value
    assert isinstance(err, ParamError) and isinstance(err, ValueError)
    assert err.param == param
    assert words in str(err)


def test_lr_curve_argument_checks():
    for bad in (-1, 1.5, True, "10", 10**12):
        with pytest.raises(ScheduleError, match="steps"):
            lr_curve("constant", bad, 0.1)
    for bad in (-0.1, float("nan"), float("inf"), "x", None):
        with pytest.raises(ScheduleError, match="base_lr"):
            lr_curve("constant", 5, bad)


def test_check_run_length():
    check_run_length({"name": "linear_warmup", "params": {"warmup_steps": 100}}, 100)
    with pytest.raises(ScheduleError, match=r"warmup_steps = 500 .*at most the run length \(100 steps\)"):
        check_run_length({"name": "linear_warmup", "params": {"warmup_steps": 500}}, 100)
    with pytest.raises(ScheduleError, match="num_warmup_steps"):
        check_run_length({"name": "wsd", "params": {"num_warmup_steps": 50}}, 10)
    with pytest.raises(ScheduleError, match="warmup_steps"):
        check_run_length({"name": "sequential", "params": {
            "schedules": [{"name": "constant"},
                          {"name": "linear_warmup", "params": {"warmup_steps": 80}}],
            "milestones": [50]}}, 100)
    with pytest.raises(ScheduleError, match="total_steps"):
        check_run_length("constant", 0)
    check_run_length("cosine", 1)


def test_nested_defaults_are_filled():
    spec = validate_spec({"name": "linear_warmup", "params": {"inner": {"name": "cosine"}}})
    assert spec["params"]["inner"]["params"]["T_max"] == 100
    seq = validate_spec("sequential")
    assert all("params" in s and s["params"] for s in seq["params"]["schedules"])


def test_sequential_and_warmup_with_zero_warmup():
    inner = {"name": "exponential", "params": {"gamma": 0.9}}
    np.testing.assert_array_equal(
        lr_curve({"name": "linear_warmup", "params": {"inner": inner, "warmup_steps": 0}}, 50, 0.1),
        lr_curve(inner, 50, 0.1),
    )
    one = lr_curve({"name": "sequential", "params": {"schedules": [inner], "milestones": []}}, 50, 0.1)
    np.testing.assert_array_equal(one, lr_curve(inner, 50, 0.1))


def test_total_steps_one():
    for name in CATALOGUE:
        c = lr_curve(name, 1, 0.1)
        assert c.shape == (1,)


# -- plateau: vectorised fast path == step-by-step reference ----------------------------------------
def _metrics(kind, n, rng):
    t = np.arange(n)
    if kind == "trend":
        return np.exp(-t / (n / 4)) + 0.05 * rng.standard_normal(n)
    if kind == "ties":
        return np.repeat(rng.integers(0, 5, n // 7 + 1), 7)[:n].astype(float)
    if kind == "flat":
        return np.ones(n)
    if kind == "decreasing":
        return 1.0 / (1 + t)
    if kind == "wild":
        m = rng.standard_normal(n) * 10
        m[rng.random(n) < 0.05] = np.nan
        m[rng.random(n) < 0.02] = np.inf
        return m
    raise AssertionError


@pytest.mark.parametrize("seed", range(6))
def test_plateau_fast_path_equals_reference(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        p = validate_spec({"name": "reduce_on_plateau", "params": {
            "mode": str(rng.choice(["min", "max"])),
            "factor": float(rng.choice([0.1, 0.5, 0.9])),
            "patience": int(rng.integers(0, 6)),
            "threshold": float(rng.choice([0.0, 1e-4, 0.05])),
            "threshold_mode": str(rng.choice(["rel", "abs"])),
            "cooldown": int(rng.choice([0, 0, 1, 3])),
            "min_lr": float(rng.choice([0.0, 1e-3])),
            "eps": float(rng.choice([0.0, 1e-8])),
            "cooldown_convention": str(rng.choice(["torch", "paddle"])),
        }})["params"]
        m = _metrics(str(rng.choice(["trend", "ties", "flat", "decreasing", "wild"])), int(rng.integers(1, 3000)), rng)
        if p["threshold_mode"] == "rel" and rng.random() < 0.7:
            m = np.abs(m)  # mostly the fast path; sometimes negative metrics (reference path)
        ref = plateau_lrs_reference(p, 0.1, m)
        np.testing.assert_array_equal(plateau_lrs(p, 0.1, m), ref)
        np.testing.assert_array_equal(plateau_lrs_loop(p, 0.1, m), ref)


def test_plateau_metrics_edge_cases():
    spec = {"name": "reduce_on_plateau", "params": {"patience": 0}}
    assert list(lr_curve(spec, 4, 0.1)) == [0.1] * 4  # no metrics: holds
    c = lr_curve(spec, 6, 1.0, metrics=[1.0, 2.0])  # past the metrics: holds
    assert list(c) == [1.0, 1.0, 0.1, 0.1, 0.1, 0.1]
    st = PlateauState(validate_spec(spec)["params"], 1.0)
    assert st.step(1.0) == 1.0 and st.step(2.0) == pytest.approx(0.1)


def test_plateau_100k_takes_the_fast_path_and_equals_the_reference(monkeypatch):
    from lrstudio.core.schedules import plateau

    rng = np.random.default_rng(0)
    n = 100_000
    m = np.abs(np.exp(-np.arange(n) / 20_000) + 0.01 * rng.standard_normal(n))  # a loss: >= 0
    spec = {"name": "reduce_on_plateau", "params": {"patience": 10, "cooldown": 5}}
    want = plateau_lrs_reference(validate_spec(spec)["params"], 0.1, m[: n - 1])
    slow = []
    monkeypatch.setattr(plateau, "plateau_lrs_loop", lambda *a: slow.append("loop"))
    monkeypatch.setattr(PlateauState, "step", lambda self, metric: slow.append("state"))
    got = lr_curve(spec, n, 0.1, metrics=m)
    assert slow == []  # no step-by-step path for a loss-like metric (bench_schedules: ~ms for 100k)
    assert 5 < np.unique(got).size < 100  # a curve with reductions, not a flat line
    np.testing.assert_array_equal(got[1:], want)
    assert got[0] == 0.1


def test_check_run_length_evaluates_the_curve_over_the_whole_run():
    # Negative from step 11 on: fine for a 10-step run, refused for a 100-step run, naming the step.
    spec = {"name": "lambda", "params": {"lr_lambda": "1 - epoch / 10.5"}}
    check_run_length(spec, 10)
    with pytest.raises(ScheduleError, match=r"learning rate at step 11 is -0\.0\d+; expected a finite number >= 0"):
        check_run_length(spec, 100)
    # Overflows late in the run (exp(t) > 1.8e308 from t = 710).
    with pytest.raises(ScheduleError, match="step 710 is inf"):
        check_run_length({"name": "lambda", "params": {"lr_lambda": "exp(epoch)"}}, 5000, base_lr=1.0)
    with pytest.raises(ScheduleError, match="linear_warmup.*step 31 is"):
        check_run_length({"name": "linear_warmup", "params": {
            "warmup_steps": 10, "inner": {"name": "lambda", "params": {"lr_lambda": "1 - epoch / 20.5"}}}}, 1000)
    with pytest.raises(ScheduleError, match="total_steps"):
        check_run_length("constant", 10**12)


def test_curve_error_names_its_schedule_once():
    with pytest.raises(ScheduleError) as info:
        lr_curve({"name": "lambda", "params": {"lr_lambda": "1 - epoch"}}, 10, 0.1)
    assert str(info.value).count("lambda") == 1, str(info.value)
    assert "(got" not in str(info.value)


def test_plateau_new_minima_equal_the_plain_running_minimum_scan():
    # issue 11: the blocked scan behind reduce_on_plateau's lr_curve gives the same candidates
    import math

    from lrstudio.core.schedules.plateau import _new_minima

    rng = np.random.default_rng(11)
    for _ in range(400):
        n = int(rng.integers(0, 5000))
        y = rng.standard_normal(n).cumsum() * rng.choice([1, -1])
        if n and rng.random() < 0.3:
            y = np.abs(y) + np.exp(-np.arange(n) / max(1, n / 8))  # a loss-like curve
        if n and rng.random() < 0.5:
            y[rng.integers(0, n, size=int(rng.integers(1, n + 1)))] = rng.choice([np.nan, np.inf, -np.inf, -0.0])
        if n and rng.random() < 0.2:
            y[: min(n, int(rng.integers(0, 700)))] = np.nan
        expected = np.flatnonzero(y < np.fmin.accumulate(np.concatenate(([math.inf], y[:-1]))))
        for block in (8, 64, 256):
            np.testing.assert_array_equal(_new_minima(y, block), expected)
