"""Cosine family and cyclic schedules: cosine, SGDR restarts, TF linear-cosine (+ noisy), CyclicLR,
one-cycle.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from lrstudio.core.params import Param
from lrstudio.core.schedules.base import (
    Lengths,
    ScheduleError,
    SourceContext,
    as_range,
    piecewise,
    pow_scalar,
    register_schedule,
)
from lrstudio.core.schedules.momentum import register_momentum
from lrstudio.core.schedules.pytorch_code import NativeUpTo


# -- cosine --------------------------------------------------------------------------------------
def _check_cosine(p: dict[str, Any], owner: str) -> None:
    if p["warmup_steps"] >= p["T_max"] and p["warmup_steps"] > 0:
        raise ScheduleError("warmup_steps", p["warmup_steps"], f"fewer steps than T_max ({p['T_max']})", owner)


def _cosine_torch(p: dict[str, Any], base_lr: float) -> str | None:
    if p["after_end"] != "rise" or p["warmup_steps"] != 0:
        return None
    return f"CosineAnnealingLR(optimizer, T_max={p['T_max']}, eta_min={p['eta_min'] + p['alpha'] * base_lr!r})"


def _cosine_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    b, floor = repr(base_lr), p["eta_min"] + p["alpha"] * base_lr
    w, T = p["warmup_steps"], p["T_max"]
    s = f"min(step, {T})" if p["after_end"] == "hold" else "step"
    body = []
    if w > 0:
        body += [f"if step < {w}:",
                 f"    return {p['warmup_begin_lr']!r} + ({b} - {p['warmup_begin_lr']!r}) * step / {w}"]
    return [*body, f"return {floor!r} + ({b} - {floor!r}) * (1 + math.cos(math.pi * ({s} - {w}) / {T - w})) / 2"]


def _cosine_after(p: dict[str, Any], total: int) -> str | None:
    if p["after_end"] != "rise":
        return None
    halves = total / max(1, p["T_max"] - p["warmup_steps"])
    return f"the cosine rises again afterwards ({halves:.1f} half-cycles in the run)"


_COSINE_LENGTHS = Lengths(
    own=lambda p, _len: int(p["T_max"]),
    fit=lambda p, total, _fit: {**p, "T_max": total} if total > p["warmup_steps"] else p,
    after=_cosine_after,
)


@register_schedule(
    "cosine",
    title="Cosine annealing",
    source="torch CosineAnnealingLR; Paddle CosineAnnealingDecay; TF cosine_decay (alpha); "
           "d2l CosineScheduler (final_lr = eta_min, warmup)",
    formula="floor = eta_min + alpha * base_lr; t < W: lr = warmup_begin_lr + (base_lr - warmup_begin_lr) * t / W; "
            "else lr = floor + (base_lr - floor) * (1 + cos(pi * (t - W) / (T_max - W))) / 2 "
            "(after_end='hold': t clipped to T_max)",
    params=(
        Param("T_max", "int", 100, "Steps of the half cosine (d2l max_update, TF decay_steps)", low=1, high=10**9),
        Param("eta_min", "float", 0.0, "Final LR, absolute (torch eta_min, d2l final_lr)", low=0.0, high=1e6),
        Param("alpha", "float", 0.0, "Final LR as a fraction of the base LR (TF alpha); adds to eta_min",
              low=0.0, high=1.0),
        Param("after_end", "choice", "rise",
              "Past T_max: 'rise' = the cosine goes on and rises again (torch, Paddle); "
              "'hold' = stay at the final LR (TF/Keras, d2l)",
              choices=("rise", "hold")),
        Param("warmup_steps", "int", 0, "d2l: linear warm-up steps inside T_max", low=0, high=10**9),
        Param("warmup_begin_lr", "float", 0.0, "d2l: LR at the start of the warm-up (absolute)", low=0.0, high=1e6),
    ),
    check=_check_cosine,
    run_length=lambda p: [("warmup_steps", p["warmup_steps"])],
    torch_native=_cosine_torch,
    scalar_source=_cosine_source,
    lengths=_COSINE_LENGTHS,
)
def cosine(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Half-cosine from ``base_lr`` down to a floor.

    floor = eta_min + alpha * base_lr   (torch/Paddle/d2l use the absolute eta_min (d2l: final_lr),
    TF ``cosine_decay`` the fraction alpha: lr0 * ((1 - alpha) * c + alpha) = floor + (lr0 - floor) * c).

      lr(t) = floor + (base_lr - floor) * (1 + cos(pi * (t - W) / (T_max - W))) / 2,   t >= W
      lr(t) = warmup_begin_lr + (base_lr - warmup_begin_lr) * t / W,                    t < W (d2l)

    Past T_max (``after_end``): torch ``CosineAnnealingLR`` and Paddle ``CosineAnnealingDecay``
    follow the cosine on, so the LR rises back to base_lr at 2*T_max ("rise", period 2*T_max).
    TF ``cosine_decay`` clips the step to decay_steps and d2l returns its last value: "hold".
    """
    w = p["warmup_steps"]
    T = p["T_max"]
    floor = p["eta_min"] + p["alpha"] * base_lr
    # the cosine repeats every 2 (T - w) steps ("rise") or is constant past T ("hold"): evaluate
    # cos only on one period and copy (np.cos is the cost here)
    period = 2 * (T - w)
    tt = np.minimum(t, T) if p["after_end"] == "hold" else t
    r = as_range(t)
    if r is not None and r[0] >= w and t.size > period + 1 and p["after_end"] == "rise":
        base_t = np.arange(r[0], r[0] + period, dtype=np.int64)
        one = _cos_part(base_t - w, T - w, floor, base_lr)
        return np.resize(one, t.size)
    if r is not None and p["after_end"] == "hold" and r[1] > T and t.size > 1:
        out = np.empty(t.size, dtype=np.float64)
        m = max(0, T - r[0] + 1)
        if m:
            out[:m] = cosine(p, t[:m], base_lr)
        out[m:] = floor
        return out
    lr = _cos_part(tt - w, T - w, floor, base_lr)
    if w > 0:
        warm = t < w
        if warm.any():
            lr[warm] = p["warmup_begin_lr"] + (base_lr - p["warmup_begin_lr"]) * t[warm].astype(np.float64) / float(w)
    return lr


def _cos_part(x: np.ndarray, length: int, floor: float, base_lr: float) -> np.ndarray:
    """floor + (base_lr - floor) * (1 + cos(pi * x / length)) / 2, in place, torch's order of operations."""
    y = x.astype(np.float64)
    y *= math.pi
    y /= float(length)
    np.cos(y, out=y)
    y += 1.0
    y *= base_lr - floor
    y /= 2.0
    y += floor
    return y


# -- SGDR ----------------------------------------------------------------------------------------
def _restart_index(t: np.ndarray, t0: int, tmult: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cycle index i, steps into the cycle, and cycle length, for each step.

    Cycle i has length T_0 * T_mult**i and starts at T_0 * (T_mult**i - 1) / (T_mult - 1).
    The float log guess is corrected against the exact start (integers when T_mult is an integer),
    so a step exactly at a restart is never put in the wrong cycle.
    """
    tf = t.astype(np.float64)
    if tmult == 1.0:
        i = t // t0
        return i, (t - i * t0).astype(np.float64), np.full(t.shape, float(t0))
    i = np.floor(np.log1p(tf / t0 * (tmult - 1.0)) / math.log(tmult))
    i = np.maximum(i, 0.0)

    def start(k: np.ndarray) -> np.ndarray:
        if float(tmult).is_integer():
            m = int(tmult)
            # exact integer arithmetic; k stays small (log of the step count)
            ki = k.astype(np.int64)
            powm = np.power(np.int64(m), ki)
            return (t0 * (powm - 1) // (m - 1)).astype(np.float64)
        return t0 * (np.power(tmult, k) - 1.0) / (tmult - 1.0)

    i = np.where(start(i) > tf, i - 1.0, i)
    i = np.where(start(i + 1.0) <= tf, i + 1.0, i)
    s = start(i)
    if float(tmult).is_integer():
        length = (t0 * np.power(np.int64(int(tmult)), i.astype(np.int64))).astype(np.float64)
    else:
        length = t0 * np.power(tmult, i)
    return i, tf - s, length


def _restarts_torch(p: dict[str, Any], base_lr: float) -> str | None:
    if not float(p["T_mult"]).is_integer() or p["m_mul"] != 1.0:
        return None
    return (f"CosineAnnealingWarmRestarts(optimizer, T_0={p['T_0']}, T_mult={int(p['T_mult'])}, "
            f"eta_min={p['eta_min'] + p['alpha'] * base_lr!r})")


def _restarts_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    b, floor = repr(base_lr), p["eta_min"] + p["alpha"] * base_lr
    return [f"i, start, length = 0, 0.0, float({p['T_0']})",
            "while step >= start + length:",
            f"    i, start, length = i + 1, start + length, length * {float(p['T_mult'])!r}",
            f"amp = ({b} - {floor!r}) * {p['m_mul']!r} ** i",
            f"return {floor!r} + amp * (1 + math.cos(math.pi * (step - start) / length)) / 2"]


@register_schedule(
    "cosine_restarts",
    title="Cosine with warm restarts (SGDR)",
    source="torch CosineAnnealingWarmRestarts (T_0, T_mult, eta_min); TF cosine_decay_restarts "
           "(first_decay_steps = T_0, t_mul = T_mult, m_mul, alpha)",
    formula="cycle i has length T_i = T_0 * T_mult**i; floor = eta_min + alpha * base_lr; "
            "lr = floor + (base_lr - floor) * m_mul**i * (1 + cos(pi * T_cur / T_i)) / 2",
    params=(
        Param("T_0", "int", 10, "Length of the first cycle (TF first_decay_steps)", low=1, high=10**9),
        Param("T_mult", "float", 1.0, "Growth of the cycle length (torch: an integer >= 1; TF t_mul)",
              low=1.0, high=100.0),
        Param("eta_min", "float", 0.0, "Floor of the LR, absolute (torch)", low=0.0, high=1e6),
        Param("alpha", "float", 0.0, "Floor as a fraction of the base LR (TF); adds to eta_min", low=0.0, high=1.0),
        Param("m_mul", "float", 1.0, "Peak multiplier per restart (TF m_mul)", low=0.0, high=1.0),
    ),
    torch_native=_restarts_torch,
    scalar_source=_restarts_source,
)
def cosine_restarts(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """SGDR: a half cosine per cycle, each cycle T_mult times longer than the previous.

    torch ``CosineAnnealingWarmRestarts``: lr = eta_min + (base_lr - eta_min)(1 + cos(pi T_cur/T_i))/2.
    TF ``cosine_decay_restarts``: lr0 * ((1 - alpha) * m_mul**i * (1 + cos(pi * frac))/2 + alpha).
    Both are  floor + (base_lr - floor) * m_mul**i * (1 + cos(pi * T_cur / T_i)) / 2
    with floor = eta_min + alpha * base_lr and i the restart index. TF allows a fractional t_mul
    (cycle starts then fall between steps); torch needs an integer T_mult.
    """
    floor = p["eta_min"] + p["alpha"] * base_lr
    r = as_range(t)
    if r is not None and p["T_mult"] == 1.0 and p["m_mul"] == 1.0 and t.size > p["T_0"]:
        # period T_0: evaluate one period and repeat it
        one = cosine_restarts(p, np.arange(r[0], r[0] + p["T_0"], dtype=np.int64), base_lr)
        return np.resize(one, t.size)
    if r is not None and p["T_mult"] > 1.0 and t.size > 64:
        return _restarts_by_cycle(p, r, base_lr, floor)
    i, tcur, length = _restart_index(t, p["T_0"], float(p["T_mult"]))
    y = tcur
    y *= math.pi
    y /= length
    np.cos(y, out=y)
    y += 1.0
    # amplitude (base_lr - floor) * m_mul**i, with C pow as in _restarts_by_cycle (same rounding)
    y *= (base_lr - floor) * np.power(p["m_mul"], i.astype(np.float64)) if p["m_mul"] != 1.0 else base_lr - floor
    y /= 2.0
    y += floor
    return y


def _restarts_by_cycle(p: dict[str, Any], r: tuple[int, int], base_lr: float, floor: float) -> np.ndarray:
    """SGDR over consecutive steps, one slice per cycle (cycles grow geometrically: few of them)."""
    first, last = r
    out = np.empty(last - first + 1, dtype=np.float64)
    t0, tmult = p["T_0"], float(p["T_mult"])
    # the cycle holding `first` (same exact-start rule as _restart_index)
    i, _, _ = _restart_index(np.asarray([first], dtype=np.int64), t0, tmult)
    k = int(i[0])
    while True:
        s0, length = _cycle_start_len(k, t0, tmult)
        if s0 > last:
            break
        a, b = max(math.ceil(s0), first), min(last, math.ceil(s0 + length) - 1)
        if math.ceil(s0 + length) - 1 < first:  # pragma: no cover - guarded by _restart_index
            k += 1
            continue
        if a <= b:
            y = np.arange(a, b + 1, dtype=np.float64)
            y -= s0
            y *= math.pi
            y /= length
            np.cos(y, out=y)
            y += 1.0
            y *= (base_lr - floor) * _npow(p["m_mul"], k) if p["m_mul"] != 1.0 else base_lr - floor
            y /= 2.0
            y += floor
            out[a - first : b - first + 1] = y
        k += 1
    return out


def _cycle_start_len(k: int, t0: int, tmult: float) -> tuple[float, float]:
    if float(tmult).is_integer():
        m = int(tmult)
        return float(t0 * (m**k - 1) // (m - 1)), float(t0 * m**k)
    return t0 * (_npow(tmult, k) - 1.0) / (tmult - 1.0), t0 * _npow(tmult, k)


def _npow(b: float, k: int) -> float:
    """b**k exactly as numpy's array power computes it (it can differ from Python's in the last bit),
    so the per-cycle and the per-step paths agree to the bit."""
    return float(np.power(b, np.asarray([float(k)]))[0])


# -- TF linear cosine ----------------------------------------------------------------------------
_LC_PARAMS = (
    Param("decay_steps", "int", 1000, "Steps of the decay", low=1, high=10**9),
    Param("num_periods", "float", 0.5, "Number of cosine periods in the decay", low=0.0, high=1e4),
    Param("alpha", "float", 0.0, "Added to the linear part", low=0.0, high=1e3),
    Param("beta", "float", 0.001, "Added to the product (floor factor)", low=0.0, high=1e3),
)


def _linear_cosine_parts(p: dict[str, Any], t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = float(p["decay_steps"])
    g = np.minimum(t, p["decay_steps"]).astype(np.float64)
    linear = d - g
    linear /= d
    return g, linear, _lc_cos(p, t, g, d)


def _lc_cos(p: dict[str, Any], t: np.ndarray, g: np.ndarray, d: float) -> np.ndarray:
    """0.5 (1 + cos(2 pi num_periods g / D)), computed up to D only (constant after)."""
    r = as_range(t)
    if r is not None and r[1] > p["decay_steps"] and r[0] <= p["decay_steps"]:
        # constant past decay_steps: cos only up to there
        m = p["decay_steps"] - r[0] + 1
        head = _cos_lc(p, g[:m], d)
        cos = np.empty_like(g)
        cos[:m] = head
        cos[m:] = head[-1]
        return cos
    return _cos_lc(p, g, d)


def _cos_lc(p: dict[str, Any], g: np.ndarray, d: float) -> np.ndarray:
    y = g * (math.pi * 2.0 * p["num_periods"])
    y /= d
    np.cos(y, out=y)
    y += 1.0
    y *= 0.5
    return y


def _linear_cosine_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    """Both linear-cosine decays; the noisy one keeps its draws in a list beside its function."""
    b, d = repr(base_lr), p["decay_steps"]
    body = [f"g = min(step, {d})", f"linear = ({d} - g) / {d}",
            f"cosine = 0.5 * (1.0 + math.cos(math.pi * 2.0 * {p['num_periods']!r} * g / {d}))"]
    if "seed" not in p:
        return [*body, f"return {b} * (({p['alpha']!r} + linear) * cosine + {p['beta']!r})"]
    ctx.preamble(f"_noise_{ctx.fname} = []  # N(0, 1) draws of default_rng({p['seed']}), one per step", "")
    return [*body, f"noise = _noise_{ctx.fname}",
            "if step >= len(noise):  # same prefix for any length: regenerate twice as many",
            f"    noise[:] = np.random.default_rng({p['seed']}).standard_normal(2 * step + 1024).tolist()",
            "eps = noise[step]",
            f"std = math.sqrt({p['initial_variance']!r} / (1.0 + g) ** {p['variance_decay']!r})",
            "linear = linear + eps * std",
            f"return max(0.0, {b} * (({p['alpha']!r} + linear) * cosine + {p['beta']!r}))"]


_DECAY_LENGTHS = Lengths(own=lambda p, _len: int(p["decay_steps"]),
                         fit=lambda p, total, _fit: {**p, "decay_steps": total})



@register_schedule(
    "linear_cosine",
    title="Linear cosine decay",
    source="TF linear_cosine_decay",
    formula="g = min(t, decay_steps); lr = base_lr * ((alpha + (D - g)/D) * 0.5 * (1 + cos(2 pi num_periods g/D)) + beta)",
    params=_LC_PARAMS,
    scalar_source=_linear_cosine_source,
    lengths=_DECAY_LENGTHS,
)
def linear_cosine(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """TF ``linear_cosine_decay`` (Bello et al. 2017).

    g = min(t, D); linear = (D - g)/D; cosine = 0.5 (1 + cos(2 pi num_periods g / D))
    lr = base_lr * ((alpha + linear) * cosine + beta)   (held past D).
    """
    # g = min(t, D) as floats, then (D - g) / D in its place: one array besides the cosine
    d = float(p["decay_steps"])
    lin = t.astype(np.float64)
    np.minimum(lin, d, out=lin)
    cos = _lc_cos(p, t, lin, d)
    np.subtract(d, lin, out=lin)
    lin /= d
    lin += p["alpha"]
    lin *= cos
    lin += p["beta"]
    lin *= base_lr
    return lin


@register_schedule(
    "noisy_linear_cosine",
    title="Noisy linear cosine decay",
    source="TF noisy_linear_cosine_decay",
    formula="as linear_cosine with linear + N(0, initial_variance / (1 + g)**variance_decay); seeded; clipped at 0",
    params=(
        *_LC_PARAMS,
        Param("initial_variance", "float", 1.0, "Initial variance of the noise", low=0.0, high=1e3),
        Param("variance_decay", "float", 0.55, "Decay of the noise variance", low=0.0, high=10.0),
        Param("seed", "int", 0, "Seed of the noise (the same seed gives the same curve)", low=0, high=2**32 - 1),
    ),
    scalar_source=_linear_cosine_source,
    lengths=_DECAY_LENGTHS,
)
def noisy_linear_cosine(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """TF ``noisy_linear_cosine_decay`` with reproducible noise.

    g = min(t, D); variance = initial_variance / (1 + g) ** variance_decay;
    noisy_linear = (D - g)/D + eps_t * sqrt(variance), eps_t ~ N(0, 1);
    lr = base_lr * ((alpha + noisy_linear) * 0.5 (1 + cos(2 pi num_periods g / D)) + beta).

    The standard-normal draw of step t is the t-th value of ``numpy.random.default_rng(seed)``
    (PCG64), so a curve of any length repeats the same values for the same steps. TF draws fresh
    noise each call and can return a negative LR; lrstudio clips at 0.
    """
    g, lin, cos = _linear_cosine_parts(p, t)
    n = int(t.max()) + 1 if t.size else 0
    eps = _normal_draws(p["seed"], n) if n else np.zeros(0)
    r = as_range(t)
    eps = eps[r[0] : r[1] + 1] if r is not None else eps[t]
    d = p["decay_steps"]
    if r is not None and r[1] > d and r[0] <= d:
        m = d - r[0] + 1  # g is constant (= d) after the first m steps
        std = np.empty_like(g)
        std[:m] = _noise_std(p, g[:m])
        std[m:] = std[m - 1]
    else:
        std = _noise_std(p, g)
    std *= eps
    lin += p["alpha"]
    lin += std
    lin *= cos
    lin += p["beta"]
    lin *= base_lr
    return np.maximum(lin, 0.0, out=lin)


def _noise_std(p: dict[str, Any], g: np.ndarray) -> np.ndarray:
    """sqrt(initial_variance / (1 + g) ** variance_decay) = sqrt(iv) * exp(-vd/2 * log1p(g))."""
    std = np.log1p(g)
    std *= -0.5 * p["variance_decay"]
    np.exp(std, out=std)
    std *= math.sqrt(p["initial_variance"])
    return std


@lru_cache(maxsize=8)
def _normal_draws(seed: int, n: int) -> np.ndarray:
    """The first n standard-normal draws of default_rng(seed) (cached: a preview redrawn while a
    slider moves reuses them; the prefix is the same for any n)."""
    out = np.random.default_rng(seed).standard_normal(n)
    out.flags.writeable = False
    return out


# -- momentum cycling (torch OneCycleLR / CyclicLR: cycle_momentum, base_momentum, max_momentum) ----
def _momentum_params(base: float, top: float) -> tuple[Param, ...]:
    return (
        Param("cycle_momentum", "bool", True,
              "Cycle the optimizer's momentum inversely to the LR (beta1 for Adam/AdamW), as torch does "
              "by default; needs an optimizer with momentum or beta1"),
        Param("base_momentum", "float", base, "Momentum (beta1) where the LR is highest", low=0.0, high=1.0),
        Param("max_momentum", "float", top, "Momentum (beta1) where the LR is lowest", low=0.0, high=1.0),
    )


def _momentum_kwargs(p: dict[str, Any]) -> str:
    if not p["cycle_momentum"]:
        return "cycle_momentum=False"
    return f"cycle_momentum=True, base_momentum={p['base_momentum']!r}, max_momentum={p['max_momentum']!r}"


# -- torch CyclicLR ------------------------------------------------------------------------------
def _cyclic_torch(p: dict[str, Any], base_lr: float) -> str:
    down = "None" if p["step_size_down"] is None else str(p["step_size_down"])
    return (f"CyclicLR(optimizer, base_lr={base_lr!r}, max_lr={p['max_lr']!r}, "
            f"step_size_up={p['step_size_up']}, step_size_down={down}, mode={p['mode']!r}, "
            f"gamma={p['gamma']!r}, {_momentum_kwargs(p)})")


def _cyclic_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    up = p["step_size_up"]
    down = p["step_size_down"] if p["step_size_down"] is not None else up
    scale = {"triangular": "1.0", "triangular2": "1.0 / 2.0 ** (cycle - 1)",
             "exp_range": f"{p['gamma']!r} ** step"}[p["mode"]]
    return [f"total, ratio = {float(up + down)!r}, {up / float(up + down)!r}",
            "cycle = math.floor(1 + step / total)", "x = 1.0 + step / total - cycle",
            "s = x / ratio if x <= ratio else (x - 1) / (ratio - 1)",
            f"return {base_lr!r} + ({p['max_lr']!r} - {base_lr!r}) * s * {scale}"]


@register_schedule(
    "cyclic",
    title="Cyclic (CLR)",
    source="torch CyclicLR (base LR = the run's LR)",
    formula="cycle = floor(1 + t/(up+down)); x = 1 + t/(up+down) - cycle; s = x/r if x <= r else (x-1)/(r-1), "
            "r = up/(up+down); lr = base_lr + (max_lr - base_lr) * s * scale",
    params=(
        Param("max_lr", "float", 0.1, "Peak LR of the cycle (absolute)", low=0.0, high=1e6),
        Param("step_size_up", "int", 2000, "Steps of the rising half", low=1, high=10**9),
        Param("step_size_down", "int", None, "Steps of the falling half (empty: = step_size_up)",
              low=1, high=10**9, optional=True),
        Param("mode", "choice", "triangular", "triangular: constant amplitude; triangular2: halved each cycle; "
              "exp_range: scaled by gamma**t", choices=("triangular", "triangular2", "exp_range")),
        Param("gamma", "float", 1.0, "exp_range: amplitude factor per step", low=0.0, high=1.0, low_open=True),
        *_momentum_params(0.8, 0.9),
    ),
    torch_native=_cyclic_torch,
    scalar_source=_cyclic_source,
)
def cyclic(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """torch ``CyclicLR`` (Smith 2017) with the run's LR as the cycle's ``base_lr``.

    total = up + down, r = up / total, cycle = floor(1 + t/total), x = 1 + t/total - cycle,
    s = x / r if x <= r else (x - 1)/(r - 1);
    lr = base_lr + (max_lr - base_lr) * s * scale, scale = 1 (triangular),
    1 / 2**(cycle - 1) (triangular2), gamma**t (exp_range).
    With ``cycle_momentum`` (torch's default) the momentum goes the other way:
    momentum = max_momentum - (max_momentum - base_momentum) * s * scale (see :func:`cyclic_momentum`).
    """
    scale = _cyclic_height(p, t, p["max_lr"] - base_lr)
    scale += base_lr
    return scale


@register_momentum("cyclic")
def cyclic_momentum(p: dict[str, Any], t: np.ndarray) -> np.ndarray:
    """torch ``CyclicLR``'s momentum: max_momentum - (max_momentum - base_momentum) * s * scale,
    s and scale as for the LR (default base 0.8, max 0.9)."""
    h = _cyclic_height(p, t, p["max_momentum"] - p["base_momentum"])
    np.subtract(p["max_momentum"], h, out=h)
    return h


def _cyclic_height(p: dict[str, Any], t: np.ndarray, amplitude: float) -> np.ndarray:
    """amplitude * s * scale (torch's base_height * scale_fn), in torch's order of operations."""
    up = float(p["step_size_up"])
    down = float(p["step_size_down"]) if p["step_size_down"] is not None else up
    total = up + down
    ratio = up / total
    tf = t.astype(np.float64)
    x = tf / total
    x += 1.0  # 1 + t/total
    cycle = np.floor(x)
    x -= cycle  # torch: x = 1.0 + t/total - cycle
    falling = (x - 1.0) / (ratio - 1.0)
    scale = x / ratio
    scale = np.where(x <= ratio, scale, falling)
    scale *= amplitude  # base_height
    if p["mode"] == "triangular2":
        # 1 / 2**(cycle - 1): one exact power of two per cycle (cycles start at multiples of up+down)
        size = p["step_size_up"] + (p["step_size_down"] if p["step_size_down"] is not None else p["step_size_up"])
        top = int(t.max()) if t.size else 0
        kmax = top // size
        halves = 1.0 / 2.0 ** np.arange(kmax + 1, dtype=np.float64)
        scale *= piecewise(t, size * np.arange(1, kmax + 1, dtype=np.int64), halves)
    elif p["mode"] == "exp_range":
        scale *= pow_scalar(p["gamma"], tf)
    return scale


# -- one cycle -----------------------------------------------------------------------------------
def _one_cycle_phases(p: dict[str, Any], base_lr: float) -> list[tuple[float, float, float]]:
    """(end_step, start_lr, end_lr) of each phase, as torch's ``_schedule_phases``."""
    T = p["total_steps"]
    pct = p["pct_start"]
    initial = base_lr / p["div_factor"]
    min_lr = p["end_lr"] if p["end_lr"] is not None else initial / p["final_div_factor"]
    if p["three_phase"]:
        return [
            (float(pct * T) - 1, initial, base_lr),
            (float(2 * pct * T) - 2, base_lr, initial),
            (T - 1, initial, min_lr),
        ]
    return [(float(pct * T) - 1, initial, base_lr), (T - 1, base_lr, min_lr)]


def _one_cycle_momentum_phases(p: dict[str, Any]) -> list[tuple[float, float, float]]:
    """(end_step, start_momentum, end_momentum) of each phase, as torch's ``_schedule_phases``."""
    lr_phases = _one_cycle_phases(p, 1.0)
    top, low = p["max_momentum"], p["base_momentum"]
    values = [(top, low), (low, top), (top, top)] if p["three_phase"] else [(top, low), (low, top)]
    return [(end, a, b) for (end, _, _), (a, b) in zip(lr_phases, values)]


def _anneal(strategy: str, tf: np.ndarray, start: float, end: float, lo: float, hi: float) -> np.ndarray:
    """torch's _annealing_cos / _annealing_linear from lo to hi over [start, end], in place."""
    pct = tf - start
    pct /= end - start
    if strategy == "cos":
        pct *= math.pi
        np.cos(pct, out=pct)
        pct += 1
        pct *= (lo - hi) / 2.0
        pct += hi
        return pct
    pct *= hi - lo
    pct += lo
    return pct


def _check_one_cycle(p: dict[str, Any], owner: str) -> None:
    T, pct = p["total_steps"], p["pct_start"]
    ends = [e for e, _, _ in _one_cycle_phases(p, 1.0)]
    starts = [0.0, *ends[:-1]]
    for s, e in zip(starts, ends):
        if not e > s:
            need = ("pct_start * total_steps > 1 and 2 * pct_start * total_steps < total_steps + 1"
                    if p["three_phase"] else "pct_start * total_steps > 1 and pct_start < 1")
            raise ScheduleError("pct_start", pct, f"phases of positive length: {need} (total_steps = {T})", owner)


def _one_cycle_native(p: dict[str, Any], base_lr: float) -> str | None:
    if p["end_lr"] is not None:
        return None
    return (f"OneCycleLR(optimizer, max_lr={base_lr!r}, total_steps={p['total_steps']}, "
            f"pct_start={p['pct_start']!r}, anneal_strategy={p['anneal_strategy']!r}, "
            f"div_factor={p['div_factor']!r}, final_div_factor={p['final_div_factor']!r}, "
            f"three_phase={p['three_phase']!r}, {_momentum_kwargs(p)})")


# OneCycleLR computes t = total_steps (an overshoot past the final LR) and raises after it;
# lrstudio holds the final LR from t = total_steps on.
_one_cycle_torch = NativeUpTo(
    _one_cycle_native, lambda p: int(p["total_steps"]),
    "OneCycleLR raises when stepped past total_steps (lrstudio holds the final LR there)")


def _one_cycle_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    phases = _one_cycle_phases(p, base_lr)
    ann = ("hi + (lo - hi) / 2.0 * (math.cos(math.pi * pct) + 1)" if p["anneal_strategy"] == "cos"
           else "(hi - lo) * pct + lo")
    return [f"phases = {[tuple(float(v) for v in ph) for ph in phases]!r}",
            f"if step >= {p['total_steps']}:", f"    return {phases[-1][2]!r}",
            "start = 0.0", "for k, (end, lo, hi) in enumerate(phases):",
            "    if step <= end or k == len(phases) - 1:", "        pct = (step - start) / (end - start)",
            f"        return {ann}", "    start = end"]


@register_schedule(
    "one_cycle",
    title="One cycle",
    source="torch OneCycleLR (max_lr = the run's LR); Paddle OneCycleLR (end_lr absolute)",
    formula="phases: initial = base/div_factor -> base over pct_start*T - 1 steps, then -> min_lr at T - 1 "
            "(three_phase: -> initial at 2*pct_start*T - 2, then -> min_lr); cos or linear annealing; "
            "min_lr = initial/final_div_factor (torch) or end_lr (Paddle)",
    params=(
        Param("total_steps", "int", 1000, "Length of the cycle in steps", low=2, high=10**9),
        Param("pct_start", "float", 0.3, "Fraction of the cycle spent increasing the LR", low=0.0, high=1.0,
              low_open=True, high_open=True),
        Param("anneal_strategy", "choice", "cos", "Shape of each phase", choices=("cos", "linear")),
        Param("div_factor", "float", 25.0, "initial LR = base LR / div_factor", low=1e-6, high=1e9),
        Param("final_div_factor", "float", 1e4, "torch: final LR = initial LR / final_div_factor",
              low=1e-6, high=1e12),
        Param("end_lr", "float", None, "Paddle: absolute final LR (end_learning_rate); empty: torch's "
              "initial / final_div_factor", low=0.0, high=1e6, optional=True),
        Param("three_phase", "bool", False, "Go back down to the initial LR before the final annealing"),
        *_momentum_params(0.85, 0.95),
    ),
    check=_check_one_cycle,
    torch_native=_one_cycle_torch,
    scalar_source=_one_cycle_source,
    lengths=Lengths(own=lambda p, _len: int(p["total_steps"]), fit=lambda p, total, _fit: {**p, "total_steps": max(2, total)}),
)
def one_cycle(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """One-cycle policy (Smith & Topin), phases as torch ``OneCycleLR._schedule_phases``.

    initial = base_lr / div_factor; min_lr = initial / final_div_factor (torch) or ``end_lr``
    (Paddle ``OneCycleLR(end_learning_rate)``: absolute). Phases (end step, from, to):
      two-phase:   (pct*T - 1, initial, base), (T - 1, base, min_lr)
      three-phase: (pct*T - 1, initial, base), (2 pct T - 2, base, initial), (T - 1, initial, min_lr)
    In the phase [s, e]: pct = (t - s)/(e - s); cos: end + (start - end)/2 * (cos(pi pct) + 1);
    linear: (end - start) * pct + start. The last phase ends at t = total_steps - 1; torch and
    Paddle still evaluate t = total_steps (a small overshoot past min_lr, negative for linear
    annealing to a small end LR) and raise after it. lrstudio holds min_lr for t >= total_steps.

    With ``cycle_momentum`` (torch's default) the momentum (beta1) runs the phases the other way:
    max_momentum -> base_momentum while the LR rises, back to max_momentum after (three-phase: and
    stays there), same annealing (:func:`one_cycle_momentum`).
    """
    return _one_cycle_eval(p, t, _one_cycle_phases(p, base_lr))


@register_momentum("one_cycle")
def one_cycle_momentum(p: dict[str, Any], t: np.ndarray) -> np.ndarray:
    """torch ``OneCycleLR``'s momentum: phases (end, from, to) (pct*T - 1, max, base), (T - 1, base, max)
    (three-phase: (pct*T - 1, max, base), (2 pct T - 2, base, max), (T - 1, max, max)), annealed as
    the LR; held at the last value from t = total_steps on (default base 0.85, max 0.95)."""
    return _one_cycle_eval(p, t, _one_cycle_momentum_phases(p))


def _one_cycle_eval(p: dict[str, Any], t: np.ndarray, phases: list[tuple[float, float, float]]) -> np.ndarray:
    """The annealed phases at steps t; the last phase's end value from t = total_steps on."""
    tf = t.astype(np.float64)
    r = as_range(t)
    if r is not None:
        out = np.empty(t.size, dtype=np.float64)
        first = [0] + [math.floor(e) + 1 for e, _, _ in phases[:-1]]  # first step of each phase
        start = 0.0
        for k, (end, lo, hi) in enumerate(phases):
            a = min(max(first[k] - r[0], 0), t.size)
            b = t.size if k == len(phases) - 1 else min(max(first[k + 1] - r[0], 0), t.size)
            if a < b:
                out[a:b] = _anneal(p["anneal_strategy"], tf[a:b], start, end, lo, hi)
            start = end
        if r[1] >= p["total_steps"]:
            out[max(p["total_steps"] - r[0], 0):] = phases[-1][2]
        return out
    # phase k holds the steps with end_{k-1} < t <= end_k (the last phase takes the rest)
    edges = np.asarray([math.floor(e) + 1 for e, _, _ in phases[:-1]], dtype=np.int64)
    which = piecewise(t, edges, np.arange(float(len(phases))))
    starts = np.asarray([0.0] + [e for e, _, _ in phases[:-1]])
    ends = np.asarray([e for e, _, _ in phases])
    los = np.asarray([lo for _, lo, _ in phases])
    his = np.asarray([hi for _, _, hi in phases])
    phase = which.astype(np.int64)
    pct = tf - starts[phase]
    pct /= ends[phase] - starts[phase]
    lo_k, hi_k = los[phase], his[phase]
    if p["anneal_strategy"] == "cos":
        pct *= math.pi
        np.cos(pct, out=pct)
        pct += 1
        out = (lo_k - hi_k) / 2.0
        out *= pct
        out += hi_k
    else:
        out = (hi_k - lo_k) * pct
        out += lo_k
    out[t >= p["total_steps"]] = phases[-1][2]
    return out
