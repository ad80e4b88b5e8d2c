"""The timm families against timm's own code, transcribed here (timm needs torchvision, which this
environment cannot install). Transcribed from huggingface/pytorch-image-models:

* timm/scheduler/cosine_lr.py  (CosineLRScheduler._get_lr, get_cycle_length; commit 7479d451)
* timm/scheduler/tanh_lr.py    (TanhLRScheduler.__init__ warm-up target, _get_lr; commit 6fc886ac)
* timm/scheduler/poly_lr.py    (PolyLRScheduler._get_lr; commit 7479d451)
* timm/scheduler/scheduler.py  (Scheduler._add_noise / _is_apply_noise)

Only the optimizer plumbing is left out: each reference returns ``_get_lr(t)`` for one param group
whose base LR is ``base``. timm's training loop calls ``step_update(num_updates)`` after each
update, so the LR of update t + 1 is ``_get_lr(t)`` (lrstudio's element t).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrstudio.core.schedules import lr_curve, schedule_fit
from lrstudio.core.schedules.fit import schedule_length

N = 400


# -- transcriptions (timm's code, optimizer plumbing removed) -------------------------------------
def _cycle(t, t_initial, cycle_mul):
    if cycle_mul != 1:
        i = math.floor(math.log(1 - t / t_initial * (1 - cycle_mul), cycle_mul))
        t_i = cycle_mul ** i * t_initial
        t_curr = t - (1 - cycle_mul ** i) / (1 - cycle_mul) * t_initial
    else:
        i = t // t_initial
        t_i = t_initial
        t_curr = t - (t_initial * i)
    return i, t_i, t_curr


def timm_cosine_ref(base, t_initial, lr_min=0., cycle_mul=1., cycle_decay=1., cycle_limit=1, warmup_t=0,
                    warmup_lr_init=0, warmup_prefix=False, k_decay=1.0):
    warmup_steps = (base - warmup_lr_init) / warmup_t if warmup_t else 1

    def _get_lr(t):
        if t < warmup_t:
            return warmup_lr_init + t * warmup_steps
        if warmup_prefix:
            t = t - warmup_t
        i, t_i, t_curr = _cycle(t, t_initial, cycle_mul)
        gamma = cycle_decay ** i
        lr_max = base * gamma
        k = k_decay
        if i < cycle_limit:
            return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * t_curr ** k / t_i ** k))
        return lr_min
    return _get_lr


def timm_poly_ref(base, t_initial, power=0.5, lr_min=0., cycle_mul=1., cycle_decay=1., cycle_limit=1, warmup_t=0,
                  warmup_lr_init=0, warmup_prefix=False, k_decay=1.0):
    warmup_steps = (base - warmup_lr_init) / warmup_t if warmup_t else 1

    def _get_lr(t):
        if t < warmup_t:
            return warmup_lr_init + t * warmup_steps
        if warmup_prefix:
            t = t - warmup_t
        i, t_i, t_curr = _cycle(t, t_initial, cycle_mul)
        gamma = cycle_decay ** i
        lr_max = base * gamma
        k = k_decay
        if i < cycle_limit:
            return lr_min + (lr_max - lr_min) * (1 - t_curr ** k / t_i ** k) ** power
        return lr_min
    return _get_lr


def timm_tanh_ref(base, t_initial, lb=-6., ub=4., t_mul=1., lr_min=0., decay_rate=1., warmup_t=0, warmup_lr_init=0,
                  warmup_prefix=False, cycle_limit=0):
    state = {"warmup_steps": 1}

    def _get_lr(t):
        if t < warmup_t:
            return warmup_lr_init + t * state["warmup_steps"]
        if warmup_prefix:
            t = t - warmup_t
        i, t_i, t_curr = _cycle(t, t_initial, t_mul)
        if cycle_limit == 0 or (cycle_limit > 0 and i < cycle_limit):
            gamma = decay_rate ** i
            lr_min_g = lr_min * gamma
            lr_max = base * gamma
            tr = t_curr / t_i
            return lr_min_g + 0.5 * (lr_max - lr_min_g) * (1 - math.tanh(lb * (1. - tr) + ub * tr))
        return lr_min * (decay_rate ** cycle_limit)

    if warmup_t:  # __init__: the warm-up rises to _get_lr(warmup_t) unless warmup_prefix
        t_v = base if warmup_prefix else _get_lr(warmup_t)
        state["warmup_steps"] = (t_v - warmup_lr_init) / warmup_t
    return _get_lr


def get_cycle_length(t_initial, cycle_mul, cycle_limit, warmup_t, warmup_prefix, cycles=0):
    cycles = max(1, cycles or cycle_limit)
    if cycle_mul == 1.0:
        t = t_initial * cycles
    else:
        t = int(math.floor(-t_initial * (cycle_mul ** cycles - 1) / (1 - cycle_mul)))
    return t + warmup_t if warmup_prefix else t


REFS = {"timm_cosine": timm_cosine_ref, "timm_poly": timm_poly_ref, "timm_tanh": timm_tanh_ref}

CASES = [
    ("timm_cosine", {"t_initial": 300}, 0.1),
    ("timm_cosine", {"t_initial": 50, "cycle_mul": 2.0, "cycle_decay": 0.5, "cycle_limit": 3, "warmup_t": 20,
                     "warmup_lr_init": 1e-4, "lr_min": 1e-5}, 0.1),
    ("timm_cosine", {"t_initial": 40, "cycle_mul": 1.5, "cycle_limit": 100, "warmup_t": 15, "warmup_prefix": True,
                     "k_decay": 2.0, "lr_min": 1e-4}, 0.05),
    ("timm_cosine", {"t_initial": 60, "cycle_decay": 0.8, "cycle_limit": 4, "k_decay": 0.5}, 0.3),
    ("timm_poly", {"t_initial": 300, "power": 0.5}, 0.1),
    ("timm_poly", {"t_initial": 70, "power": 2.0, "cycle_mul": 1.3, "cycle_decay": 0.7, "cycle_limit": 4,
                   "warmup_t": 10, "warmup_lr_init": 1e-3, "k_decay": 1.5, "lr_min": 2e-4}, 0.1),
    ("timm_poly", {"t_initial": 90, "power": 1.0, "cycle_limit": 3, "warmup_t": 25, "warmup_prefix": True}, 0.01),
    ("timm_tanh", {"t_initial": 300}, 0.1),
    ("timm_tanh", {"t_initial": 80, "lb": -4.0, "ub": 3.0, "t_mul": 1.5, "decay_rate": 0.5, "lr_min": 1e-4,
                   "warmup_t": 12, "warmup_lr_init": 1e-5, "cycle_limit": 3}, 0.1),
    ("timm_tanh", {"t_initial": 100, "warmup_t": 30, "warmup_prefix": True, "lr_min": 1e-3, "decay_rate": 0.9},
     0.05),
]


@pytest.mark.parametrize("name,params,base", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_equals_timm_get_lr(name, params, base):
    ref_fn = REFS[name](base, **params)
    raw = [ref_fn(t) for t in range(N)]
    got = lr_curve({"name": name, "params": params}, N, base)
    # timm's t_curr is -3e-14 at some cycle starts (cycle_mul != 1); with k_decay != 1 its LR is then
    # complex: lrstudio takes t_curr = 0 there (the cycle's peak), checked against the nearby value
    odd = [t for t, v in enumerate(raw) if isinstance(v, complex)]
    for t in odd:
        assert got[t] == pytest.approx(abs(raw[t]), rel=1e-9), t
    ref = np.asarray([abs(v) if isinstance(v, complex) else v for v in raw])
    np.testing.assert_allclose(got, ref, rtol=1e-9 if odd else 1e-13, atol=1e-17)
    keep = np.setdiff1d(np.arange(N), odd)
    np.testing.assert_allclose(got[keep], ref[keep], rtol=1e-13, atol=1e-17)
    # the same values at scattered steps (not a consecutive range) and far past the end
    from lrstudio.core.schedules import curve_at, validate_spec

    steps = np.asarray([0, 1, params.get("warmup_t", 0), 49, 50, 51, 123, 399, 5000, 12_345])
    far = curve_at(validate_spec({"name": name, "params": params}), steps, base)
    np.testing.assert_allclose(far, [ref_fn(int(s)) for s in steps], rtol=1e-13, atol=1e-17)


def test_cycle_boundaries_fall_where_timm_puts_them():
    # cycle_mul 2: cycles of 10, 20, 40, 80 steps start at 0, 10, 30, 70, 150; at a start the LR is the peak
    params = {"t_initial": 10, "cycle_mul": 2.0, "cycle_limit": 10}
    got = lr_curve({"name": "timm_cosine", "params": params}, 200, 1.0)
    ref = timm_cosine_ref(1.0, **params)
    for start in (10, 30, 70, 150):
        assert got[start] == pytest.approx(1.0) and got[start] == pytest.approx(ref(start), rel=1e-15)
        assert got[start - 1] < 0.1


@pytest.mark.parametrize("name,params,base", CASES[:7], ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES[:7])])
def test_own_length_is_timm_get_cycle_length(name, params, base):
    p = {"cycle_mul": 1.0, "cycle_limit": 1, "warmup_t": 0, "warmup_prefix": False, **params}
    assert schedule_length({"name": name, "params": params}) == get_cycle_length(
        p["t_initial"], p["cycle_mul"], p["cycle_limit"], p["warmup_t"], p["warmup_prefix"])


def test_fit_to_run_sets_equal_cycles_to_the_run():
    spec = {"name": "timm_cosine", "params": {"t_initial": 50, "cycle_limit": 2, "warmup_t": 10, "warmup_prefix": True}}
    rep = schedule_fit(spec, 1010)
    assert rep.fittable and rep.warnings
    from lrstudio.core.schedules import fit_to_run

    assert fit_to_run(spec, 1010)["params"]["t_initial"] == 500
