"""timm's LR noise as a wrapper around any schedule (``timm/scheduler/scheduler.py``,
``Scheduler._add_noise``), reproducible by seed.

timm adds ``lr * noise`` inside ``noise_range_t``, the noise of step ``t`` being drawn from a
``torch.Generator`` seeded with ``noise_seed + t``: a normal draw resampled until
``|noise| < noise_pct`` (``noise_type='normal'``), or ``2 * (u - 0.5) * noise_pct`` for a uniform
``u`` (``'uniform'``). So the noise of a step depends on the seed and the step only.

Two ways to draw, by ``noise_draws``:

``"timm"`` (default): timm's own numbers. ``core`` imports no torch, so the draws are made the way
torch's CPU generator makes them, in numpy: ``manual_seed(s)`` is MT19937's ``init_genrand(s &
0xffffffff)``; ``torch.rand(1)`` (float32) is ``(w & 0xffffff) * 2**-24`` of the first 32-bit word;
``torch.randn(1)`` is torch's ``normal_distribution<double>``: Box-Muller on two 53-bit uniforms
``((w0 << 32 | w1) & (2**53 - 1)) * 2**-53`` (``u1``) and the next pair (``u2``),
``r = sqrt(-2 log1p(-u2))``, ``r cos(2 pi u1)``, with ``r sin(2 pi u1)`` kept for the next call,
each rounded to float32 (``.item()`` of a float32 tensor). The first words of all the steps' seeds
are made at once (MT19937's seeding and first twist over arrays), the refused steps' next pairs
too (as many pairs as make a further refusal unlikely, at most 56); a step refused even then takes
the rest from ``numpy.random.RandomState(seed)`` (the same MT19937).
``tests/trainer/test_noise_timm_draws.py`` checks the numbers against ``torch.Generator`` and
timm's ``_calculate_noise``. Cost: ~30-70 ms for a new seed over 100,000 steps (cached after).

``"fast"``: lrstudio's own draws, same distribution and the same seed-and-step rule, ~10x cheaper
for a new seed: the steps are cut in blocks of :data:`BLOCK` (8,192), and block ``b`` draws from
``numpy.random.Generator(Philox(key=noise_seed, counter=[0, 0, 0, b]))``. Step ``t`` takes the
``t % BLOCK``-th noise of block ``t // BLOCK``: for ``'uniform'`` the ``2 * (u - 0.5) * noise_pct``
of its ``t % BLOCK``-th ``random()`` draw; for ``'normal'`` the ``t % BLOCK``-th of the block's
``standard_normal()`` draws (times ``noise_std``) that fall inside ``(-noise_pct, noise_pct)``, in
stream order. (numpy keeps Philox's raw stream fixed; the normal draws follow numpy's
``standard_normal``, the same dependency as ``noisy_linear_cosine``.)

Either way a step's noise depends on the seed and the step only, so the preview, a longer or
resumed run, the training adapter and the exported snippet agree at every step. timm takes
``noise_std`` but never uses it (its normal noise is N(0, 1)); lrstudio scales the draw by it before
the limit, so the default 1.0 is timm.
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


# -- timm's draws (torch's CPU generator, in numpy) ----------------------------------------------
_U32 = np.uint32
_MT_N, _MT_M = 624, 397


def _mt_words(seeds: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` (<= 227) 32-bit outputs of MT19937 seeded ``init_genrand(seed & 0xffffffff)``
    for each seed (torch's ``Generator.manual_seed``), shape ``(k, len(seeds))``, uint64."""
    n = seeds.size
    keep: dict[int, np.ndarray] = {}
    need = set(range(k + 1)) | set(range(_MT_M, _MT_M + k))
    x = (np.asarray(seeds, dtype=np.uint64) & np.uint64(0xFFFFFFFF)).astype(_U32)
    keep[0] = x
    mul = _U32(1812433253)
    with np.errstate(over="ignore"):
        for j in range(1, _MT_M + k):
            y = x >> _U32(30)
            y ^= x
            y *= mul
            y += _U32(j)
            x = y
            if j in need:
                keep[j] = x
        out = np.empty((k, n), dtype=np.uint64)
        for i in range(k):
            y = (keep[i] & _U32(0x80000000)) | (keep[i + 1] & _U32(0x7FFFFFFF))
            v = keep[i + _MT_M] ^ (y >> _U32(1))
            v ^= np.where((y & _U32(1)).astype(bool), _U32(0x9908B0DF), _U32(0)).astype(_U32)
            v ^= v >> _U32(11)
            v ^= (v << _U32(7)) & _U32(0x9D2C5680)
            v ^= (v << _U32(15)) & _U32(0xEFC60000)
            v ^= v >> _U32(18)
            out[i] = v
    return out


def _u53(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """torch's ``uniform_real_distribution<double>`` of ``random64() = hi << 32 | lo``."""
    x = ((hi << np.uint64(32)) | lo) & np.uint64((1 << 53) - 1)
    return x.astype(np.float64) * 2.0**-53


def _box_muller(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """torch's ``normal_distribution<double>`` from 4 words per column: (the draw, the cached next
    draw), each rounded to float32 as ``torch.randn(1).item()``."""
    u1, u2 = _u53(w[0], w[1]), _u53(w[2], w[3])
    r = np.sqrt(-2.0 * np.log1p(-u2))
    theta = 2.0 * math.pi * u1
    return ((r * np.cos(theta)).astype(np.float32).astype(np.float64),
            (r * np.sin(theta)).astype(np.float32).astype(np.float64))


#: Most pairs of normal draws per step made over arrays (MT19937's first twist gives 227 words)
#: before one generator per step takes over, and the steps done at once.
_TIMM_PAIRS = 56
_TIMM_CHUNK = 16_384
#: Steps whose first words are made at once (a longer run goes in chunks of this many).
_TIMM_STEPS_AT_ONCE = 1 << 18
#: Longest range of steps whose noise (and timm's first words) is kept in the caches: 8 MB each.
_CACHE_MAX = 1 << 20


@lru_cache(maxsize=4)
def _timm_words(seed: int, first: int, last: int) -> np.ndarray:
    """The first 4 words of the generators of steps first..last (cached: the limit, the type or the
    inner schedule may change without a new seeding)."""
    out = _mt_words(np.arange(seed + first, seed + last + 1, dtype=np.uint64), 4)
    out.flags.writeable = False
    return out


def _timm_scalar(seed: int, pct: float, std: float) -> float:
    """timm's normal draw for one generator seed, resampled to any depth (RandomState is MT19937)."""
    bits = np.random.RandomState(seed & 0xFFFFFFFF)._bit_generator
    while True:
        c, s = _box_muller(bits.random_raw(4).astype(np.uint64).reshape(4, 1))
        for x in (float(c[0]) * std, float(s[0]) * std):
            if abs(x) < pct:
                return x


def timm_noise_at(t: np.ndarray, seed: int, kind: str, pct: float, std: float,
                  words: np.ndarray | None = None) -> np.ndarray:
    """timm's ``_calculate_noise(t)`` for each step (``words``: the first 4 words of each step's
    generator, when already made). Long step arrays go in chunks (the seeding works on arrays of
    ~600 rows of the chunk's size)."""
    t = np.asarray(t, dtype=np.int64)
    if words is None and t.size > _TIMM_STEPS_AT_ONCE:
        out = np.empty(t.shape, dtype=np.float64)
        flat = t.ravel()
        res = out.ravel()
        for a in range(0, flat.size, _TIMM_STEPS_AT_ONCE):
            res[a:a + _TIMM_STEPS_AT_ONCE] = timm_noise_at(flat[a:a + _TIMM_STEPS_AT_ONCE], seed, kind, pct, std)
        return out
    if words is None:
        words = _mt_words((t + seed).astype(np.uint64), 4 if kind == "normal" else 1)
    if kind == "uniform":
        u = (words[0] & np.uint64(0xFFFFFF)).astype(np.float64) * 2.0**-24
        return 2 * (u - 0.5) * pct
    out = np.zeros(t.shape, dtype=np.float64)
    c, s = _box_muller(words)
    c *= std
    s *= std
    ok_c = np.abs(c) < pct
    out[ok_c] = c[ok_c]
    todo = ~ok_c
    ok_s = todo & (np.abs(s) < pct)
    out[ok_s] = s[ok_s]
    todo &= ~ok_s
    # the refused steps (a quarter at timm's default) take their next pairs of draws, all at once
    idx = np.flatnonzero(todo)
    accept = math.erf(pct / std / math.sqrt(2.0))
    pairs = min(_TIMM_PAIRS, max(2, math.ceil(math.log(1e-4) / math.log(max(1e-12, 1.0 - accept)) / 2) + 1))
    for start in range(0, idx.size, _TIMM_CHUNK):
        part = idx[start:start + _TIMM_CHUNK]
        m = part.size
        w = _mt_words((t[part] + seed).astype(np.uint64), 4 * pairs)[4:]  # pairs 1.. (0 was refused)
        c, s = _box_muller(w.reshape(pairs - 1, 4, m).transpose(1, 0, 2).reshape(4, -1))
        draws = np.stack([c.reshape(pairs - 1, m), s.reshape(pairs - 1, m)], axis=1).reshape(2 * (pairs - 1), m)
        draws *= std
        ok = np.abs(draws) < pct
        has = ok.any(axis=0)
        first = np.argmax(ok, axis=0)
        cols = np.arange(m)
        out[part[has]] = draws[first[has], cols[has]]
        for i in part[~has].tolist():  # rarer still: one generator each
            out[i] = _timm_scalar(int(t[i]) + seed, pct, std)
    return out


def noise_at(t: np.ndarray, seed: int, kind: str, pct: float, std: float, draws: str = "fast") -> np.ndarray:
    """The noise of each step ``t`` (a function of the seed and the step: the module's docstring)."""
    if draws == "timm":
        return timm_noise_at(t, seed, kind, pct, std)
    t = np.asarray(t, dtype=np.int64)
    out = np.empty(t.shape, dtype=np.float64)
    if t.size == 0:
        return out
    blocks = t // BLOCK
    r = as_range(t)
    if r is not None:
        for b in range(r[0] // BLOCK, r[1] // BLOCK + 1):
            lo, hi = max(r[0], b * BLOCK), min(r[1], (b + 1) * BLOCK - 1)
            out[lo - r[0] : hi - r[0] + 1] = _block(seed, kind, pct, std, b)[lo - b * BLOCK : hi - b * BLOCK + 1]
        return out
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
    if p["noise_type"] == "normal" and p["noise_pct"] / p["noise_std"] < 0.05:  # resampling must end soon
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
def _noise_range(seed: int, kind: str, pct: float, std: float, first: int, last: int, draws: str) -> np.ndarray:
    """noise_at for the steps first..last (cached: a preview redrawn while a slider moves, or the
    run's curve asked again, costs no new draws)."""
    t = np.arange(first, last + 1, dtype=np.int64)
    if draws == "timm":
        out = timm_noise_at(t, seed, kind, pct, std, _timm_words(seed, first, last))
    else:
        out = noise_at(t, seed, kind, pct, std)
    out.flags.writeable = False
    return out


def _timm_scalar_source(seed: int, kind: str, pct: float, std: float) -> list[str]:
    """timm's ``_calculate_noise`` itself (the snippet runs in torch), noise_std applied as lrstudio does."""
    if kind == "uniform":
        draw = [f"    return 2 * (torch.rand(1, generator=g).item() - 0.5) * {pct!r}"]
    else:
        draw = ["    while True:", f"        noise = torch.randn(1, generator=g).item() * {std!r}",
                f"        if abs(noise) < {pct!r}:", "            return noise"]
    return ["import torch", "", "", "def _lrstudio_noise(step):", "    g = torch.Generator()",
            f"    g.manual_seed({seed} + step)", *draw, "", ""]


def _noise_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    inner = ctx.child(p["inner"])
    make = _timm_scalar_source if p["noise_draws"] == "timm" else _noise_scalar_source
    ctx.preamble(*make(p["noise_seed"], p["noise_type"], p["noise_pct"], p["noise_std"]))
    r = p["noise_range_t"]
    cond = {0: "False", 1: f"step >= {r[0]}" if r else "", 2: f"{r[0]} <= step < {r[1]}" if len(r) == 2 else ""}
    return [f"v = {inner}(step)", f"if {cond[len(r)]}:", "    v = v + v * _lrstudio_noise(step)", "return v"]


@register_schedule(
    "noise",
    title="LR noise (timm) around a schedule",
    source="timm Scheduler noise (noise_range_t, noise_pct, noise_std, noise_type, noise_seed): timm's "
           "draws (noise_draws='timm') or lrstudio's own seeded ones ('fast')",
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
        Param("noise_draws", "choice", "timm",
              "timm: the numbers timm draws (its torch.Generator seeded noise_seed + t, made without torch); "
              "fast: lrstudio's own seeded draws, same distribution, ~10x cheaper for a new seed",
              choices=("timm", "fast")),
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
    uniform 2 (u - 0.5) noise_pct, drawn as timm draws them (noise_draws='timm': torch.Generator
    seeded noise_seed + t, made in numpy) or lrstudio's cheaper way ('fast'). Only the seed and the
    step decide a step's noise, so the curve
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
    n = (_noise_range(*key, r[0], r[1], p["noise_draws"]) if r is not None and t.size <= _CACHE_MAX
         else noise_at(t, *key, draws=p["noise_draws"]))
    if mask is None:
        return v + v * n
    out = v.copy()
    out[mask] = v[mask] + v[mask] * n[mask]
    return out
