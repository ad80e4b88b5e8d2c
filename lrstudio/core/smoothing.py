"""Debiased exponential moving average, as TensorBoard draws smoothed scalars.

For a weight ``w`` in ``[0, 1)`` and the finite values ``x_1 .. x_n`` of a series::

    ema_t    = w * ema_{t-1} + (1 - w) * x_t        (ema_0 = 0)
    smooth_t = ema_t / (1 - w**t)

Dividing by ``1 - w**t`` removes the pull towards the zero start, so the first point equals
``x_1`` and a constant series stays constant. Non-finite values (NaN, ±inf: a diverged step) are
skipped: they neither enter the average nor advance ``t``, and the output keeps the raw value at
their position so a divergence stays visible (TensorBoard's ``resetSmoothedData`` does the same).

The recurrence is evaluated without a Python loop over points. Unrolled, one block of length
``L`` that starts from zero is ``ema_j = (1 - w) * w**j * cumsum(x_i * w**-i)``; ``L`` is chosen
so that ``w**-L`` stays below ``1e100`` (no overflow, no loss of precision worth mentioning), and
the blocks are joined by carrying the last value of the previous block, ``ema += w**(j+1) * carry``.
Whenever there is more than one block, ``w**L`` is below ``1e-99``, so a carry reaching two blocks
ahead is far below double precision and the carries need no sequential pass either. Values are
scaled by their largest magnitude first so that huge (but finite) losses cannot overflow.
100,000 points take about a millisecond.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["GrowingEMA", "RunningEMA", "debiased_ema"]

# Largest factor w**-i allowed inside one block (see the module docstring).
_MAX_GROWTH_LOG = 100 * math.log(10.0)
# Beyond t = _DEBIAS_LOG / -log(w), 1 - w**t rounds to 1.0.
_DEBIAS_LOG = 17 * math.log(10.0)


def debiased_ema(values: ArrayLike, weight: float) -> np.ndarray:
    """Return the debiased EMA of ``values`` with smoothing ``weight``.

    Parameters
    ----------
    values
        1-D array-like of numbers; NaN and ±inf are allowed and skipped.
    weight
        Smoothing weight in ``[0, 1)``; ``0`` returns the values unchanged (as float64).

    Returns
    -------
    numpy.ndarray
        float64 array of the same length. Positions of non-finite inputs hold the input value.

    Raises
    ------
    ValueError
        If ``weight`` is outside ``[0, 1)`` or ``values`` is not one-dimensional.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"values must be one-dimensional, got shape {x.shape}")
    weight = float(weight)
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight!r}")
    out = x.copy()
    if weight == 0.0 or x.size == 0:
        return out
    finite = np.isfinite(x)
    if finite.all():
        out = _ema_finite(x, weight)
    elif finite.any():
        out[finite] = _ema_finite(x[finite], weight)
    return out


def _ema_finite(x: np.ndarray, w: float) -> np.ndarray:
    """Debiased EMA of an all-finite, non-empty float64 array."""
    n = x.size
    scale = float(np.max(np.abs(x)))
    if scale == 0.0:
        return np.zeros(n)
    xs = x / scale
    log_w = math.log(w)  # < 0
    block = max(1, min(n, int(_MAX_GROWTH_LOG / -log_w)))
    n_blocks = -(-n // block)
    padded = np.zeros(n_blocks * block)
    padded[:n] = xs
    grid = padded.reshape(n_blocks, block)

    j = np.arange(block, dtype=np.float64)
    grow = np.exp(-log_w * j)  # w**-j, at most 1e100
    local = np.multiply(grid, grow)
    np.cumsum(local, axis=1, out=local)
    shrink = (1.0 - w) / grow  # (1 - w) * w**j
    local *= shrink  # EMA of each block as if it started from zero

    if n_blocks > 1:
        ends = local[:, -1]
        carry_factor = math.exp(log_w * block)  # w**block, below 1e-99 here
        carries = ends.copy()
        carries[1:] += carry_factor * ends[:-1]  # the next term is ~1e-198: beyond double precision
        local[1:] += carries[:-1, None] * (shrink * (w / (1.0 - w)))  # + w**(j+1) * carry

    ema = local.reshape(-1)[:n]
    # Debias: divide by 1 - w**t (t from 1), computed as -expm1(t*log w) to keep precision when
    # w is close to 1; once w**t < 1e-17 the divisor is exactly 1.0 in double precision.
    reach = min(n, int(_DEBIAS_LOG / -log_w) + 1)
    ema[:reach] /= -np.expm1(np.arange(1, reach + 1, dtype=np.float64) * log_w)
    ema *= scale
    return ema


class RunningEMA:
    """:func:`debiased_ema` fed one chunk at a time, for a series that grows (a live plot).

    ``extend(chunk)`` returns the smoothed values of the chunk: the same numbers that
    ``debiased_ema`` gives for those positions of the whole series so far, at the cost of the
    chunk alone. The state is the undebiased average and the count of finite values seen. A chunk
    of ``k`` finite values continues it in closed form: with ``D`` its debiased EMA as if the series
    started there, the undebiased EMA is ``D_j * (1 - w**j) + w**j * ema_0`` and the debiased one
    divides that by ``1 - w**(t_0 + j)``.
    """

    def __init__(self, weight: float) -> None:
        weight = float(weight)
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"smoothing weight must be in [0, 1), got {weight!r}")
        self.weight = weight
        self._ema = 0.0
        self._count = 0

    def reset(self) -> None:
        """Start a new series."""
        self._ema = 0.0
        self._count = 0

    def extend(self, values: ArrayLike) -> np.ndarray:
        """Smoothed values of the next chunk (non-finite inputs kept as they are)."""
        x = np.asarray(values, dtype=np.float64)
        if x.ndim != 1:
            raise ValueError(f"values must be one-dimensional, got shape {x.shape}")
        out = x.copy()
        w = self.weight
        if w == 0.0 or x.size == 0:
            return out
        finite = np.isfinite(x)
        xf = x[finite]
        k = xf.size
        if k == 0:
            return out
        log_w = math.log(w)
        j = np.arange(1, k + 1, dtype=np.float64)
        ema = _ema_finite(xf, w) * -np.expm1(j * log_w) + np.exp(j * log_w) * self._ema
        out[finite] = ema / -np.expm1((self._count + j) * log_w)
        self._ema = float(ema[-1])
        self._count += k
        return out


class GrowingEMA:
    """The debiased EMA of a series that may grow, kept between calls (the compare view's cache).

    :meth:`update` returns ``debiased_ema(values, weight)``; when ``values`` starts with the values
    of the previous call (a run that recorded more points) only the new tail is smoothed, through
    :class:`RunningEMA`, instead of the whole series again.
    """

    __slots__ = ("_ema", "raw", "smoothed", "weight")

    def __init__(self, weight: float) -> None:
        self._ema = RunningEMA(weight)
        self.weight = self._ema.weight
        self.raw = np.empty(0)
        self.smoothed = np.empty(0)

    def update(self, values: ArrayLike) -> np.ndarray:
        x = np.asarray(values, dtype=np.float64)
        n_old = len(self.raw)
        if n_old and len(x) >= n_old and (x is self.raw or np.array_equal(x[:n_old], self.raw, equal_nan=True)):
            if len(x) > n_old:
                self.smoothed = np.concatenate([self.smoothed, self._ema.extend(x[n_old:])])
        else:
            # The whole series: the block-wise debiased_ema (cheaper than RunningEMA's closed
            # form), then RunningEMA's state from its last finite value.
            self.smoothed = debiased_ema(x, self.weight)
            self._ema.reset()
            finite = np.flatnonzero(np.isfinite(x))
            if len(finite) and self.weight > 0:
                count = len(finite)
                self._ema._count = count
                self._ema._ema = float(self.smoothed[finite[-1]]) * -math.expm1(count * math.log(self.weight))
        self.raw = x
        return self.smoothed

    @property
    def nbytes(self) -> int:
        return int(self.smoothed.nbytes)
