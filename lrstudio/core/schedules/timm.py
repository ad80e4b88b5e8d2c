"""timm schedules (``timm/scheduler/cosine_lr.py``, ``tanh_lr.py``, ``poly_lr.py``).

timm's schedulers are stateless functions ``_get_lr(t)`` of the update (or epoch) count, called
after each update with the new count: the LR of update ``t + 1`` is ``_get_lr(t)``, so lrstudio's
``t`` is timm's ``t``. ``lr_min`` and ``warmup_lr_init`` are absolute LRs as in timm; the base LR is
the optimizer's (timm ``base_values``). timm's LR noise is the wrapper
:mod:`lrstudio.core.schedules.noise` (it applies to any schedule).

The cycle of a step (``cycle_mul != 1``) is timm's float expression
``floor(log(1 - t / t_initial * (1 - cycle_mul), cycle_mul))``, evaluated with Python's ``math``
at the few cycle starts and spread over the steps, so a step at a restart lands in the cycle timm
puts it in. At some such starts timm's ``t_curr`` comes out as -3e-14 instead of 0; with
``k_decay != 1`` timm then raises a negative float to a fractional power and gets a complex LR.
lrstudio takes ``t_curr`` as 0 there (the cycle's peak), its only departure from timm.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

from lrstudio.core.params import Param
from lrstudio.core.schedules.base import (
    Lengths,
    ScheduleError,
    SourceContext,
    as_range,
    piecewise,
    register_schedule,
)

_T_INITIAL = Param("t_initial", "int", 100, "Steps of the first cycle (timm t_initial)", low=1, high=10**9)
_LR_MIN = Param("lr_min", "float", 0.0, "Floor of the LR, absolute (timm lr_min)", low=0.0, high=1e6)
_CYCLE_DECAY = Param("cycle_decay", "float", 1.0, "Peak multiplier per cycle (timm cycle_decay)",
                     low=0.0, high=10.0, low_open=True)
_CYCLE_LIMIT = Param("cycle_limit", "int", 1, "Number of cycles; afterwards lr_min (timm cycle_limit)",
                     low=1, high=10**9)
_WARM_T = Param("warmup_t", "int", 0, "Steps of the linear warm-up (timm warmup_t)", low=0, high=10**9)
_WARM_INIT = Param("warmup_lr_init", "float", 0.0, "LR at step 0 of the warm-up, absolute (timm warmup_lr_init)",
                   low=0.0, high=1e6)
_WARM_PREFIX = Param("warmup_prefix", "bool", False,
                     "The schedule starts after the warm-up (true) or the warm-up overlays its first steps "
                     "(false, timm's default)")
_K_DECAY = Param("k_decay", "float", 1.0, "k-decay exponent of the cycle position (timm k_decay)",
                 low=0.0, high=100.0, low_open=True)
_CYCLE_MUL_HELP = "Cycle length multiplier (timm {}: 1 = equal cycles)"


def _cycle_of(t: int, t_initial: int, mul: float) -> int:
    """timm's cycle index of step ``t`` (Python math, as timm computes it)."""
    if mul != 1:
        return math.floor(math.log(1 - t / t_initial * (1 - mul), mul))
    return t // t_initial


def _cycle_starts(top: int, t_initial: int, mul: float) -> list[int]:
    """First step of cycles 1, 2, ... up to ``top`` (``mul != 1``): around T (m^c - 1) / (m - 1),
    fixed up with timm's own expression."""
    edges: list[int] = []
    c = 1
    while True:
        guess = t_initial * (mul**c - 1) / (mul - 1)
        if guess > top + 2:
            break
        s = max(int(math.floor(guess)) - 2, edges[-1] + 1 if edges else 1)
        while _cycle_of(s, t_initial, mul) < c:
            s += 1
        while s > 1 and _cycle_of(s - 1, t_initial, mul) >= c:
            s -= 1
        edges.append(s)
        c += 1
    return edges


#: Most cycles a consecutive run of steps is evaluated cycle by cycle (scalars per cycle) before the
#: per-step arrays take over.
_MAX_SEGMENTS = 512


def _by_cycle(p: dict[str, Any], t: np.ndarray, base_lr: float, mul_key: str, limit: int, after: float,
              seg: Any, body: Any, warm_target: float | None = None) -> np.ndarray:
    """timm's ``_get_lr`` over consecutive steps, one cycle at a time: ``seg(t_curr, t_i ** k, i)`` on
    each cycle's slice with the cycle's scalars (no per-step gathers), ``after`` from cycle ``limit``
    on (``limit`` 0: never). Other step arrays (or too many cycles) go to ``body`` per step."""
    r = as_range(t)
    if r is None:
        return _with_warmup(p, t, base_lr, body, warm_target, r)
    a, b = r
    w, t0, mul, k = p["warmup_t"], p["t_initial"], float(p[mul_key]), p.get("k_decay", 1.0)
    shift = w if p["warmup_prefix"] else 0
    first = max(a, w)  # the first step after the warm-up
    u0, u1 = first - shift, b - shift
    if first <= b:
        if mul == 1.0:
            c0, c1 = u0 // t0, u1 // t0
            starts = None
        else:
            starts = [0, *_cycle_starts(u1, t0, mul)]
            c0 = bisect.bisect_right(starts, u0) - 1
            c1 = len(starts) - 1
        if c1 - c0 + 1 > _MAX_SEGMENTS:
            return _with_warmup(p, t, base_lr, body, warm_target, r)
    out = np.empty(t.shape, dtype=np.float64)
    m = min(max(w - a, 0), t.size)
    if m:
        target = base_lr if warm_target is None else warm_target
        out[:m] = p["warmup_lr_init"] + t[:m].astype(np.float64) * ((target - p["warmup_lr_init"]) / w)
    if first > b:
        return out
    for c in range(c0, c1 + 1):
        if mul == 1.0:
            lo_c, hi_c = c * t0, (c + 1) * t0 - 1
        else:
            lo_c = starts[c]  # type: ignore[index]
            hi_c = starts[c + 1] - 1 if c + 1 < len(starts) else u1  # type: ignore[index,arg-type]
        lo, hi = max(lo_c, u0), min(hi_c, u1)
        if lo > hi:
            continue
        sl = slice(lo + shift - a, hi + shift - a + 1)
        if 0 < limit <= c:
            out[sl] = after
            continue
        if mul == 1.0:
            t_i_k, off = float(t0) ** k, float(t0 * c)
        else:
            t_i_k, off = (mul**c * t0) ** k, (1 - mul**c) / (1 - mul) * t0
        t_curr = np.arange(lo, hi + 1, dtype=np.float64)
        t_curr -= off
        np.maximum(t_curr, 0.0, out=t_curr)
        out[sl] = seg(t_curr, t_i_k, c)
    return out


def _cycles(t: np.ndarray, t_initial: int, mul: float, k: float = 1.0
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each step (already shifted by a warm-up prefix, >= 0): the cycle ``i`` (int64), the cycle's
    length ``t_i ** k`` and the steps into it ``t_curr`` (floats), as timm computes them (``t_i ** k``
    with Python's pow, once per cycle)."""
    if t.size == 0:
        e = np.zeros(0)
        return t.astype(np.int64), e, e
    if mul == 1:
        i = t // t_initial
        t_curr = (t - t_initial * i).astype(np.float64)
        return i, np.full(t.shape, float(t_initial) ** k), t_curr
    edges = _cycle_starts(int(t.max()), t_initial, mul)
    kmax = len(edges)
    i_vals = np.arange(kmax + 1, dtype=np.float64)
    i = piecewise(t, np.asarray(edges, dtype=np.int64), i_vals).astype(np.int64)
    t_i = np.asarray([(mul**j * t_initial) ** k for j in range(kmax + 1)])
    off = np.asarray([(1 - mul**j) / (1 - mul) * t_initial for j in range(kmax + 1)])
    tf = t.astype(np.float64)
    t_curr = tf - off[i]
    np.maximum(t_curr, 0.0, out=t_curr)  # timm: -3e-14 at some cycle starts (a complex LR with k_decay != 1)
    return i, t_i[i], t_curr


def _gamma(decay: float, i: np.ndarray, limit: int) -> np.ndarray:
    """decay ** i (Python's pow on the few cycles; cycles from ``limit`` on are not used)."""
    if decay == 1.0:
        return np.ones(i.shape, dtype=np.float64)
    top = int(i.max()) if i.size else 0
    if limit > 0:
        top = min(top, limit)
    if top >= 4096:
        return np.power(decay, i.astype(np.float64))
    table = np.asarray([decay**j for j in range(top + 1)])
    return table[np.minimum(i, top)]


def _with_warmup(p: dict[str, Any], t: np.ndarray, base_lr: float, body: Any, warm_target: float | None = None,
                 r: tuple[int, int] | None = None) -> np.ndarray:
    """timm's ``_get_lr``: the warm-up ``warmup_lr_init + t * s`` with s = (target - init) / warmup_t
    for t < warmup_t, ``body(t')`` otherwise (t' = t - warmup_t with warmup_prefix); ``r``: as_range(t)."""
    w = p["warmup_t"]
    if w == 0:
        return body(t)
    out = np.empty(t.shape, dtype=np.float64)
    target = base_lr if warm_target is None else warm_target
    s = (target - p["warmup_lr_init"]) / w
    warm = t < w
    if r is not None:
        m = min(max(w - r[0], 0), t.size)
        if m:
            out[:m] = p["warmup_lr_init"] + t[:m].astype(np.float64) * s
        if m < t.size:
            rest = t[m:]
            out[m:] = body(rest - w if p["warmup_prefix"] else rest)
        return out
    if warm.any():
        out[warm] = p["warmup_lr_init"] + t[warm].astype(np.float64) * s
    if (~warm).any():
        rest = t[~warm]
        out[~warm] = body(rest - w if p["warmup_prefix"] else rest)
    return out


def _k_ratio(t_curr: np.ndarray, t_i_k: np.ndarray, k: float) -> np.ndarray:
    """t_curr ** k / t_i ** k (``t_i_k`` is already ``t_i ** k``), in place on ``t_curr``."""
    if k != 1.0:
        t_curr = np.power(t_curr, k, out=t_curr)
    t_curr /= t_i_k
    return t_curr


def _cycle_length(p: dict[str, Any], mul_key: str, limit: int) -> int:
    """timm ``get_cycle_length()``: the steps of ``limit`` cycles (+ the warm-up with warmup_prefix)."""
    mul, t0 = p[mul_key], p["t_initial"]
    cycles = max(1, limit)
    t = t0 * cycles if mul == 1.0 else int(math.floor(-t0 * (mul**cycles - 1) / (1 - mul)))
    return t + p["warmup_t"] if p["warmup_prefix"] else t


def _fit_t_initial(p: dict[str, Any], total: int, mul_key: str, limit: int) -> dict[str, Any]:
    """Equal cycles (mul 1): t_initial such that ``limit`` cycles fill the run."""
    if p[mul_key] != 1.0 or limit < 1:
        return p
    room = total - (p["warmup_t"] if p["warmup_prefix"] else 0)
    t0 = room // limit
    return {**p, "t_initial": t0} if t0 >= 1 else p


# -- source export helpers -----------------------------------------------------------------------
def _cycle_src(p: dict[str, Any], mul_key: str) -> list[str]:
    mul, t0 = float(p[mul_key]), p["t_initial"]
    if mul != 1:
        return [f"i = math.floor(math.log(1 - t / {t0} * (1 - {mul!r}), {mul!r}))",
                f"t_i = {mul!r} ** i * {t0}", f"t_curr = t - (1 - {mul!r} ** i) / (1 - {mul!r}) * {t0}"]
    return [f"i = t // {t0}", f"t_i = {t0}", f"t_curr = t - ({t0} * i)"]


def _warm_src(p: dict[str, Any], target: str) -> list[str]:
    w = p["warmup_t"]
    if w == 0:
        return ["t = step"]
    return [f"if step < {w}:", f"    return {p['warmup_lr_init']!r} + step * (({target} - {p['warmup_lr_init']!r}) / {w})",
            f"t = step - {w}" if p["warmup_prefix"] else "t = step"]


# -- cosine --------------------------------------------------------------------------------------
_CYC_PARAMS = (
    _T_INITIAL, _LR_MIN,
    Param("cycle_mul", "float", 1.0, _CYCLE_MUL_HELP.format("cycle_mul"), low=1.0, high=100.0),
    _CYCLE_DECAY, _CYCLE_LIMIT, _WARM_T, _WARM_INIT, _WARM_PREFIX, _K_DECAY,
)


def _lr_max(p: dict[str, Any], base_lr: float, i: Any) -> Any:
    """Cosine's and poly's peak in cycle ``i`` (a scalar, or an array per step): base_lr * cycle_decay**i."""
    return base_lr * (p["cycle_decay"] ** i if np.isscalar(i) else _gamma(p["cycle_decay"], i, p["cycle_limit"]))


def _decay_body(p: dict[str, Any], seg: Any) -> Any:
    """Cosine's and poly's curve after the warm-up: each step's cycle (cycle_mul, k_decay), the
    segment ``seg`` in it, lr_min once cycle_limit cycles are done."""
    def body(t: np.ndarray) -> np.ndarray:
        i, t_i_k, t_curr = _cycles(t, p["t_initial"], p["cycle_mul"], p["k_decay"])
        out = seg(t_curr, t_i_k, i)
        out[i >= p["cycle_limit"]] = p["lr_min"]
        return out
    return body


def _decay_source(p: dict[str, Any], base_lr: float, value: str) -> list[str]:
    """Cosine's and poly's scalar source: warm-up, cycle, lr_min after cycle_limit, lr_max; then
    ``return value`` (an expression of lr_max, t_curr and t_i)."""
    return [*_warm_src(p, repr(base_lr)), *_cycle_src(p, "cycle_mul"),
            f"if i >= {p['cycle_limit']}:", f"    return {p['lr_min']!r}",
            f"lr_max = {base_lr!r} * {p['cycle_decay']!r} ** i", f"return {value}"]


def _cos_seg(p: dict[str, Any], base_lr: float) -> Any:
    """lr_min + 0.5 (lr_max - lr_min) (1 + cos(pi t_curr**k / t_i**k)) for one cycle (scalar i) or
    per step (array i)."""
    def seg(t_curr: np.ndarray, t_i_k: Any, i: Any) -> np.ndarray:
        lr_max = _lr_max(p, base_lr, i)
        x = _k_ratio(t_curr, t_i_k, p["k_decay"])
        x *= math.pi
        np.cos(x, out=x)
        x += 1.0
        x *= 0.5 * (lr_max - p["lr_min"])
        x += p["lr_min"]
        return x
    return seg


def _timm_cos_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    k = p["k_decay"]
    return _decay_source(p, base_lr, f"{p['lr_min']!r} + 0.5 * (lr_max - {p['lr_min']!r}) * "
                                     f"(1 + math.cos(math.pi * t_curr ** {k!r} / t_i ** {k!r}))")


@register_schedule(
    "timm_cosine",
    title="timm cosine (cycles, k-decay, warm-up)",
    source="timm CosineLRScheduler (timm/scheduler/cosine_lr.py)",
    formula="t < warmup_t: lr = warmup_lr_init + t * (base_lr - warmup_lr_init) / warmup_t; else "
            "(t -= warmup_t with warmup_prefix) cycle i, length t_i = t_initial * cycle_mul**i, t_curr into it; "
            "lr = lr_min + (base_lr * cycle_decay**i - lr_min) * (1 + cos(pi * t_curr**k / t_i**k)) / 2 "
            "while i < cycle_limit, else lr_min",
    params=_CYC_PARAMS,
    run_length=lambda p: [("warmup_t", p["warmup_t"])],
    scalar_source=_timm_cos_source,
    lengths=Lengths(own=lambda p, _len: _cycle_length(p, "cycle_mul", p["cycle_limit"]),
                    fit=lambda p, total, _fit: _fit_t_initial(p, total, "cycle_mul", p["cycle_limit"])),
)
def timm_cosine(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """timm ``CosineLRScheduler._get_lr(t)``.

    t < warmup_t: lr = warmup_lr_init + t * (base_lr - warmup_lr_init) / warmup_t.
    Otherwise (t -= warmup_t when warmup_prefix): cycle i = floor(log(1 - t/T (1 - m), m)) (m != 1)
    or t // T; t_i = m**i T; t_curr = t - (1 - m**i)/(1 - m) T (or t - i T);
    lr = lr_min + 0.5 (base_lr * cycle_decay**i - lr_min) (1 + cos(pi t_curr**k / t_i**k)) while
    i < cycle_limit, lr_min afterwards.
    """
    seg = _cos_seg(p, base_lr)
    return _by_cycle(p, t, base_lr, "cycle_mul", p["cycle_limit"], p["lr_min"], seg, _decay_body(p, seg))


# -- tanh ----------------------------------------------------------------------------------------
def _check_tanh(p: dict[str, Any], owner: str) -> None:
    if not p["lb"] < p["ub"]:
        raise ScheduleError("ub", p["ub"], f"greater than lb ({p['lb']!r})", owner)


def _tanh_seg(p: dict[str, Any], base_lr: float) -> Any:
    """lr_min*g + 0.5 (base_lr*g - lr_min*g) (1 - tanh(lb (1 - tr) + ub tr)), g = decay_rate**i."""
    def seg(t_curr: np.ndarray, t_i: Any, i: Any) -> np.ndarray:
        gamma = p["decay_rate"] ** i if np.isscalar(i) else _gamma(p["decay_rate"], i, p["cycle_limit"])
        lr_min = p["lr_min"] * gamma
        lr_max = base_lr * gamma
        tr = t_curr / t_i
        x = p["lb"] * (1.0 - tr) + p["ub"] * tr
        np.tanh(x, out=x)
        np.subtract(1, x, out=x)
        x *= 0.5 * (lr_max - lr_min)
        x += lr_min
        return x
    return seg


def _tanh_after(p: dict[str, Any]) -> float:
    return float(p["lr_min"] * (p["decay_rate"] ** p["cycle_limit"]))


def _tanh_body(p: dict[str, Any], base_lr: float) -> Any:
    seg = _tanh_seg(p, base_lr)

    def body(t: np.ndarray) -> np.ndarray:
        i, t_i, t_curr = _cycles(t, p["t_initial"], p["t_mul"])
        out = seg(t_curr, t_i, i)
        if p["cycle_limit"] > 0:
            out[i >= p["cycle_limit"]] = _tanh_after(p)
        return out
    return body


def _tanh_warm_target(p: dict[str, Any], base_lr: float) -> float:
    """timm: without warmup_prefix the warm-up rises to ``_get_lr(warmup_t)``."""
    if p["warmup_prefix"] or p["warmup_t"] == 0:
        return base_lr
    return float(_tanh_body(p, base_lr)(np.asarray([p["warmup_t"]], dtype=np.int64))[0])


def _timm_tanh_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    limit, dr = p["cycle_limit"], p["decay_rate"]
    return [*_warm_src(p, repr(_tanh_warm_target(p, base_lr))), *_cycle_src(p, "t_mul"),
            *([f"if i >= {limit}:", f"    return {p['lr_min']!r} * ({dr!r} ** {limit})"] if limit > 0 else []),
            f"gamma = {dr!r} ** i", f"lr_min = {p['lr_min']!r} * gamma", f"lr_max = {base_lr!r} * gamma",
            "tr = t_curr / t_i",
            f"return lr_min + 0.5 * (lr_max - lr_min) * (1 - math.tanh({p['lb']!r} * (1. - tr) + {p['ub']!r} * tr))"]


@register_schedule(
    "timm_tanh",
    title="timm tanh decay",
    source="timm TanhLRScheduler (timm/scheduler/tanh_lr.py)",
    formula="cycle i, tr = t_curr / t_i; gamma = decay_rate**i; "
            "lr = lr_min*gamma + (base_lr*gamma - lr_min*gamma) * (1 - tanh(lb (1 - tr) + ub tr)) / 2; "
            "past cycle_limit cycles (0: never) lr_min * decay_rate**cycle_limit; linear warm-up first",
    params=(
        _T_INITIAL,
        Param("lb", "float", -6.0, "tanh argument at the start of a cycle (timm lb)", low=-1e3, high=1e3),
        Param("ub", "float", 4.0, "tanh argument at the end of a cycle (timm ub; > lb)", low=-1e3, high=1e3),
        Param("t_mul", "float", 1.0, _CYCLE_MUL_HELP.format("t_mul"), low=1.0, high=100.0),
        _LR_MIN,
        Param("decay_rate", "float", 1.0, "Multiplier of both ends per cycle (timm decay_rate)",
              low=0.0, high=10.0, low_open=True),
        _WARM_T, _WARM_INIT, _WARM_PREFIX,
        Param("cycle_limit", "int", 0, "Number of cycles (0: unlimited, timm's default)", low=0, high=10**9),
    ),
    check=_check_tanh,
    run_length=lambda p: [("warmup_t", p["warmup_t"])],
    scalar_source=_timm_tanh_source,
    lengths=Lengths(own=lambda p, _len: _cycle_length(p, "t_mul", p["cycle_limit"]) if p["cycle_limit"] else None,
                    fit=lambda p, total, _fit: _fit_t_initial(p, total, "t_mul", max(1, p["cycle_limit"]))),
)
def timm_tanh(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """timm ``TanhLRScheduler._get_lr(t)``.

    Cycles as timm_cosine (with t_mul); gamma = decay_rate**i, tr = t_curr / t_i,
    lr = lr_min*gamma + 0.5 (base_lr*gamma - lr_min*gamma) (1 - tanh(lb (1 - tr) + ub tr)) for
    i < cycle_limit (or cycle_limit = 0), lr_min * decay_rate**cycle_limit afterwards. The warm-up
    rises to base_lr with warmup_prefix, otherwise to the tanh's value at warmup_t (timm).
    """
    return _by_cycle(p, t, base_lr, "t_mul", p["cycle_limit"], _tanh_after(p), _tanh_seg(p, base_lr),
                     _tanh_body(p, base_lr), _tanh_warm_target(p, base_lr))


# -- poly ----------------------------------------------------------------------------------------
def _poly_seg(p: dict[str, Any], base_lr: float) -> Any:
    """lr_min + (base_lr * cycle_decay**i - lr_min) (1 - t_curr**k / t_i**k) ** power."""
    def seg(t_curr: np.ndarray, t_i_k: Any, i: Any) -> np.ndarray:
        lr_max = _lr_max(p, base_lr, i)
        x = _k_ratio(t_curr, t_i_k, p["k_decay"])
        np.subtract(1, x, out=x)
        if p["power"] != 1.0:
            x = np.power(x, p["power"], out=x)
        x *= lr_max - p["lr_min"]
        x += p["lr_min"]
        return x
    return seg


def _timm_poly_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    k = p["k_decay"]
    return _decay_source(p, base_lr, f"{p['lr_min']!r} + (lr_max - {p['lr_min']!r}) * "
                                     f"(1 - t_curr ** {k!r} / t_i ** {k!r}) ** {p['power']!r}")


@register_schedule(
    "timm_poly",
    title="timm polynomial (cycles, k-decay, warm-up)",
    source="timm PolyLRScheduler (timm/scheduler/poly_lr.py)",
    formula="warm-up as timm_cosine; lr = lr_min + (base_lr * cycle_decay**i - lr_min) * "
            "(1 - t_curr**k / t_i**k) ** power while i < cycle_limit, else lr_min",
    params=(_T_INITIAL, Param("power", "float", 0.5, "Exponent of the decay (timm power)", low=0.0, high=100.0),
            *_CYC_PARAMS[1:]),
    run_length=lambda p: [("warmup_t", p["warmup_t"])],
    scalar_source=_timm_poly_source,
    lengths=Lengths(own=lambda p, _len: _cycle_length(p, "cycle_mul", p["cycle_limit"]),
                    fit=lambda p, total, _fit: _fit_t_initial(p, total, "cycle_mul", p["cycle_limit"])),
)
def timm_poly(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """timm ``PolyLRScheduler._get_lr(t)``.

    Warm-up and cycles as timm_cosine; lr = lr_min + (base_lr * cycle_decay**i - lr_min) *
    (1 - t_curr**k / t_i**k) ** power while i < cycle_limit, lr_min afterwards.
    """
    seg = _poly_seg(p, base_lr)
    return _by_cycle(p, t, base_lr, "cycle_mul", p["cycle_limit"], p["lr_min"], seg, _decay_body(p, seg))
