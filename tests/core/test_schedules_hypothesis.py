"""Property tests over the declarations.

1. Any parameter set that the declaration (and the schedule's cross-checks) accepts gives finite,
   non-negative LRs. The only exception is a user expression (lambda/multiplicative) whose *values*
   are bad (``1/epoch`` at 0, ``epoch - 5``): lr_curve then raises ScheduleError naming the step.
2. Anything rejected raises ScheduleError (a ParamError/ValueError), never another exception.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lrstudio.core.params import Param
from lrstudio.core.schedules import SCHEDULES, ScheduleError, lr_curve, validate_spec

SETTINGS = settings(max_examples=int(os.environ.get("LRSTUDIO_HYPOTHESIS_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
SIMPLE = sorted(n for n, i in SCHEDULES.items() if not any(p.kind in ("schedule", "schedule_list") for p in i.params))

# expressions: a small grammar over epoch, mostly finite and >= 0, sometimes not
_atoms = st.one_of(st.sampled_from(["epoch", "step", "t", "pi", "e"]),
                   st.floats(0, 10, allow_nan=False).map(lambda v: repr(round(v, 3))),
                   st.integers(0, 50).map(str))
EXPRS = st.recursive(
    _atoms,
    lambda kids: st.one_of(
        st.tuples(kids, st.sampled_from(["+", "-", "*", "/", "//", "%", "**"]), kids).map(lambda x: f"({x[0]} {x[1]} {x[2]})"),
        st.tuples(st.sampled_from(["exp", "log", "sqrt", "cos", "sin", "abs", "floor", "ceil"]), kids)
        .map(lambda x: f"{x[0]}({x[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), kids, kids).map(lambda x: f"{x[0]}({x[1]}, {x[2]})"),
        st.tuples(kids, kids, kids).map(lambda x: f"({x[0]} if {x[1]} < {x[2]} else {x[0]})"),
        kids.map(lambda x: f"-{x}"),
    ),
    max_leaves=8,
)
GOOD_EXPRS = st.sampled_from([
    "0.95 ** epoch", "1 if epoch < 10 else 0.1", "exp(-epoch / 50)", "0.5 * (1 + cos(pi * min(epoch, 100) / 100))",
    "1 / sqrt(epoch + 1)", "max(0.01, 1 - epoch / 200)", "0.99", "0.9 if epoch % 10 == 0 else 1",
])


def _number(p: Param) -> st.SearchStrategy[Any]:
    lo = p.low if p.low is not None else (-1e6 if p.kind == "float" else -10**6)
    hi = p.high if p.high is not None else (1e6 if p.kind == "float" else 10**6)
    if p.kind in ("int", "int_list"):
        lo_i, hi_i = math.ceil(lo + (1 if p.low_open else 0)), math.floor(hi - (1 if p.high_open else 0))
        # favour small values so that the schedule's features fall inside the curve
        return st.one_of(st.integers(lo_i, min(hi_i, lo_i + 60)), st.integers(lo_i, hi_i))
    return st.one_of(
        st.floats(lo, hi, exclude_min=p.low_open, exclude_max=p.high_open, allow_nan=False),
        st.sampled_from([v for v in (lo, hi, (lo + hi) / 2, 0.0, 1.0, 0.5, 1e-300)
                         if (lo < v or (v == lo and not p.low_open)) and (v < hi or (v == hi and not p.high_open))]),
    )


def valid_value(p: Param, name: str) -> st.SearchStrategy[Any]:
    if p.kind in ("float", "int"):
        s = _number(p)
    elif p.kind == "bool":
        s = st.booleans()
    elif p.kind == "choice":
        s = st.sampled_from(p.choices)
    elif p.kind == "expr":
        s = st.one_of(GOOD_EXPRS, EXPRS)
    elif p.kind in ("int_list", "float_list"):
        item = _number(p)
        if p.kind == "int_list":
            s = st.lists(item, min_size=max(p.min_len, 0), max_size=5, unique=True).map(sorted)
        else:
            s = st.lists(item, min_size=max(p.min_len, 1), max_size=6)
    elif p.kind == "schedule":
        s = simple_specs(valid=True)
    elif p.kind == "schedule_list":
        s = st.lists(simple_specs(valid=True), min_size=1, max_size=3)
    else:
        s = st.text(max_size=10)
    if p.optional:
        s = st.one_of(st.none(), s)
    return s


def junk_value() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.booleans(), st.integers(-10**20, 10**20), st.integers(10**300, 10**400),
        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
        st.lists(st.one_of(st.integers(-5, 500), st.floats(allow_nan=True), st.text(max_size=3)), max_size=5),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
        st.sampled_from(["__import__('os').system('x')", "9**9**9**9", "().__class__", "1e400", "[1, 2]", "-1"]),
    )


@st.composite
def simple_specs(draw, valid: bool = True, names: list[str] | None = None):
    name = draw(st.sampled_from(names or [n for n in SIMPLE if not SCHEDULES[n].metric_driven]))
    params = {}
    for p in SCHEDULES[name].params:
        if draw(st.booleans()):
            continue  # leave at default
        if not valid and draw(st.integers(0, 3)) == 0:
            params[p.name] = draw(junk_value())
        else:
            params[p.name] = draw(valid_value(p, name))
    return {"name": name, "params": params}


def _check_curve(spec, n, base_lr, metrics=None):
    """Accepted spec: finite >= 0 curve, or (user expressions only) a ScheduleError naming a step."""
    try:
        c = lr_curve(spec, n, base_lr, metrics=metrics)
    except ScheduleError as exc:
        uses_expr = "lr_lambda" in repr(spec)
        if _grows(spec) and ("overflow" in str(exc) or " is inf" in str(exc)):
            return  # a factor > 1 compounded past float64 (test_schedules_edges: refused in words)
        assert uses_expr and "at step" in str(exc), (spec, exc)
        return
    assert c.shape == (n,)
    assert np.all(np.isfinite(c)), spec
    assert np.all(c >= 0), spec


_GROWTH = {"decay_rate", "cycle_decay", "cycle_mul", "T_mult", "t_mul", "k_decay"}


def _grows(spec) -> bool:
    """True when ``spec`` (or a nested spec) has a factor above 1 that compounds over the run."""
    if isinstance(spec, dict):
        return (any(k in _GROWTH and isinstance(v, float) and v > 1 for k, v in (spec.get("params") or {}).items())
                or any(_grows(v) for v in (spec.get("params") or {}).values()))
    if isinstance(spec, list):
        return any(_grows(v) for v in spec)
    return False


def _has_cross_check(spec) -> bool:
    """True when ``spec`` or a schedule nested in it has a cross-parameter check (or an expression)."""
    info = SCHEDULES[spec["name"]]
    if info.check is not None:
        return True
    params = spec.get("params") or {}
    inner = [params["inner"]] if "inner" in params else list(params.get("schedules", []))
    return any(_has_cross_check(s) for s in inner)


def _accepted(spec):
    """The normalised spec; a spec drawn from valid values may be rejected only by a cross-check
    (one_cycle phases, warm-up >= T_max, an expression that is not finite): then the example is
    discarded with assume(), so a test whose every example is rejected fails as unsatisfiable."""
    try:
        return validate_spec(spec)
    except ScheduleError as exc:
        assert _has_cross_check(spec), (spec, exc)
        assume(False)


# lr_curve takes 0 or [1e-30, 1e12] (MIN_BASE_LR: below it a quotient by the base LR overflows)
BASE_LRS = st.one_of(st.sampled_from([0.0, 1e-30, 1e-6, 0.01, 0.1, 1.0, 1e12]), st.floats(1e-30, 1e6))


@SETTINGS
@given(spec=simple_specs(valid=True, names=SIMPLE), n=st.integers(0, 300), base_lr=BASE_LRS,
       metrics=st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=300))
def test_accepted_params_give_finite_nonnegative_lrs(spec, n, base_lr, metrics):
    norm = _accepted(spec)
    _check_curve(norm, n, base_lr, metrics if SCHEDULES[norm["name"]].metric_driven else None)


@SETTINGS
@given(inner=simple_specs(valid=True), w=st.integers(0, 100), start=st.floats(0, 10),
       end=st.one_of(st.none(), st.floats(0, 10)), n=st.integers(0, 300), base_lr=BASE_LRS)
def test_linear_warmup_any_inner(inner, w, start, end, n, base_lr):
    spec = {"name": "linear_warmup", "params": {"inner": inner, "warmup_steps": w, "start_lr": start, "end_lr": end}}
    norm = _accepted(spec)
    _check_curve(norm, n, base_lr)


@SETTINGS
@given(children=st.lists(simple_specs(valid=True), min_size=1, max_size=4),
       gaps=st.lists(st.integers(1, 80), min_size=3, max_size=3), n=st.integers(0, 300), base_lr=BASE_LRS)
def test_sequential_any_children(children, gaps, n, base_lr):
    milestones = list(np.cumsum(gaps[: len(children) - 1]).tolist())
    spec = {"name": "sequential", "params": {"schedules": children, "milestones": milestones}}
    norm = _accepted(spec)
    _check_curve(norm, n, base_lr)


@SETTINGS
@given(spec=st.one_of(simple_specs(valid=False, names=sorted(SCHEDULES)),
                      st.fixed_dictionaries({"name": st.sampled_from(sorted(SCHEDULES)),
                                             "params": st.dictionaries(st.sampled_from(
                                                 ["gamma", "T_max", "milestones", "inner", "schedules", "values",
                                                  "lr_lambda", "bogus", "mode", "steps"]), junk_value(), max_size=3)}),
                      junk_value()),
       n=st.one_of(st.integers(-5, 200), junk_value()), base_lr=st.one_of(BASE_LRS, junk_value()))
def test_anything_rejected_raises_schedule_error(spec, n, base_lr):
    try:
        norm = validate_spec(spec)
    except ScheduleError:
        return
    # accepted spec: bad steps/base_lr must still be a ScheduleError, and a good curve is finite >= 0
    try:
        c = lr_curve(norm, n, base_lr)
    except ScheduleError:
        return
    assert np.all(np.isfinite(c)) and np.all(c >= 0)
