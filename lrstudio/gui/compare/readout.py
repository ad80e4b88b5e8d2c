"""The compare view's hover readout: a vertical line at the mouse and, in a box at the top of the
plot, each shown run's value at the nearest point (full-resolution data)."""

from __future__ import annotations

from html import escape as _html_escape
from typing import Protocol

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt

from lrstudio.core.compare import format_number
from lrstudio.gui.plots.factory import FOREGROUND, HINT_LINE, LABEL_BORDER, white

__all__ = ["Readout", "ReadoutSource"]


class ReadoutSource(Protocol):
    """Where a readout reads its rows: the compare widget."""

    def values_at(self, key: str, x: float) -> list[tuple[str, str, float, float]]: ...
    def x_axis(self) -> str: ...


class Readout:
    """The Train tab's crosshair, for several runs: a vertical line at the mouse and, in a box at
    the top of the plot, each shown run's value at the nearest point (full-resolution data)."""

    def __init__(self, owner: ReadoutSource, plot: pg.PlotWidget, key: str) -> None:
        self._owner = owner
        self._plot = plot
        self._key = key
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(HINT_LINE, style=Qt.PenStyle.DashLine))
        self.label = pg.TextItem(anchor=(0, 0), color=FOREGROUND, fill=pg.mkBrush(*white(230)),
                                 border=pg.mkPen(LABEL_BORDER))
        for item in (self.vline, self.label):
            item.setVisible(False)
            item.setZValue(100)
            plot.addItem(item, ignoreBounds=True)
        self._proxy = pg.SignalProxy(plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved)

    def _on_mouse_moved(self, args: tuple[QPointF]) -> None:
        vb = self._plot.getPlotItem().vb
        pos = args[0]
        if not vb.sceneBoundingRect().contains(pos):
            self.hide()
            return
        self.show_at(vb.mapSceneToView(pos).x())

    def hide(self) -> None:
        self.vline.setVisible(False)
        self.label.setVisible(False)

    def text(self) -> str:
        """The readout as plain text (tests)."""
        return self.label.textItem.toPlainText() if self.label.isVisible() else ""

    def show_at(self, x: float) -> str:
        """Show the readout at view x; return its plain text ("" when no run has a point there)."""
        rows = self._owner.values_at(self._key, x)
        if not rows:
            self.hide()
            return ""
        x_name = "wall time" if self._owner.x_axis() == "wall_time" else "step"
        nearest = rows[0][3]
        head = f"{x_name} {nearest:,.4g}" if x_name == "wall time" else f"{x_name} {int(round(nearest)):,}"
        lines = [f"<b>{head}</b>"]
        for name, color, value, _x in rows:
            lines.append(f"<span style='color:{color}'>&#9632;</span> {_html_escape(name)}: {format_number(value)}")
        self.label.setHtml("<div style='font-size:9pt'>" + "<br>".join(lines) + "</div>")
        (x0, x1), (_y0, y1) = self._plot.getPlotItem().vb.viewRange()
        self.label.setAnchor((0, 0) if x < (x0 + x1) / 2 else (1, 0))
        self.label.setPos(x, y1)
        self.vline.setPos(x)
        self.vline.setVisible(True)
        self.label.setVisible(True)
        return self.text()
