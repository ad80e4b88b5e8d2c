"""timm's LR noise as a wrapper around any schedule (``timm/scheduler/scheduler.py``,
``Scheduler._add_noise``), reproducible by seed.

timm adds ``lr * noise`` inside ``noise_range_t``, the noise of step ``t`` being drawn from a
``torch.Generator`` seeded with ``noise_seed + t``: a normal draw resampled until
``|noise| < noise_pct`` (``noise_type='normal'``), or ``2 * (u - 0.5) * noise_pct`` for a uniform
``u`` (``'uniform'``). So the noise of a step depends on the seed and the step only.

lrstudio keeps that rule, without torch (``core`` imports no torch, and seeding a generator per
step would cost ~1 s per 100,000 steps): the steps are cut in blocks of :data:`BLOCK` (8,192), and
block ``b`` draws from ``numpy.random.Generator(Philox(key=noise_seed, counter=[0, 0, 0, b]))``, a
counter-based generator whose stream depends on the seed and the block only. Step ``t`` takes the
``t % BLOCK``-th noise of block ``t // BLOCK``: for ``'uniform'`` the ``2 * (u - 0.5) * noise_pct``
of its ``t % BLOCK``-th ``random()`` draw; for ``'normal'`` the ``t % BLOCK``-th of the block's
``standard_normal()`` draws (times ``noise_std``) that fall inside ``(-noise_pct, noise_pct)``, in
stream order (timm's resampling, on a stream). Same distribution as timm's, same seed-and-step rule,
but not torch's numbers: a curve is reproduced exactly by lrstudio (the preview, the training
adapter, a longer or resumed run, the exported snippet), not by timm's draws. timm takes
``noise_std`` but never uses it (its normal noise is N(0, 1)); lrstudio scales by it, so the default
1.0 is timm. (numpy keeps Philox's raw stream fixed; the normal draws follow numpy's
``standard_normal``, the same dependency as ``noisy_linear_cosine``.)
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

#: Steps per block of draws (one Philox stream each).
BLOCK = 8192


def _block(seed: int, kind: str, pct: float, std: float, b: int) -> np.ndarray:
    """The BLOCK noises of block ``b`` (see the module's docstring)."""
    g = np.random.Generator(np.random.Philox(key=seed, counter=[0, 0, 0, b]))
    if kind == "uniform":
        u = g.random(BLOCK)
        u -= 0.5
        u *= 2 * pct
        return u
    lim = pct / std
    accept = math.erf(lim / math.sqrt(2.0))  # share of draws inside the limit (only sizes the chunks)
    chunk = int(BLOCK / max(accept, 1e-3) * 1.1) + 64
    parts: list[np.ndarray] = []
    have = 0
    while have < BLOCK:
        x = g.standard_normal(chunk)
        x = x[np.abs(x) < lim]
        parts.append(x)
        have += x.size
    out = parts[0][:BLOCK] if len(parts) == 1 else np.concatenate(parts)[:BLOCK]
    return out * std


def noise_at(t: np.ndarray, seed: int, kind: str, pct: float, std: float) -> np.ndarray:
    """The noise of each step ``t`` (a function of the seed and the step: the module's docstring)."""
    t = np.asarray(t, dtype=np.int64)
    out = np.empty(t.shape, dtype=np.float64)
    if t.size == 0:
        return out
    blocks = t // BLOCK
    r = as_range(t)
    if r is not None:
        first = r[0] // BLOCK
        drawn = np.concatenate([_block(seed, kind, pct, std, b) for b in range(first, r[1] // BLOCK + 1)])
        return drawn[r[0] - first * BLOCK : r[1] - first * BLOCK + 1].copy()
    for b in np.unique(blocks).tolist():
        sel = blocks == b
        out[sel] = _block(seed, kind, pct, std, b)[t[sel] - b * BLOCK]
    return out


def _noise_scalar_source(seed: int, kind: str, pct: float, std: float) -> list[str]:
    """Module-level Python of ``noise_at`` for one step (the exported snippet's twin)."""
    lim = pct / std
    if kind == "uniform":
        draw = ["        u = g.random(BLOCK)", f"        v = (u - 0.5) * {2 * pct!r}"]
    else:
        chunk = int(BLOCK / max(math.erf(lim / math.sqrt(2.0)), 1e-3) * 1.1) + 64
        draw = ["        parts, have = [], 0", "        while have < BLOCK:",
                f"            x = g.standard_normal({chunk})", f"            x = x[np.abs(x) < {lim!r}]",
                "            parts.append(x)", "            have += x.size",
                f"        v = np.concatenate(parts)[:BLOCK] * {std!r}"]
    return [f"BLOCK = {BLOCK}", "_lrstudio_noise_blocks = {}", "", "",
            "def _lrstudio_noise(step):",
            "    b = step // BLOCK",
            "    if b not in _lrstudio_noise_blocks:",
            f"        g = np.random.Generator(np.random.Philox(key={seed}, counter=[0, 0, 0, b]))",
            *draw,
            "        _lrstudio_noise_blocks.clear()",
            "        _lrstudio_noise_blocks[b] = v",
            "    return float(_lrstudio_noise_blocks[b][step - b * BLOCK])", "", ""]


# -- the wrapper ---------------------------------------------------------------------------------
def _check_noise(p: dict[str, Any], owner: str) -> None:
    r = p["noise_range_t"]
    if len(r) == 2 and r[1] <= r[0]:
        raise ScheduleError("noise_range_t", r, f"[start, end) with end > start (got {r[0]} then {r[1]})", owner)
    if p["noise_type"] == "normal" and p["noise_pct"] / p["noise_std"] < 0.05:
        raise ScheduleError("noise_pct", p["noise_pct"], f"at least 0.05 * noise_std ({0.05 * p['noise_std']!r}): "
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
