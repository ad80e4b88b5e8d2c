"""Edge values of every declaration, tried systematically (issue 15, second pass).

The property tests draw parameters at random and once found optax_cosine_onecycle's
``div_factor = 5e-324`` giving NaN at step 0; a random draw finds such a value rarely. Here every
schedule is tried with each parameter, alone and all together, at the ends of what its declaration
accepts (the bounds, the next float inside them, denormals, 1e-300, huge values), lengths given as
shares of the run that resolve to 0 or 1 step on short runs, and base LRs from 0 to 1e12. Each spec
is either refused with a ScheduleError that names a parameter and says what is allowed, or gives a
finite curve >= 0 at every run length tried. Nothing else (no NaN, no ZeroDivisionError).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from lrstudio.core.params import Param
from lrstudio.core.schedules import SCHEDULES, ScheduleError, lr_curve, validate_spec

NAMES = sorted(n for n, i in SCHEDULES.items()
               if not i.metric_driven and not any(p.kind == "expr" for p in i.params))
BASE_LRS = (0.0, 1e-30, 1e-6, 1.0, 1e12)
RUNS = (0, 1, 2, 3, 7, 301)


def _float_edges(p: Param) -> list[float]:
    lo = -1e6 if p.low is None else float(p.low)
    hi = 1e6 if p.high is None else float(p.high)
    out = [math.nextafter(lo, math.inf), math.nextafter(hi, -math.inf), 5e-324, 1e-300, 1e-12, 1.0, 0.5]
    if not p.low_open:
        out.append(lo)
    if not p.high_open:
        out.append(hi)
    return [v for v in out if (lo < v or (v == lo and not p.low_open)) and (v < hi or (v == hi and not p.high_open))]


def _int_edges(p: Param) -> list[Any]:
    lo = 0 if p.low is None else math.ceil(p.low + (1 if p.low_open else 0))
    hi = 10**9 if p.high is None else math.floor(p.high - (1 if p.high_open else 0))
    out: list[Any] = [v for v in {lo, lo + 1, 1, 2, hi} if lo <= v <= hi]
    if p.is_length:
        out += ["auto", "0.001%", "1%", "50%", "1000%"]
    return out


def _edges(p: Param) -> list[Any]:
    if p.kind == "float":
        vals: list[Any] = _float_edges(p)
        return [*vals, None] if p.optional else vals
    if p.kind == "int":
        vals = _int_edges(p)
        return [*vals, None] if p.optional else vals
    if p.kind == "float_list":
        return [[v] * max(p.min_len, 2) for v in _float_edges(p)]
    if p.kind == "int_list":
        lo = 0 if p.low is None else math.ceil(p.low)
        one = [[v] for v in _int_edges(p)]
        return [*one, [lo, lo + 1], [lo + 1, "1%"], ["0.001%", "auto"], [1, 2, 3], []]
    if p.kind in ("choice",):
        return list(p.choices)
    if p.kind == "bool":
        return [False, True]
    return []


def _specs(name: str) -> list[dict[str, Any]]:
    info = SCHEDULES[name]
    specs: list[dict[str, Any]] = [{"name": name, "params": {}}]
    for p in info.params:
        specs += [{"name": name, "params": {p.name: v}} for v in _edges(p)]
    floats = [p for p in info.params if p.kind == "float"]
    for pick in (0, 1, 2, 3):  # every float parameter at once: its low end, its high end, denormal, 1e-300
        params = {}
        for p in floats:
            e = _float_edges(p)
            want = [min(e), max(e), 5e-324, 1e-300][pick]
            params[p.name] = want if want in e else min(e, key=lambda v, w=want: abs(v - w))
        specs.append({"name": name, "params": params})
    for a in floats:  # each pair of float parameters at opposite ends (peak tiny, end value huge...)
        for b in floats:
            if a is not b:
                ea, eb = _float_edges(a), _float_edges(b)
                tiny = min((v for v in ea if v > 0), default=min(ea))
                specs.append({"name": name, "params": {a.name: tiny, b.name: max(eb)}})
    ints = [p for p in info.params if p.kind == "int" and p.is_length]
    for share in ("0.001%", "auto", "1000%"):  # every length the same share of the run
        specs.append({"name": name, "params": {p.name: share for p in ints}})
    return specs


def _check(spec: dict[str, Any]) -> None:
    try:
        norm = validate_spec(spec)
    except ScheduleError as exc:
        assert str(exc) and exc.allowed, spec
        return
    for n in RUNS:
        for base in BASE_LRS:
            try:
                c = lr_curve(norm, n, base)
            except ScheduleError as exc:
                # only a share that does not fit this run may be refused, and the message says so
                assert "in a run of" in str(exc), (spec, n, base, str(exc))
                continue
            assert c.shape == (n,)
            bad = ~np.isfinite(c) | (c < 0)
            assert not bad.any(), (spec, n, base, c[bad][:3], int(np.argmax(bad)))


@pytest.mark.parametrize("name", NAMES)
def test_every_accepted_edge_value_gives_a_finite_curve(name):
    for spec in _specs(name):
        _check(spec)


@pytest.mark.parametrize("base_lr", [5e-324, 1e-310, 9.9e-31])
def test_a_base_lr_too_small_to_divide_by_is_refused(base_lr):
    """Schedules with absolute values (an end value, a minimum LR) divide by the base LR (HF's
    polynomial, optax's alpha, a chained factor): a denormal base LR made them inf. lr_curve
    refuses base LRs between 0 and 1e-30 and says what it takes; 0 and 1e-30 are curves."""
    with pytest.raises(ScheduleError, match=r"0, or a finite number in \[1e-30, 1e12\]"):
        lr_curve({"name": "hf_polynomial"}, 10, base_lr)
    assert lr_curve({"name": "hf_polynomial"}, 10, 0.0).tolist() == [0.0] * 10
    assert np.isfinite(lr_curve({"name": "hf_polynomial"}, 10, 1e-30)).all()


@pytest.mark.parametrize("name", sorted(n for n in NAMES if not any(
    p.kind in ("schedule", "schedule_list") for p in SCHEDULES[n].params)))
@pytest.mark.parametrize("wrapper", ["linear_warmup", "sequential", "continue", "chained", "noise"])
def test_edge_values_inside_the_nesting_schedules(name, wrapper):
    """The same edges as a nested child (a warm-up's inner, a sequential's second child, a
    chained factor, the noise wrapper's inner): a nesting schedule adds no NaN of its own."""
    for child in _specs(name)[::3]:
        if wrapper == "linear_warmup":
            spec = {"name": wrapper, "params": {"inner": child, "warmup_steps": 2}}
        elif wrapper == "sequential":
            spec = {"name": wrapper, "params": {"schedules": [{"name": "constant"}, child], "milestones": [1]}}
        elif wrapper == "continue":  # torch's SequentialLR: the child continues from the LR it finds
            spec = {"name": "sequential", "params": {"schedules": [{"name": "exponential"}, child],
                                                     "milestones": [2], "recursive": "continue"}}
        elif wrapper == "chained":
            spec = {"name": wrapper, "params": {"schedules": [child, {"name": "exponential"}]}}
        else:
            spec = {"name": wrapper, "params": {"inner": child, "noise_range_t": [1]}}
        _check(spec)


def test_the_refusals_say_what_is_allowed():
    from lrstudio.core.config import RunConfig

    with pytest.raises(ScheduleError, match=r"div_factor = 5e-324 is not allowed; expected a number in \[1e-06, 1000000\]"):
        validate_spec({"name": "optax_cosine_onecycle", "params": {"div_factor": 5e-324}})
    with pytest.raises(ScheduleError, match=r"final_div_factor"):
        validate_spec({"name": "optax_linear_onecycle", "params": {"final_div_factor": 1e-7}})
    with pytest.raises(ScheduleError, match=r"peak_value.*0, or at least 1e-30"):
        validate_spec({"name": "optax_warmup_cosine_decay", "params": {"peak_value": 1e-305, "end_value": 1.0}})
    assert lr_curve({"name": "optax_warmup_cosine_decay", "params": {"peak_value": 0.0, "end_value": 1.0}},
                    20, 0.1).tolist() == [0.0] * 20  # optax: alpha = 0 when the peak is 0
    with pytest.raises(Exception, match=r"lr.*1e-30"):
        RunConfig.from_dict({"lr": 1e-31}).validated()


@pytest.mark.parametrize("spec", [
    {"name": "timm_cosine", "params": {"cycle_decay": 10.0, "t_initial": 1, "cycle_limit": 1000}},
    {"name": "timm_tanh", "params": {"decay_rate": 10.0, "t_initial": 1, "cycle_limit": 0}},
    {"name": "timm_poly", "params": {"k_decay": 100.0, "t_initial": 10**9}},
    {"name": "optax_exponential_decay", "params": {"decay_rate": 10.0, "transition_steps": 1}},
    {"name": "linear_warmup", "params": {"warmup_steps": 2, "inner": {
        "name": "timm_tanh", "params": {"decay_rate": 10.0, "t_initial": 1, "cycle_limit": 0}}}},
])
def test_growth_past_float64_is_refused_in_words(spec):
    """A factor above 1 compounded over a run (timm's cycle_decay / decay_rate / cycle_mul, a
    k_decay on a long cycle, optax's growing decay_rate) leaves float64 after a few hundred steps.
    timm's Python floats raised OverflowError (a traceback in the user's face); now every such run
    is a ScheduleError that says what overflowed, from lr_curve and from the run's check."""
    from lrstudio.core.schedules import check_run_length

    assert validate_spec(spec)  # the parameters alone are accepted (a short run is a curve)
    if spec["params"].get("k_decay") != 100.0:  # t_i ** k_decay = (1e9) ** 100: from step 0
        assert np.isfinite(lr_curve(spec, 3, 1.0)).all()
    for call in (lambda: lr_curve(spec, 400, 1e12), lambda: check_run_length(spec, 400, 1e12)):
        with pytest.raises(ScheduleError) as err:
            call()
        assert "overflow" in str(err.value) or " is inf" in str(err.value), str(err.value)


@pytest.mark.parametrize("name", ["one_cycle", "cyclic"])
def test_momentum_curves_at_the_edges_stay_in_0_1(name):
    """The momentum a cycling schedule sets (SGD's momentum, Adam's beta1) stays finite in [0, 1] for
    every accepted edge spec, or the run length is refused in words, as for the LR."""
    from lrstudio.core.schedules.momentum import momentum_curve

    for spec in _specs(name):
        try:
            validate_spec(spec)
        except ScheduleError:
            continue
        for n in RUNS:
            try:
                m = momentum_curve(spec, n)
            except ScheduleError as exc:
                assert "in a run of" in str(exc), (spec, n, str(exc))
                continue
            if m is not None:
                assert m.shape == (n,) and np.isfinite(m).all() and (m >= 0).all() and (m <= 1).all(), (spec, n)
