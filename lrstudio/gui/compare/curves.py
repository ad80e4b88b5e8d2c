"""The plot items of one compared run: raw and smoothed loss, validation loss, LR.

Each curve keeps its full-resolution data and peak-decimated levels (:class:`CurveLevels`, Qt-free,
in :mod:`lrstudio.core.series`); :meth:`RunCurves.show_level` gives an item the coarsest level that
still has at least ``DOWNSAMPLE_FACTOR`` buckets per pixel of the visible x range (a ``setData``
only when the level changes), so a zoom never draws a coarse frame first. Items given a decimated
level (or few points) have pyqtgraph's clipping and downsampling switched off, which otherwise rerun
per item on every range change.

Bounds. A view box asks each item for its data bounds on every auto-range; pyqtgraph answers with a
nanmin/nanmax over the item's data after each ``setData`` (9–15 ms per refresh over 40 items with
10 runs, issue 11). :class:`CurveItem` answers from the bounds computed once per curve
(:meth:`CurveLevels.bounds`) whenever the question is about the whole curve (the x range asked
about covers it), and asks pyqtgraph otherwise (zoomed in, with the y range fitted to the view).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap

from lrstudio.core.series import DOWNSAMPLE_FACTOR, EMPTY, Bounds, CurveLevels

__all__ = ["CURVE_WIDTH", "RAW_ALPHA", "THIN_ABOVE", "CurveItem", "RunCurves", "faint", "raw_alpha", "swatch"]

RAW_ALPHA = 70  # of 255: the raw curve behind a smoothed one (with up to 2 runs shown)
# Drawing cost: a pen wider than 1 px makes pyqtgraph draw separate segments through Qt's slow
# wide-line rasteriser (measured with bench/bench_compare.py, 10 runs × 100,000 points).
CURVE_WIDTH = 1.0
# pyqtgraph's own clip-to-view and peak downsampling are kept for items given more points than
# this (full-resolution data, zoomed in): they redo their work on every x range change, per item.
THIN_ABOVE = 4096

# The x range in view (None: auto-ranged, the whole curve) and the plot's width in pixels.
Span = tuple[tuple[float, float] | None, float]


def raw_alpha(n_runs: int) -> int:
    """Alpha of the raw curves: fainter as more runs overlap (10 noisy raw curves hid the smoothed ones)."""
    return max(24, round(RAW_ALPHA * min(1.0, (2.0 / max(1, n_runs)) ** 0.5)))


class CurveItem(pg.PlotDataItem):
    """A curve whose data bounds are known in advance (``bounds``, set with its data)."""

    def __init__(self, **opts: object) -> None:
        super().__init__(**opts)
        self.bounds: Bounds | None = None

    def dataBounds(self, ax: int, frac: float = 1.0,
                   orthoRange: tuple[float, float] | None = None) -> tuple[float, float] | tuple[None, None]:
        b = self.bounds
        log_x, log_y = self.opts["logMode"][0], self.opts["logMode"][1]
        if b is None or frac != 1.0 or log_x or self.opts.get("symbol") is not None:
            return super().dataBounds(ax, frac, orthoRange)
        if ax == 0:
            if orthoRange is not None:
                return super().dataBounds(ax, frac, orthoRange)
            return (b[0], b[1])
        if orthoRange is not None and not (orthoRange[0] <= b[0] and orthoRange[1] >= b[1]):
            return super().dataBounds(ax, frac, orthoRange)  # zoomed in x: the visible part's range
        if not log_y:
            return (b[2], b[3])
        if not b[4] > 0:  # no positive value: nothing to draw on a log axis
            return (None, None)
        return (float(np.log10(b[4])), float(np.log10(b[3])))


class RunCurves:
    """The plot items of one run, kept while the run's series stay cached.

    ``applied`` remembers which data each curve has (x axis, smoothing weight...) in ``data``, so
    that a change of one setting only touches the items that depend on it; ``level`` remembers
    which level of it (bucket size, 1 = full data, 0 = none) each item was given.
    """

    NAMES = ("loss_raw", "loss_smooth", "val_loss", "lr")

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        opts: dict[str, object] = {"autoDownsample": True, "downsampleMethod": "peak", "clipToView": True,
                                "autoDownsampleFactor": DOWNSAMPLE_FACTOR, "connect": "finite",
                                "skipFiniteCheck": False}
        self.loss_raw = CurveItem(**opts)
        self.loss_smooth = CurveItem(**opts)
        self.val_loss = pg.PlotDataItem(symbol="o", symbolSize=5, **opts)
        self.lr = CurveItem(**opts)
        # No dynamic range limit (it guards paths zoomed in ~1e6 times in y): with one, pyqtgraph
        # re-sets the display data of every item on every change of the y range, and rebuilds the
        # validation curve's symbols. The last step of a cold load of 50 runs (one y range for the
        # 200 items) spent ~40 ms in it (issue 11, bench/bench_compare.py).
        for item in (self.loss_raw, self.loss_smooth, self.val_loss, self.lr):
            item.setDynamicRangeLimit(None)
        self.applied: dict[str, Hashable] = {}
        self.data: dict[str, CurveLevels | None] = {}
        self.level: dict[str, int] = {}
        self._style: tuple[str, bool, int] | None = None
        self.color = QColor()

    def set_style(self, color: QColor, smoothing: bool, alpha: int = RAW_ALPHA) -> None:
        # Each pen change redraws the item: touch only what changed (the smoothing flag and the
        # raw curves' alpha only change the raw loss curve).
        style = (color.name(), smoothing, alpha)
        if style == self._style:
            return
        new_color = self._style is None or self._style[0] != style[0]
        self._style = style
        self.color = QColor(color)
        self.loss_raw.setPen(pg.mkPen(faint(color, alpha), width=1) if smoothing
                             else pg.mkPen(color, width=CURVE_WIDTH))
        if not new_color:
            return
        self.loss_smooth.setPen(pg.mkPen(color, width=CURVE_WIDTH))
        # One style update instead of three (each rebuilds the symbols).
        self.val_loss.opts.update(pen=pg.mkPen(color, width=CURVE_WIDTH, style=Qt.PenStyle.DashLine),
                                  symbolBrush=pg.mkBrush(color), symbolPen=pg.mkPen(color))
        self.val_loss.updateItems(styleUpdate=True)
        self.lr.setPen(pg.mkPen(color, width=CURVE_WIDTH))

    def loss_items(self) -> list[pg.PlotDataItem]:
        return [self.loss_raw, self.loss_smooth, self.val_loss]

    def lr_items(self) -> list[pg.PlotDataItem]:
        return [self.lr]

    def items(self) -> dict[str, pg.PlotDataItem]:
        # "lr_raw" names the same item as "lr" (the LR is never smoothed); kept for callers that
        # address raw curves uniformly.
        return {"loss_raw": self.loss_raw, "loss": self.loss_smooth, "val_loss": self.val_loss, "lr": self.lr,
                "lr_raw": self.lr}

    def put(self, name: str, key: Hashable, make: Callable[[], tuple[np.ndarray, np.ndarray]] | None,
            ready: Callable[[], CurveLevels | None] | None = None) -> None:
        """Give curve ``name`` new data when ``key`` (what it is made of) changed; ``make`` None: none.
        ``ready`` may answer the levels already prepared (by the background load) instead."""
        if self.applied.get(name) != key:
            levels = ready() if ready is not None and make is not None else None
            if levels is None:
                x, y = make() if make is not None else (EMPTY, EMPTY)
                levels = CurveLevels(x, y) if len(y) else None
            self.data[name] = levels if levels is not None and len(levels.y) else None
            self.level.pop(name, None)
            self.applied[name] = key

    def show_level(self, name: str, span: Span, hidden: bool = False) -> None:
        """Give a curve's item the decimation level its view needs (a setData only on a change)."""
        data = self.data.get(name)
        if data is None:
            bucket = 0
        elif hidden:
            self.level.pop(name, None)  # hidden: leave the item as it is, choose when shown
            return
        else:
            bucket = data.bucket_for(*span)
        if self.level.get(name) != bucket:
            x, y = data.level(bucket) if data is not None else (EMPTY, EMPTY)
            item = getattr(self, name)
            # Set straight in opts: the public setters would redo the display data of the old
            # data, which setData throws away next.
            thin = len(y) > THIN_ABOVE
            item.opts["clipToView"] = thin
            item.opts["autoDownsample"] = thin
            if isinstance(item, CurveItem):
                item.bounds = data.bounds() if data is not None else None
            item.setData(x, y)
            self.level[name] = bucket

    def clear(self) -> None:
        """Leave the items in their plots, empty and hidden (cheaper than removing them)."""
        for item in (*self.loss_items(), *self.lr_items()):
            item.setVisible(False)
            item.setData(EMPTY, EMPTY)
        self.level.clear()


def faint(color: QColor, alpha: int = RAW_ALPHA) -> QColor:
    out = QColor(color)
    out.setAlpha(alpha)
    return out


def swatch(color: QColor, size: int = 12) -> QIcon:
    """A square of the run's colour, for lists and table headers."""
    pixmap = QPixmap(size, size)
    pixmap.fill(color)
    return QIcon(pixmap)
