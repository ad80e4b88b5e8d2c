"""Qt-free curve data for plots: peak decimation, precomputed min/max levels, nearest points.

Drawing 10 runs × 100,000 points. pyqtgraph's ``autoDownsample`` (``peak`` mode) and ``clipToView``
thin a curve on every repaint after a data or range change, which over 2M points costs more than the
compare view's refresh budget (``bench/bench_compare.py``); and with the x axis auto-ranged (the full
view) there is nothing to clip. So a plot thins once: per curve, :class:`CurveLevels` keeps the
full-resolution data and, built on first use, peak-decimated levels (:func:`peak_decimate`: the
points holding each bucket's minimum and maximum, in their order) with buckets of 16, 32, 64...
points. :meth:`CurveLevels.bucket_for` picks the coarsest level that still has at least
``DOWNSAMPLE_FACTOR`` buckets per pixel of the visible x range, i.e. at least the resolution
pyqtgraph's own peak downsampling would draw; zoomed in so far that no level qualifies, it answers 1
(the full-resolution data). Nothing here is computed per paint: a level is built once per curve and
bucket size and reused until the curve's data change.

The live plots (Train tab) keep their points in :class:`GrowingBuffer` (columns appended in place,
capacity doubling) and fix their y range with :func:`nice_range` (round bounds that change only when
the data leave them), so a redraw is a ``setData`` of views, never a rebuild.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "DOWNSAMPLE_FACTOR",
    "EMPTY",
    "LEVEL_FIRST_BUCKET",
    "LEVEL_STEP",
    "Bounds",
    "CurveLevels",
    "GrowingBuffer",
    "curve_bounds",
    "finite_for_plot",
    "nearest_index",
    "nice_range",
    "peak_decimate",
]

# Points per pixel that a drawn level keeps at least (pyqtgraph's autoDownsampleFactor; measured
# with bench/bench_compare.py, 10 runs × 100,000 points).
DOWNSAMPLE_FACTOR = 2.0
# Peak-decimated levels: buckets of LEVEL_FIRST_BUCKET * LEVEL_STEP**k points. Finer buckets would
# not pay: a view that needs them shows < 16 points per 1/DOWNSAMPLE_FACTOR px, which pyqtgraph clips
# and thins quickly, while the argmin/argmax pass over rows of 4 is slow.
LEVEL_FIRST_BUCKET = 16
LEVEL_STEP = 2

EMPTY = np.empty(0)


def peak_decimate(x: np.ndarray, y: np.ndarray, bucket: int) -> tuple[np.ndarray, np.ndarray]:
    """Thin a curve to the points holding each bucket's minimum and maximum.

    The points are cut into buckets of ``bucket`` consecutive points (the last one may be shorter);
    of each, the point with the smallest and the one with the largest ``y`` are kept, in their
    original order, so the drawn envelope is the one of the full data (what pyqtgraph's ``peak``
    downsampling draws). The first and last points are always kept, so the x extent is unchanged.
    A bucket holding a NaN keeps only the NaN (a gap, as pyqtgraph's ``peak`` mode draws it).
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x)
    n = len(y)
    if bucket <= 1 or n <= 2:
        return x.copy(), y.copy()
    full = n // bucket
    parts = []
    if full:
        block = y[: full * bucket].reshape(full, bucket)
        parts.append((np.arange(0, full * bucket, bucket), block.argmin(axis=1), block.argmax(axis=1)))
    if full * bucket < n:
        tail = y[full * bucket:]
        parts.append((np.array([full * bucket]), np.array([tail.argmin()]), np.array([tail.argmax()])))
    start = np.concatenate([p[0] for p in parts])
    imin = np.concatenate([p[1] for p in parts])
    imax = np.concatenate([p[2] for p in parts])
    idx = np.empty(2 * len(start) + 2, dtype=np.intp)
    idx[0] = 0
    idx[1:-1:2] = start + np.minimum(imin, imax)
    idx[2:-1:2] = start + np.maximum(imin, imax)
    idx[-1] = n - 1
    return x[idx], y[idx]


def finite_for_plot(values: np.ndarray) -> np.ndarray:
    """±inf would break a plot's view range: make them NaN (drawn as gaps)."""
    if np.isinf(values).any():
        values = np.where(np.isinf(values), np.nan, values)
    return values


class CurveLevels:
    """Full-resolution data of one curve and its peak-decimated levels (each built on first use)."""

    __slots__ = ("_bounds", "levels", "monotonic", "x", "y")

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        # x keeps its dtype: integer steps are known to be finite, so pyqtgraph skips a finite
        # check of float x on every redraw of a full-resolution curve.
        self.x = np.asarray(x)
        self.y = np.asarray(y)
        # Levels and clipping assume x in increasing order (steps and wall times are); otherwise
        # the curve is always given whole and the plot does what it can.
        self.monotonic = len(self.x) < 2 or bool(np.all(self.x[1:] >= self.x[:-1]))
        self.levels: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._bounds: Bounds | None | bool = False  # False: not computed yet

    def bounds(self) -> Bounds | None:
        """``(x min, x max, y min, y max, smallest positive y or NaN)`` over the finite points, or
        None when there is none. Computed once: a plot item answers its view box from them instead
        of a nanmin over its data after every ``setData`` (every level change). Every level has the
        same extent (peak decimation keeps each bucket's extremes and the end points)."""
        if self._bounds is False:
            self._bounds = curve_bounds(self.x, self.y, self.monotonic)
        return self._bounds  # type: ignore[return-value]

    def bucket_for(self, x_range: tuple[float, float] | None, pixels: float) -> int:
        """Coarsest bucket size leaving ≥ DOWNSAMPLE_FACTOR buckets per pixel in ``x_range``.

        ``x_range`` None: the whole curve is in view (x auto-range). 1 means the full data.
        """
        if not self.monotonic:
            return 1
        n = len(self.y)
        if x_range is not None:
            bounds = np.asarray(x_range, dtype=np.float64)
            if self.x.dtype.kind in "iu":  # a float key would convert the whole array first
                bounds = np.clip(bounds, -(2.0**62), 2.0**62).astype(self.x.dtype)
            lo, hi = np.searchsorted(self.x, bounds, side="left")
            n = int(hi - lo) + 1
        enough = pixels * DOWNSAMPLE_FACTOR
        bucket, finer = LEVEL_FIRST_BUCKET, 1
        while n >= bucket * enough:
            finer, bucket = bucket, bucket * LEVEL_STEP
        return finer

    def level(self, bucket: int) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of the level with this bucket size (≤ 1: the full data)."""
        if bucket <= 1:
            return self.x, self.y
        out = self.levels.get(bucket)
        if out is None:
            out = self.levels[bucket] = peak_decimate(self.x, self.y, bucket)
        return out

    def nearest(self, x: float) -> int | None:
        """Index of the point nearest to ``x``, or None when ``x`` lies off the curve (more than 1 % of
        its x span beyond either end) or the curve is empty or not in x order."""
        if not len(self.x) or not self.monotonic:
            return None
        return nearest_index(self.x, x)


Bounds = tuple[float, float, float, float, float]


def curve_bounds(x: np.ndarray, y: np.ndarray, monotonic: bool = False) -> Bounds | None:
    """``(x min, x max, y min, y max, smallest positive y or NaN)`` of the points with finite x and y."""
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x)
    ok = np.isfinite(y)
    if x.dtype.kind == "f":
        ok &= np.isfinite(x)
    if not ok.any():
        return None
    if ok.all():
        xs, ys = x, y
    else:
        xs, ys = x[ok], y[ok]
    if monotonic:
        x_lo, x_hi = float(xs[0]), float(xs[-1])
    else:
        x_lo, x_hi = float(xs.min()), float(xs.max())
    y_lo, y_hi = float(ys.min()), float(ys.max())
    if y_lo > 0:
        pos = y_lo
    else:
        positive = ys[ys > 0]
        pos = float(positive.min()) if len(positive) else math.nan
    return (x_lo, x_hi, y_lo, y_hi, pos)


def nearest_index(xs: np.ndarray, x: float) -> int | None:
    """Index of the point of increasing ``xs`` nearest to ``x``; None beyond 1 % of the span past an end."""
    if not len(xs):
        return None
    span = float(xs[-1] - xs[0]) if len(xs) > 1 else 1.0
    if x > float(xs[-1]) + 0.01 * span or x < float(xs[0]) - 0.01 * span:
        return None
    i = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
    if i > 0 and abs(float(xs[i - 1]) - x) <= abs(float(xs[i]) - x):
        i -= 1
    return i


# -- the live plots' storage: columns that grow in place, y-ranges that change only when left ------
class GrowingBuffer:
    """Columns ``x_step, x_epoch, x_wall, y`` appended in place; capacity doubles when full."""

    def __init__(self, capacity: int = 1024) -> None:
        self._data = np.empty((4, max(16, capacity)), dtype=np.float64)
        self.n = 0

    def append(self, step: float, epoch: float, wall: float, y: float) -> None:
        if self.n == self._data.shape[1]:
            self._grow(self.n + 1)
        self._data[:, self.n] = (step, epoch, wall, y)
        self.n += 1

    def extend(self, rows: np.ndarray) -> None:
        """Append an ``(k, 4)`` array of rows."""
        k = len(rows)
        if not k:
            return
        if self.n + k > self._data.shape[1]:
            self._grow(self.n + k)
        self._data[:, self.n:self.n + k] = rows.T
        self.n += k

    def _grow(self, need: int) -> None:
        cap = self._data.shape[1]
        while cap < need:
            cap *= 2
        new = np.empty((4, cap), dtype=np.float64)
        new[:, :self.n] = self._data[:, :self.n]
        self._data = new

    @property
    def capacity(self) -> int:
        return self._data.shape[1]

    def x(self, axis: str) -> np.ndarray:
        return self._data[{"step": 0, "epoch": 1, "wall": 2}[axis], :self.n]

    @property
    def y(self) -> np.ndarray:
        return self._data[3, :self.n]

    def clear(self) -> None:
        self.n = 0


def nice_range(y: np.ndarray, log: bool) -> tuple[float, float] | None:
    """Round bounds that contain ``y``: whole decades on a log axis (as log10 values), else
    multiples of a 1/2/5 step. They change only when the data leave them."""
    y = y[np.isfinite(y)]
    if log:
        y = y[y > 0]
    if not len(y):
        return None
    lo, hi = float(y.min()), float(y.max())
    if log:
        a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        return (float(a), float(b if b > a else a + 1))
    if lo >= 0:
        lo = 0.0
    span = max(hi - lo, abs(hi), abs(lo), 1e-300)
    step = 10 ** math.floor(math.log10(span))
    for m in (1, 2, 5, 10):
        if span / (step * m) <= 10:
            step *= m
            break
    a = math.floor(lo / step) * step
    b = math.ceil(hi / step) * step
    return (a, b if b > a else a + step)
