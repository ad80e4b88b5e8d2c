"""The compare view's two plots (loss, LR): their look, their axes and their legend in an export.

The plots come from the app's one plot factory (:func:`lrstudio.gui.plots.factory.make_plot`), which
also names the plot colours (pyqtgraph draws with pens, which the style sheet does not reach).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from lrstudio.gui.plots import factory
from lrstudio.gui.plots.factory import FOREGROUND

__all__ = ["LogFriendlyAxis", "legend_for_export", "make_compare_plot"]


class LogFriendlyAxis(pg.AxisItem):
    """An axis whose log-mode labels do not overlap: when a decade is short on screen only 1, 2 and 5
    (or only the powers of ten) are labelled; pyqtgraph labels all nine and they overprint."""

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        strings = super().logTickStrings(values, scale, spacing)
        lo, hi = self.range
        length = self.geometry().height() if self.orientation in ("left", "right") else self.geometry().width()
        per_decade = length / max(abs(hi - lo), 1e-9)
        if per_decade >= 250:
            return strings
        keep = (1,) if per_decade < 80 else (1, 2, 5)
        out = []
        for value, text in zip(values, strings):
            mantissa = 10.0 ** (value - np.floor(value + 1e-9))
            out.append(text if round(mantissa) in keep and abs(mantissa - round(mantissa)) < 1e-6 else "")
        return out


def make_compare_plot(title: str, y_label: str, on_view_changed: Callable[[], None],
              legend_entries: Callable[[], Sequence[tuple[str, QColor]]]) -> pg.PlotWidget:
    """A plot for the compare view. ``on_view_changed`` runs when its visible x range or width
    changes; ``legend_entries`` names the runs of an exported plot (``lrstudio.gui.dialogs.export``
    reads ``export_extras``)."""
    # No grid: pyqtgraph draws axis grid lines through a QPicture on every repaint, ~15 ms per
    # plot on a shared core (measured), a quarter of the refresh budget.
    plot = factory.make_plot(y_label=y_label, x_label="step", axis_items={"left": LogFriendlyAxis("left")},
                             axis_line=FOREGROUND, label_color=FOREGROUND)
    item = plot.getPlotItem()
    item.setTitle(title, color=FOREGROUND, size="11pt")
    # Zoomed in x, the y auto-range fits the visible points. (pyqtgraph's clip-to-view did
    # that as a side effect, but the decimated curves are not clipped: see RunCurves.show_level.)
    item.vb.setAutoVisible(y=True)
    plot.setMinimumSize(240, 180)
    # Re-choose the decimation level as soon as the visible x range or the width changes,
    # before the repaint (a level change costs a setData of a few thousand points).
    item.vb.sigXRangeChanged.connect(lambda *_args: on_view_changed())
    item.vb.sigResized.connect(lambda *_args: on_view_changed())
    # Read by lrstudio.gui.dialogs.export: an exported plot names its runs in a legend beside the data.
    plot.export_extras = lambda: legend_for_export(plot, legend_entries())
    return plot


@contextlib.contextmanager
def legend_for_export(plot: pg.PlotWidget, entries: Sequence[tuple[str, QColor]]) -> Iterator[None]:
    """A legend (name, colour per run) in a column right of the plot's data, while it is exported."""
    item = plot.getPlotItem()
    legend = pg.LegendItem(labelTextColor=FOREGROUND, verSpacing=-4)
    for name, color in entries:
        legend.addItem(pg.PlotDataItem(pen=pg.mkPen(color, width=2)), name)
    legend.layout.activate()
    legend.setMaximumSize(legend.layout.preferredWidth() + 8, legend.layout.preferredHeight() + 8)
    item.layout.addItem(legend, 2, 3)
    item.layout.setAlignment(legend, Qt.AlignmentFlag.AlignTop)
    item.layout.activate()
    try:
        yield
    finally:
        item.layout.removeItem(legend)
        if legend.scene() is not None:
            legend.scene().removeItem(legend)
        item.layout.activate()
