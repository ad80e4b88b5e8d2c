"""Step-wise and analytic decays: constant, piecewise, step, multistep, exponential family,
polynomial, linear, the d2l/MXNet factor schedulers, Noam and the HF inverse-sqrt / WSD schedules.

Every function takes ``(p, t, base_lr, metrics)``: validated parameters, an int64 array of steps
(``t`` = scheduler steps taken before the update), the base LR, and (unused here) metrics.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from lrstudio.core.params import Param
from lrstudio.core.schedules.base import (
    Lengths,
    ScheduleError,
    SourceContext,
    as_range,
    piecewise,
    pow_array,
    pow_scalar,
    register_schedule,
)

_GAMMA = Param("gamma", "float", 0.1, "Multiplicative decay factor", low=0.0, high=1.0, low_open=True)


def _strictly_increasing(values: list[int], pname: str, owner: str, what: str = "strictly increasing") -> None:
    for a, b in zip(values, values[1:]):
        if b <= a:
            raise ScheduleError(pname, values, f"{what} integers (got {a} then {b})", owner)


# -- constant ------------------------------------------------------------------------------------
@register_schedule(
    "constant",
    title="Constant",
    source="torch ConstantLR (factor, total_iters); a plain constant by default",
    formula="lr(t) = base_lr * (factor if t < total_iters else 1)",
    params=(
        Param("factor", "float", 1.0, "Multiplier of the LR for the first total_iters steps",
              low=0.0, high=1.0),
        Param("total_iters", "int", 0, "Steps during which the factor applies (0: never)",
              low=0, high=10**9),
    ),
    torch_native=lambda p, base_lr: (
        None if p["total_iters"] == 0 or p["factor"] == 1.0
        else f"ConstantLR(optimizer, factor={p['factor']!r}, total_iters={p['total_iters']})"),
    scalar_source=lambda p, base_lr, ctx: [
        f"return {base_lr!r} * ({p['factor']!r} if step < {p['total_iters']} else 1.0)"],
)
def constant(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Constant LR, optionally scaled by ``factor`` for the first ``total_iters`` steps.

    lr(t) = base_lr * factor  for t < total_iters,  base_lr  afterwards.
    With the defaults (factor 1, total_iters 0) the LR is always ``base_lr``; with
    factor 1/3, total_iters 5 it is torch's ``ConstantLR`` default.
    """
    return np.where(t < p["total_iters"], base_lr * p["factor"], base_lr)


# -- piecewise constant --------------------------------------------------------------------------
def _check_piecewise(p: dict[str, Any], owner: str) -> None:
    _strictly_increasing(p["boundaries"], "boundaries", owner)
    if len(p["values"]) != len(p["boundaries"]) + 1:
        raise ScheduleError(
            "values", p["values"],
            f"one more value than boundaries: {len(p['boundaries']) + 1} values for "
            f"{len(p['boundaries'])} boundaries (got {len(p['values'])})",
            owner,
        )


def _piecewise_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    vals = [v * base_lr if p["relative"] else v for v in p["values"]]
    cmp = "<=" if p["switch"] == "at_boundary" else "<"
    return [f"k = sum(1 for b in {p['boundaries']!r} if b {cmp} step)", f"return {vals!r}[k]"]


@register_schedule(
    "piecewise_constant",
    title="Piecewise constant",
    source="Paddle PiecewiseDecay; TF/Keras piecewise_constant / PiecewiseConstantDecay",
    formula="lr(t) = values[k], k = #{b in boundaries: b <= t} (switch='at_boundary') "
            "or #{b: b < t} (switch='after_boundary', TF)",
    params=(
        Param("boundaries", "int_list", [100, 200], "Steps at which the value changes (strictly increasing)",
              low=0, high=10**9),
        Param("values", "float_list", [0.1, 0.01, 0.001], "LR of each interval: len(boundaries) + 1 values",
              low=0.0, high=1e6, min_len=1),
        Param("switch", "choice", "at_boundary",
              "at_boundary: value changes at t = boundary (Paddle, torch style); "
              "after_boundary: at t = boundary + 1 (TF/Keras: x <= boundary keeps the old value)",
              choices=("at_boundary", "after_boundary")),
        Param("relative", "bool", False,
              "values are multipliers of the base LR (false: absolute LRs, as in Paddle and TF)"),
    ),
    check=_check_piecewise,
    scalar_source=_piecewise_source,
    lengths=Lengths(milestones=lambda p: [("boundaries", list(p["boundaries"]), "")]),
)
def piecewise_constant(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Constant pieces between boundaries.

    Paddle ``PiecewiseDecay``: ``values[i]`` while ``t < boundaries[i]``, so the value changes *at*
    the boundary (``switch="at_boundary"``): lr(t) = values[#{b <= t}].
    TF ``piecewise_constant``: ``values[0]`` for ``x <= boundaries[0]``, ``values[i]`` for
    ``boundaries[i-1] < x <= boundaries[i]``: the change comes one step later
    (``switch="after_boundary"``): lr(t) = values[#{b < t}].
    Values are absolute LRs as in both sources; ``relative=true`` multiplies them by ``base_lr``.
    """
    b = np.asarray(p["boundaries"], dtype=np.int64)
    edges = b if p["switch"] == "at_boundary" else b + 1  # #{b < t} = #{b + 1 <= t}
    vals = np.asarray(p["values"], dtype=np.float64)
    if p["relative"]:
        vals = vals * base_lr
    return piecewise(t, edges, vals)


def _per_level(t: np.ndarray, size: int, offset: int, fn: Any) -> np.ndarray:
    """fn(k) with k = floor(t / size) + offset: on the few levels and repeated, or per step when the
    levels are many (size 1, 2...)."""
    if size <= 8:
        k = (t // size).astype(np.float64)
        if offset:
            k += offset
        return fn(k)
    edges, k = _levels(t, size, offset)
    return piecewise(t, edges, fn(k))


def _levels(t: np.ndarray, size: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Edges size, 2*size, ... up to max(t) and the level k = floor(t/size) + offset of each piece."""
    top = int(t.max()) if t.size else 0
    kmax = top // size
    edges = size * np.arange(1, kmax + 1, dtype=np.int64)
    return edges, np.arange(offset, kmax + 1 + offset, dtype=np.float64)


# -- step / multistep ----------------------------------------------------------------------------
@register_schedule(
    "step",
    title="Step decay",
    source="torch StepLR; Paddle StepDecay",
    formula="lr(t) = base_lr * gamma ** floor(t / step_size)",
    params=(
        Param("step_size", "int", 30, "Decay every step_size steps", low=1, high=10**9),
        _GAMMA,
    ),
    torch_native=lambda p, base_lr: f"StepLR(optimizer, step_size={p['step_size']}, gamma={p['gamma']!r})",
    scalar_source=lambda p, base_lr, ctx: [f"return {base_lr!r} * {p['gamma']!r} ** (step // {p['step_size']})"],
    lengths=Lengths(milestones=lambda p: [("step_size", [p["step_size"]], "the LR never decays")]),
)
def step(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Decay by ``gamma`` every ``step_size`` steps (torch ``StepLR``, Paddle ``StepDecay``).

    lr(t) = base_lr * gamma ** floor(t / step_size)
    """
    return _per_level(t, p["step_size"], 0, lambda k: base_lr * pow_scalar(p["gamma"], k))


@register_schedule(
    "multistep",
    title="Multi-step decay",
    source="torch MultiStepLR; Paddle MultiStepDecay",
    formula="lr(t) = base_lr * gamma ** #{m in milestones: m <= t}",
    params=(
        Param("milestones", "int_list", [30, 80], "Steps at which the LR is multiplied by gamma "
              "(strictly increasing)", low=1, high=10**9),
        _GAMMA,
    ),
    check=lambda p, owner: _strictly_increasing(p["milestones"], "milestones", owner),
    torch_native=lambda p, base_lr: f"MultiStepLR(optimizer, milestones={p['milestones']!r}, gamma={p['gamma']!r})",
    scalar_source=lambda p, base_lr, ctx: [
        f"return {base_lr!r} * {p['gamma']!r} ** sum(1 for m in {p['milestones']!r} if m <= step)"],
    lengths=Lengths(milestones=lambda p: [("milestones", list(p["milestones"]), "")]),
)
def multistep(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Decay by ``gamma`` at each milestone (torch ``MultiStepLR``, Paddle ``MultiStepDecay``).

    lr(t) = base_lr * gamma ** bisect_right(milestones, t)   (the new value applies *at* t = milestone)
    """
    ms = np.asarray(p["milestones"], dtype=np.int64)
    return piecewise(t, ms, base_lr * p["gamma"] ** np.arange(ms.size + 1, dtype=np.float64))


# -- exponential family (torch/Paddle per-step form = TF form with decay_steps=1) -------------------
# The three TF decays share their parameters and their shape: lr = fn(x), x = t / decay_steps, floored
# when staircase (then fn runs once per level and is repeated, see _per_level).
def _tf_decay(p: dict[str, Any], t: np.ndarray, fn: Any) -> np.ndarray:
    if p["staircase"]:
        return _per_level(t, p["decay_steps"], 0, fn)
    x = t.astype(np.float64)
    x /= float(p["decay_steps"])
    return fn(x)


def _tf_decay_source(template: str) -> Any:
    """scalar_source of a TF decay: ``template`` with {b} (base LR), {g} (gamma), {x} (progress)."""

    def source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
        x = f"(step // {p['decay_steps']})" if p["staircase"] else f"(step / {p['decay_steps']})"
        return ["return " + template.format(b=repr(base_lr), g=repr(p["gamma"]), x=x)]

    return source


_TF_DECAY_PARAMS = (
    Param("decay_steps", "int", 1, "TF form: decay over this many steps (1: per step, as torch/Paddle)",
          low=1, high=10**9),
    Param("staircase", "bool", False, "TF form: decay in discrete intervals (floor(t / decay_steps))"),
)


@register_schedule(
    "exponential",
    title="Exponential decay",
    source="torch ExponentialLR; Paddle ExponentialDecay; TF exponential_decay (decay_rate = gamma)",
    formula="lr(t) = base_lr * gamma ** (t / decay_steps)   (floor(t / decay_steps) if staircase)",
    params=(replace(_GAMMA, default=0.95, help="Decay rate (TF decay_rate)"), *_TF_DECAY_PARAMS),
    torch_native=lambda p, base_lr: (
        f"ExponentialLR(optimizer, gamma={p['gamma']!r})" if p["decay_steps"] == 1 else None),
    scalar_source=_tf_decay_source("{b} * {g} ** {x}"),
)
def exponential(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Exponential decay.

    torch ``ExponentialLR``/Paddle ``ExponentialDecay``: lr(t) = base_lr * gamma ** t
    (``decay_steps=1``). TF ``exponential_decay``: lr = lr0 * decay_rate ** (t / decay_steps),
    with ``staircase`` flooring the exponent.
    """
    return _tf_decay(p, t, lambda x: base_lr * pow_scalar(p["gamma"], x))


@register_schedule(
    "natural_exp",
    title="Natural exponential decay",
    source="Paddle NaturalExpDecay; TF natural_exp_decay (decay_rate = gamma)",
    formula="lr(t) = base_lr * exp(-gamma * t / decay_steps)   (floor(t / decay_steps) if staircase)",
    params=(Param("gamma", "float", 0.1, "Decay rate (TF decay_rate)", low=0.0, high=1e3), *_TF_DECAY_PARAMS),
    scalar_source=_tf_decay_source("{b} * math.exp(-{g} * {x})"),
)
def natural_exp(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Natural exponential decay.

    Paddle ``NaturalExpDecay``: lr = base_lr * e^(-gamma * t). TF ``natural_exp_decay``:
    lr0 * exp(-decay_rate * t / decay_steps), the quotient floored when ``staircase``.
    """
    return _tf_decay(p, t, lambda x: base_lr * np.exp(-p["gamma"] * x))


@register_schedule(
    "inverse_time",
    title="Inverse time decay",
    source="Paddle InverseTimeDecay; TF inverse_time_decay (decay_rate = gamma)",
    formula="lr(t) = base_lr / (1 + gamma * t / decay_steps)   (floor(t / decay_steps) if staircase)",
    params=(Param("gamma", "float", 0.1, "Decay rate (TF decay_rate)", low=0.0, high=1e6), *_TF_DECAY_PARAMS),
    scalar_source=_tf_decay_source("{b} / (1.0 + {g} * {x})"),
)
def inverse_time(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Inverse time decay.

    Paddle ``InverseTimeDecay``: lr = base_lr / (1 + gamma * t). TF ``inverse_time_decay``:
    lr0 / (1 + decay_rate * t / decay_steps), the quotient floored when ``staircase``.
    """
    return _tf_decay(p, t, lambda x: base_lr / (1.0 + p["gamma"] * x))


# -- polynomial ----------------------------------------------------------------------------------
def _polynomial_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    d = p["decay_steps"]
    frac = f"step / ({d} * max(1, math.ceil(step / {d})))" if p["cycle"] else f"min(step, {d}) / {d}"
    return [f"return ({base_lr!r} - {p['end_lr']!r}) * (1.0 - {frac}) ** {p['power']!r} + {p['end_lr']!r}"]


def _poly_fit(p: dict[str, Any], total: int, _fit: Any) -> dict[str, Any]:
    return p if p["cycle"] else {**p, "decay_steps": total}


_POLY_LENGTHS = Lengths(own=lambda p, _len: None if p["cycle"] else int(p["decay_steps"]), fit=_poly_fit)



@register_schedule(
    "polynomial",
    title="Polynomial decay",
    source="Paddle PolynomialDecay; TF polynomial_decay; torch PolynomialLR (end_lr=0, cycle off)",
    formula="lr(t) = (base_lr - end_lr) * (1 - min(t, D) / D) ** power + end_lr; "
            "cycle: D' = D * max(1, ceil(t / D)), lr = (base_lr - end_lr) * (1 - t / D') ** power + end_lr",
    params=(
        Param("decay_steps", "int", 100, "Steps to reach end_lr (torch total_iters)", low=1, high=10**9),
        Param("end_lr", "float", 0.0001, "Final LR (absolute; torch PolynomialLR: 0)", low=0.0, high=1e6),
        Param("power", "float", 1.0, "Exponent of the decay", low=0.0, high=100.0),
        Param("cycle", "bool", False, "Restart the decay every decay_steps (Paddle/TF cycle)"),
    ),
    torch_native=lambda p, base_lr: (
        f"PolynomialLR(optimizer, total_iters={p['decay_steps']}, power={p['power']!r})"
        if p["end_lr"] == 0.0 and not p["cycle"] else None),
    scalar_source=_polynomial_source,
    lengths=_POLY_LENGTHS,
)
def polynomial(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Polynomial decay from ``base_lr`` to ``end_lr`` over ``decay_steps``.

    Without cycle (Paddle ``PolynomialDecay``, TF ``polynomial_decay``):
        lr(t) = (base_lr - end_lr) * (1 - min(t, D)/D) ** power + end_lr
    torch ``PolynomialLR(total_iters=D, power)`` is the case ``end_lr = 0``.
    With cycle, D grows to ``D * ceil(t / D)`` (``1`` at t = 0, as both sources special-case):
        lr(t) = (base_lr - end_lr) * (1 - t/(D*max(1, ceil(t/D)))) ** power + end_lr
    so the LR jumps back up just after each multiple of D.
    """
    d = float(p["decay_steps"])
    if p["cycle"]:
        tf = t.astype(np.float64)
        div = np.maximum(np.ceil(tf / d), 1.0)
        frac = tf / (d * div)
    else:
        frac = np.minimum(t, p["decay_steps"]).astype(np.float64)
        frac /= d
    np.subtract(1.0, frac, out=frac)
    out = pow_array(frac, p["power"])
    out *= base_lr - p["end_lr"]
    out += p["end_lr"]
    return out


# -- linear (torch LinearLR) ---------------------------------------------------------------------
@register_schedule(
    "linear",
    title="Linear",
    source="torch LinearLR",
    formula="lr(t) = base_lr * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)",
    params=(
        Param("start_factor", "float", 1.0 / 3.0, "Multiplier at t = 0", low=0.0, high=1.0, low_open=True),
        Param("end_factor", "float", 1.0, "Multiplier from t = total_iters on", low=0.0, high=1.0),
        Param("total_iters", "int", 5, "Steps of the linear change", low=1, high=10**9),
    ),
    torch_native=lambda p, base_lr: (
        f"LinearLR(optimizer, start_factor={p['start_factor']!r}, "
        f"end_factor={p['end_factor']!r}, total_iters={p['total_iters']})"),
    scalar_source=lambda p, base_lr, ctx: [
        f"frac = min(step, {p['total_iters']}) / {p['total_iters']}",
        f"return {base_lr!r} * ({p['start_factor']!r} + ({p['end_factor']!r} - {p['start_factor']!r}) * frac)"],
)
def linear(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Linear change of the multiplier from ``start_factor`` to ``end_factor`` (torch ``LinearLR``).

    lr(t) = base_lr * (start_factor + (end_factor - start_factor) * min(t, T) / T), T = total_iters.
    """
    frac = np.minimum(t, p["total_iters"]).astype(np.float64)
    frac /= float(p["total_iters"])
    frac *= p["end_factor"] - p["start_factor"]
    frac += p["start_factor"]
    frac *= base_lr
    return frac


# -- d2l / MXNet factor schedulers ---------------------------------------------------------------
# Three callers of the same two classes, named by what they are (issue 15):
#   d2l_class    the d2l book's own Python classes called as scheduler(t) for t = 0, 1, ...
#                (d2l-en chapter_optimization/lr-scheduler.md, FactorScheduler and the TF tab's
#                MultiFactorScheduler; its PyTorch tab's MultiStepLR plots the same multi-factor curve)
#   mxnet_call   MXNet's lr_scheduler.FactorScheduler / MultiFactorScheduler called as scheduler(t)
#                for t = 0, 1, ... (what the book's MXNet plots show)
#   mxnet_gluon  MXNet Gluon training: the Trainer calls the scheduler with num_update = t + 1 for
#                update t + 1
# Configs stored before the rename said "d2l" / "mxnet"; ``renamed`` maps each to the behaviour it
# had (factor "d2l" was the book's class, multi_factor "d2l" changed at s + 1: MXNet's call from 0).
_CONVENTIONS = ("d2l_class", "mxnet_call", "mxnet_gluon")


def _convention(default: str, renamed: dict[str, str], help_: str) -> Param:
    return Param("convention", "choice", default, help_, choices=_CONVENTIONS, extra={"renamed": renamed})


def _factor_level(p: dict[str, Any]) -> tuple[int, int]:
    """(shift, offset) with k = max(0, floor((t - shift) / step_size)) + offset."""
    return {"d2l_class": (0, 1), "mxnet_call": (1, 0), "mxnet_gluon": (0, 0)}[p["convention"]]


def _factor_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    shift, offset = _factor_level(p)
    k = f"max(0, (step - {shift}) // {p['step_size']})" if shift else f"step // {p['step_size']}"
    return [f"return max({p['stop_factor_lr']!r}, {base_lr!r} * {p['factor']!r} ** ({k}{' + 1' if offset else ''}))"]


@register_schedule(
    "factor",
    title="Factor (d2l / MXNet)",
    source="d2l FactorScheduler (d2l_class); MXNet lr_scheduler.FactorScheduler called from t = 0 "
           "(mxnet_call) or by Gluon's Trainer (mxnet_gluon)",
    formula="lr(t) = max(stop_factor_lr, base_lr * factor ** k), s = step_size; d2l_class: k = floor(t / s) + 1; "
            "mxnet_call: k = max(0, floor((t - 1) / s)); mxnet_gluon: k = floor(t / s)",
    params=(
        Param("factor", "float", 1.0, "Multiplier applied every step_size steps", low=0.0, high=1.0,
              low_open=True),
        Param("stop_factor_lr", "float", 1e-7, "Floor of the LR (absolute)", low=0.0, high=1e6),
        Param("step_size", "int", 1, "Steps between two applications of the factor (MXNet step)",
              low=1, high=10**9),
        _convention("d2l_class", {"d2l": "d2l_class", "mxnet": "mxnet_gluon"},
                    "d2l_class: the book's class called as scheduler(t) from t = 0 (the factor applies "
                    "before the first value); mxnet_call: MXNet's FactorScheduler called as scheduler(t) "
                    "from t = 0 (first change at t = step_size + 1); mxnet_gluon: MXNet Gluon training, "
                    "num_update = t + 1 (first change at t = step_size)"),
    ),
    scalar_source=_factor_source,
)
def factor(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Geometric decay with a floor: lr(t) = max(stop_factor_lr, base_lr * factor ** k).

    ``convention`` says who calls the scheduler how (s = step_size):

    * ``d2l_class``: the d2l book's ``FactorScheduler.__call__`` multiplies *then* returns, called
      as ``scheduler(t)`` from t = 0, so its first value is already ``base_lr * factor``
      (the book's class has no step; here it applies every s calls): k = floor(t / s) + 1.
    * ``mxnet_call``: MXNet's ``FactorScheduler(step=s)`` decays while ``num_update > count + s``;
      called as ``scheduler(t)`` from t = 0 (the book's MXNet plots): k = max(0, floor((t - 1) / s)).
    * ``mxnet_gluon``: Gluon's ``Trainer`` calls it with ``num_update = t + 1`` for update t + 1:
      k = floor(t / s).
    """
    shift, offset = _factor_level(p)
    s = p["step_size"]

    def fn(k: np.ndarray) -> np.ndarray:
        return np.maximum(p["stop_factor_lr"], base_lr * pow_scalar(p["factor"], k))

    if not shift:
        return _per_level(t, s, offset, fn)
    # mxnet_call: the levels of t - 1, with t = 0 on level 0 as t = 1
    r = as_range(t)
    if r is not None and s > 8:
        top = max(r[1] - 1, 0) // s
        edges = s * np.arange(1, top + 1, dtype=np.int64) + 1
        return piecewise(t, edges, fn(np.arange(top + 1, dtype=np.float64)))
    k = np.maximum(t - 1, 0) // s
    return fn(k.astype(np.float64))


def _multi_factor_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    cmp = "<" if p["convention"] == "mxnet_call" else "<="
    return [f"return {base_lr!r} * {p['factor']!r} ** sum(1 for s in {p['steps']!r} if s {cmp} step)"]


@register_schedule(
    "multi_factor",
    title="Multi-factor (d2l / MXNet)",
    source="d2l MultiFactorScheduler (d2l_class; the book's PyTorch tab: MultiStepLR); MXNet "
           "lr_scheduler.MultiFactorScheduler called from t = 0 (mxnet_call) or by Gluon's Trainer (mxnet_gluon)",
    formula="lr(t) = base_lr * factor ** k; d2l_class, mxnet_gluon: k = #{s in steps: s <= t} (= torch "
            "MultiStepLR); mxnet_call: k = #{s: s < t}",
    params=(
        Param("steps", "int_list", [15, 30], "Steps after which the LR is multiplied by factor "
              "(strictly increasing)", low=1, high=10**9),
        Param("factor", "float", 0.5, "Multiplier at each listed step", low=0.0, high=1.0, low_open=True),
        _convention("mxnet_call", {"d2l": "mxnet_call", "mxnet": "mxnet_gluon"},
                    "mxnet_call: MXNet's MultiFactorScheduler called as scheduler(t) from t = 0, as in the "
                    "book's MXNet plots (change at s + 1); d2l_class: the book's own class (TF tab) and its "
                    "PyTorch tab (MultiStepLR), change at s; mxnet_gluon: MXNet Gluon training, "
                    "num_update = t + 1 (change at s)"),
    ),
    check=lambda p, owner: _strictly_increasing(p["steps"], "steps", owner),
    torch_native=lambda p, base_lr: (
        None if p["convention"] == "mxnet_call"
        else f"MultiStepLR(optimizer, milestones={p['steps']!r}, gamma={p['factor']!r})"),
    scalar_source=_multi_factor_source,
    lengths=Lengths(milestones=lambda p: [("steps", list(p["steps"]), "")]),
)
def multi_factor(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Multiply by ``factor`` at each listed step: lr(t) = base_lr * factor ** k.

    * ``d2l_class``: the book's ``MultiFactorScheduler.__call__(epoch)`` multiplies when
      ``epoch in step`` and returns the new value, called from t = 0: k = #{s <= t}; its PyTorch
      tab plots ``MultiStepLR(milestones=step)``, the same curve.
    * ``mxnet_call``: MXNet's ``MultiFactorScheduler.__call__(num_update)`` decays once for each s
      with ``num_update > s``; called as ``scheduler(t)`` from t = 0: k = #{s < t} (change at s + 1).
    * ``mxnet_gluon``: Gluon's ``Trainer`` passes ``num_update = t + 1``: k = #{s <= t}.
    """
    steps = np.asarray(p["steps"], dtype=np.int64)
    edges = steps + 1 if p["convention"] == "mxnet_call" else steps  # #{s < t} = #{s + 1 <= t}
    return piecewise(t, edges, base_lr * p["factor"] ** np.arange(steps.size + 1, dtype=np.float64))


# -- Noam ----------------------------------------------------------------------------------------
@register_schedule(
    "noam",
    title="Noam (Transformer)",
    source="Paddle NoamDecay",
    formula="lr(t) = base_lr * d_model ** -0.5 * min(t ** -0.5, t * warmup_steps ** -1.5)  (0 at t = 0)",
    params=(
        Param("d_model", "float", 512.0, "Model width (the LR scales as d_model^-0.5)", low=0.0, high=1e9,
              low_open=True),
        Param("warmup_steps", "int", 4000, "Steps of the linear warm-up", low=1, high=10**9),
    ),
    scalar_source=lambda p, base_lr, ctx: [
        "a = 1.0 if step == 0 else step ** -0.5",
        f"return {base_lr!r} * {p['d_model']!r} ** -0.5 * min(a, {p['warmup_steps']} ** -1.5 * step)"],
)
def noam(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Noam schedule of "Attention is all you need" (Paddle ``NoamDecay``; Paddle's default
    ``learning_rate`` is 1.0, so use base LR 1 to match its numbers).

    lr(t) = base_lr * d_model^-0.5 * min(a, t * warmup_steps^-1.5),  a = t^-0.5 (a = 1 at t = 0,
    so lr(0) = 0, as Paddle).
    """
    tf = t.astype(np.float64)
    a = np.sqrt(tf)
    np.divide(1.0, a, out=a)
    a[t == 0] = 1.0
    tf *= float(p["warmup_steps"]) ** -1.5
    np.minimum(a, tf, out=a)
    a *= base_lr * (p["d_model"] ** -0.5)
    return a


# -- HF transformers -----------------------------------------------------------------------------
def _inverse_sqrt_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    w = p["num_warmup_steps"]
    ts = p["timescale"] if p["timescale"] is not None else (w or 10_000)
    b = repr(base_lr)
    return [f"if step < {w}:", f"    return {b} * step / {max(1, w)}", f"return {b} / math.sqrt((step + {ts - w}) / {ts})"]


@register_schedule(
    "inverse_sqrt",
    title="Inverse square root",
    source="HF transformers get_inverse_sqrt_schedule",
    formula="t < W: lr = base_lr * t / max(1, W); else lr = base_lr / sqrt((t + timescale - W) / timescale)",
    params=(
        Param("num_warmup_steps", "int", 0, "Steps of the linear warm-up from 0", low=0, high=10**9),
        Param("timescale", "int", None, "Time scale of the decay (empty: num_warmup_steps, or 10,000 "
              "when that is 0)", low=1, high=10**9, optional=True),
    ),
    run_length=lambda p: [("num_warmup_steps", p["num_warmup_steps"])],
    scalar_source=_inverse_sqrt_source,
)
def inverse_sqrt(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Linear warm-up then inverse-square-root decay (HF ``get_inverse_sqrt_schedule``).

    factor(t) = t / max(1, W)                               for t < W
              = 1 / sqrt((t + timescale - W) / timescale)   otherwise,
    timescale defaulting to W (or 10,000 when W = 0); lr = base_lr * factor.
    """
    w = p["num_warmup_steps"]
    ts = p["timescale"] if p["timescale"] is not None else (w or 10_000)
    tf = t.astype(np.float64)
    out = tf + float(ts - w)
    out /= float(ts)
    np.sqrt(out, out=out)
    np.divide(1.0, out, out=out)
    if w > 0:
        warm = t < w
        out[warm] = tf[warm] / float(max(1, w))
    out *= base_lr
    return out


def _wsd_len(p: dict[str, Any]) -> list[tuple[str, int]]:
    return [("num_warmup_steps", p["num_warmup_steps"])]


_WSD_WARM = {"linear": "x", "cosine": "0.5 * (1.0 - math.cos(math.pi * x))", "1-sqrt": "1.0 - math.sqrt(1.0 - x)"}


def _wsd_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    w, st, d, r = p["num_warmup_steps"], p["num_stable_steps"], p["num_decay_steps"], p["min_lr_ratio"]
    b = repr(base_lr)
    dec = {"linear": "1.0 - x", "cosine": f"0.5 * (1.0 + math.cos(math.pi * {p['num_cycles']!r} * 2.0 * x))",
           "1-sqrt": "1.0 - math.sqrt(x)"}
    return [f"if step < {w}:", f"    x = step / {max(1, w)}", f"    f = {_WSD_WARM[p['warmup_type']]}",
            f"    return {b} * max(0.0, f * (1.0 - {r!r}) + {r!r})",
            f"if step < {w + st}:", f"    return {b}",
            f"if step < {w + st + d}:", f"    x = (step - {w + st}) / {max(1, d)}",
            f"    f = {dec[p['decay_type']]}", f"    return {b} * max(0.0, f * (1.0 - {r!r}) + {r!r})",
            f"return {b} * {r!r}"]


def _wsd_fit(p: dict[str, Any], total: int, _fit: Any) -> dict[str, Any]:
    """Keep the warm-up; stable and decay keep their proportions and fill the rest of the run."""
    w, s, d = p["num_warmup_steps"], p["num_stable_steps"], p["num_decay_steps"]
    room = total - w
    if room <= 0 or s + d <= 0:
        return p
    new_d = round(room * d / (s + d))
    return {**p, "num_decay_steps": new_d, "num_stable_steps": room - new_d}



@register_schedule(
    "wsd",
    title="Warmup-stable-decay",
    source="HF transformers get_wsd_schedule",
    formula="warm-up (linear/cosine/1-sqrt) to 1, hold 1 for num_stable_steps, decay "
            "(linear/cosine/1-sqrt) to min_lr_ratio over num_decay_steps, then min_lr_ratio; lr = base_lr*factor",
    params=(
        Param("num_warmup_steps", "int", 0, "Steps of the warm-up", low=0, high=10**9),
        Param("num_stable_steps", "int", 800, "Steps at the full LR", low=0, high=10**9),
        Param("num_decay_steps", "int", 200, "Steps of the decay", low=0, high=10**9),
        Param("warmup_type", "choice", "linear", "Shape of the warm-up", choices=("linear", "cosine", "1-sqrt")),
        Param("decay_type", "choice", "cosine", "Shape of the decay", choices=("linear", "cosine", "1-sqrt")),
        Param("min_lr_ratio", "float", 0.0, "Final LR as a fraction of the base LR", low=0.0, high=1.0),
        Param("num_cycles", "float", 0.5, "Cosine decay: number of cosine cycles (0.5 = a half cosine down to the floor)",
              low=0.0, high=1e3),
    ),
    run_length=_wsd_len,
    scalar_source=_wsd_source,
    lengths=Lengths(own=lambda p, _len: int(p["num_warmup_steps"] + p["num_stable_steps"] + p["num_decay_steps"]), fit=_wsd_fit),
)
def wsd(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Warmup-stable-decay (HF ``get_wsd_schedule``).

    W, S, D = warm-up, stable, decay steps; r = min_lr_ratio.
      t < W:          x = t / max(1, W); f = x (linear) | (1 - cos(pi x))/2 (cosine) | 1 - sqrt(1 - x)
                      factor = max(0, f * (1 - r) + r)
      t < W + S:      factor = 1
      t < W + S + D:  x = (t - W - S) / max(1, D);
                      f = 1 - x | (1 + cos(pi * num_cycles * 2 x))/2 | 1 - sqrt(x);  factor = max(0, f*(1-r) + r)
      otherwise:      factor = r
    """
    w, s, d = p["num_warmup_steps"], p["num_stable_steps"], p["num_decay_steps"]
    r = p["min_lr_ratio"]
    out = np.empty(t.shape, dtype=np.float64)
    rng = as_range(t)
    if rng is not None:
        # consecutive steps: each phase is a slice (no masks, no gathers)
        def at(step: int) -> int:
            return min(max(step - rng[0], 0), t.size)

        a, b, c = at(w), at(w + s), at(w + s + d)
        if a:
            out[:a] = _wsd_warm(p, t[:a], w, r)
        out[a:b] = 1.0
        if b < c:
            out[b:c] = _wsd_decay(p, t[b:c], w + s, d, r)
        out[c:] = r
        out *= base_lr
        return out
    # phase of each step: 0 warm-up, 1 stable, 2 decay, 3 after; evaluated only where needed
    edges = np.asarray([w, w + s, w + s + d], dtype=np.int64)
    phase = piecewise(t, edges, np.arange(4.0))
    warm, dec = phase == 0, phase == 2
    out[phase == 1] = 1.0
    out[phase == 3] = r
    if warm.any():
        out[warm] = _wsd_warm(p, t[warm], w, r)
    if dec.any():
        out[dec] = _wsd_decay(p, t[dec], w + s, d, r)
    out *= base_lr
    return out


def _wsd_warm(p: dict[str, Any], t: np.ndarray, w: int, r: float) -> np.ndarray:
    """max(0, f(x) * (1 - r) + r), x = t / max(1, W), f the warm-up shape (HF's order of operations)."""
    x = t.astype(np.float64)
    x /= float(max(1, w))
    if p["warmup_type"] == "linear":
        fw = x
    elif p["warmup_type"] == "cosine":
        fw = 0.5 * (1.0 - np.cos(np.pi * x))
    else:
        fw = 1.0 - np.sqrt(1.0 - x)
    fw *= 1.0 - r
    fw += r
    return np.maximum(fw, 0.0, out=fw)


def _wsd_decay(p: dict[str, Any], t: np.ndarray, start: int, d: int, r: float) -> np.ndarray:
    """max(0, f(y) * (1 - r) + r), y = (t - W - S) / max(1, D), f the decay shape, in place."""
    y = t.astype(np.float64)
    y -= float(start)  # exact: steps are integers far below 2**53 (one array, not two)
    y /= float(max(1, d))
    if p["decay_type"] == "linear":
        np.subtract(1.0, y, out=y)
    elif p["decay_type"] == "cosine":
        y *= np.pi * float(p["num_cycles"]) * 2.0
        np.cos(y, out=y)
        y += 1.0
        y *= 0.5
    else:
        np.sqrt(y, out=y)
        np.subtract(1.0, y, out=y)
    y *= 1.0 - r
    y += r
    return np.maximum(y, 0.0, out=y)
