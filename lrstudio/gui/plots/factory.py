"""The one place where lrstudio's plots get their look: axes, fonts, colours, thinning.

Every plot of the app (the live plots of the Train tab, the schedule preview, the comparison) is
made by :func:`make_plot`, so an axis without pyqtgraph's automatic SI prefix, the white
background, the tick and title colours and the downsampling / clip-to-view settings are written
once. The curve colours (Okabe-Ito, colour-blind safe) live here too: pyqtgraph draws with pens,
which Qt style sheets (``resources/style.qss``) do not reach.

Why no SI prefix: every value plotted has its own unit (steps, seconds, an accuracy in [0, 1], an
LR) or a log scale; pyqtgraph's automatic prefix turned an accuracy of 0.3 into "accuracy
(x0.001)" with ticks 0-800, and a diverged loss into "loss (x1e+12)" (issue 9).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

__all__ = [
    "ACC_COLOR", "APPLIED_COLOR", "AXIS_LINE", "BACKGROUND", "DIVERGED_COLOR", "FOREGROUND", "HINT_LINE",
    "LABEL_BORDER", "LABEL_FILL", "LEGEND_FILL", "PIN_COLORS", "PLANNED_COLOR", "TITLE_COLOR", "TRAIN_ACC_COLOR",
    "TRAIN_COLOR", "VAL_COLOR", "make_plot", "style_axis", "white",
]

# -- colours (plots only; widgets take theirs from resources/style.qss) ------------------------
BACKGROUND = "w"
FOREGROUND = "#333333"  # tick labels, axis labels
TITLE_COLOR = "#222"  # plot titles, legend text, value labels
AXIS_LINE = "#888"  # axis lines and ticks of the live plots
HINT_LINE = "#999"  # crosshair line
LABEL_BORDER = "#bbb"  # frame of a value label
# Colour-blind-safe palette (Okabe-Ito).
TRAIN_COLOR = "#0072B2"
VAL_COLOR = "#D55E00"
PLANNED_COLOR = "#7f7f7f"
APPLIED_COLOR = "#009E73"
ACC_COLOR = "#CC79A7"
TRAIN_ACC_COLOR = "#56B4E9"
DIVERGED_COLOR = "#c62828"
PIN_COLORS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#D55E00", "#F0E442", "#7f7f7f", "#000000")


def white(alpha: int) -> tuple[int, int, int, int]:
    """White with this alpha (of 255): the fill behind legends and labels drawn over curves."""
    return (255, 255, 255, alpha)


LEGEND_FILL = white(200)
LABEL_FILL = white(220)


def style_axis(axis: pg.AxisItem, *, line: str = AXIS_LINE, text: str = FOREGROUND, cache: bool = False) -> None:
    """Colours of an axis, no automatic SI prefix; ``cache`` paints it into a cached pixmap."""
    axis.setTextPen(text)
    axis.setPen(line)
    axis.enableAutoSIPrefix(False)
    if cache:
        # Replaying an axis' text was the largest share of a live frame; when the plot manages
        # its ranges the axis rarely changes, so a cached pixmap pays (bench/bench_gui.py).
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def make_plot(
    *,
    title: str = "",
    y_label: str = "",
    x_label: str = "Step",
    widget_class: type[pg.PlotWidget] = pg.PlotWidget,
    axis_items: Mapping[str, pg.AxisItem] | None = None,
    grid: tuple[bool, bool] = (False, False),
    axis_line: str = AXIS_LINE,
    label_color: str | None = None,
    title_color: str = TITLE_COLOR,
    cache_axes: bool = False,
    rect_zoom: bool = False,
    legend: Mapping[str, Any] | None = None,
) -> pg.PlotWidget:
    """A white plot with lrstudio's axes: no SI prefix, thinned drawing (peak downsampling, clip
    to view). ``grid`` = (x, y) grid lines (each costs paint time: live plots draw only y);
    ``legend`` = keyword arguments of ``addLegend`` (``None``: no legend)."""
    w = widget_class(background=BACKGROUND, axisItems=dict(axis_items or {}))
    pi = w.getPlotItem()
    if title:
        pi.setTitle(f"<span style='font-size:11pt; font-weight:600; color:{title_color}'>{title}</span>")
    if grid[0] or grid[1]:
        pi.showGrid(x=grid[0], y=grid[1], alpha=0.15)
    label_kw = {} if label_color is None else {"color": label_color}
    if y_label:
        pi.setLabel("left", y_label, **label_kw)
    if x_label:
        pi.setLabel("bottom", x_label, **label_kw)
    pi.setDownsampling(auto=True, mode="peak")
    pi.setClipToView(True)
    if rect_zoom:
        pi.getViewBox().setMouseMode(pg.ViewBox.RectMode)
    for ax in ("left", "bottom"):
        style_axis(pi.getAxis(ax), line=axis_line, cache=cache_axes)
    if legend is not None:
        kw = {"labelTextColor": TITLE_COLOR, "brush": pg.mkBrush(*LEGEND_FILL)}
        kw.update(legend)
        pi.addLegend(**kw)
    return w
