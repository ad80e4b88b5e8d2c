"""The compare view's two plots (loss, LR): their look, their axes and their legend in an export.

The plots come from the app's one plot factory (:func:`lrstudio.gui.plots.factory.make_plot`), which
also names the plot colours (pyqtgraph draws with pens, which the style sheet does not reach).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from lrstudio.gui.plots import factory
from lrstudio.gui.plots.factory import FOREGROUND

__all__ = ["LogFriendlyAxis", "legend_for_export", "make_compare_plot"]


#: The app's log axis (labels that never overprint, never a lone tick): see gui/plots/factory.py.
LogFriendlyAxis = factory.LogTickAxis


def make_compare_plot(title: str, y_label: str, on_view_changed: Callable[[], None],
              legend_entries: Callable[[], Sequence[tuple[str, QColor]]]) -> pg.PlotWidget:
    """A plot for the compare view. ``on_view_changed`` runs when its visible x range or width
    changes; ``legend_entries`` names the runs of an exported plot (``lrstudio.gui.dialogs.export``
    reads ``export_extras``)."""
    # No grid: pyqtgraph draws axis grid lines through a QPicture on every repaint, ~15 ms per
    # plot on a shared core (measured), a quarter of the refresh budget.
    plot = factory.make_plot(y_label=y_label, x_label="Step",
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
