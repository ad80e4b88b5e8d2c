"""optax schedules (``optax/schedules/_schedule.py``, ``_join.py``), named ``optax_*``.

An optax schedule is a function of ``count``, the number of updates done; the LR of update
``t + 1`` is ``schedule(t)``, so lrstudio's ``t`` is optax's ``count``. The value optax calls
``init_value`` (``exponential_decay``, ``piecewise_interpolate_schedule``) or ``peak_value``
(``warmup_cosine_decay_schedule``, the one-cycles) is the run's base LR; the other values are
absolute, as in optax. The arithmetic follows optax's in float64 (optax with ``jax_enable_x64``).
(The module is ``optax_`` so that it never shadows the ``optax`` package.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lrstudio.core.params import Param
from lrstudio.core.schedules.base import (
    MIN_BASE_LR,
    Lengths,
    ScheduleError,
    SourceContext,
    _curve,
    as_range,
    register_schedule,
)


# -- warm-up + cosine decay ----------------------------------------------------------------------
def _check_wcd(p: dict[str, Any], owner: str) -> None:
    peak = p["peak_value"]
    if peak is not None and 0 < peak < MIN_BASE_LR:
        # alpha = end_value / peak overflows (optax's own formula turns NaN): the base LR's rule
        raise ScheduleError("peak_value", peak, f"0, or at least {MIN_BASE_LR:g} (empty: the base LR)", owner)
    if p["decay_steps"] <= p["warmup_steps"]:
        raise ScheduleError("decay_steps", p["decay_steps"],
                            f"more steps than warmup_steps ({p['warmup_steps']}): optax needs decay_steps - "
                            "warmup_steps > 0", owner)


def _wcd(p: dict[str, Any], t: np.ndarray, peak: float) -> np.ndarray:
    w, d = p["warmup_steps"], p["decay_steps"]
    init, end, expo = p["init_value"], p["end_value"], p["exponent"]
    alpha = 0.0 if peak == 0.0 else end / peak
    # cosine_decay_schedule(peak, d - w, alpha, exponent) at t - w
    dd = float(d - w)
    c = np.minimum((t - w).astype(np.float64), dd)
    c *= math.pi
    c /= dd
    np.cos(c, out=c)
    c += 1
    c *= 0.5
    if expo != 1.0:
        c = np.power(c, expo)
    c *= 1 - alpha
    c += alpha
    c *= peak
    if w > 0:
        warm = t < w
        if warm.any():
            # linear_schedule(init, peak, w): (init - peak) * (1 - clip(t, 0, w) / w) ** 1 + peak
            frac = 1 - np.clip(t[warm], 0, w) / w
            c[warm] = (init - peak) * frac + peak
    return c


def _wcd_peak(p: dict[str, Any], base_lr: float) -> float:
    return base_lr if p["peak_value"] is None else float(p["peak_value"])


def _wcd_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    peak = _wcd_peak(p, base_lr)
    w, d = p["warmup_steps"], p["decay_steps"]
    alpha = 0.0 if peak == 0.0 else p["end_value"] / peak
    dd = float(d - w)
    warm = ([f"if step < {w}:", f"    return ({p['init_value']!r} - {peak!r}) * (1 - min(max(step, 0), {w}) / {w}) "
             f"+ {peak!r}"] if w > 0 else [])
    return [*warm, f"c = 0.5 * (1 + math.cos(math.pi * min(float(step - {w}), {dd!r}) / {dd!r}))",
            f"return {peak!r} * ((1 - {alpha!r}) * c ** {p['exponent']!r} + {alpha!r})"]


_WCD_PARAMS = (
    Param("warmup_steps", "int", 10, "Steps of the linear warm-up from init_value (optax warmup_steps)",
          low=0, high=10**9),
    Param("decay_steps", "int", 1000, "Step at which the cosine reaches end_value, warm-up included "
          "(optax decay_steps)", low=1, high=10**9),
    Param("init_value", "float", 0.0, "LR at step 0, absolute (optax init_value)", low=0.0, high=1e6),
    Param("end_value", "float", 0.0, "Final LR, absolute (optax end_value)", low=0.0, high=1e6),
    Param("exponent", "float", 1.0, "Exponent of the cosine factor (optax exponent)", low=0.0, high=100.0),
    Param("peak_value", "float", None, "Peak LR, absolute (optax peak_value; empty: the base LR)",
          low=0.0, high=1e6, optional=True),
)


@register_schedule(
    "optax_warmup_cosine_decay",
    title="optax warm-up cosine decay",
    source="optax warmup_cosine_decay_schedule (peak_value = the base LR unless set)",
    formula="t < W: lr = (init_value - peak) * (1 - t / W) + peak; else "
            "c = (1 + cos(pi * min(t - W, D - W) / (D - W))) / 2, alpha = end_value / peak, "
            "lr = peak * ((1 - alpha) * c ** exponent + alpha)",
    params=_WCD_PARAMS,
    check=_check_wcd,
    run_length=lambda p: [("warmup_steps", p["warmup_steps"])],
    scalar_source=_wcd_source,
    lengths=Lengths(own=lambda p, _len: int(p["decay_steps"]),
                    fit=lambda p, total, _fit: {**p, "decay_steps": total} if total > p["warmup_steps"] else p),
)
def optax_warmup_cosine_decay(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """optax ``warmup_cosine_decay_schedule``: ``join_schedules([linear_schedule(init_value, peak,
    W), cosine_decay_schedule(peak, D - W, alpha=end_value/peak, exponent)], [W])``.

    t < W: lr = (init_value - peak) * (1 - t / W) + peak;
    t >= W: c = 0.5 (1 + cos(pi min(t - W, D - W) / (D - W))), lr = peak * ((1 - alpha) c**exponent + alpha),
    alpha = end_value / peak (0 when peak = 0). peak = peak_value, or the base LR when empty.
    """
    return _wcd(p, t, _wcd_peak(p, base_lr))


# -- exponential decay ---------------------------------------------------------------------------
def _exp_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    b = repr(base_lr)
    x = f"(step - {p['transition_begin']}) / {p['transition_steps']}"
    if p["staircase"]:
        x = f"math.floor({x})"
    lines = [f"if step - {p['transition_begin']} <= 0:", f"    v = {b}", "else:",
             f"    v = {b} * {p['decay_rate']!r} ** ({x})"]
    if p["end_value"] is not None:
        fn = "max" if p["decay_rate"] < 1.0 else "min"
        lines.append(f"v = {fn}(v, {p['end_value']!r})")
    return [*lines, "return v"]


@register_schedule(
    "optax_exponential_decay",
    title="optax exponential decay",
    source="optax exponential_decay (init_value = the base LR)",
    formula="n = t - transition_begin; p = n / transition_steps (floored if staircase); "
            "lr = base_lr if n <= 0 else base_lr * decay_rate ** p; clipped at end_value "
            "(max when decay_rate < 1, min otherwise)",
    params=(
        Param("transition_steps", "int", 100, "Steps per factor of decay_rate (optax transition_steps)",
              low=1, high=10**9),
        Param("decay_rate", "float", 0.5, "Factor per transition_steps (optax decay_rate; > 1 grows)",
              low=0.0, high=10.0, low_open=True),
        Param("transition_begin", "int", 0, "Steps at the base LR before the decay starts (optax "
              "transition_begin)", low=0, high=10**9),
        Param("staircase", "bool", False, "Decay in steps of transition_steps (optax staircase)"),
        Param("end_value", "float", None, "Bound of the LR, absolute: a floor when decaying, a ceiling when "
              "growing (optax end_value; empty: none)", low=0.0, high=1e6, optional=True),
    ),
    scalar_source=_exp_source,
)
def optax_exponential_decay(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """optax ``exponential_decay(init_value=base_lr, transition_steps, decay_rate, transition_begin,
    staircase, end_value)``.

    n = t - transition_begin; x = n / transition_steps (floor(x) when staircase);
    lr = base_lr for n <= 0, else base_lr * decay_rate ** x; then max(lr, end_value) when
    decay_rate < 1, min(lr, end_value) otherwise (when end_value is set).
    """
    n = t - p["transition_begin"]
    x = n.astype(np.float64)
    x /= p["transition_steps"]
    if p["staircase"]:
        np.floor(x, out=x)
    out = np.power(p["decay_rate"], x)
    out *= base_lr
    out[n <= 0] = base_lr
    if p["end_value"] is not None:
        (np.maximum if p["decay_rate"] < 1.0 else np.minimum)(out, p["end_value"], out=out)
    return out


# -- piecewise interpolation ---------------------------------------------------------------------
def _interp(kind: str, start: np.ndarray | float, end: np.ndarray | float, pct: np.ndarray) -> np.ndarray:
    if kind == "linear":
        return (end - start) * pct + start
    return end + (start - end) / 2.0 * (np.cos(np.pi * pct) + 1)


def _pw_eval(kind: str, init: float, bounds: list[int], scales: list[float], t: np.ndarray) -> np.ndarray:
    """optax ``piecewise_interpolate_schedule(kind, init, dict(zip(bounds, scales)))`` at ``t``."""
    values = np.cumprod(np.asarray([init, *scales], dtype=np.float64))
    b = np.asarray([0, *bounds], dtype=np.int64)
    out = np.zeros(t.shape, dtype=np.float64)
    r = as_range(t)
    for k in range(len(bounds)):
        lo, hi = int(b[k]), int(b[k + 1])
        if r is not None:
            a, z = max(lo, r[0]) - r[0], min(hi - 1, r[1]) - r[0]
            if a > z:
                continue
            sel: Any = slice(a, z + 1)
        else:
            sel = (t >= lo) & (t < hi)
        pct = (t[sel] - lo) / max(hi - lo, 1)
        out[sel] = _interp(kind, values[k], values[k + 1], pct)
    out[t >= b[-1]] = values[-1]
    return out


def _check_pw(p: dict[str, Any], owner: str) -> None:
    b = p["boundaries"]
    for x, y in zip(b, b[1:]):
        if y <= x:
            raise ScheduleError("boundaries", b, f"strictly increasing integers (got {x} then {y})", owner)
    if len(p["scales"]) != len(b):
        raise ScheduleError("scales", p["scales"], f"one scale per boundary ({len(b)} scales, got "
                            f"{len(p['scales'])})", owner)


def _pw_source_lines(kind: str, init: float, bounds: list[int], scales: list[float]) -> list[str]:
    vals = [init]
    for s in scales:
        vals.append(vals[-1] * s)
    interp = ("(e - s) * pct + s" if kind == "linear" else "e + (s - e) / 2.0 * (math.cos(math.pi * pct) + 1)")
    return [f"b, v = {[0, *bounds]!r}, {vals!r}",
            "for k in range(len(b) - 1):",
            "    if b[k] <= step < b[k + 1]:",
            "        s, e, pct = v[k], v[k + 1], (step - b[k]) / max(b[k + 1] - b[k], 1)",
            f"        return {interp}",
            "return v[-1]"]


@register_schedule(
    "optax_piecewise_interpolate",
    title="optax piecewise interpolation",
    source="optax piecewise_interpolate_schedule (init_value = the base LR)",
    formula="values = cumprod([base_lr, *scales]); between boundaries b_k <= t < b_k+1: "
            "linear (v_k+1 - v_k) * pct + v_k or cosine v_k+1 + (v_k - v_k+1)/2 * (cos(pi pct) + 1), "
            "pct = (t - b_k) / max(b_k+1 - b_k, 1); past the last boundary: values[-1]",
    params=(
        Param("interpolate_type", "choice", "linear", "Interpolation between the boundaries (optax)",
              choices=("linear", "cosine")),
        Param("boundaries", "int_list", [100, 200], "Steps at which a scale is reached (strictly increasing)",
              low=0, high=10**9),
        Param("scales", "float_list", [0.5, 0.2], "Multiplier of the previous value at each boundary "
              "(one per boundary)", low=0.0, high=1e6),
    ),
    check=_check_pw,
    scalar_source=lambda p, base_lr, ctx: _pw_source_lines(p["interpolate_type"], base_lr, p["boundaries"],
                                                           p["scales"]),
    lengths=Lengths(own=lambda p, _len: int(p["boundaries"][-1]) if p["boundaries"] else None,
                    milestones=lambda p: [("boundaries", list(p["boundaries"]), "")]),
)
def optax_piecewise_interpolate(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None
                                ) -> np.ndarray:
    """optax ``piecewise_interpolate_schedule(interpolate_type, base_lr, dict(zip(boundaries, scales)))``.

    values = cumprod([base_lr, *scales]); for b_k <= t < b_{k+1} (b_0 = 0), pct = (t - b_k) /
    max(b_{k+1} - b_k, 1) and lr = interp(values[k], values[k+1], pct) with linear
    (e - s) * pct + s or cosine e + (s - e) / 2 * (cos(pi pct) + 1); lr = values[-1] from the last
    boundary on.
    """
    return _pw_eval(p["interpolate_type"], base_lr, p["boundaries"], p["scales"], t)


# -- one-cycles ----------------------------------------------------------------------------------
def _onecycle_parts(p: dict[str, Any], linear: bool) -> tuple[list[int], list[float]]:
    n = p["transition_steps"]
    if linear:
        pts = {int(p["pct_start"] * n): p["div_factor"], int(p["pct_final"] * n): 1.0 / p["div_factor"],
               n: 1.0 / p["final_div_factor"]}
    else:
        pts = {int(p["pct_start"] * n): p["div_factor"], int(n): 1.0 / (p["div_factor"] * p["final_div_factor"])}
    b, s = zip(*sorted(pts.items()))  # a dict as in optax: a repeated boundary keeps the later scale
    return list(b), list(s)


_ONECYCLE_PARAMS = (
    Param("transition_steps", "int", 1000, "Steps of the whole cycle (optax transition_steps)", low=1, high=10**9),
    Param("pct_start", "float", 0.3, "Fraction of the steps rising to the peak (optax pct_start)",
          low=0.0, high=1.0),
    # At least 1e-6, as one_cycle's: optax takes any value > 0, but peak / 5e-324 is inf and the
    # curve NaN from step 0 (the values are cumulative products of the scales).
    Param("div_factor", "float", 25.0, "Start LR = peak / div_factor (optax div_factor)", low=1e-6, high=1e6),
    Param("final_div_factor", "float", 1e4, "Final LR = start LR / final_div_factor (optax)", low=1e-6,
          high=1e9),
)


def _onecycle_lengths() -> Lengths:
    return Lengths(own=lambda p, _len: int(p["transition_steps"]),
                   fit=lambda p, total, _fit: {**p, "transition_steps": total})


def _check_linear_onecycle(p: dict[str, Any], owner: str) -> None:
    if p["pct_final"] < p["pct_start"]:
        raise ScheduleError("pct_final", p["pct_final"], f"at least pct_start ({p['pct_start']!r})", owner)


@register_schedule(
    "optax_linear_onecycle",
    title="optax linear one-cycle",
    source="optax linear_onecycle_schedule (peak_value = the base LR)",
    formula="piecewise linear through (0, peak/div), (int(pct_start N), peak), (int(pct_final N), peak/div), "
            "(N, peak/div/final_div); then held",
    params=(*_ONECYCLE_PARAMS[:2],
            Param("pct_final", "float", 0.85, "Fraction of the steps at which the fall back to the start LR "
                  "ends (optax pct_final)", low=0.0, high=1.0),
            *_ONECYCLE_PARAMS[2:]),
    check=_check_linear_onecycle,
    scalar_source=lambda p, base_lr, ctx: _pw_source_lines("linear", base_lr / p["div_factor"],
                                                           *_onecycle_parts(p, True)),
    lengths=_onecycle_lengths(),
)
def optax_linear_onecycle(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """optax ``linear_onecycle_schedule(N, peak=base_lr, pct_start, pct_final, div_factor,
    final_div_factor)``: piecewise_interpolate_schedule('linear', peak / div_factor,
    {int(pct_start N): div_factor, int(pct_final N): 1 / div_factor, N: 1 / final_div_factor}), so lr
    rises from peak/div to peak, falls back to peak/div, then to peak/div/final_div at N and holds.
    """
    b, s = _onecycle_parts(p, True)
    return _pw_eval("linear", base_lr / p["div_factor"], b, s, t)


@register_schedule(
    "optax_cosine_onecycle",
    title="optax cosine one-cycle",
    source="optax cosine_onecycle_schedule (peak_value = the base LR)",
    formula="piecewise cosine through (0, peak/div), (int(pct_start N), peak), (N, peak/(div*final_div)); "
            "then held",
    params=_ONECYCLE_PARAMS,
    scalar_source=lambda p, base_lr, ctx: _pw_source_lines("cosine", base_lr / p["div_factor"],
                                                           *_onecycle_parts(p, False)),
    lengths=_onecycle_lengths(),
)
def optax_cosine_onecycle(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """optax ``cosine_onecycle_schedule(N, peak=base_lr, pct_start, div_factor, final_div_factor)``:
    piecewise_interpolate_schedule('cosine', peak / div_factor, {int(pct_start N): div_factor,
    N: 1 / (div_factor final_div_factor)}): lr rises along a cosine to peak, falls to
    peak/(div final_div) at N and holds.
    """
    b, s = _onecycle_parts(p, False)
    return _pw_eval("cosine", base_lr / p["div_factor"], b, s, t)


# -- SGDR: a list of warm-up cosine cycles -------------------------------------------------------
_SGDR_CHILD = "optax_warmup_cosine_decay"


def _check_sgdr(p: dict[str, Any], owner: str) -> None:
    for i, c in enumerate(p["cycles"]):
        if c["name"] != _SGDR_CHILD:
            raise ScheduleError(f"cycles[{i}]", c["name"], f"a {_SGDR_CHILD!r} cycle (optax sgdr_schedule's "
                                "cosine_kwargs)", owner)


def _sgdr_starts(p: dict[str, Any]) -> list[int]:
    starts, step = [], 0
    for c in p["cycles"]:
        starts.append(step)
        step += c["params"]["decay_steps"]
    return starts


def _sgdr_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    names = [ctx.child(c) for c in p["cycles"]]
    starts = _sgdr_starts(p)
    return [f"k = sum(1 for b in {starts[1:]!r} if b <= step)",
            f"return [{', '.join(names)}][k](step - {starts!r}[k])"]


@register_schedule(
    "optax_sgdr",
    title="optax SGDR (warm-up cosine cycles)",
    source="optax sgdr_schedule (each cycle a warmup_cosine_decay_schedule)",
    formula="cycle k starts at the sum of the earlier cycles' decay_steps; lr = cycle_k(t - start_k); "
            "the last cycle holds its end value",
    params=(
        Param("cycles", "schedule_list",
              [{"name": _SGDR_CHILD, "params": {"warmup_steps": 10, "decay_steps": 100}},
               {"name": _SGDR_CHILD, "params": {"warmup_steps": 10, "decay_steps": 200, "peak_value": None}}],
              "The cycles, each an optax warm-up cosine decay (optax cosine_kwargs)", min_len=1),
    ),
    check=_check_sgdr,
    scalar_source=_sgdr_source,
    lengths=Lengths(own=lambda p, _len: sum(int(c["params"]["decay_steps"]) for c in p["cycles"]),
                    children=lambda p: list(zip(_sgdr_starts(p), p["cycles"]))),
)
def optax_sgdr(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """optax ``sgdr_schedule(cosine_kwargs)``: ``join_schedules`` of one warmup_cosine_decay_schedule
    per cycle at boundaries b_k = decay_steps_0 + ... + decay_steps_{k-1};
    lr(t) = cycle_k(t - b_k) for b_k <= t < b_{k+1}, the last cycle from its start on.
    """
    starts = _sgdr_starts(p)
    k = np.searchsorted(np.asarray(starts[1:], dtype=np.int64), t, side="right")
    out = np.empty(t.shape, dtype=np.float64)
    for i, (c, lo) in enumerate(zip(p["cycles"], starts)):
        sel = k == i
        if sel.any():
            out[sel] = _curve(c, t[sel] - lo, base_lr)
    return out
