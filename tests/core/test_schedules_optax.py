"""The optax families against optax itself (installed with jax; float64 through jax_enable_x64).

optax's ``schedule(count)`` is the LR of the update after ``count`` updates, lrstudio's element
``count``. Each case covers >= 300 steps: t = 0, the warm-up's end, the boundaries / cycle ends and
past the end.
"""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")

from lrstudio.core.schedules import ScheduleError, lr_curve, validate_spec  # noqa: E402

N = 420


@pytest.fixture(autouse=True)
def x64():
    old = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", old)


def optax_curve(schedule, n: int = N) -> np.ndarray:
    counts = jax.numpy.arange(n, dtype=jax.numpy.int64)
    out = np.asarray(jax.vmap(schedule)(counts), dtype=np.float64)
    assert out.dtype == np.float64
    return out


def _wcd(base, p):
    return optax.warmup_cosine_decay_schedule(
        init_value=p.get("init_value", 0.0), peak_value=base if p.get("peak_value") is None else p["peak_value"],
        warmup_steps=p.get("warmup_steps", 10), decay_steps=p.get("decay_steps", 1000),
        end_value=p.get("end_value", 0.0), exponent=p.get("exponent", 1.0))


CASES = [
    ("optax_warmup_cosine_decay", {"warmup_steps": 30, "decay_steps": 300, "init_value": 1e-4, "end_value": 1e-5},
     0.1, _wcd),
    ("optax_warmup_cosine_decay", {"warmup_steps": 0, "decay_steps": 350, "exponent": 2.5, "end_value": 1e-3}, 0.05,
     _wcd),
    ("optax_warmup_cosine_decay", {"warmup_steps": 45, "decay_steps": 260, "peak_value": 0.2, "exponent": 0.5}, 0.1,
     _wcd),
    ("optax_exponential_decay", {"transition_steps": 50, "decay_rate": 0.5, "transition_begin": 40}, 0.1,
     lambda b, p: optax.exponential_decay(b, **p)),
    ("optax_exponential_decay", {"transition_steps": 30, "decay_rate": 0.7, "staircase": True, "end_value": 0.01},
     0.2, lambda b, p: optax.exponential_decay(b, **p)),
    ("optax_exponential_decay", {"transition_steps": 40, "decay_rate": 1.5, "transition_begin": 10,
                                 "end_value": 0.5}, 0.1, lambda b, p: optax.exponential_decay(b, **p)),
    ("optax_piecewise_interpolate", {"interpolate_type": "linear", "boundaries": [50, 120, 121, 300],
                                     "scales": [2.0, 0.1, 0.5, 0.01]}, 0.1,
     lambda b, p: optax.piecewise_interpolate_schedule(p["interpolate_type"], b, dict(zip(p["boundaries"],
                                                                                          p["scales"])))),
    ("optax_piecewise_interpolate", {"interpolate_type": "cosine", "boundaries": [0, 80, 250], "scales": [1.0, 3.0, 0.05]},
     0.01, lambda b, p: optax.piecewise_interpolate_schedule(p["interpolate_type"], b, dict(zip(p["boundaries"],
                                                                                                p["scales"])))),
    ("optax_linear_onecycle", {"transition_steps": 300}, 0.1,
     lambda b, p: optax.linear_onecycle_schedule(p["transition_steps"], b)),
    ("optax_linear_onecycle", {"transition_steps": 333, "pct_start": 0.2, "pct_final": 0.7, "div_factor": 10.0,
                               "final_div_factor": 100.0}, 0.05,
     lambda b, p: optax.linear_onecycle_schedule(peak_value=b, **p)),
    ("optax_cosine_onecycle", {"transition_steps": 300}, 0.1,
     lambda b, p: optax.cosine_onecycle_schedule(p["transition_steps"], b)),
    ("optax_cosine_onecycle", {"transition_steps": 257, "pct_start": 0.45, "div_factor": 5.0,
                               "final_div_factor": 50.0}, 0.3,
     lambda b, p: optax.cosine_onecycle_schedule(peak_value=b, **p)),
]


def _sgdr_kwargs(base, cycles):
    return [{"init_value": c.get("init_value", 0.0), "peak_value": base if c.get("peak_value") is None
             else c["peak_value"], "warmup_steps": c.get("warmup_steps", 10), "decay_steps": c["decay_steps"],
             "end_value": c.get("end_value", 0.0), "exponent": c.get("exponent", 1.0)} for c in cycles]


SGDR = [
    [{"warmup_steps": 10, "decay_steps": 100}, {"warmup_steps": 5, "decay_steps": 150, "end_value": 1e-4},
     {"warmup_steps": 0, "decay_steps": 60, "peak_value": 0.03}],
    [{"warmup_steps": 20, "decay_steps": 90, "init_value": 1e-3, "exponent": 2.0},
     {"warmup_steps": 20, "decay_steps": 90, "peak_value": 0.05, "init_value": 1e-3}],
]


@pytest.mark.parametrize("name,params,base,make", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_equals_optax(name, params, base, make):
    ref = optax_curve(make(base, params))
    got = lr_curve({"name": name, "params": params}, N, base)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-18)
    assert got[0] == pytest.approx(ref[0], rel=1e-15, abs=0)
    assert got[-1] == pytest.approx(ref[-1], rel=1e-13, abs=1e-18)  # past the end


@pytest.mark.parametrize("cycles", SGDR, ids=["three", "two"])
def test_sgdr_equals_optax(cycles):
    base = 0.1
    ref = optax_curve(optax.sgdr_schedule(_sgdr_kwargs(base, cycles)))
    spec = {"name": "optax_sgdr", "params": {"cycles": [{"name": "optax_warmup_cosine_decay", "params": c}
                                                        for c in cycles]}}
    got = lr_curve(spec, N, base)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-18)
    # cycle boundaries: each cycle starts at its init value
    b = np.cumsum([c["decay_steps"] for c in cycles])[:-1]
    for start, c in zip(b, cycles[1:]):
        assert got[start] == pytest.approx(c.get("init_value", 0.0) if c.get("warmup_steps", 10) else
                                           (c.get("peak_value") or base))


def test_sgdr_takes_only_warm_cosine_cycles():
    with pytest.raises(ScheduleError, match="optax_warmup_cosine_decay"):
        validate_spec({"name": "optax_sgdr", "params": {"cycles": [{"name": "cosine"}]}})


def test_warmup_cosine_needs_decay_after_warmup_as_optax_does():
    with pytest.raises(ScheduleError, match="decay_steps"):
        validate_spec({"name": "optax_warmup_cosine_decay", "params": {"warmup_steps": 50, "decay_steps": 50}})
