"""Compare's "LR range tests" tab (issue 12): the compared range-test runs as loss against LR.

A range test (:mod:`lrstudio.services.range_test_run`: kind ``lr_range_test``, or an ``external``
run tagged ``lr_range_test`` from ``lrstudio.find_lr``) has no loss-per-step curve worth
overlaying with training runs; what compares is its median smoothed loss (``loss/median``)
against the LR (``lr``) on a log-x axis, with the min-max band over seeds (``loss/min``,
``loss/max``) and a marker at its default rule's suggestion. Each run keeps its colour
(:func:`lrstudio.gui.palette.run_color`).

This tab is separate from the view's loss and LR plots on purpose: :func:`attach` adds it to a
:class:`~lrstudio.gui.compare.widget.CompareWidget` (a tab of ``views``, fed by its
``runs_shown`` signal) without touching the view's own loading; the few hundred points of a
range test are read here, synchronously (a fraction of a millisecond per run).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from lrstudio.core.errors import LrstudioError
from lrstudio.gui.palette import run_color
from lrstudio.gui.plots.factory import make_plot
from lrstudio.services.range_test_run import is_range_test, suggestions_of

__all__ = ["KEYS", "RangeTestOverlay", "attach"]

KEYS = ("lr", "loss/median", "loss/min", "loss/max")


class RangeTestOverlay(QWidget):
    """Range-test runs overlaid: median smoothed loss against LR (log x), band, suggestion."""

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.plot = make_plot(title="LR range tests: smoothed loss against learning rate",
                              y_label="smoothed loss (median over seeds)", x_label="learning rate (log scale)",
                              grid=(True, True), legend={"offset": (-10, 10)})
        self.plot.setObjectName("rangeTestPlot")
        self.plot.getPlotItem().setLogMode(x=True, y=False)
        self.hint = QLabel("Select LR range tests (Kind: LR range test) in the runs table to overlay them here.")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setProperty("role", "placeholder")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.hint)
        layout.addWidget(self.plot, 1)
        self.curves: dict[int, pg.PlotDataItem] = {}
        self._items: list[Any] = []
        self.run_ids: list[int] = []

    def set_store(self, store: Any) -> None:
        self.store = store
        self.show_runs([])

    def show_runs(self, run_ids: Sequence[int]) -> None:
        """Overlay the range tests among ``run_ids`` (other runs are left out)."""
        pi = self.plot.getPlotItem()
        for item in self._items:
            pi.removeItem(item)
        self._items.clear()
        self.curves.clear()
        legend = pi.legend
        if legend is not None:
            legend.clear()
        shown: list[int] = []
        for run_id in run_ids:
            try:
                info = self.store.get_run(run_id) if self.store is not None else None
                if info is None or not is_range_test(info):
                    continue
                series = self.store.load_series(run_id, list(KEYS))
            except LrstudioError:
                continue
            if "lr" not in series or "loss/median" not in series:
                continue
            self._draw(run_id, info, series)
            shown.append(run_id)
        self.run_ids = shown
        self.hint.setVisible(not shown)
        self.plot.setVisible(bool(shown))

    def _draw(self, run_id: int, info: Any, series: dict[str, Any]) -> None:
        pi = self.plot.getPlotItem()
        color = run_color(run_id)
        lrs = series["lr"].value
        median = series["loss/median"].value
        n = min(lrs.size, median.size)
        lrs, median = lrs[:n], median[:n]
        ok = np.isfinite(median) & (lrs > 0)
        curve = pg.PlotDataItem(lrs[ok], median[ok], pen=pg.mkPen(color, width=2), name=f"{info.name} (#{run_id})")
        pi.addItem(curve)
        self._items.append(curve)
        self.curves[run_id] = curve
        if "loss/min" in series and "loss/max" in series:
            lo, hi = series["loss/min"].value[:n], series["loss/max"].value[:n]
            both = ok & np.isfinite(lo) & np.isfinite(hi)
            if both.any() and not np.array_equal(lo[both], hi[both]):
                # Not plot items (the plot's log mode does not reach them): log10(LR) given here.
                c_lo = pg.PlotCurveItem(np.log10(lrs[both]), lo[both])
                c_hi = pg.PlotCurveItem(np.log10(lrs[both]), hi[both])
                fill_color = run_color(run_id)
                fill_color.setAlpha(45)
                fill = pg.FillBetweenItem(c_lo, c_hi, brush=pg.mkBrush(fill_color))
                pi.addItem(fill)
                self._items.append(fill)
        rules = {r.name: r for r in suggestions_of(info)}
        default = (info.summary_extra.get("range_test") or {}).get("default_rule", "valley")
        pick = rules.get(default)
        if pick is not None and pick.lr is not None and pick.loss is not None and np.isfinite(pick.loss):
            marker = pg.PlotDataItem([pick.lr], [pick.loss], pen=None, symbol="o", symbolSize=10,
                                     symbolPen=pg.mkPen("k"), symbolBrush=pg.mkBrush(color))
            marker.setToolTip(f"{info.name}: {default} {pick.lr:.3g}")
            pi.addItem(marker)
            self._items.append(marker)


def attach(view: Any) -> RangeTestOverlay:
    """Add the "LR range tests" tab to a CompareWidget ``view``, fed by its ``runs_shown``."""
    overlay = RangeTestOverlay(view.store())
    view.views.addTab(overlay, "LR range tests")
    view.views.setTabToolTip(view.views.count() - 1,
                             "The compared LR range tests: smoothed loss against learning rate")
    view.runs_shown.connect(overlay.show_runs)
    view.range_tests = overlay
    return overlay
