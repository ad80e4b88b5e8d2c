"""Hugging Face ``transformers`` schedules (``transformers/optimization.py``, ``get_scheduler``).

Each HF schedule is a ``LambdaLR`` over a factor function of ``current_step``; lrstudio's ``t`` is
that ``current_step`` (the LR of update ``t + 1`` is ``base_lr * factor(t)``), and each curve below
is the factor function written over an array of steps in HF's order of operations, times the base
LR as ``LambdaLR`` does. ``inverse_sqrt`` and ``wsd`` (HF ``get_inverse_sqrt_schedule`` /
``get_wsd_schedule``) live in :mod:`lrstudio.core.schedules.basic` and already are HF's functions
(checked against transformers in ``tests/core/test_schedules_hf.py``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lrstudio.core.params import Param
from lrstudio.core.schedules.base import Lengths, ScheduleError, SourceContext, register_schedule

_WARM = Param("num_warmup_steps", "int", 0, "Steps of the linear warm-up from 0 (HF num_warmup_steps)",
              low=0, high=10**9)
_TRAIN = Param("num_training_steps", "int", 1000, "Total training steps (HF num_training_steps)",
               low=1, high=10**9)
_CYCLES = Param("num_cycles", "float", 0.5, "Number of cosine waves (0.5: one half cosine down to the floor)",
                low=0.0, high=1e3)


def _warmup(t: np.ndarray, w: int, out: np.ndarray, denom: float | None = None) -> None:
    """out[t < w] = float(t) / max(1, w) (HF's warm-up factor), in place."""
    if w > 0:
        warm = t < w
        if warm.any():
            out[warm] = t[warm].astype(np.float64) / (float(max(1, w)) if denom is None else denom)


def _progress(t: np.ndarray, w: int, n: int) -> np.ndarray:
    """float(t - w) / float(max(1, n - w))."""
    x = (t - w).astype(np.float64)
    x /= float(max(1, n - w))
    return x


def _train_lengths(p: dict[str, Any], _len: Any) -> int | None:
    return int(p["num_training_steps"])


def _train_fit(p: dict[str, Any], total: int, _fit: Any) -> dict[str, Any]:
    return {**p, "num_training_steps": total} if total > p["num_warmup_steps"] else p


_LENGTHS = Lengths(own=_train_lengths, fit=_train_fit)


def _warm_src(w: int, denom: str = "") -> list[str]:
    return [f"if step < {w}:", f"    f = float(step) / {denom or float(max(1, w))!r}"] if w > 0 else []


def _ret(base_lr: float, body: list[str], factor: str) -> list[str]:
    """Lines ending in ``return base_lr * <factor>`` with the warm-up branch before (``if/else``)."""
    if body:
        return [*body, "else:", f"    f = {factor}", f"return {base_lr!r} * f"]
    return [f"f = {factor}", f"return {base_lr!r} * f"]


def _check_warmup_fits(p: dict[str, Any], owner: str) -> None:
    if p["num_warmup_steps"] >= p["num_training_steps"] and p["num_warmup_steps"] > 0:
        raise ScheduleError("num_warmup_steps", p["num_warmup_steps"],
                            f"fewer steps than num_training_steps ({p['num_training_steps']})", owner)


# -- linear --------------------------------------------------------------------------------------
@register_schedule(
    "hf_linear",
    title="HF linear with warm-up",
    source="HF transformers get_linear_schedule_with_warmup (get_scheduler 'linear')",
    formula="t < W: f = t / max(1, W); else f = max(0, (N - t) / max(1, N - W)); lr = base_lr * f",
    params=(_WARM, _TRAIN),
    run_length=lambda p: [("num_warmup_steps", p["num_warmup_steps"])],
    scalar_source=lambda p, base_lr, ctx: _ret(
        base_lr, _warm_src(p["num_warmup_steps"]),
        f"max(0.0, float({p['num_training_steps']} - step) / "
        f"{float(max(1, p['num_training_steps'] - p['num_warmup_steps']))!r})"),
    lengths=_LENGTHS,
)
def hf_linear(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """HF ``get_linear_schedule_with_warmup``: linear warm-up from 0, then linear decay to 0 at N.

    f(t) = t / max(1, W) for t < W, else max(0, (N - t) / max(1, N - W)); lr = base_lr * f(t).
    """
    w, n = p["num_warmup_steps"], p["num_training_steps"]
    out = (n - t).astype(np.float64)
    out /= float(max(1, n - w))
    np.maximum(out, 0.0, out=out)
    _warmup(t, w, out)
    out *= base_lr
    return out


# -- cosine --------------------------------------------------------------------------------------
def _cos_factor(prog: np.ndarray, num_cycles: float) -> np.ndarray:
    """0.5 * (1 + cos(pi * num_cycles * 2 * progress)), in place on ``prog``."""
    prog *= math.pi * float(num_cycles) * 2.0
    np.cos(prog, out=prog)
    prog += 1.0
    prog *= 0.5
    return prog


@register_schedule(
    "hf_cosine",
    title="HF cosine with warm-up",
    source="HF transformers get_cosine_schedule_with_warmup (get_scheduler 'cosine')",
    formula="t < W: f = t / max(1, W); else p = (t - W) / max(1, N - W), "
            "f = max(0, (1 + cos(pi * num_cycles * 2 * p)) / 2); lr = base_lr * f",
    params=(_WARM, _TRAIN, _CYCLES),
    run_length=lambda p: [("num_warmup_steps", p["num_warmup_steps"])],
    scalar_source=lambda p, base_lr, ctx: _ret(
        base_lr, _warm_src(p["num_warmup_steps"]),
        f"max(0.0, 0.5 * (1.0 + math.cos(math.pi * {float(p['num_cycles'])!r} * 2.0 * "
        f"(float(step - {p['num_warmup_steps']}) / "
        f"{float(max(1, p['num_training_steps'] - p['num_warmup_steps']))!r}))))"),
    lengths=_LENGTHS,
)
def hf_cosine(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """HF ``get_cosine_schedule_with_warmup``.

    f(t) = t / max(1, W) for t < W; else progress = (t - W) / max(1, N - W) and
    f = max(0, 0.5 * (1 + cos(pi * num_cycles * 2 * progress))); lr = base_lr * f. Past N the cosine
    goes on (it rises again for num_cycles = 0.5), as HF's lambda does.
    """
    w = p["num_warmup_steps"]
    out = _cos_factor(_progress(t, w, p["num_training_steps"]), p["num_cycles"])
    np.maximum(out, 0.0, out=out)
    _warmup(t, w, out)
    out *= base_lr
    return out


@register_schedule(
    "hf_cosine_with_restarts",
    title="HF cosine with hard restarts",
    source="HF transformers get_cosine_with_hard_restarts_schedule_with_warmup "
           "(get_scheduler 'cosine_with_restarts')",
    formula="t < W: f = t / max(1, W); else p = (t - W) / max(1, N - W); p >= 1: f = 0; "
            "else f = max(0, (1 + cos(pi * ((num_cycles * p) % 1))) / 2); lr = base_lr * f",
    params=(_WARM, _TRAIN, Param("num_cycles", "int", 1, "Number of hard restarts (HF num_cycles)",
                                 low=0, high=10**6)),
    run_length=lambda p: [("num_warmup_steps", p["num_warmup_steps"])],
    scalar_source=lambda p, base_lr, ctx: [
        *(_warm_src(p["num_warmup_steps"]) + ["else:"] if p["num_warmup_steps"] > 0 else ["if True:"]),
        f"    pr = float(step - {p['num_warmup_steps']}) / "
        f"{float(max(1, p['num_training_steps'] - p['num_warmup_steps']))!r}",
        f"    f = 0.0 if pr >= 1.0 else max(0.0, 0.5 * (1.0 + math.cos(math.pi * "
        f"(({float(p['num_cycles'])!r} * pr) % 1.0))))",
        f"return {base_lr!r} * f"],
    lengths=_LENGTHS,
)
def hf_cosine_with_restarts(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """HF ``get_cosine_with_hard_restarts_schedule_with_warmup``.

    f(t) = t / max(1, W) for t < W; else progress = (t - W) / max(1, N - W); f = 0 from progress 1
    on, otherwise max(0, 0.5 * (1 + cos(pi * ((num_cycles * progress) % 1)))); lr = base_lr * f.
    """
    w = p["num_warmup_steps"]
    prog = _progress(t, w, p["num_training_steps"])
    done = prog >= 1.0
    x = prog * float(p["num_cycles"])
    x -= np.floor(x)  # = x % 1.0 for x >= 0, exactly (t < W is replaced below)
    x *= math.pi
    np.cos(x, out=x)
    x += 1.0
    x *= 0.5
    np.maximum(x, 0.0, out=x)
    x[done] = 0.0
    _warmup(t, w, x)
    x *= base_lr
    return x


# -- polynomial ----------------------------------------------------------------------------------
def _check_poly(p: dict[str, Any], owner: str) -> None:
    if p["num_training_steps"] <= p["num_warmup_steps"]:
        raise ScheduleError("num_training_steps", p["num_training_steps"],
                            f"more steps than num_warmup_steps ({p['num_warmup_steps']})", owner)


def _poly_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    if base_lr == 0:
        return ["return 0.0"]
    lr_init = float(base_lr)
    w, n, end = p["num_warmup_steps"], p["num_training_steps"], p["lr_end"]
    return [*(_warm_src(w) + ["elif" + f" step > {n}:"] if w > 0 else [f"if step > {n}:"]),
            f"    f = {end!r} / {lr_init!r}",
            "else:",
            f"    pct = 1 - (step - {w}) / {n - w}",
            f"    f = (({lr_init!r} - {end!r}) * pct ** {p['power']!r} + {end!r}) / {lr_init!r}",
            f"return {base_lr!r} * f"]


@register_schedule(
    "hf_polynomial",
    title="HF polynomial with warm-up",
    source="HF transformers get_polynomial_decay_schedule_with_warmup (get_scheduler 'polynomial'; "
           "lr_init = the base LR)",
    formula="t < W: f = t / max(1, W); t > N: f = lr_end / base_lr; else pct = 1 - (t - W) / (N - W), "
            "f = ((base_lr - lr_end) * pct ** power + lr_end) / base_lr; lr = base_lr * f",
    params=(
        _WARM, _TRAIN,
        Param("lr_end", "float", 1e-7, "Final LR (absolute; must be below the base LR)", low=0.0, high=1e6),
        Param("power", "float", 1.0, "Exponent of the decay", low=0.0, high=100.0),
    ),
    check=_check_poly,
    run_length=lambda p: [("num_warmup_steps", p["num_warmup_steps"])],
    scalar_source=_poly_source,
    lengths=_LENGTHS,
)
def hf_polynomial(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """HF ``get_polynomial_decay_schedule_with_warmup`` (``lr_init`` = the optimizer's LR = base_lr).

    f(t) = t / max(1, W) for t < W; lr_end / lr_init for t > N; otherwise
    pct = 1 - (t - W) / (N - W), f = ((lr_init - lr_end) * pct ** power + lr_end) / lr_init.
    lr = base_lr * f. HF refuses lr_end >= the base LR (ValueError at construction); lrstudio draws the
    same formula there (the LR then moves from the base LR to lr_end), and 0 for a base LR of 0.
    """
    if base_lr == 0:
        return np.zeros(t.shape, dtype=np.float64)
    lr_init = float(base_lr)
    w, n, end = p["num_warmup_steps"], p["num_training_steps"], p["lr_end"]
    pct = (t - w).astype(np.float64)
    pct /= float(n - w)
    np.subtract(1.0, pct, out=pct)
    np.maximum(pct, 0.0, out=pct)  # only t > N would go below 0, and those are replaced below
    out = np.power(pct, p["power"]) if p["power"] != 1.0 else pct
    out *= lr_init - end
    out += end
    out /= lr_init
    out[t > n] = end / lr_init
    _warmup(t, w, out)
    out *= base_lr
    return out


# -- constant with warm-up -----------------------------------------------------------------------
@register_schedule(
    "hf_constant_with_warmup",
    title="HF constant with warm-up",
    source="HF transformers get_constant_schedule_with_warmup (get_scheduler 'constant_with_warmup')",
    formula="t < W: f = t / max(1, W); else f = 1; lr = base_lr * f",
    params=(_WARM,),
    run_length=lambda p: [("num_warmup_steps", p["num_warmup_steps"])],
    scalar_source=lambda p, base_lr, ctx: _ret(base_lr, _warm_src(p["num_warmup_steps"]), "1.0"),
    lengths=Lengths(own=lambda p, _len: int(p["num_warmup_steps"]) or None),
)
def hf_constant_with_warmup(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """HF ``get_constant_schedule_with_warmup``: f(t) = t / max(1, W) for t < W, then 1;
    lr = base_lr * f."""
    out = np.ones(t.shape, dtype=np.float64)
    _warmup(t, p["num_warmup_steps"], out)
    out *= base_lr
    return out


# -- cosine with a floor -------------------------------------------------------------------------
def _check_min_lr(p: dict[str, Any], owner: str) -> None:
    if p["min_lr"] is not None and p["min_lr_rate"] is not None:
        raise ScheduleError("min_lr_rate", p["min_lr_rate"], "empty when min_lr is set (HF: only one of the two)",
                            owner)
    if p["min_lr"] is None and p["min_lr_rate"] is None:
        raise ScheduleError("min_lr", None, "a number when min_lr_rate is empty (HF: one of the two is needed)",
                            owner)


def _min_rate(p: dict[str, Any], base_lr: float, owner: str) -> float:
    """min_lr_rate, or min_lr / base_lr (HF divides by the optimizer's LR; with a base LR of 0 the rate
    is 0: the curve is 0 anyway)."""
    if p["min_lr"] is None:
        return float(p["min_lr_rate"])
    return float(p["min_lr"]) / base_lr if base_lr else 0.0


_MIN_LR_PARAMS = (
    Param("min_lr", "float", None, "Final LR, absolute (HF min_lr; empty: use min_lr_rate)", low=0.0, high=1e6,
          optional=True),
    Param("min_lr_rate", "float", 0.1, "Final LR as a fraction of the base LR (HF min_lr_rate; empty: "
          "use min_lr)", low=0.0, high=1.0, optional=True),
)


def _min_lr_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    r = _min_rate(p, base_lr, "schedule 'hf_cosine_with_min_lr'")
    factor = (f"max(0, (0.5 * (1.0 + math.cos(math.pi * {float(p['num_cycles'])!r} * 2.0 * "
              f"(float(step - {p['num_warmup_steps']}) / "
              f"{float(max(1, p['num_training_steps'] - p['num_warmup_steps']))!r})))) * (1 - {r!r}) + {r!r})")
    return _ret(base_lr, _warm_src(p["num_warmup_steps"]), factor)


@register_schedule(
    "hf_cosine_with_min_lr",
    title="HF cosine with warm-up and min LR",
    source="HF transformers get_cosine_with_min_lr_schedule_with_warmup (get_scheduler 'cosine_with_min_lr')",
    formula="t < W: f = t / max(1, W); else p = (t - W) / max(1, N - W), "
            "c = (1 + cos(pi * num_cycles * 2 * p)) / 2, f = max(0, c * (1 - r) + r), "
            "r = min_lr_rate or min_lr / base_lr; lr = base_lr * f",
    params=(_WARM, _TRAIN, _CYCLES, *_MIN_LR_PARAMS),
    check=lambda p, owner: (_check_min_lr(p, owner)),
    run_length=lambda p: [("num_warmup_steps", p["num_warmup_steps"])],
    scalar_source=_min_lr_source,
    lengths=_LENGTHS,
)
def hf_cosine_with_min_lr(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """HF ``get_cosine_with_min_lr_schedule_with_warmup``.

    r = min_lr_rate, or min_lr / base_lr (HF divides by the optimizer's LR); exactly one is set.
    f(t) = t / max(1, W) for t < W; else progress = (t - W) / max(1, N - W),
    c = 0.5 * (1 + cos(pi * num_cycles * 2 * progress)), f = max(0, c * (1 - r) + r); lr = base_lr * f.
    """
    r = _min_rate(p, base_lr, "schedule 'hf_cosine_with_min_lr'")
    w = p["num_warmup_steps"]
    out = _cos_factor(_progress(t, w, p["num_training_steps"]), p["num_cycles"])
    out *= 1 - r
    out += r
    np.maximum(out, 0, out=out)
    _warmup(t, w, out)
    out *= base_lr
    return out


def _rate_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    r = _min_rate(p, base_lr, "schedule 'hf_cosine_warmup_with_min_lr'")
    w, n = float(p["num_warmup_steps"]), float(p["num_training_steps"])
    wr = p["warmup_lr_rate"]
    warm = (f"(float(step) + 1.0) / {max(1.0, w)!r}" if wr is None
            else f"{float(wr)!r} + (1.0 - {float(wr)!r}) * float(step) / {max(1, w - 1)!r}")
    return [f"if step < {w!r}:", f"    f = {warm}", "else:",
            f"    pr = (float(step) - {w!r} + 1.0) / {max(1.0, n - w)!r}",
            f"    c = 0.5 * (1.0 + math.cos(math.pi * {p['num_cycles']!r} * 2.0 * pr))",
            f"    f = max(0, c * (1 - {r!r}) + {r!r})", f"return {base_lr!r} * f"]


@register_schedule(
    "hf_cosine_warmup_with_min_lr",
    title="HF cosine (warm-up with a start rate) and min LR",
    source="HF transformers get_cosine_with_min_lr_schedule_with_warmup_lr_rate "
           "(get_scheduler 'cosine_warmup_with_min_lr')",
    formula="t < W: f = (t + 1) / max(1, W) (or warmup_lr_rate + (1 - warmup_lr_rate) * t / max(1, W - 1)); "
            "else p = (t - W + 1) / max(1, N - W), c = (1 + cos(pi * num_cycles * 2 * p)) / 2, "
            "f = max(0, c * (1 - r) + r); lr = base_lr * f",
    params=(_WARM, _TRAIN, _CYCLES, *_MIN_LR_PARAMS,
            Param("warmup_lr_rate", "float", None, "Warm-up start as a fraction of the base LR (empty: HF's "
                  "(t + 1) / W)", low=0.0, high=1.0, optional=True)),
    check=lambda p, owner: (_check_min_lr(p, owner)),
    run_length=lambda p: [("num_warmup_steps", p["num_warmup_steps"])],
    scalar_source=_rate_source,
    lengths=_LENGTHS,
)
def hf_cosine_warmup_with_min_lr(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None
                                 ) -> np.ndarray:
    """HF ``get_cosine_with_min_lr_schedule_with_warmup_lr_rate`` (one step ahead of hf_cosine_with_min_lr).

    t < W: f = (t + 1) / max(1, W), or with warmup_lr_rate a: a + (1 - a) * t / max(1, W - 1);
    else progress = (t - W + 1) / max(1, N - W), c = 0.5 * (1 + cos(pi * num_cycles * 2 * progress)),
    f = max(0, c * (1 - r) + r), r as in hf_cosine_with_min_lr; lr = base_lr * f.
    """
    r = _min_rate(p, base_lr, "schedule 'hf_cosine_warmup_with_min_lr'")
    w, n = float(p["num_warmup_steps"]), float(p["num_training_steps"])
    tf = t.astype(np.float64)
    prog = tf - w
    prog += 1.0
    prog /= max(1.0, n - w)
    out = _cos_factor(prog, p["num_cycles"])
    out *= 1 - r
    out += r
    np.maximum(out, 0, out=out)
    warm = tf < w
    if warm.any():
        tw = tf[warm]
        a = p["warmup_lr_rate"]
        if a is None:
            out[warm] = (tw + 1.0) / max(1.0, w)
        else:
            out[warm] = float(a) + (1.0 - float(a)) * tw / max(1, w - 1)
    out *= base_lr
    return out


# -- warmup-stable-decay with num_training_steps (HF's get_scheduler convention) -----------------
def _wsd_stable(p: dict[str, Any]) -> int:
    """HF: num_stable_steps when given, else num_training_steps - num_warmup_steps - num_decay_steps."""
    if p["num_stable_steps"] is not None:
        return int(p["num_stable_steps"])
    return int(p["num_training_steps"] - p["num_warmup_steps"] - p["num_decay_steps"])


def _check_hf_wsd(p: dict[str, Any], owner: str) -> None:
    if p["num_stable_steps"] is None and _wsd_stable(p) < 0:
        raise ScheduleError("num_training_steps", p["num_training_steps"],
                            f"at least num_warmup_steps + num_decay_steps "
                            f"({p['num_warmup_steps'] + p['num_decay_steps']})", owner)


def _as_wsd(p: dict[str, Any]) -> dict[str, Any]:
    """The parameters of lrstudio's ``wsd`` (basic.py, HF's get_wsd_schedule) for these."""
    return {"num_warmup_steps": p["num_warmup_steps"], "num_stable_steps": _wsd_stable(p),
            "num_decay_steps": p["num_decay_steps"], "warmup_type": p["warmup_type"],
            "decay_type": p["decay_type"], "min_lr_ratio": p["min_lr_ratio"], "num_cycles": p["num_cycles"]}


def _hf_wsd_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    from lrstudio.core.schedules.basic import _wsd_source

    return _wsd_source(_as_wsd(p), base_lr, ctx)


@register_schedule(
    "hf_warmup_stable_decay",
    title="HF warmup-stable-decay (training steps)",
    source="HF transformers get_wsd_schedule with num_training_steps (get_scheduler 'warmup_stable_decay'); "
           "lrstudio's wsd is the same schedule given num_stable_steps",
    formula="S = num_stable_steps or N - W - D; then as wsd: warm-up (linear/cosine/1-sqrt) to 1, hold S steps, "
            "decay (linear/cosine/1-sqrt) to min_lr_ratio over D steps, then min_lr_ratio; lr = base_lr * factor",
    params=(
        _WARM,
        Param("num_decay_steps", "int", 200, "Steps of the decay (HF num_decay_steps)", low=0, high=10**9),
        _TRAIN,
        Param("num_stable_steps", "int", None, "Steps at the full LR (empty: num_training_steps - warm-up - "
              "decay, as HF computes it)", low=0, high=10**9, optional=True),
        Param("warmup_type", "choice", "linear", "Shape of the warm-up", choices=("linear", "cosine", "1-sqrt")),
        Param("decay_type", "choice", "cosine", "Shape of the decay", choices=("linear", "cosine", "1-sqrt")),
        Param("min_lr_ratio", "float", 0.0, "Final LR as a fraction of the base LR", low=0.0, high=1.0),
        Param("num_cycles", "float", 0.5, "Cosine decay: number of cosine cycles", low=0.0, high=1e3),
    ),
    check=_check_hf_wsd,
    run_length=lambda p: [("num_warmup_steps", p["num_warmup_steps"])],
    scalar_source=_hf_wsd_source,
    lengths=Lengths(own=lambda p, _len: int(p["num_warmup_steps"] + _wsd_stable(p) + p["num_decay_steps"]),
                    fit=lambda p, total, _fit: ({**p, "num_training_steps": total} if p["num_stable_steps"] is None
                                                and total >= p["num_warmup_steps"] + p["num_decay_steps"] else p)),
)
def hf_warmup_stable_decay(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """HF ``get_wsd_schedule(num_warmup_steps, num_decay_steps, num_training_steps, num_stable_steps=None, ...)``.

    S = num_stable_steps when given (HF then ignores num_training_steps), else N - W - D; the curve is
    lrstudio's ``wsd`` with these steps: warm-up to 1 over W, lr = base_lr for S steps, decay to
    min_lr_ratio over D, then base_lr * min_lr_ratio. With ``num_training_steps = "auto"`` and
    ``num_decay_steps = "20%"`` the stable phase fills whatever the run leaves.
    """
    from lrstudio.core.schedules.basic import wsd

    return wsd(_as_wsd(p), t, base_lr, metrics)
