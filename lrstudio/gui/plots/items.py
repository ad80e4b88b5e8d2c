"""Plot items of the live plots: an x-axis that counts whole steps, a plot that paints under the
GUI gate, and a crosshair that reads each curve's value under the mouse."""

from __future__ import annotations

import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QInputDialog, QWidget

from lrstudio.gui.plots.factory import (
    HINT_LINE,
    LABEL_BORDER,
    LABEL_FILL,
    TITLE_COLOR,
    LogTickAxis,
    make_plot,
)
from lrstudio.services.runtime import PAINT_GATE

__all__ = ["Crosshair", "GatedPlotWidget", "XAxis", "choose_plot", "make_live_plot"]


class XAxis(LogTickAxis):
    """The x-axis: whole numbers only while it counts steps (a run that diverged at step 2 read
    0, 0.5, 1, 1.5, 2)."""

    integer = True

    def tickSpacing(self, minVal: float, maxVal: float, size: float):  # pyqtgraph API name
        levels = super().tickSpacing(minVal, maxVal, size)
        if not self.integer:
            return levels
        whole = [(spacing, offset) for spacing, offset in levels if spacing >= 1]
        return whole or [(1.0, 0.0)]


class GatedPlotWidget(pg.PlotWidget):
    """A PlotWidget that paints while holding the paint gate (see ``services.runtime.PaintGate``)."""

    def paintEvent(self, ev):  # Qt API name
        with PAINT_GATE.hold():
            super().paintEvent(ev)


def make_live_plot(title: str, y_label: str, legend_offset: tuple[int, int] = (-10, 10)) -> pg.PlotWidget:
    # Horizontal grid lines only: with a grid, an axis' cached picture covers the whole plot area,
    # and the vertical lines doubled the cost of every frame in which the ranges change (a new
    # run: ~45 ms -> ~22 ms for three plots, bench/bench_gui.py).
    return make_plot(title=title, y_label=y_label, widget_class=GatedPlotWidget,
                     axis_items={"bottom": XAxis(orientation="bottom")}, grid=(False, True),
                     cache_axes=True, rect_zoom=True, legend={"offset": legend_offset})


class Crosshair:
    """A vertical line following the mouse and a label with each curve's value at that x."""

    def __init__(self, plot: pg.PlotWidget, curves: dict[str, pg.PlotDataItem],
                 fmt: str = "{:.4g}") -> None:
        self._plot = plot
        self._curves = curves
        self._fmt = fmt
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(HINT_LINE, style=Qt.PenStyle.DashLine))
        self.label = pg.TextItem(anchor=(0, 1), color=TITLE_COLOR, fill=pg.mkBrush(*LABEL_FILL),
                                 border=pg.mkPen(LABEL_BORDER))
        for item in (self.vline, self.label):
            item.setVisible(False)
            item.setZValue(100)
            plot.addItem(item, ignoreBounds=True)
        self._proxy = pg.SignalProxy(plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved)

    def _on_mouse_moved(self, args: tuple) -> None:
        pos: QPointF = args[0]
        vb = self._plot.getPlotItem().getViewBox()
        if not self._plot.sceneBoundingRect().contains(pos) or not vb.sceneBoundingRect().contains(pos):
            self.vline.setVisible(False)
            self.label.setVisible(False)
            return
        p = vb.mapSceneToView(pos)
        self.show_at(p.x(), p.y())

    def show_at(self, x: float, y: float) -> str:
        """Place the crosshair at view coordinates; return the label text (used by tests)."""
        lines = []
        log_x, _log_y = self._plot.getPlotItem().ctrl.logXCheck.isChecked(), \
            self._plot.getPlotItem().ctrl.logYCheck.isChecked()
        data_x = 10 ** x if log_x else x
        for name, curve in self._curves.items():
            if not curve.isVisible():
                continue
            xs, ys = curve.getOriginalDataset()
            if xs is None or len(xs) == 0:
                continue
            i = int(np.clip(np.searchsorted(xs, data_x), 0, len(xs) - 1))
            if i > 0 and abs(xs[i - 1] - data_x) < abs(xs[i] - data_x):
                i -= 1
            lines.append(f"{name}: {self._fmt.format(ys[i])}  @ {xs[i]:.4g}")
        if not lines:
            self.label.setVisible(False)
            self.vline.setVisible(False)
            return ""
        text = "\n".join(lines)
        self.vline.setPos(x)
        self.label.setText(text)
        self.label.setPos(x, y)
        self.vline.setVisible(True)
        self.label.setVisible(True)
        return text


def choose_plot(parent: QWidget, plots: list[tuple[str, pg.PlotWidget]]) -> pg.PlotWidget | None:
    """The one plot, or the one the user picks by its title (None when cancelled or none)."""
    if not plots:
        return None
    if len(plots) == 1:
        return plots[0][1]
    names = [re.sub(r"<[^>]+>", "", name).strip() for name, _ in plots]  # titles may be HTML
    name, ok = QInputDialog.getItem(parent, "Export plot", "Which plot?", names, 0, False)
    return plots[names.index(name)][1] if ok else None
