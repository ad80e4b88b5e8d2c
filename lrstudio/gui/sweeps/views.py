"""The sweep panel's plots: live curves of the trials, a swept parameter against the metric, and
parallel coordinates. They receive arrays (from :mod:`lrstudio.gui.sweeps.space`), never query.

* :class:`LiveCurves`: the validation (or training) loss of the sweep's runs against the step;
  running trials opaque and in front, finished ones faint; a colour per trial.
* :class:`MetricView`: one swept parameter against the metric, one point per trial (the mean over
  its seeds), every seed's value as a small dot, the seed band (mean ± std or min–max) as a shaded
  band along the points, the best trial as a star; log x for LR-like parameters.
* :class:`ParallelView`: parallel coordinates, one line per trial across the swept parameters'
  axes and the metric's (each normalised to 0..1, the range written at both ends), coloured by the
  metric's rank (viridis: dark = low).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from lrstudio.core.config import RunConfig
from lrstudio.core.sweep import metric_title
from lrstudio.gui.palette import PALETTE
from lrstudio.gui.plots.factory import TITLE_COLOR, make_plot
from lrstudio.gui.sweeps.space import MetricPoints, ParallelAxes, declared_parameters, short_path

__all__ = ["LiveCurves", "MetricView", "ParallelView", "incomplete_note", "metric_title", "param_title",
           "trial_color"]

def param_title(base: RunConfig, path: str) -> str:
    """A swept parameter's title as the Configure form writes it (``Learning rate``), first letter
    capitalised; its short path when the form does not declare it."""
    title = next((p.title for p in declared_parameters(base) if p.path == path), short_path(path))
    return title[:1].upper() + title[1:]


def _title_html(text: str) -> str:
    """A plot title as make_plot writes one (dark, not pyqtgraph's grey)."""
    return f"<span style='font-size:11pt; font-weight:600; color:{TITLE_COLOR}'>{text}</span>"

_BAND_ALPHA = 55


def trial_color(trial: int) -> QColor:
    return QColor(PALETTE[int(trial) % len(PALETTE)])


class LiveCurves:
    """Loss against step of the sweep's runs (``show``: run id -> (trial, running, steps, values))."""

    def __init__(self) -> None:
        self.plot = make_plot(title="Trials: validation loss", y_label="loss (log scale)", grid=(False, True))
        self.plot.setObjectName("sweepLivePlot")
        self.plot.getPlotItem().setLogMode(y=True)
        self.items: dict[int, pg.PlotDataItem] = {}

    def show(self, curves: Mapping[int, tuple[int, bool, np.ndarray, np.ndarray]], title: str) -> None:
        pi = self.plot.getPlotItem()
        pi.setTitle(_title_html(title))
        for rid in [r for r in self.items if r not in curves]:
            pi.removeItem(self.items.pop(rid))
        for rid, (trial, running, x, y) in curves.items():
            ok = np.isfinite(y) & (y > 0)
            color = trial_color(trial)
            if not running:
                color.setAlpha(110)
            # Width 1 (the cosmetic fast path): a wider pen made QPainter stroke every noisy
            # segment; one repaint of two 16,500-step curves took 0.5-1.9 s (bench/bench_sweep_gui.py).
            pen = pg.mkPen(color, width=1)
            item = self.items.get(rid)
            if item is None:
                item = self.items[rid] = pg.PlotDataItem()
                pi.addItem(item)
            item.setPen(pen)
            item.setZValue(10 if running else 0)
            item.setData(np.asarray(x, dtype=float)[ok], np.asarray(y, dtype=float)[ok])


class MetricView:
    """A swept parameter against the metric (see the module docstring)."""

    def __init__(self) -> None:
        # No legend: at 1366x768 it covered points wherever it sat; the panel's line above the
        # plot says what the marks are (:func:`metric_key`).
        self.plot = make_plot(title="Parameter against metric", y_label="metric", grid=(True, True))
        self.plot.setObjectName("sweepMetricPlot")
        self._items: list[Any] = []
        self.points: MetricPoints | None = None
        self.mean_item: pg.PlotDataItem | None = None
        self.best_item: pg.PlotDataItem | None = None
        self.band_item: pg.FillBetweenItem | None = None

    def show(self, pts: MetricPoints, x_title: str, y_title: str, connect: bool = True) -> None:
        """``connect``: join the trials with a line and a seed band (one swept parameter); else
        each trial its own seed bar (with other parameters swept too, neighbours along x differ
        in them: a line would draw a curve of this parameter that the sweep did not measure)."""
        pi = self.plot.getPlotItem()
        for item in self._items:
            pi.removeItem(item)
        self._items.clear()
        self.points = pts
        self.mean_item = self.best_item = self.band_item = None
        pi.setLogMode(x=pts.log_x, y=False)
        pi.setLabel("bottom", x_title + (" (log scale)" if pts.log_x else ""))
        pi.setLabel("left", y_title)
        bottom = pi.getAxis("bottom")
        bottom.setTicks([list(enumerate(pts.labels))] if pts.labels else None)
        pi.setTitle(_title_html(f"{x_title} against {y_title}"))
        if pts.x.size == 0:
            return
        accent = QColor(PALETTE[0])
        fx = np.log10(pts.x) if pts.log_x else pts.x  # the band is not a plot item: log10 given here
        if connect and pts.x.size > 1 and np.any(pts.hi > pts.lo):
            fill = QColor(accent)
            fill.setAlpha(_BAND_ALPHA)
            c_lo, c_hi = pg.PlotCurveItem(fx, pts.lo), pg.PlotCurveItem(fx, pts.hi)
            self.band_item = pg.FillBetweenItem(c_lo, c_hi, brush=pg.mkBrush(fill))
            self.band_item.setZValue(-10)
            self._add(self.band_item)
        elif np.any(pts.hi > pts.lo):  # one point, or trials not joined: a bar each
            bar = pg.ErrorBarItem(x=fx, y=pts.mean, top=pts.hi - pts.mean, bottom=pts.mean - pts.lo, beam=0.05,
                                  pen=pg.mkPen(accent))
            self._add(bar)
        if pts.seeds_x.size:
            dots = pg.PlotDataItem(pts.seeds_x, pts.seeds_y, pen=None, symbol="o", symbolSize=5,
                                   symbolPen=None, symbolBrush=pg.mkBrush(120, 120, 120, 160), name="each seed")
            self._add(dots)
        self.mean_item = pg.PlotDataItem(pts.x, pts.mean, pen=pg.mkPen(accent, width=1.5) if connect else None,
                                         symbol="o",
                                         symbolSize=8, symbolBrush=pg.mkBrush(accent), symbolPen=None,
                                         name="trial (mean over seeds)")
        self._add(self.mean_item)
        if pts.best >= 0:
            b = pts.best
            self.best_item = pg.PlotDataItem([pts.x[b]], [pts.mean[b]], pen=None, symbol="star", symbolSize=20,
                                             symbolBrush=pg.mkBrush("#d62728"), symbolPen=pg.mkPen("k"),
                                             name=f"best: trial {pts.trials[b] + 1}")
            self._add(self.best_item)
        pi.enableAutoRange()

    def _add(self, item: Any) -> None:
        self.plot.getPlotItem().addItem(item)
        self._items.append(item)


class ParallelView:
    """Parallel coordinates of a sweep (see the module docstring)."""

    def __init__(self) -> None:
        # No title: the panel's line above says what the colours mean (the axes need the height).
        self.plot = make_plot(title="", y_label="", x_label="", grid=(False, False))
        self.plot.setObjectName("sweepParallelPlot")
        pi = self.plot.getPlotItem()
        pi.hideAxis("left")
        pi.setMouseEnabled(x=False, y=False)
        self._items: list[Any] = []
        self.lines: list[pg.PlotCurveItem] = []
        self.axes: ParallelAxes | None = None
        self.cmap = pg.colormap.get("viridis")

    def show(self, axes: ParallelAxes) -> None:
        pi = self.plot.getPlotItem()
        for item in self._items:
            pi.removeItem(item)
        self._items.clear()
        self.lines.clear()
        self.axes = axes
        k = len(axes.names)
        # the parameters by their short paths, the metric (the last axis) by its title
        titles = [short_path(n) for n in axes.names[:-1]] + [metric_title(n) for n in axes.names[-1:]]
        pi.getAxis("bottom").setTicks([list(enumerate(titles))])
        for i in range(k):
            self._add(pg.InfiniteLine(pos=i, angle=90, pen=pg.mkPen(90, 90, 90, 200, width=1)))
            lo, hi = axes.ranges[i]
            for y, text in ((0.0, lo), (1.0, hi)):  # beside the axis at its ends: no height needed
                label = pg.TextItem(text, color=(40, 40, 40), anchor=(0, 0.5))
                label.setPos(i + 0.02, y)
                self._add(label)
        if axes.metric.size:
            # By rank: one poor trial (a diverging LR) would otherwise squeeze every other colour
            # into one end of the map.
            m = axes.metric
            ranks = np.argsort(np.argsort(m, kind="stable"), kind="stable").astype(float)
            share = ranks / (m.size - 1) if m.size > 1 else np.full(m.size, 0.5)
            xs = np.arange(k, dtype=float)
            for row, s in zip(axes.lines, share, strict=True):
                color = self.cmap.map(float(s), mode="qcolor")
                line = pg.PlotCurveItem(xs, row, pen=pg.mkPen(color, width=2), connect="finite")
                self._add(line)
                self.lines.append(line)
        pi.setXRange(-0.15, k - 0.55, padding=0)
        pi.setYRange(-0.06, 1.06, padding=0)

    def _add(self, item: Any) -> None:
        self.plot.getPlotItem().addItem(item)
        self._items.append(item)


def metric_key(pts: MetricPoints, band: str, connect: bool = True) -> str:
    """What the parameter-against-metric marks are, for the line above the plot."""
    best = f" · ★ best: trial {pts.trials[pts.best] + 1} ({pts.mean[pts.best]:.4g})" if pts.best >= 0 else ""
    spread = "mean ± std" if band == "std" else "min – max"
    return f"● trial mean · grey: seeds · {'band' if connect else 'bars'}: {spread}{best}{incomplete_note(pts.incomplete)}"


def incomplete_note(trials: Sequence[int]) -> str:
    """What a results plot leaves out: trials with some seeds completed, not all (no mean, not ranked)."""
    n = len(trials)
    if not n:
        return ""
    return f" · {n} incomplete trial{'s' if n != 1 else ''} not drawn (not every seed completed)"


def band_kinds() -> Sequence[tuple[str, str]]:
    return (("mean ± std", "std"), ("min – max", "minmax"))
