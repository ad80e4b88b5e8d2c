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

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QGraphicsItem

__all__ = [
    "ACC_COLOR", "APPLIED_COLOR", "AXIS_LINE", "BACKGROUND", "DIVERGED_COLOR", "FOREGROUND", "HINT_LINE",
    "LABEL_BORDER", "LABEL_FILL", "LEGEND_FILL", "PIN_COLORS", "LogTickAxis", "log_label", "PLANNED_COLOR", "TITLE_COLOR", "TRAIN_ACC_COLOR",
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


# -- log axes -------------------------------------------------------------------------------------
# Which mantissas of a decade get a label, densest first; the first set whose closest two labels
# are far enough apart on screen is used (pyqtgraph labels all nine, and at 1366x768 "0.9 0.8 0.7"
# and "9 8 7 6" overprinted on the loss plots and "10⁻³ 2·10⁻³ ..." on a sweep's LR axis).
_MANTISSA_SETS: tuple[tuple[int, ...], ...] = ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 5), (1, 2, 5), (1, 3), (1,))
_LABEL_GAP_PX = 4.0  # free space between two labels along the axis
_MAX_DECADES = 400  # wider (an empty plot's range): pyqtgraph's own ticks, not a tick list per decade


def _closest_gap(mantissas: tuple[int, ...]) -> float:
    """The smallest distance in decades between neighbouring labels of ``mantissas`` (the next
    decade's 1 included)."""
    logs = [math.log10(m) for m in mantissas] + [1.0]
    return min(b - a for a, b in zip(logs, logs[1:]))


def log_label(value: float) -> str:
    """A log axis' label of ``value``: ``0.3``, ``20``, ``10⁻⁴``, ``2·10⁻⁵`` (three digits at most)."""
    text = f"{value:.3g}"
    if "e" not in text:
        return text
    mantissa, exp = text.split("e")
    sign = "⁻" if exp.startswith("-") else ""
    power = "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(d)] for d in exp.lstrip("+-").lstrip("0") or "0")
    return f"{'' if mantissa == '1' else mantissa + '·'}10{sign}{power}"


class LogTickAxis(pg.AxisItem):
    """An axis whose log-scale labels never overprint and are never fewer than two.

    Labels go to the densest of :data:`_MANTISSA_SETS` whose closest pair is at least a label
    apart on screen (a label's height on a vertical axis, its width on a horizontal one); with too
    little room even for every decade, every k-th decade. The other 1..9 mantissas keep a tick
    without text. A range inside one decade (a loss between 0.5 and 0.7) gets evenly spaced
    values instead, so that it never reads as a single tick. Linear mode is pyqtgraph's.
    """

    _BLANK = -1.0  # the spacing that marks the unlabelled tick level (see tickStrings)

    def _label_extent(self, samples: list[float]) -> float:
        fm = QFontMetricsF(self.style["tickFont"] or self.font())
        if self.orientation in ("left", "right"):
            return fm.height() * 0.8 + _LABEL_GAP_PX  # pyqtgraph draws the text box at 0.8 height
        return max(fm.horizontalAdvance(log_label(v)) for v in samples) + 2 * _LABEL_GAP_PX

    def logTickValues(self, minVal: float, maxVal: float, size: float, stdTicks: Any) -> list[Any]:  # pyqtgraph API
        lo, hi = sorted((float(minVal), float(maxVal)))
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < hi - lo <= _MAX_DECADES and size > 0):
            return super().logTickValues(minVal, maxVal, size, stdTicks)
        per_decade = size / (hi - lo)
        first, last = math.floor(lo), math.ceil(hi)
        everything = [d + math.log10(m) for d in range(first, last + 1) for m in range(1, 10)]
        inside = [v for v in everything if lo - 1e-9 <= v <= hi + 1e-9]
        need = self._label_extent([10.0 ** v for v in inside] or [10.0 ** lo])
        labelled: list[float] = []
        for mantissas in _MANTISSA_SETS:
            if _closest_gap(mantissas) * per_decade >= need:
                labelled = [d + math.log10(m) for d in range(first, last + 1) for m in mantissas]
                break
        else:
            step = max(1, math.ceil(need / per_decade))
            labelled = [float(d) for d in range(first, last + 1) if d % step == 0]
        labelled = [v for v in labelled if lo - 1e-9 <= v <= hi + 1e-9]
        if len(labelled) < 2:
            labelled = self._linear_inside(lo, hi, size, need)
        blank = [v for v in inside if all(abs(v - w) > 1e-9 for w in labelled)] if per_decade >= 20 else []
        return [(None, labelled), (self._BLANK, blank)]

    @staticmethod
    def _linear_inside(lo: float, hi: float, size: float, need: float) -> list[float]:
        """Round values evenly spaced between 10**lo and 10**hi, as many as the room allows (>= 2)."""
        a, b = 10.0 ** lo, 10.0 ** hi
        room = max(2, int(size // need))
        raw = (b - a) / room
        base = 10.0 ** math.floor(math.log10(raw))
        step = next(base * f for f in (1, 2, 5, 10) if base * f >= raw)
        values = np.arange(math.ceil(a / step) * step, b + step * 1e-9, step)
        if values.size < 2:
            values = np.array([a, b])
        return [float(v) for v in np.log10(values[values > 0])]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # pyqtgraph API
        if self.logMode:
            if spacing == self._BLANK:
                return [""] * len(values)
            return [log_label(10.0 ** v * scale) for v in values]
        return super().tickStrings(values, scale, spacing)


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
    axes = {"left": LogTickAxis("left"), "bottom": LogTickAxis("bottom")}
    axes.update(axis_items or {})
    w = widget_class(background=BACKGROUND, axisItems=axes)
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
