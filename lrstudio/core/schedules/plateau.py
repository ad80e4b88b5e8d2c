"""Reduce-on-plateau: the one schedule driven by data (a metric per scheduling step).

Implementations that give bit-identical numbers (tested against each other and against torch):

* :class:`PlateauState` steps one metric at a time (the torch adapter uses it during training; it
  is the readable reference in the tests);
* :func:`plateau_lrs` computes a whole curve with numpy by jumping between events, so a preview of
  100,000 steps costs a few milliseconds.

How the fast path works. Work in "min space" (metrics negated for ``mode="max"``; negation is
exact, so every comparison is the source's). The improvement test is ``x < g(best)`` with ``g``
non-decreasing and ``g(b) <= b`` (``b * (1 - threshold)`` for b >= 0, ``b - threshold``); hence
every improvement is a strict new running minimum (``np.fmin.accumulate``), and among those
candidates the next improvement after a best ``b`` is the first one below ``g(b)``: a bisection,
one Python step per improvement. In torch, improvements never depend on the LR or the cooldown,
so reductions follow from them alone: between two improvements the steps with patience exhausted
form a range, and the reductions in it an arithmetic progression (step ``patience + 1 + cooldown``),
generated with numpy. The LR after the k-th reduction is ``((base*f)*f)...`` clipped at ``min_lr``
up to the first reduction that changes nothing (then nothing ever changes again).
Paddle's convention with a cooldown ignores metrics while cooling down, so improvements depend on
the reductions: the same scan runs stretch by stretch between reductions.

Cost: ~1-3 ms per 100,000 steps for a loss-like metric. Slower cases: tens of thousands of
improvements with a threshold (a metric that falls smoothly every step: ~15 ms), tens of thousands
of effective reductions (patience 0, factor near 1, eps 0: ~10 ms), and the step-by-step loop for
``threshold_mode="rel"`` with negative metrics (where ``g(b) > b``) or a non-finite first metric
under Paddle's rules (~50 ms).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Any

import numpy as np

from lrstudio.core.params import Param
from lrstudio.core.schedules.base import ScheduleError, register_schedule


class PlateauState:
    """Step-by-step reduce-on-plateau state machine (torch ``ReduceLROnPlateau`` / Paddle
    ``ReduceOnPlateau``, chosen by ``p["cooldown_convention"]``)."""

    __slots__ = ("lr", "best", "num_bad", "cooldown_counter", "_p", "_torch", "_first")

    def __init__(self, p: dict[str, Any], base_lr: float) -> None:
        self._p = p
        self._torch = p["cooldown_convention"] == "torch"
        self.lr = float(base_lr)
        self.best = math.inf if p["mode"] == "min" else -math.inf
        self._first = True  # Paddle starts with best = None: the first metric is always the best
        self.num_bad = 0
        self.cooldown_counter = 0

    def _is_better(self, a: float, best: float) -> bool:
        p = self._p
        thr = p["threshold"]
        if self._torch:
            if p["mode"] == "min":
                return a < best * (1.0 - thr) if p["threshold_mode"] == "rel" else a < best - thr
            return a > best * (thr + 1.0) if p["threshold_mode"] == "rel" else a > best + thr
        if p["mode"] == "min":
            return a < best - best * thr if p["threshold_mode"] == "rel" else a < best - thr
        return a > best + best * thr if p["threshold_mode"] == "rel" else a > best + thr

    def _reduce(self) -> None:
        p = self._p
        new = max(self.lr * p["factor"], p["min_lr"])
        if self.lr - new > p["eps"]:
            self.lr = new

    def step(self, metric: float) -> float:
        """Take one scheduling step with ``metric``; return the LR for the next update."""
        a = float(metric)
        p = self._p
        if self._torch:
            if self._is_better(a, self.best):
                self.best = a
                self.num_bad = 0
            else:
                self.num_bad += 1
            if self.cooldown_counter > 0:
                self.cooldown_counter -= 1
                self.num_bad = 0
            if self.num_bad > p["patience"]:
                self._reduce()
                self.cooldown_counter = p["cooldown"]
                self.num_bad = 0
            return self.lr
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            return self.lr
        if self._first or self._is_better(a, self.best):
            self.best = a
            self._first = False
            self.num_bad = 0
        else:
            self.num_bad += 1
        if self.num_bad > p["patience"]:
            self.cooldown_counter = p["cooldown"]
            self.num_bad = 0
            self._reduce()
        return self.lr


def plateau_lrs_reference(p: dict[str, Any], base_lr: float, metrics: np.ndarray) -> np.ndarray:
    """LR after each metric through :class:`PlateauState` (the readable reference)."""
    st = PlateauState(p, base_lr)
    return np.asarray([st.step(m) for m in np.asarray(metrics, dtype=np.float64).tolist()], dtype=np.float64)


def plateau_lrs_loop(p: dict[str, Any], base_lr: float, metrics: np.ndarray) -> np.ndarray:
    """LR after each metric, one step at a time in a tight loop (the general path).

    Same rules as :class:`PlateauState`, in "min space" (metrics negated for mode "max") so one
    comparison form serves all modes: better = v < g(best) with
    g = best*c (torch rel), best - best*c (Paddle rel), best - c (abs).
    """
    torch_conv = p["cooldown_convention"] == "torch"
    mode_min = p["mode"] == "min"
    thr = float(p["threshold"])
    xs = (np.asarray(metrics, dtype=np.float64) if mode_min else -np.asarray(metrics, dtype=np.float64)).tolist()
    if p["threshold_mode"] == "abs":
        style, c = 2, thr
    elif torch_conv:
        style, c = 0, (1.0 - thr) if mode_min else (thr + 1.0)
    else:
        style, c = 1, thr if mode_min else -thr
    patience, cooldown = int(p["patience"]), int(p["cooldown"])
    factor, min_lr, eps = float(p["factor"]), float(p["min_lr"]), float(p["eps"])
    lr = float(base_lr)
    best = math.inf
    first = not torch_conv
    bad = 0
    cd = 0
    out = [0.0] * len(xs)
    for i, v in enumerate(xs):
        if not torch_conv and cd > 0:
            cd -= 1
            out[i] = lr
            continue
        if first:
            better = True
            first = False
        elif style == 0:
            better = v < best * c
        elif style == 1:
            better = v < best - best * c
        else:
            better = v < best - c
        if better:
            best = v
            bad = 0
        else:
            bad += 1
        if cd > 0:  # torch only (Paddle returned above)
            cd -= 1
            bad = 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > eps:
                lr = new
            cd = cooldown
            bad = 0
        out[i] = lr
    return np.asarray(out, dtype=np.float64)


def plateau_lrs(p: dict[str, Any], base_lr: float, metrics: np.ndarray) -> np.ndarray:
    """LR after each of the ``len(metrics)`` scheduling steps, vectorised where possible."""
    m = np.asarray(metrics, dtype=np.float64)
    n = m.size
    if n == 0:
        return np.empty(0)
    torch_conv = p["cooldown_convention"] == "torch"
    rel = p["threshold_mode"] == "rel"
    x = m if p["mode"] == "min" else -m  # min space
    # The fast path needs g(b) <= b: in rel mode that means b >= 0 in min space for "min",
    # b <= 0 for "max" (i.e. metrics >= 0 in both cases).
    signs_ok = not rel or bool(np.all(m >= 0))
    if not torch_conv and p["cooldown"] > 0 and signs_ok:
        return _plateau_paddle_stretches(p, base_lr, x)
    fast = (torch_conv or p["cooldown"] == 0) and signs_ok
    if not torch_conv and not math.isfinite(m[0]):
        fast = False  # Paddle takes any first metric as the best, even inf/nan
    if not fast:
        return plateau_lrs_loop(p, base_lr, m)

    # 1. candidates: strict new running minima (NaN never improves; fmin skips it)
    cand = _new_minima(x)
    if not torch_conv and (cand.size == 0 or cand[0] != 0):
        cand = np.concatenate(([0], cand))  # Paddle: the first metric is the best (finite here)

    # 2. the improvement chain among candidates
    thr = float(p["threshold"])
    if thr == 0.0 or cand.size == 0:
        imp = cand
    else:
        imp = cand[_chain(p, x[cand], first_is_best=not torch_conv)]

    # 3. reductions. Work on the improvement list, not on per-step arrays: segment j runs from
    # improvement anchors[j] (-1: the start) to the next one (ends[j], exclusive); its steps k with
    # k - anchors[j] >= patience + 1 ("ok": patience exhausted) are [okstart[j], ends[j]).
    patience, cooldown = int(p["patience"]), int(p["cooldown"])
    need = patience + 1
    anchors = np.concatenate(([-1], imp)).astype(np.int64)
    ends = np.concatenate((imp, [n])).astype(np.int64)
    okstart = anchors + need
    factor, min_lr, eps = float(p["factor"]), float(p["min_lr"]), float(p["eps"])
    if cooldown == 0:
        # every ok step k with (k - anchor) a multiple of need reduces: all of them at once
        cnt = np.maximum(0, (ends - okstart + need - 1) // need)
        total = int(cnt.sum())
        if total == 0:
            return np.full(n, float(base_lr))
        first = np.repeat(okstart, cnt)
        within = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        red = first + need * within
        return _apply_reductions(red, n, float(base_lr), factor, min_lr, eps)
    valid = okstart < ends
    nseg = anchors.size
    # next_valid[j] = first segment >= j with ok steps (nseg when none)
    next_valid = np.minimum.accumulate(np.where(valid, np.arange(nseg), nseg)[::-1])[::-1]

    def next_ok(k: int) -> int:
        j = int(np.searchsorted(anchors, k, side="right")) - 1  # the segment holding step k
        if valid[j] and k < ends[j]:
            return max(k, int(okstart[j]))
        j = int(next_valid[j + 1]) if j + 1 < nseg else nseg
        return int(okstart[j]) if j < nseg else n

    # with a cooldown, a reduction at r allows the next one at r + cooldown + need at the earliest:
    # inside one segment they form an arithmetic progression; jump segment by segment
    step = need + cooldown
    limit = _effective_reductions(n, float(base_lr), factor, min_lr, eps)
    chunks: list[np.ndarray] = []
    found = 0
    k = 0
    while k < n and found < limit:
        r = next_ok(k)
        if r >= n:
            break
        e = int(ends[int(np.searchsorted(anchors, r, side="right")) - 1])
        c = (e - r + step - 1) // step
        chunks.append(r + step * np.arange(c, dtype=np.int64))
        found += c
        k = r + step * c  # = last reduction + cooldown + need
    if not chunks:
        return np.full(n, float(base_lr))
    return _apply_reductions(np.concatenate(chunks), n, float(base_lr), factor, min_lr, eps)


def _new_minima(x: np.ndarray, block: int = 128) -> np.ndarray:
    """Indices ``i`` with ``x[i] < min(x[:i])``: strict new running minima (NaN never is one and is
    skipped, as ``np.fmin`` does): ``flatnonzero(x < fmin.accumulate([inf, x[:-1]]))``.

    ``ufunc.accumulate`` walks one element at a time (~3 ns each, most of ``lr_curve``'s time for
    100k steps, issue 11); so blocks of ``block`` values are reduced first (vectorised), and only
    the blocks whose minimum is a new one are scanned, all together, one vector op per position.
    A falling curve (most blocks new) takes the plain scan. Same indices, bit for bit (tested).
    """
    n = x.size
    nb = n // block
    if nb < 8:
        prev = np.fmin.accumulate(np.concatenate(([math.inf], x[:-1])))
        return np.flatnonzero(x < prev)
    head = x[: nb * block].reshape(nb, block)
    bmin = np.fmin.reduce(head, axis=1)
    before = np.empty(nb + 1)
    before[0] = math.inf
    np.fmin.accumulate(bmin, out=before[1:])
    np.fmin(before, math.inf, out=before)  # leading all-NaN blocks: still no minimum
    hot = np.flatnonzero(bmin < before[:-1])
    if 2 * hot.size > nb:  # mostly new minima (a falling curve): the plain scan is as fast
        prev = np.fmin.accumulate(np.concatenate(([math.inf], x[:-1])))
        return np.flatnonzero(x < prev)
    out = []
    if hot.size:
        cols = np.ascontiguousarray(head[hot].T)  # (block, hot): one vector op per position
        prev = np.empty_like(cols)
        prev[0] = before[hot]
        np.fmin.accumulate(cols[:-1], axis=0, out=prev[1:])
        np.fmin(prev[1:], prev[0], out=prev[1:])
        r, c = np.nonzero((cols < prev).T)  # row-major: increasing indices
        out.append(hot[r] * block + c)
    tail = x[nb * block:]
    if tail.size:
        prev = np.fmin.accumulate(np.concatenate(([before[-1]], tail[:-1])))
        out.append(nb * block + np.flatnonzero(tail < prev))
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


def _effective_reductions(n: int, base_lr: float, factor: float, min_lr: float, eps: float) -> int:
    """How many reductions change the LR before one does not (at most n)."""
    size = 64
    while True:
        size = min(size, n)
        seq = np.multiply.accumulate(np.concatenate(([base_lr], np.full(size, factor))))
        np.maximum(seq[1:], min_lr, out=seq[1:])
        changed = (seq[:-1] - seq[1:]) > eps
        if not bool(changed.all()):
            return int(np.argmin(changed))
        if size >= n:
            return n
        size *= 16


def _apply_reductions(red: np.ndarray, n: int, base_lr: float, factor: float, min_lr: float, eps: float
                      ) -> np.ndarray:
    """LR after each step given the (sorted) steps where a reduction is attempted.

    new = max(lr * factor, min_lr), applied when lr - new > eps: the products are accumulated left
    to right, ((base*f)*f)..., as the sources multiply; once one attempt changes nothing (min_lr
    reached or a change <= eps), no later attempt can, so the sequence stops there.
    """
    total = red.size
    seq = np.multiply.accumulate(np.concatenate(([base_lr], np.full(total, factor))))
    np.maximum(seq[1:], min_lr, out=seq[1:])
    changed = (seq[:-1] - seq[1:]) > eps
    stop = total if bool(changed.all()) else int(np.argmin(changed))
    if stop == 0:
        return np.full(n, base_lr)
    counts = np.diff(np.concatenate(([0], red[:stop], [n])))
    return np.repeat(seq[: stop + 1], counts)


def _threshold_fn(p: dict[str, Any]) -> Any:
    """g(best) in min space: better(v) = v < g(best), with the convention's exact arithmetic.

    torch: min rel best*(1-thr), max rel (negated) (-best)*(thr+1); Paddle: best - best*thr and
    (-best) + (-best)*thr; abs: best - thr. Negation is exact, so these equal the sources' tests.
    """
    thr = float(p["threshold"])
    mode_min = p["mode"] == "min"
    if p["threshold_mode"] == "abs":
        return lambda best: best - thr
    if p["cooldown_convention"] == "torch":
        c = (1.0 - thr) if mode_min else (thr + 1.0)
        return lambda best: best * c
    k = thr if mode_min else -thr
    return lambda best: best - best * k


def _chain(p: dict[str, Any], vals: np.ndarray, first_is_best: bool, best: float = math.inf) -> list[int]:
    """Indices of the improvements among decreasing candidate values ``vals``.

    From a best b the next improvement is the first candidate below g(b); candidates decrease, so
    that is a bisection on their negated values: one step per improvement, not per candidate.
    """
    g = _threshold_fn(p)
    neg = (-vals).tolist()  # increasing
    out: list[int] = []
    i = 0
    if first_is_best and neg:
        out.append(0)
        best = -neg[0]
        i = 1
    while i < len(neg):
        thresh = g(best)
        if thresh != thresh:  # nan (inf best in Paddle's rel form): nothing is ever better
            break
        i = bisect_right(neg, -thresh, lo=i)  # first candidate with v < thresh
        if i >= len(neg):
            break
        out.append(i)
        best = -neg[i]
        i += 1
    return out


def _finish_paddle(p: dict[str, Any], x: np.ndarray, pos: int, lr: float, best: float | None,
                   red_at: list[int], lrs: list[float]) -> np.ndarray:
    """Paddle rules step by step from ``pos`` (a stretch start: bad = 0, no cooldown)."""
    g = _threshold_fn(p)
    patience, cooldown = int(p["patience"]), int(p["cooldown"])
    factor, min_lr, eps = float(p["factor"]), float(p["min_lr"]), float(p["eps"])
    n = x.size
    out = np.empty(n, dtype=np.float64)
    counts = np.diff(np.asarray([0, *red_at, pos], dtype=np.int64)).astype(np.int64)
    out[:pos] = np.repeat(np.asarray(lrs), counts)
    bad = cd = 0
    tail = [0.0] * (n - pos)
    for i, v in enumerate(x[pos:].tolist()):
        if cd > 0:
            cd -= 1
        else:
            if best is None or v < g(best):
                best = v
                bad = 0
            else:
                bad += 1
            if bad > patience:
                cd = cooldown
                bad = 0
                new = max(lr * factor, min_lr)
                if lr - new > eps:
                    lr = new
        tail[i] = lr
    out[pos:] = tail
    return out


def _plateau_paddle_stretches(p: dict[str, Any], base_lr: float, x: np.ndarray) -> np.ndarray:
    """Paddle convention with cooldown > 0 (metrics ignored while cooling down), in min space.

    Between reductions the rules are those of the fast path, starting from the kept best: a
    "stretch" from ``pos`` is scanned in growing chunks for its improvements (strict running minima
    below the best, then the threshold chain) and its first step with patience + 1 bad steps.
    """
    n = x.size
    need = int(p["patience"]) + 1
    cooldown = int(p["cooldown"])
    factor, min_lr, eps = float(p["factor"]), float(p["min_lr"]), float(p["eps"])
    lr = float(base_lr)
    red_at: list[int] = []
    lrs: list[float] = [lr]
    best: float | None = None  # Paddle: the first metric is the best, whatever it is
    pos = 0
    while pos < n:
        if len(red_at) > 64:
            # many reductions (small patience, factor near 1, eps 0): step by step from here
            return _finish_paddle(p, x, pos, lr, best, red_at, lrs)
        chunk = max(4 * need, 256)
        while True:
            end = min(n, pos + chunk)
            seg = x[pos:end]
            b = best
            imp: list[int] = []
            start = 0
            if b is None:
                b = float(seg[0])
                imp.append(pos)
                start = 1
            if start < seg.size:
                run = np.fmin.accumulate(np.concatenate(([b], seg[start:-1])))
                cand = np.flatnonzero(seg[start:] < run) + start
                if cand.size:
                    picked = _chain(p, seg[cand], first_is_best=False, best=b)
                    imp.extend((pos + cand[picked]).tolist())
            # first step with need bad steps: per segment between improvements (anchor pos - 1 first)
            anchors = [pos - 1, *imp]
            ends = [*imp, end]
            r = end
            for a, e in zip(anchors, ends):
                if a + need < e:
                    r = a + need
                    break
            if r < end or end == n:
                break
            chunk *= 2
        if r >= n:
            break
        # best at the reduction: the last improvement at or before r
        k = bisect_right(imp, r) - 1
        if k >= 0:
            best = float(x[imp[k]])
        elif best is None:  # pragma: no cover - pos 0 always improves
            best = float(x[pos])
        new = max(lr * factor, min_lr)
        if not lr - new > eps:
            break  # the LR never changes again
        lr = new
        red_at.append(r)
        lrs.append(lr)
        pos = r + cooldown + 1
    if not red_at:
        return np.full(n, float(base_lr))
    counts = np.diff(np.asarray([0, *red_at, n], dtype=np.int64)).astype(np.int64)
    return np.repeat(np.asarray(lrs), counts)


def _check_plateau(p: dict[str, Any], owner: str) -> None:
    if p["threshold_mode"] == "rel" and p["threshold"] >= 1:
        raise ScheduleError("threshold", p["threshold"], "a number in [0, 1) when threshold_mode is 'rel'", owner)


def _plateau_torch(p: dict[str, Any], base_lr: float) -> str:
    if p["cooldown_convention"] != "torch":
        raise ScheduleError("cooldown_convention", p["cooldown_convention"],
                            "'torch' to export (torch has no Paddle-style cooldown)", "to_pytorch_code")
    return (f"ReduceLROnPlateau(optimizer, mode={p['mode']!r}, factor={p['factor']!r}, "
            f"patience={p['patience']}, threshold={p['threshold']!r}, "
            f"threshold_mode={p['threshold_mode']!r}, cooldown={p['cooldown']}, "
            f"min_lr={p['min_lr']!r}, eps={p['eps']!r})")


@register_schedule(
    "reduce_on_plateau",
    title="Reduce on plateau",
    source="torch ReduceLROnPlateau; Paddle ReduceOnPlateau (cooldown_convention='paddle')",
    formula="lr *= factor (not below min_lr; skipped when the change is <= eps) after more than patience "
            "steps without improvement (rel: a < best*(1-threshold); abs: a < best - threshold; "
            "mirrored for mode='max'), then wait cooldown steps",
    params=(
        Param("mode", "choice", "min", "min: the metric should go down (a loss); max: up (an accuracy)",
              choices=("min", "max")),
        Param("factor", "float", 0.1, "Multiplier of the LR at each reduction", low=0.0, high=1.0,
              low_open=True, high_open=True),
        Param("patience", "int", 10, "Steps without improvement tolerated before a reduction", low=0, high=10**9),
        Param("threshold", "float", 1e-4, "Least change that counts as an improvement", low=0.0, high=1e9),
        Param("threshold_mode", "choice", "rel", "rel: relative to the best value; abs: absolute",
              choices=("rel", "abs")),
        Param("cooldown", "int", 0, "Steps to wait after a reduction before counting again", low=0, high=10**9),
        Param("min_lr", "float", 0.0, "Floor of the LR (absolute)", low=0.0, high=1e6),
        Param("eps", "float", 1e-8, "Reductions smaller than this are skipped", low=0.0, high=1.0),
        Param("cooldown_convention", "choice", "torch",
              "torch: during cooldown the best metric is still updated (bad steps are ignored); "
              "paddle: during cooldown metrics are ignored entirely",
              choices=("torch", "paddle")),
    ),
    metric_driven=True,
    check=_check_plateau,
    torch_native=_plateau_torch,  # no scalar_source: a metric-driven curve is no function of the step
)
def reduce_on_plateau(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Reduce the LR when a metric stops improving (torch ``ReduceLROnPlateau``, Paddle
    ``ReduceOnPlateau``).

    Each scheduling step k takes metric a_k:
      better = a < best*(1 - threshold) [rel, min]; a < best - threshold [abs, min];
               a > best*(1 + threshold) [rel, max]; a > best + threshold [abs, max]
               (Paddle writes best - best*threshold, the same up to rounding; its first metric is
               always the best, torch starts from best = +-inf)
      torch:  if better: best = a, bad = 0 else bad += 1; if cooling down: cooldown -= 1, bad = 0
      paddle: if cooling down: cooldown -= 1 and nothing else (the metric is ignored); else as torch
      both:   if bad > patience: lr = max(lr*factor, min_lr) if that lowers it by more than eps;
              cooldown = cooldown steps; bad = 0
    ``metrics[k]`` drives step k + 1 (so it sets the LR of element k + 1 of the curve). With no
    metrics the LR stays at the base LR; past the last metric it holds.
    """
    n = t.size
    out = np.full(n, float(base_lr))
    if metrics is None or n <= 1:
        return out
    m = np.asarray(metrics, dtype=np.float64).ravel()[: n - 1]
    lrs = plateau_lrs(p, base_lr, m)
    out[1 : 1 + lrs.size] = lrs
    if lrs.size and 1 + lrs.size < n:
        out[1 + lrs.size :] = lrs[-1]
    return out
