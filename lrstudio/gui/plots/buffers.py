"""Numpy storage of the live plots (no Qt): columns that grow in place, and y-ranges that change
only when the data leave them."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["GrowingBuffer", "nice_range"]


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
