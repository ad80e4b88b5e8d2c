"""timm's LR noise as a wrapper around any schedule (``timm/scheduler/scheduler.py``,
``Scheduler._add_noise``), reproducible by seed.

timm adds ``lr * noise`` inside ``noise_range_t``, the noise of step ``t`` being drawn from a
``torch.Generator`` seeded with ``noise_seed + t``: a normal draw resampled until
``|noise| < noise_pct`` (``noise_type='normal'``), or ``2 * (u - 0.5) * noise_pct`` for a uniform
``u`` (``'uniform'``). So the noise of a step depends on the seed and the step only.

lrstudio keeps that rule, without torch (``core`` imports no torch, and seeding a generator per
step would cost ~1 s per 100,000 steps): the draws of step ``t`` come from a counter-based hash,
``splitmix64(mix(noise_seed) + (t << 16) + j)`` for the ``j``-th 64-bit word of the step, whose
high and low 32 bits give two uniforms ``(w >> 32 + 0.5) / 2**32`` and ``((w & 0xffffffff) + 0.5) /
2**32``; a normal draw is Box-Muller on them, ``sqrt(-2 ln u1) cos(2 pi u2)``, times ``noise_std``,
and attempt ``j = 0, 1, ...`` is taken until ``|noise| < noise_pct`` (timm's resampling; after
32,768 refused attempts, a chance below 1e-300 for the allowed parameters, the noise is 0). Same
distribution as timm's, same seed-and-step rule, but not torch's numbers: a curve is reproduced
exactly by lrstudio (the preview, the training adapter, the exported snippet), not by timm's draws.
timm takes ``noise_std`` but never uses it (its normal noise is N(0, 1)); lrstudio scales by it, so
the default 1.0 is timm.
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
    _curve,
    as_range,
    register_schedule,
)

_M64 = (1 << 64) - 1
_MAX_ATTEMPTS = 1 << 15


def _splitmix_int(x: int) -> int:
    """splitmix64 of a Python int (the scalar twin of :func:`_splitmix`)."""
    z = (x + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """splitmix64 over a uint64 array (wrapping arithmetic), in place."""
    x += np.uint64(0x9E3779B97F4A7C15)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _words(seed: int, t: np.ndarray, j: int) -> np.ndarray:
    key = np.uint64(_splitmix_int(seed))
    x = t.astype(np.uint64) << np.uint64(16)
    x += np.uint64(j)
    x += key
    return _splitmix(x)


_INV32 = 1.0 / 4294967296.0


def _uniforms(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hi = (w >> np.uint64(32)).astype(np.float64)
    hi += 0.5
    hi *= _INV32
    lo = (w & np.uint64(0xFFFFFFFF)).astype(np.float64)
    lo += 0.5
    lo *= _INV32
    return hi, lo


def noise_at(t: np.ndarray, seed: int, kind: str, pct: float, std: float) -> np.ndarray:
    """The noise of each step ``t`` (see the module's docstring: a pure function of seed and step)."""
    t = np.asarray(t, dtype=np.int64)
    if kind == "uniform":
        u, _ = _uniforms(_words(seed, t, 0))
        u -= 0.5
        u *= 2 * pct
        return u
    out = np.zeros(t.shape, dtype=np.float64)
    todo = np.arange(t.size)
    for j in range(_MAX_ATTEMPTS):
        u1, u2 = _uniforms(_words(seed, t[todo], j))
        np.log(u1, out=u1)
        u1 *= -2.0
        np.sqrt(u1, out=u1)
        u2 *= 2.0 * math.pi
        np.cos(u2, out=u2)
        u1 *= u2
        u1 *= std
        ok = np.abs(u1) < pct
        out[todo[ok]] = u1[ok]
        todo = todo[~ok]
        if todo.size == 0:
            break
    return out


def _noise_scalar_source(seed: int, kind: str, pct: float, std: float) -> list[str]:
    """Module-level Python of ``noise_at`` for one step (the exported snippet's twin)."""
    key = _splitmix_int(seed)
    draw = ("def _lrstudio_noise_word(step, j):",
            f"    z = ({key} + (step << 16) + j + 0x9E3779B97F4A7C15) & {_M64}",
            f"    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & {_M64}",
            f"    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & {_M64}",
            "    z ^= z >> 31",
            f"    return ((z >> 32) + 0.5) * {_INV32!r}, ((z & 0xFFFFFFFF) + 0.5) * {_INV32!r}")
    body: tuple[str, ...]
    if kind == "uniform":
        body = ("def _lrstudio_noise(step):", "    u, _ = _lrstudio_noise_word(step, 0)",
                f"    return (u - 0.5) * {2 * pct!r}")
    else:
        body = ("def _lrstudio_noise(step):", f"    for j in range({_MAX_ATTEMPTS}):",
                "        u1, u2 = _lrstudio_noise_word(step, j)",
                f"        n = math.sqrt(-2.0 * math.log(u1)) * math.cos(u2 * {2.0 * math.pi!r}) * {std!r}",
                f"        if abs(n) < {pct!r}:", "            return n", "    return 0.0")
    return [*draw, "", "", *body, "", ""]


# -- the wrapper ---------------------------------------------------------------------------------
def _check_noise(p: dict[str, Any], owner: str) -> None:
    r = p["noise_range_t"]
    if len(r) == 2 and r[1] <= r[0]:
        raise ScheduleError("noise_range_t", r, f"[start, end) with end > start (got {r[0]} then {r[1]})", owner)
    if p["noise_type"] == "normal" and p["noise_std"] > 0 and p["noise_pct"] / p["noise_std"] < 0.01:
        raise ScheduleError("noise_pct", p["noise_pct"], f"at least 0.01 * noise_std ({0.01 * p['noise_std']!r}): "
                            "a normal draw is resampled until it is below noise_pct", owner)


def _in_range(p: dict[str, Any], t: np.ndarray) -> np.ndarray | None:
    """Mask of the noisy steps (None: every step)."""
    r = p["noise_range_t"]
    if len(r) == 0:
        return np.zeros(t.shape, dtype=bool)
    if len(r) == 1:
        return None if r[0] == 0 else t >= r[0]
    return (t >= r[0]) & (t < r[1])


@lru_cache(maxsize=8)
def _noise_range(seed: int, kind: str, pct: float, std: float, first: int, last: int) -> np.ndarray:
    """noise_at for the steps first..last (cached: a preview redrawn while a slider moves, or the
    run's curve asked again, costs no new draws)."""
    out = noise_at(np.arange(first, last + 1, dtype=np.int64), seed, kind, pct, std)
    out.flags.writeable = False
    return out


def _noise_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    inner = ctx.child(p["inner"])
    ctx.preamble(*_noise_scalar_source(p["noise_seed"], p["noise_type"], p["noise_pct"], p["noise_std"]))
    r = p["noise_range_t"]
    cond = {0: "False", 1: f"step >= {r[0]}" if r else "", 2: f"{r[0]} <= step < {r[1]}" if len(r) == 2 else ""}
    return [f"v = {inner}(step)", f"if {cond[len(r)]}:", "    v = v + v * _lrstudio_noise(step)", "return v"]


@register_schedule(
    "noise",
    title="LR noise (timm) around a schedule",
    source="timm Scheduler noise (noise_range_t, noise_pct, noise_std, noise_type, noise_seed); "
           "lrstudio's own seeded draws (not torch's)",
    formula="lr(t) = inner(t) * (1 + n(t)) inside noise_range_t, else inner(t); n(t): normal * noise_std "
            "resampled until |n| < noise_pct, or uniform in (-noise_pct, noise_pct); n depends only on "
            "noise_seed and t",
    params=(
        Param("inner", "schedule", {"name": "cosine", "params": {}}, "The schedule the noise is added to"),
        Param("noise_range_t", "int_list", [0], "Steps with noise: [] none, [start] from start on, "
              "[start, end] start <= t < end (timm noise_range_t)", low=0, high=10**9, max_len=2),
        Param("noise_pct", "float", 0.67, "Largest relative change (timm noise_pct)", low=0.0, high=1.0,
              low_open=True),
        Param("noise_std", "float", 1.0, "Standard deviation of the normal noise before the limit "
              "(timm takes it but uses 1)", low=0.0, high=100.0, low_open=True),
        Param("noise_type", "choice", "normal", "normal (resampled within noise_pct) or uniform",
              choices=("normal", "uniform")),
        Param("noise_seed", "int", 42, "Seed: the same seed gives the same noise at each step (timm noise_seed)",
              low=0, high=2**32 - 1),
    ),
    check=_check_noise,
    scalar_source=_noise_source,
    lengths=Lengths(own=lambda p, length_of: length_of(p["inner"]),
                    fit=lambda p, total, fit: {**p, "inner": fit(p["inner"], total)},
                    children=lambda p: [(0, p["inner"])]),
)
def noise(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """timm's LR noise around any schedule.

    lr(t) = v + v * n(t) with v = inner(t) for t in noise_range_t ([start] : t >= start;
    [start, end] : start <= t < end; [] : never), lr(t) = v elsewhere. n(t) is a pure function of
    noise_seed and t (module docstring): normal * noise_std resampled until |n| < noise_pct, or
    uniform 2 (u - 0.5) noise_pct. Only the seed and the step decide a step's noise, so the curve
    of a step is the same in a preview, a longer run and a resumed one.
    """
    v = _curve(p["inner"], t, base_lr)
    if t.size == 0:
        return v
    mask = _in_range(p, t)
    if mask is not None and not mask.any():
        return v
    r = as_range(t)
    key = (p["noise_seed"], p["noise_type"], float(p["noise_pct"]), float(p["noise_std"]))
    n = _noise_range(*key, r[0], r[1]) if r is not None else noise_at(t, *key)
    if mask is None:
        return v + v * n
    out = v.copy()
    out[mask] = v[mask] + v[mask] * n[mask]
    return out
