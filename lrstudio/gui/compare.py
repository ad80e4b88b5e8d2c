"""The compare view: loss and LR curves of several saved runs, their settings and summaries.

Life cycle. :meth:`CompareWidget.show_runs` receives the selected run ids. Series missing from the
cache are loaded in one ``store.load_many`` call; series already loaded are reused, so changing the
smoothing, the axes or the selection back and forth never queries the database again (call
:meth:`CompareWidget.invalidate` for a run that is still growing). Each run gets one colour from a
qualitative palette (Tableau 10) and, per plot, a raw curve, a smoothed curve and, for the loss,
a dashed validation curve. With smoothing on, the raw curve stays visible but faint; smoothing is a
debiased EMA (:func:`lrstudio.core.smoothing.debiased_ema`) on the full-resolution data, computed
once per slider change (debounced) and cached per run and weight.

Drawing 10 runs × 100,000 points. pyqtgraph's ``autoDownsample`` (``peak`` mode) and ``clipToView``
thin a curve on every repaint after a data or range change, which over 2M points costs more than the
refresh budget (``bench/bench_compare.py``); and with the x axis auto-ranged (the full view) there is
nothing to clip. So the widget thins once: per curve it keeps the full-resolution data and, built on
first use, peak-decimated levels (:func:`peak_decimate`: the points holding each bucket's minimum
and maximum, in their order) with buckets of 16, 32, 64... points. Each curve is given the coarsest
level that still has at least ``DOWNSAMPLE_FACTOR`` buckets per pixel of the visible x range, i.e.
at least the resolution pyqtgraph's own peak downsampling would draw, which then thins those few
thousand points further; zoomed in so far that no level qualifies, the curve holds the
full-resolution data (clipped to the view by pyqtgraph). The level is re-chosen synchronously when
the x range or the plot's width changes (a setData only when the level changes), so a zoom never
draws a coarse frame first. Items given a decimated level (or few points) have pyqtgraph's
clipping and downsampling switched off, which otherwise rerun per item on every range change; the
y auto-range fits the visible x range (``setAutoVisible``), as it did when every curve was clipped.
Auto-range and view transform are settled before the next paint, so it paints once.
:meth:`CompareWidget.curve_data` returns the full-resolution data.

Layout. The plots have their own tab ("Curves"), with a run list beside them instead of legends
inside them (a 10-run legend covered a third of each plot): a colour swatch, the name, the loss each
run records and its status, and a check box that hides or shows all of that run's curves. The
settings diff and the summary have a tab of their own ("Settings & summary"), so 18 differing
settings fit at the default window size. A run's colour comes from its id
(:func:`lrstudio.gui.palette.run_color`), so adding a run never recolours the others.

Y range. "Ignore outliers" (on by default, as TensorBoard offers) sets the loss plot's y range from
percentiles of the shown runs' points (:func:`lrstudio.core.compare.outlier_range`), leaving out
diverged runs unless every shown run diverged: one divergence no longer flattens every other curve.
Off, or when the user zooms, pyqtgraph's auto-range shows every point. Losses of different kinds
(cross-entropy, MSE of a standardised target, MSE in target units) are named in the run list and on
the axis; a plot that mixes kinds says so above the plots.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from html import escape as _html_escape
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lrstudio.core.compare import (
    LOSS_KINDS,
    SHORT_LOSS_KINDS,
    SUMMARY_COLUMNS,
    all_params,
    differing_params,
    flatten_config,
    format_number,
    format_value,
    loss_kind,
    outlier_range,
    summary_row,
)
from lrstudio.core.errors import LrstudioError
from lrstudio.core.smoothing import debiased_ema
from lrstudio.gui.palette import PALETTE, run_color

__all__ = ["PALETTE", "CompareWidget", "peak_decimate", "run_color"]

PLOT_KEYS: tuple[str, ...] = ("train/loss", "val/loss", "lr")
PLANNED_LR_KEY = "lr/planned"
RAW_ALPHA = 70  # of 255: the raw curve behind a smoothed one (with up to 2 runs shown)


def raw_alpha(n_runs: int) -> int:
    """Alpha of the raw curves: fainter as more runs overlap (10 noisy raw curves hid the smoothed ones)."""
    return max(24, round(RAW_ALPHA * min(1.0, (2.0 / max(1, n_runs)) ** 0.5)))
SMOOTHING_MAX = 0.999
# TensorBoard's default: enough to see the trend through minibatch noise; the raw curve stays faint.
DEFAULT_SMOOTHING = 0.6
# Points per run that the outlier range looks at (a strided sample: percentiles of 100k points
# per run cost more than a refresh may).
OUTLIER_SAMPLE = 5_000
_SLIDER_STEPS = 999
# Drawing cost: a pen wider than 1 px makes pyqtgraph draw separate segments through Qt's slow
# wide-line rasteriser, and auto-downsampling keeps DOWNSAMPLE_FACTOR points per pixel; both were
# measured with bench/bench_compare.py (10 runs × 100,000 points).
CURVE_WIDTH = 1.0
DOWNSAMPLE_FACTOR = 2.0
# Peak-decimated levels (module docstring): buckets of LEVEL_FIRST_BUCKET * LEVEL_STEP**k points.
# Finer buckets would not pay: a view that needs them shows < 16 points per 1/DOWNSAMPLE_FACTOR px,
# which pyqtgraph clips and thins quickly, while the argmin/argmax pass over rows of 4 is slow.
LEVEL_FIRST_BUCKET = 16
LEVEL_STEP = 2
# pyqtgraph's own clip-to-view and peak downsampling are kept for items given more points than
# this (full-resolution data, zoomed in): they redo their work on every x range change, per item.
THIN_ABOVE = 4096
_DEFAULT_PIXELS = 1000.0  # plot width assumed before the first layout
# Runs whose series and plot items stay cached after they leave the view.
CACHED_RUNS = 30
# A run that is still growing (progress of the app's own run) is reloaded at most this often.
RELOAD_INTERVAL_MS = 1000
_BACKGROUND = "w"
_FOREGROUND = "#333333"


def _config_dict(info: Any) -> dict[str, Any]:
    """A RunInfo's config as a dict, whichever way the store exposes it."""
    cfg = getattr(info, "config_dict", None)
    if isinstance(cfg, Mapping):
        return dict(cfg)
    cfg = getattr(info, "config", None)
    if isinstance(cfg, Mapping):
        return dict(cfg)
    if callable(cfg):
        cfg = cfg()
    if hasattr(cfg, "to_dict"):
        return cfg.to_dict()
    text = getattr(info, "config_json", None)
    return json.loads(text) if text else {}


def peak_decimate(x: np.ndarray, y: np.ndarray, bucket: int) -> tuple[np.ndarray, np.ndarray]:
    """Thin a curve to the points holding each bucket's minimum and maximum.

    The points are cut into buckets of ``bucket`` consecutive points (the last one may be shorter);
    of each, the point with the smallest and the one with the largest ``y`` are kept, in their
    original order, so the drawn envelope is the one of the full data (what pyqtgraph's ``peak``
    downsampling draws). The first and last points are always kept, so the x extent is unchanged.
    A bucket holding a NaN keeps only the NaN (a gap, as pyqtgraph's ``peak`` mode draws it).
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x)
    n = len(y)
    if bucket <= 1 or n <= 2:
        return x.copy(), y.copy()
    full = n // bucket
    parts = []
    if full:
        block = y[: full * bucket].reshape(full, bucket)
        parts.append((np.arange(0, full * bucket, bucket), block.argmin(axis=1), block.argmax(axis=1)))
    if full * bucket < n:
        tail = y[full * bucket:]
        parts.append((np.array([full * bucket]), np.array([tail.argmin()]), np.array([tail.argmax()])))
    start = np.concatenate([p[0] for p in parts])
    imin = np.concatenate([p[1] for p in parts])
    imax = np.concatenate([p[2] for p in parts])
    idx = np.empty(2 * len(start) + 2, dtype=np.intp)
    idx[0] = 0
    idx[1:-1:2] = start + np.minimum(imin, imax)
    idx[2:-1:2] = start + np.maximum(imin, imax)
    idx[-1] = n - 1
    return x[idx], y[idx]


class _CurveData:
    """Full-resolution data of one curve and its peak-decimated levels (each built on first use)."""

    __slots__ = ("levels", "monotonic", "x", "y")

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        # x keeps its dtype: integer steps are known to be finite, so pyqtgraph skips a finite
        # check of float x on every redraw of a full-resolution curve.
        self.x = np.asarray(x)
        self.y = np.asarray(y)
        # Levels and clipping assume x in increasing order (steps and wall times are); otherwise
        # the curve is always given whole and pyqtgraph does what it can.
        self.monotonic = len(self.x) < 2 or bool(np.all(self.x[1:] >= self.x[:-1]))
        self.levels: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def bucket_for(self, x_range: tuple[float, float] | None, pixels: float) -> int:
        """Coarsest bucket size leaving ≥ DOWNSAMPLE_FACTOR buckets per pixel in ``x_range``.

        ``x_range`` None: the whole curve is in view (x auto-range). 1 means the full data.
        """
        if not self.monotonic:
            return 1
        n = len(self.y)
        if x_range is not None:
            bounds = np.asarray(x_range, dtype=np.float64)
            if self.x.dtype.kind in "iu":  # a float key would convert the whole array first
                bounds = np.clip(bounds, -(2.0**62), 2.0**62).astype(self.x.dtype)
            lo, hi = np.searchsorted(self.x, bounds, side="left")
            n = int(hi - lo) + 1
        enough = pixels * DOWNSAMPLE_FACTOR
        bucket, finer = LEVEL_FIRST_BUCKET, 1
        while n >= bucket * enough:
            finer, bucket = bucket, bucket * LEVEL_STEP
        return finer

    def level(self, bucket: int) -> tuple[np.ndarray, np.ndarray]:
        if bucket <= 1:
            return self.x, self.y
        out = self.levels.get(bucket)
        if out is None:
            out = self.levels[bucket] = peak_decimate(self.x, self.y, bucket)
        return out


def _finite_for_plot(values: np.ndarray) -> np.ndarray:
    """±inf would break the view range: draw them as gaps (the table still says 'diverged')."""
    if np.isinf(values).any():
        values = np.where(np.isinf(values), np.nan, values)
    return values


class _RunCurves:
    """The plot items of one run, kept while the run's series stay cached.

    ``applied`` remembers which data each curve has (x axis, smoothing weight...) in ``data``, so
    that a change of one setting only touches the items that depend on it; ``level`` remembers
    which level of it (bucket size, 1 = full data, 0 = none) each item was given.
    """

    NAMES = ("loss_raw", "loss_smooth", "val_loss", "lr")

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        opts: dict[str, Any] = {"autoDownsample": True, "downsampleMethod": "peak", "clipToView": True,
                                "autoDownsampleFactor": DOWNSAMPLE_FACTOR, "connect": "finite",
                                "skipFiniteCheck": False}
        self.loss_raw = pg.PlotDataItem(**opts)
        self.loss_smooth = pg.PlotDataItem(**opts)
        # No dynamic range limit for the validation curve: pyqtgraph would rebuild its symbols on
        # every change of the y range (each new selection); it guards paths zoomed in ~1e6 times.
        self.val_loss = pg.PlotDataItem(symbol="o", symbolSize=5, **opts)
        self.val_loss.setDynamicRangeLimit(None)
        self.lr = pg.PlotDataItem(**opts)
        self.applied: dict[str, Any] = {}
        self.data: dict[str, _CurveData | None] = {}
        self.level: dict[str, int] = {}
        self._style: tuple[str, bool] | None = None
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
        self.loss_raw.setPen(pg.mkPen(_faint(color, alpha), width=1) if smoothing
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


class _LogFriendlyAxis(pg.AxisItem):
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


class _Readout:
    """The Train tab's crosshair, for several runs: a vertical line at the mouse and, in a box at
    the top of the plot, each shown run's value at the nearest point (full-resolution data)."""

    def __init__(self, owner: CompareWidget, plot: pg.PlotWidget, key: str) -> None:
        self._owner = owner
        self._plot = plot
        self._key = key
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#999999", style=Qt.PenStyle.DashLine))
        self.label = pg.TextItem(anchor=(0, 0), color=_FOREGROUND, fill=pg.mkBrush(255, 255, 255, 230),
                                 border=pg.mkPen("#bbbbbb"))
        for item in (self.vline, self.label):
            item.setVisible(False)
            item.setZValue(100)
            plot.addItem(item, ignoreBounds=True)
        self._proxy = pg.SignalProxy(plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved)

    def _on_mouse_moved(self, args: tuple) -> None:
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


class CompareWidget(QWidget):
    """Overlay of several runs: loss and LR plots, differing settings, summary table.

    Signals
    -------
    runs_shown(list)
        Emitted after :meth:`show_runs` drew the given run ids.
    """

    runs_shown = Signal(list)

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._run_ids: list[int] = []
        self._infos: dict[int, Any] = {}
        self._series: dict[int, dict[str, Any]] = {}  # run id -> key -> Series (cache)
        self._smoothed: dict[tuple[int, float], np.ndarray] = {}
        self._curves: dict[int, _RunCurves] = {}  # shown runs, in colour order
        self._pool: dict[int, _RunCurves] = {}  # plot items of recently shown runs, oldest first
        self._hidden: set[int] = set()
        self._smoothing = DEFAULT_SMOOTHING
        self._y_zoomed = False  # the user set the loss plot's y range: leave it alone
        self._loss_kinds: dict[int, str] = {}
        self._load_error = ""
        self._pending: set[int] = set()  # shown runs to reload (invalidate_soon)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_INTERVAL_MS)
        self._reload_timer.timeout.connect(self._on_reload_timer)

        # -- controls ------------------------------------------------------------------------
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, _SLIDER_STEPS)
        self.smoothing_slider.setValue(round(DEFAULT_SMOOTHING * 1000))
        self.smoothing_slider.setToolTip(
            "Smooths the training loss with a debiased exponential moving average, as TensorBoard "
            "does (0 = off). The raw loss stays visible, faint. The validation loss and the "
            "learning rate are never smoothed.")
        self.smoothing_slider.setMinimumWidth(120)
        self.smoothing_label = QLabel(f"{DEFAULT_SMOOTHING:.3f}")
        self.smoothing_label.setMinimumWidth(self.smoothing_label.fontMetrics().horizontalAdvance("0.000") + 4)
        self.smoothing_slider.valueChanged.connect(self._on_smoothing_slider_moved)
        self._smoothing_timer = QTimer(self)
        self._smoothing_timer.setSingleShot(True)
        self._smoothing_timer.setInterval(120)
        self._smoothing_timer.timeout.connect(self._on_smoothing_timeout)

        self.val_loss_check = QCheckBox("Validation loss")
        self.val_loss_check.setChecked(True)
        self.val_loss_check.toggled.connect(self._on_val_loss_toggled)
        self.log_loss_check = QCheckBox("Log loss")
        self.log_loss_check.setChecked(True)
        self.log_loss_check.toggled.connect(self._on_log_toggled)
        self.log_lr_check = QCheckBox("Log LR")
        self.log_lr_check.toggled.connect(self._on_log_toggled)
        self.outliers_check = QCheckBox("Ignore outliers")
        self.outliers_check.setChecked(True)
        self.outliers_check.setToolTip(
            "Keep diverged runs out of the loss and LR axes (the other runs are shown whole), and "
            "when no run diverged, fit the loss axis to the bulk of the points (1st to 99th "
            "percentile, widened by a quarter), so that one divergence or spike does not flatten "
            "the other curves. Off: every point is in view.")
        self.outliers_check.toggled.connect(self._on_outliers_toggled)
        self.x_axis_combo = QComboBox()
        self.x_axis_combo.addItem("Step", "step")
        self.x_axis_combo.addItem("Wall time", "wall_time")
        self.x_axis_combo.currentIndexChanged.connect(self._on_x_axis_changed)

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(QLabel("Smoothing"))
        controls.addWidget(self.smoothing_slider, 1)
        controls.addWidget(self.smoothing_label)
        controls.addSpacing(12)
        controls.addWidget(self.val_loss_check)
        controls.addWidget(self.log_loss_check)
        controls.addWidget(self.log_lr_check)
        controls.addWidget(self.outliers_check)
        controls.addSpacing(12)
        controls.addWidget(QLabel("X axis"))
        controls.addWidget(self.x_axis_combo)

        # -- plots ---------------------------------------------------------------------------
        self.loss_plot = self._make_plot("Loss", "loss")
        self.lr_plot = self._make_plot("Learning rate", "LR")
        self.loss_plot.setLogMode(y=True)
        self.loss_plot.getPlotItem().vb.sigRangeChangedManually.connect(self._on_loss_zoomed)
        self.readouts = {"loss": _Readout(self, self.loss_plot, "loss"), "lr": _Readout(self, self.lr_plot, "lr")}

        # A run list beside the plots instead of legends inside them.
        self.run_list = QTreeWidget()
        self.run_list.setObjectName("compareRunList")
        self.run_list.setColumnCount(3)
        self.run_list.setHeaderLabels(["Run", "Loss", "Status"])
        self.run_list.setRootIsDecorated(False)
        self.run_list.setUniformRowHeights(True)
        self.run_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.run_list.setToolTip("Untick a run to hide its curves")
        self.run_list.header().setStretchLastSection(False)
        self.run_list.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.run_list.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.run_list.header().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.run_list.itemChanged.connect(self._on_run_item_changed)
        self.note_label = QLabel()
        self.note_label.setObjectName("compareNote")
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("color: #8a4b00;")
        self.note_label.hide()

        self.empty_label = QLabel("Select runs in the runs table to compare them.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #666;")

        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.lr_plot)
        plots.addWidget(self.run_list)
        plots.setChildrenCollapsible(False)
        plots.setStretchFactor(0, 3)
        plots.setStretchFactor(1, 2)
        plots.setStretchFactor(2, 0)
        self.run_list.setMinimumWidth(200)
        plots.setSizes([470, 300, 280])

        # -- tables --------------------------------------------------------------------------
        self.settings_table = QTableWidget()
        self.settings_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.settings_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.settings_table.verticalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.show_all_check = QCheckBox("Show all parameters")
        self.show_all_check.setToolTip("Off: only the parameters whose values differ between the runs")
        self.show_all_check.toggled.connect(self._on_show_all_toggled)
        self.settings_title = QLabel("Settings that differ")
        bold = QFont(self.settings_title.font())
        bold.setBold(True)
        self.settings_title.setFont(bold)

        self.summary_table = QTableWidget(0, len(SUMMARY_COLUMNS))
        self.summary_table.setHorizontalHeaderLabels(list(SUMMARY_COLUMNS))
        for col, tip in ((4, "Final validation loss"), (5, "Best validation loss"),
                         (6, "Best validation accuracy")):
            self.summary_table.horizontalHeaderItem(col).setToolTip(tip)
        self.summary_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary_table.verticalHeader().setVisible(False)
        self.summary_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        summary_title = QLabel("Summary")
        summary_title.setFont(bold)

        for table in (self.settings_table, self.summary_table):
            table.setWordWrap(False)
            table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
            table.horizontalHeader().setHighlightSections(False)

        settings_box = QWidget()
        sl = QVBoxLayout(settings_box)
        sl.setContentsMargins(0, 4, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.settings_title)
        head.addStretch(1)
        head.addWidget(self.show_all_check)
        sl.addLayout(head)
        sl.addWidget(self.settings_table)
        summary_box = QWidget()
        ml = QVBoxLayout(summary_box)
        ml.setContentsMargins(0, 4, 0, 0)
        ml.addWidget(summary_title)
        ml.addWidget(self.summary_table)

        # The tables have their own tab: under the plots they got 3 of 18 rows at the default size.
        curves_page = QWidget()
        cl = QVBoxLayout(curves_page)
        cl.setContentsMargins(0, 4, 0, 0)
        cl.addWidget(self.note_label)
        cl.addWidget(plots, 1)
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.views.addTab(curves_page, "Curves")
        self.views.addTab(settings_box, "Settings")
        self.views.addTab(summary_box, "Summary")
        self.views.setTabToolTip(1, "The settings that differ between the runs (or all of them)")
        self.views.setTabToolTip(2, "Each run's results: status, losses, accuracy, steps, duration")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.views, 1)
        self._update_empty_label()

    def _make_plot(self, title: str, y_label: str) -> pg.PlotWidget:
        plot = pg.PlotWidget(background=_BACKGROUND, axisItems={"left": _LogFriendlyAxis("left")})
        item = plot.getPlotItem()
        item.setTitle(title, color=_FOREGROUND, size="11pt")
        item.setLabel("left", y_label, color=_FOREGROUND)
        item.setLabel("bottom", "step", color=_FOREGROUND)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(_FOREGROUND))
            axis.setTextPen(pg.mkPen(_FOREGROUND))
            axis.enableAutoSIPrefix(False)  # "LR (x0.001)" reads worse than 0.001 on the ticks
        # No grid: pyqtgraph draws axis grid lines through a QPicture on every repaint, ~15 ms per
        # plot on a shared core (measured), a quarter of the refresh budget.
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        # Zoomed in x, the y auto-range fits the visible points. (pyqtgraph's clip-to-view did
        # that as a side effect, but the decimated curves are not clipped: see _show_level.)
        item.vb.setAutoVisible(y=True)
        plot.setMinimumSize(240, 180)
        # Re-choose the decimation level as soon as the visible x range or the width changes,
        # before the repaint (a level change costs a setData of a few thousand points).
        item.vb.sigXRangeChanged.connect(lambda *_args, p=plot: self._on_view_changed(p))
        item.vb.sigResized.connect(lambda *_args, p=plot: self._on_view_changed(p))
        # Read by lrstudio.gui.export: an exported plot names its runs in a legend beside the data.
        plot.export_extras = lambda p=plot: self._legend_for_export(p)
        return plot

    @contextlib.contextmanager
    def _legend_for_export(self, plot: pg.PlotWidget) -> Iterator[None]:
        """A legend in a column right of the plot's data, while the plot is being exported."""
        item = plot.getPlotItem()
        legend = pg.LegendItem(labelTextColor=_FOREGROUND, verSpacing=-4)
        for run_id in self._visible_ids():
            name = self._run_label(self._infos[run_id])
            if plot is self.loss_plot and run_id in self._loss_kinds:
                name += f" ({SHORT_LOSS_KINDS[self._loss_kinds[run_id]]})"
            legend.addItem(pg.PlotDataItem(pen=pg.mkPen(run_color(run_id), width=2)), name)
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

    # -- public API ----------------------------------------------------------------------------
    def store(self) -> Any:
        return self._store

    def set_store(self, store: Any) -> None:
        """Switch databases: forget every cached series and clear the view."""
        self._store = store
        self._series.clear()
        self._smoothed.clear()
        self._infos.clear()
        self._hidden.clear()
        self.show_runs([])
        for curves in self._pool.values():
            for item in curves.loss_items():
                self.loss_plot.removeItem(item)
            for item in curves.lr_items():
                self.lr_plot.removeItem(item)
        self._pool.clear()

    def plot_widgets(self) -> list[pg.PlotWidget]:
        """The loss plot and the LR plot (for export)."""
        return [self.loss_plot, self.lr_plot]

    def run_ids(self) -> list[int]:
        return list(self._run_ids)

    def curve_items(self, run_id: int) -> dict[str, pg.PlotDataItem]:
        """Plot items of a shown run: ``loss_raw``, ``loss`` (smoothed), ``val_loss``, ``lr`` (= ``lr_raw``).

        An item holds a peak-decimated level of its curve when the view is wide enough
        (:meth:`curve_data` has the full resolution).
        """
        return self._curves[run_id].items()

    def curve_data(self, run_id: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Full-resolution ``(x, y)`` of each curve of a shown run, keyed as :meth:`curve_items`."""
        curves = self._curves[run_id]
        out = {}
        for key, item in curves.items().items():
            name = next(n for n in _RunCurves.NAMES if getattr(curves, n) is item)
            data = curves.data.get(name)
            out[key] = (data.x, data.y) if data is not None else (_EMPTY, _EMPTY)
        return out

    def invalidate(self, run_ids: Iterable[int] | None = None) -> None:
        """Forget the cached series of these runs (None: of every run) and reload the shown ones now.

        For a run that ended, for Refresh, and for runs written by another process (the database
        watcher). The selection, the colours and the user's zoom are kept.
        """
        ids = (set(self._series) | set(self._run_ids)) if run_ids is None else {int(i) for i in run_ids}
        self._pending -= ids
        self._forget(ids)
        shown = [i for i in self._run_ids if i in ids]
        if shown:
            self._reload(shown)

    def invalidate_soon(self, run_ids: Iterable[int]) -> None:
        """Like :meth:`invalidate` for runs that are still growing, at most once per RELOAD_INTERVAL_MS.

        Cheap enough to call on every progress batch of a run. While the view is hidden the
        reload waits until it is shown.
        """
        ids = {int(i) for i in run_ids}
        shown = ids.intersection(self._run_ids)
        self._forget(ids - shown)
        if shown:
            self._pending |= shown
            if not self._reload_timer.isActive():
                self._reload_timer.start()

    def _forget(self, ids: set[int]) -> None:
        for run_id in ids:
            self._series.pop(run_id, None)
            curves = self._pool.get(run_id)
            if curves is not None:
                curves.applied.clear()  # new data when next drawn
                curves.data.clear()
        if ids:
            self._smoothed = {k: v for k, v in self._smoothed.items() if k[0] not in ids}

    def _on_reload_timer(self) -> None:
        if not self.isVisible():
            return  # showEvent reloads
        ids, self._pending = self._pending, set()
        self.invalidate(ids)

    def showEvent(self, event: Any) -> None:  # Qt API name
        super().showEvent(event)
        if self._pending and not self._reload_timer.isActive():
            QTimer.singleShot(0, self._on_reload_timer)

    def _reload(self, run_ids: list[int]) -> None:
        """Re-read the infos of the shown runs and the series of ``run_ids``; redraw only those."""
        try:
            infos = self._load_infos(self._run_ids)
            if any(i not in infos for i in self._run_ids):  # deleted meanwhile: start over
                self.show_runs(self._run_ids)
                return
            self._load_missing_series(run_ids)
        except LrstudioError as exc:
            # Often passing (a writer holds a lock): say so where the plots are, without a modal
            # dialog (a reload may come every second), keep what is drawn and try again.
            self._show_error(exc)
            self._pending.update(run_ids)
            if not self._reload_timer.isActive():
                self._reload_timer.start()
            return
        self._load_error = ""
        self._infos = infos
        spans = self._view_spans()
        for run_id in run_ids:
            curves = self._curves.get(run_id)
            if curves is not None:
                curves.applied.clear()
                self._update_curves(curves, spans)
        self._fill_run_list()
        self._fill_summary_table()
        self._settle_ranges(keep_y=self._y_zoomed)

    def show_runs(self, run_ids: Sequence[int]) -> None:
        """Compare these runs (order = colour order). Loads only series not cached yet."""
        run_ids = list(dict.fromkeys(int(i) for i in run_ids))
        self._forget(self._pending.intersection(run_ids))  # stale: load them afresh
        self._pending.difference_update(run_ids)
        infos: dict[int, Any] = {}
        if self._store is not None and run_ids:
            try:
                infos = self._load_infos(run_ids)
                self._load_missing_series([i for i in run_ids if i in infos])
                self._load_error = ""
            except LrstudioError as exc:
                self._show_error(exc)
            run_ids = [i for i in run_ids if i in infos and i in self._series]
        else:
            run_ids = []
        same = bool(run_ids) and run_ids == self._run_ids
        self._run_ids = run_ids
        self._infos = infos
        if self._update_empty_label() and self.isVisible():
            # The hint above the plots came or went: resize the plots now, not after the next
            # paint (which would then be repeated at the new size).
            self.layout().activate()
        self._rebuild_curves(keep_view=same)
        self._fill_settings_table()
        self._fill_summary_table()
        self.runs_shown.emit(list(run_ids))

    def _load_infos(self, run_ids: Sequence[int]) -> dict[int, Any]:
        """RunInfo of each id in one query (runs deleted meanwhile are left out)."""
        return {info.id: info for info in self._store.list_runs(run_ids=run_ids)}

    def _load_missing_series(self, run_ids: Sequence[int]) -> None:
        missing = [i for i in run_ids if i not in self._series]
        if not missing:
            return
        loaded = self._store.load_many(missing, keys=PLOT_KEYS)
        # The planned LR is only a fallback for runs that did not record the applied one.
        need_planned = [i for i in missing if not len(loaded.get(i, {}).get("lr", ()))]
        if need_planned:
            for run_id, series in self._store.load_many(need_planned, keys=(PLANNED_LR_KEY,)).items():
                loaded.setdefault(run_id, {}).update(series)
        for run_id in missing:
            self._series[run_id] = loaded.get(run_id, {})

    def smoothing(self) -> float:
        return self._smoothing

    def set_smoothing(self, weight: float) -> None:
        """Set the smoothing weight (0 ≤ w ≤ 0.999) and redraw now (no debounce)."""
        weight = min(max(float(weight), 0.0), SMOOTHING_MAX)
        self.smoothing_slider.blockSignals(True)
        self.smoothing_slider.setValue(round(weight * 1000))
        self.smoothing_slider.blockSignals(False)
        self._smoothing_timer.stop()
        self._apply_smoothing(weight)

    def is_run_visible(self, run_id: int) -> bool:
        return run_id not in self._hidden

    def set_run_visible(self, run_id: int, visible: bool) -> None:
        if visible:
            self._hidden.discard(run_id)
        else:
            self._hidden.add(run_id)
        curves = self._curves.get(run_id)
        if curves is not None:
            self._apply_visibility(curves)
            self._settle_ranges(keep_y=self._y_zoomed)

    def set_show_all_params(self, show_all: bool) -> None:
        self.show_all_check.setChecked(show_all)

    def set_x_axis(self, mode: str) -> None:
        """``"step"`` or ``"wall_time"``."""
        index = self.x_axis_combo.findData(mode)
        if index < 0:
            raise ValueError(f"x axis must be 'step' or 'wall_time', got {mode!r}")
        self.x_axis_combo.setCurrentIndex(index)

    def x_axis(self) -> str:
        return str(self.x_axis_combo.currentData())

    def settings_rows(self) -> list[str]:
        """Parameter keys shown in the settings table, top to bottom."""
        return [self.settings_table.verticalHeaderItem(r).text() for r in range(self.settings_table.rowCount())]

    # -- drawing -------------------------------------------------------------------------------
    def _rebuild_curves(self, keep_view: bool = False) -> None:
        # Items of runs that leave the view stay in the plots, empty and hidden: removing and
        # re-adding 40 pyqtgraph items cost more than the rest of a refresh (bench_compare.py).
        # Their curve data and decimated levels stay cached with them.
        shown = set(self._run_ids)
        for run_id, curves in self._curves.items():
            if run_id not in shown:
                for item in (*curves.loss_items(), *curves.lr_items()):
                    item.setVisible(False)
                    item.setData(_EMPTY, _EMPTY)
                curves.level.clear()
        self._curves = {}
        # Auto-range first: the levels are chosen for the view the new curves will be shown in.
        # The same runs again (the database watcher re-shows a growing run every second) keep
        # the user's zoom.
        if not keep_view:
            self.loss_plot.getPlotItem().enableAutoRange()
            self.lr_plot.getPlotItem().enableAutoRange()
        spans = self._view_spans()
        for run_id in self._run_ids:
            curves = self._pool.pop(run_id, None)
            if curves is None:
                curves = _RunCurves(run_id)
                for item in curves.loss_items():
                    self.loss_plot.addItem(item)
                for item in curves.lr_items():
                    self.lr_plot.addItem(item)
            self._pool[run_id] = curves  # most recently shown last
            self._curves[run_id] = curves
            curves.set_style(run_color(run_id), self._smoothing > 0, raw_alpha(len(self._run_ids)))
            self._update_curves(curves, spans)
        self._fill_run_list()
        for curves in self._curves.values():
            self._apply_visibility(curves)
        self._trim_caches()
        self._settle_ranges(keep_y=keep_view and self._y_zoomed)

    def _settle_ranges(self, keep_y: bool = False) -> None:
        """Auto-range and apply the view transform now rather than when the next paint starts.

        pyqtgraph does both in ``prepareForPaint``; the curves' bounds then change during the
        paint and the plot is painted a second time (measured: both plots painted twice per
        selection change, about a third of the refresh). With "ignore outliers" the loss plot's
        y range comes from :func:`outlier_range` instead (unless ``keep_y``: the user zoomed).
        """
        if not keep_y:
            self._y_zoomed = False
            self._apply_outlier_range()
        for plot in (self.loss_plot, self.lr_plot):
            vb = plot.getPlotItem().vb
            if any(vb.state["autoRange"]):
                vb.updateAutoRange()
            vb.updateMatrix()
        self._update_loss_label()

    def _apply_outlier_range(self) -> None:
        self._apply_lr_range()
        vb = self.loss_plot.getPlotItem().vb
        bounds = self.outlier_bounds() if self.outliers_check.isChecked() else None
        if bounds is None:
            vb.enableAutoRange(y=True)
            return
        lo, hi = bounds
        if self.log_loss_check.isChecked():
            lo, hi = np.log10(lo), np.log10(hi)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        vb.setYRange(lo, hi, padding=0.05, update=False)  # also turns the y auto-range off

    def _apply_lr_range(self) -> None:
        """The LR of a diverged run (often far above the others') would flatten the other schedules."""
        vb = self.lr_plot.getPlotItem().vb
        ids = self._visible_ids()
        ordinary = [i for i in ids if not self._is_diverged(i)]
        if not self.outliers_check.isChecked() or not ordinary or len(ordinary) == len(ids):
            vb.enableAutoRange(y=True)
            return
        arrays = [self._curves[i].data["lr"].y for i in ordinary
                  if i in self._curves and self._curves[i].data.get("lr") is not None]
        log = self.log_lr_check.isChecked()
        bounds = outlier_range(arrays, log=log, lower=0.0, upper=100.0, margin=0.0, min_points=1)
        if bounds is None:
            vb.enableAutoRange(y=True)
            return
        lo, hi = (np.log10(bounds[0]), np.log10(bounds[1])) if log else bounds
        if not log:
            lo = min(lo, 0.0)  # an LR axis reads best from 0
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        vb.setYRange(lo, hi, padding=0.05, update=False)

    def outlier_bounds(self) -> tuple[float, float] | None:
        """Loss range (data units) that "ignore outliers" shows, or None (auto-range: every point)."""
        ids = self._visible_ids()
        ordinary = [i for i in ids if not self._is_diverged(i)] or ids
        arrays = []
        for run_id in ordinary:
            curves = self._curves.get(run_id)
            if curves is None:
                continue
            for name in ("loss_raw", "val_loss"):
                data = curves.data.get(name)
                if data is not None and len(data.y):
                    step = max(1, len(data.y) // OUTLIER_SAMPLE)
                    arrays.append(data.y[::step])
                    if step > 1 and not np.isnan(data.y).all():  # the sample's extent is not the data's
                        arrays.append(np.array([np.nanmin(data.y), np.nanmax(data.y)]))
        if len(ordinary) < len(ids):  # every non-diverged point counts, spikes or not
            bounds = outlier_range(arrays, log=self.log_loss_check.isChecked(), lower=0.0, upper=100.0,
                                   margin=0.0, min_points=1)
            if bounds is not None:
                return bounds
        return outlier_range(arrays, log=self.log_loss_check.isChecked())

    def _fill_run_list(self) -> None:
        """One row per shown run: swatch and check box, name, loss kind, status."""
        self._loss_kinds = {}
        for run_id in self._run_ids:
            info = self._infos[run_id]
            self._loss_kinds[run_id] = loss_kind(_config_dict(info), getattr(info, "summary_extra", None))
        tree = self.run_list
        tree.blockSignals(True)
        tree.clear()
        for run_id in self._run_ids:
            info = self._infos[run_id]
            kind = self._loss_kinds[run_id]
            status = str(getattr(info, "status", ""))
            item = QTreeWidgetItem([self._run_label(info), SHORT_LOSS_KINDS[kind],
                                    "" if status == "completed" else status])
            item.setData(0, Qt.ItemDataRole.UserRole, run_id)
            item.setIcon(0, _swatch(run_color(run_id)))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Unchecked if run_id in self._hidden else Qt.CheckState.Checked)
            tip = f"{getattr(info, 'name', '')} (run {run_id}, {status}); loss: {LOSS_KINDS[kind]}"
            for col in range(3):
                item.setToolTip(col, tip)
            tree.addTopLevelItem(item)
        # Columns that would say the same for every run are left out (the axis names the loss);
        # the names get the room.
        tree.setColumnHidden(1, len(set(self._loss_kinds.values())) < 2)
        tree.setColumnHidden(2, all(str(getattr(self._infos[i], "status", "")) == "completed" for i in self._run_ids))
        tree.blockSignals(False)
        self._update_loss_label()

    def _update_loss_label(self) -> None:
        """Name the loss on the axis; say so above the plots when the shown runs mix kinds."""
        kinds = [self._loss_kinds[i] for i in self._run_ids if i not in self._hidden and i in self._loss_kinds]
        distinct = list(dict.fromkeys(kinds))
        item = self.loss_plot.getPlotItem()
        if len(distinct) == 1:
            item.setLabel("left", f"loss ({LOSS_KINDS[distinct[0]]})", color=_FOREGROUND)
        else:
            item.setLabel("left", "loss (mixed kinds)" if distinct else "loss", color=_FOREGROUND)
        notes = [self._load_error] if self._load_error else []
        if len(distinct) > 1:
            counts = ", ".join(f"{LOSS_KINDS[k]}: {kinds.count(k)} run{'s' if kinds.count(k) > 1 else ''}"
                               for k in distinct)
            notes.append(f"These runs record different losses ({counts}); their values are not comparable "
                         "with each other. Untick runs in the list to compare one kind.")
        left_out = self._outliers_left_out()
        if left_out:
            notes.append(f"Ignore outliers: the axes leave out {left_out} (untick it to see every point).")
        self.note_label.setText("  ".join(notes))
        self.note_label.setVisible(bool(notes))

    def _outliers_left_out(self) -> str:
        if not self.outliers_check.isChecked() or self._y_zoomed:
            return ""
        diverged = [i for i in self._visible_ids() if self._is_diverged(i)]
        if diverged and len(diverged) < len(self._visible_ids()):
            names = ", ".join(self._run_label(self._infos[i]) for i in diverged[:3])
            more = f" and {len(diverged) - 3} more" if len(diverged) > 3 else ""
            return f"the diverged run{'s' if len(diverged) > 1 else ''} {names}{more}"
        return ""

    def _visible_ids(self) -> list[int]:
        return [i for i in self._run_ids if i not in self._hidden]

    def _is_diverged(self, run_id: int) -> bool:
        return str(getattr(self._infos.get(run_id), "status", "")) == "diverged"

    def _trim_caches(self) -> None:
        """Forget the least recently shown runs beyond CACHED_RUNS (series are ~10 MB per 100k steps)."""
        for run_id in list(self._pool)[: max(0, len(self._pool) - CACHED_RUNS)]:
            if run_id in self._curves:
                continue
            curves = self._pool.pop(run_id)
            for item in curves.loss_items():
                self.loss_plot.removeItem(item)
            for item in curves.lr_items():
                self.lr_plot.removeItem(item)
            self._series.pop(run_id, None)
        self._smoothed = {k: v for k, v in self._smoothed.items() if k[0] in self._pool}

    @staticmethod
    def _run_label(info: Any) -> str:
        name = getattr(info, "name", "") or f"run {info.id}"
        return name if len(name) <= 32 else name[:31] + "…"

    def values_at(self, key: str, x: float) -> list[tuple[str, str, float, float]]:
        """Per visible run: ``(name, colour, value, x of the point)`` nearest to view x in plot ``key``.

        The loss plot reads the smoothed loss when smoothing is on (the curve drawn in full
        colour), else the raw loss. Runs whose points end before ``x`` are left out.
        """
        names = ("lr",) if key == "lr" else (("loss_smooth", "loss_raw") if self._smoothing > 0 else ("loss_raw",))
        out = []
        for run_id, curves in self._curves.items():
            if run_id in self._hidden:
                continue
            data = next((d for d in (curves.data.get(n) for n in names) if d is not None and len(d.x)), None)
            if data is None or not data.monotonic:
                continue
            xs = data.x
            span = float(xs[-1] - xs[0]) if len(xs) > 1 else 1.0
            if x > float(xs[-1]) + 0.01 * span or x < float(xs[0]) - 0.01 * span:
                continue
            i = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
            if i > 0 and abs(float(xs[i - 1]) - x) <= abs(float(xs[i]) - x):
                i -= 1
            out.append((self._run_label(self._infos[run_id]), run_color(run_id).name(), float(data.y[i]),
                        float(xs[i])))
        return out

    def _x_of(self, series: Any) -> np.ndarray:
        return series.wall_time if self.x_axis() == "wall_time" else series.step

    def _lr_series(self, run_id: int) -> Any:
        series = self._series.get(run_id, {})
        for key in ("lr", PLANNED_LR_KEY):
            s = series.get(key)
            if s is not None and len(s.step):
                return s
        return None

    def _smoothed_loss(self, run_id: int, values: np.ndarray) -> np.ndarray:
        cache_key = (run_id, self._smoothing)
        out = self._smoothed.get(cache_key)
        if out is None:
            out = _finite_for_plot(debiased_ema(values, self._smoothing))
            self._smoothed[cache_key] = out
        return out

    def _view_spans(self) -> dict[str, tuple[tuple[float, float] | None, float]]:
        """Per plot ("loss", "lr"): the visible x range (None when auto-ranged) and width in pixels."""
        out = {}
        for key, plot in (("loss", self.loss_plot), ("lr", self.lr_plot)):
            vb = plot.getPlotItem().vb
            x_range = None if vb.autoRangeEnabled()[0] else tuple(vb.viewRange()[0])
            width = vb.width()
            out[key] = (x_range, width if width > 1 else _DEFAULT_PIXELS)
        return out

    def _show_level(self, curves: _RunCurves, name: str, span: tuple[tuple[float, float] | None, float]) -> None:
        """Give a curve's item the decimation level its view needs (a setData only on a change)."""
        data = curves.data.get(name)
        if data is None:
            bucket = 0
        elif curves.run_id in self._hidden:
            curves.level.pop(name, None)  # hidden: leave the item as it is, choose when shown
            return
        else:
            bucket = data.bucket_for(*span)
        if curves.level.get(name) != bucket:
            x, y = data.level(bucket) if data is not None else (_EMPTY, _EMPTY)
            item = getattr(curves, name)
            # Set straight in opts: the public setters would redo the display data of the old
            # data, which setData throws away next.
            thin = len(y) > THIN_ABOVE
            item.opts["clipToView"] = thin
            item.opts["autoDownsample"] = thin
            item.setData(x, y)
            curves.level[name] = bucket

    def _on_view_changed(self, plot: pg.PlotWidget) -> None:
        key = "lr" if plot is self.lr_plot else "loss"
        span = self._view_spans()[key]
        names = ("lr",) if key == "lr" else ("loss_raw", "loss_smooth", "val_loss")
        for curves in self._curves.values():
            for name in names:
                self._show_level(curves, name, span)

    def _update_curves(self, curves: _RunCurves,
                       spans: dict[str, tuple[tuple[float, float] | None, float]] | None = None) -> None:
        """Give each item of a run the data the current settings ask for (only where it changed).

        Only the training loss is smoothed: validation points are per epoch, and the LR is a
        schedule, whose steps and warm-up corners smoothing would misdraw.
        """
        series = self._series.get(curves.run_id, {})
        x_mode = self.x_axis()
        weight = self._smoothing
        loss = series.get("train/loss")
        if loss is not None and not len(loss.step):
            loss = None

        if spans is None:
            spans = self._view_spans()

        def put(name: str, key: Any, make: Any) -> None:
            if curves.applied.get(name) != key:
                x, y = make() if make is not None else (_EMPTY, _EMPTY)
                curves.data[name] = _CurveData(x, y) if len(y) else None
                curves.level.pop(name, None)
                curves.applied[name] = key
            self._show_level(curves, name, spans["lr" if name == "lr" else "loss"])

        put("loss_raw", (x_mode, loss is not None),
            (lambda: (self._x_of(loss), _finite_for_plot(loss.value))) if loss is not None else None)
        if weight > 0 and loss is not None:
            put("loss_smooth", (x_mode, weight),
                lambda: (self._x_of(loss), self._smoothed_loss(curves.run_id, loss.value)))
        else:
            put("loss_smooth", None, None)
        val = series.get("val/loss")
        if val is not None and len(val.step) and self.val_loss_check.isChecked():
            put("val_loss", (x_mode, True), lambda: (self._x_of(val), _finite_for_plot(val.value)))
        else:
            put("val_loss", None, None)
        lr = self._lr_series(curves.run_id)
        put("lr", (x_mode, lr is not None),
            (lambda: (self._x_of(lr), _finite_for_plot(lr.value))) if lr is not None else None)

    def _apply_visibility(self, curves: _RunCurves) -> None:
        visible = curves.run_id not in self._hidden
        if visible and len(curves.level) < len(_RunCurves.NAMES):
            self._update_curves(curves)  # levels skipped while hidden
        for item in (*curves.loss_items(), *curves.lr_items()):
            item.setVisible(visible)
        for row in range(self.run_list.topLevelItemCount()):
            item = self.run_list.topLevelItem(row)
            if item.data(0, Qt.ItemDataRole.UserRole) == curves.run_id:
                state = Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked
                if item.checkState(0) != state:
                    self.run_list.blockSignals(True)
                    item.setCheckState(0, state)
                    self.run_list.blockSignals(False)

    def _apply_smoothing(self, weight: float) -> None:
        self._smoothing = weight
        self.smoothing_label.setText(f"{weight:.3f}")
        # Keep only the current weight's smoothed arrays (memory: 10 runs × 100k floats each).
        self._smoothed = {k: v for k, v in self._smoothed.items() if k[1] == weight}
        spans = self._view_spans()
        for curves in self._curves.values():
            curves.set_style(run_color(curves.run_id), weight > 0, raw_alpha(len(self._run_ids)))
            self._update_curves(curves, spans)
        self._settle_ranges(keep_y=self._y_zoomed)

    def _redraw_all(self) -> None:
        self.loss_plot.getPlotItem().enableAutoRange()
        self.lr_plot.getPlotItem().enableAutoRange()
        spans = self._view_spans()
        for curves in self._curves.values():
            self._update_curves(curves, spans)
        self._settle_ranges()

    # -- tables --------------------------------------------------------------------------------
    def _fill_settings_table(self) -> None:
        configs = [_config_dict(self._infos[i]) for i in self._run_ids]
        show_all = self.show_all_check.isChecked()
        differing = differing_params(configs)
        # One run has nothing to differ from: show its settings.
        keys = all_params(configs) if show_all or len(configs) < 2 else differing
        differing_set = set(differing)
        flats = [flatten_config(c) for c in configs]
        table = self.settings_table
        table.clear()
        table.setRowCount(len(keys))
        table.setColumnCount(len(self._run_ids))
        for col, run_id in enumerate(self._run_ids):
            header = QTableWidgetItem(self._run_label(self._infos[run_id]))
            header.setIcon(_swatch(run_color(run_id)))
            header.setToolTip(getattr(self._infos[run_id], "name", "") or f"run {run_id}")
            table.setHorizontalHeaderItem(col, header)
        tint = QBrush(QColor("#fff4d6"))
        for row, key in enumerate(keys):
            table.setVerticalHeaderItem(row, QTableWidgetItem(key))
            for col, flat in enumerate(flats):
                item = QTableWidgetItem(format_value(flat.get(key)) if key in flat else "—")
                if key not in flat:
                    item.setForeground(QBrush(QColor("#999999")))
                    item.setToolTip("not set in this run")
                if show_all and key in differing_set:
                    item.setBackground(tint)
                table.setItem(row, col, item)
        if len(configs) >= 2 and not show_all:
            self.settings_title.setText(f"Settings that differ ({len(keys)})" if keys else
                                        "Settings that differ: none")
        else:
            self.settings_title.setText("All settings")
        differ = len(differing) if len(configs) >= 2 else 0
        self.views.setTabText(1, f"Settings ({differ} differ)" if differ else "Settings")
        table.resizeColumnsToContents()
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # Wide enough for the run's name (32 characters at most) and the values; a wide
        # comparison scrolls sideways rather than cutting the names.
        for col in range(table.columnCount()):
            header.resizeSection(col, min(max(header.sectionSize(col), header.sectionSizeHint(col)), 280))

    def _fill_summary_table(self) -> None:
        table = self.summary_table
        table.setRowCount(len(self._run_ids))
        for row, run_id in enumerate(self._run_ids):
            cells = summary_row(self._infos[run_id])
            cells[0] = self._run_label(self._infos[run_id])
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setIcon(_swatch(run_color(run_id)))
                elif col >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, col, item)
        table.resizeColumnsToContents()

    def _update_empty_label(self) -> bool:
        """Show the hint when no run is shown; True when its visibility changed."""
        changed = self.empty_label.isHidden() == (not self._run_ids)
        self.empty_label.setVisible(not self._run_ids)
        return changed

    def _show_error(self, exc: BaseException) -> None:
        """Say why runs could not be (re)loaded above the plots: never a modal dialog."""
        self._load_error = f"Cannot load runs: {exc}"
        self._update_loss_label()

    # -- slots ---------------------------------------------------------------------------------
    def _on_smoothing_slider_moved(self, value: int) -> None:
        self.smoothing_label.setText(f"{value / 1000:.3f}")
        self._smoothing_timer.start()  # debounce: smooth once the slider rests

    def _on_smoothing_timeout(self) -> None:
        self._apply_smoothing(self.smoothing_slider.value() / 1000)

    def _on_val_loss_toggled(self, _checked: bool) -> None:
        spans = self._view_spans()
        for curves in self._curves.values():
            self._update_curves(curves, spans)
        self._settle_ranges()

    def _on_log_toggled(self, _checked: bool) -> None:
        self.loss_plot.setLogMode(y=self.log_loss_check.isChecked())
        self.lr_plot.setLogMode(y=self.log_lr_check.isChecked())
        self._settle_ranges()

    def _on_x_axis_changed(self, _index: int) -> None:
        label = "wall time (s)" if self.x_axis() == "wall_time" else "step"
        for plot in self.plot_widgets():
            plot.getPlotItem().setLabel("bottom", label, color=_FOREGROUND)
        self._redraw_all()

    def _on_show_all_toggled(self, _checked: bool) -> None:
        self._fill_settings_table()

    def _on_run_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column == 0:
            run_id = item.data(0, Qt.ItemDataRole.UserRole)
            self.set_run_visible(run_id, item.checkState(0) == Qt.CheckState.Checked)

    def _on_outliers_toggled(self, _checked: bool) -> None:
        self._settle_ranges()

    def _on_loss_zoomed(self, *_args: Any) -> None:
        self._y_zoomed = True
        self._update_loss_label()


_EMPTY = np.empty(0)


def _faint(color: QColor, alpha: int = RAW_ALPHA) -> QColor:
    faint = QColor(color)
    faint.setAlpha(alpha)
    return faint


def _swatch(color: QColor, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(color)
    return QIcon(pixmap)
