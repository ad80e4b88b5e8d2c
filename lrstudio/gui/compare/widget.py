"""The compare view: loss and LR curves of several saved runs, their settings and summaries.

Life cycle. :meth:`CompareWidget.show_runs` receives the selected run ids. Series missing from the
cache are loaded (:class:`~lrstudio.gui.compare.loading.RunCache`); series already loaded are
reused, so changing the smoothing, the axes or the selection back and forth never queries the
database again (call :meth:`CompareWidget.invalidate` for a run that is still growing). The cache is
bounded by memory (``CACHE_BYTES``), not by a number of runs.

Loading off the GUI thread (issue 11). When the series to read hold more than ``SYNC_POINTS``
points (by the runs' recorded step counts), they are read in a background
thread (:class:`~lrstudio.gui.compare.loader.SeriesLoader`) in batches; each batch is drawn as it
arrives, the progress bar above the plots counts the runs read, and :meth:`CompareWidget.is_loading`
says whether a load is in progress (``loading_finished`` is emitted at its end). A new selection
supersedes the load in progress. Small loads stay synchronous: they cost less than a frame. Each run gets one colour from a qualitative palette (Tableau 10) and, per plot, a
raw curve, a smoothed curve and, for the loss, a dashed validation curve. With smoothing on, the
raw curve stays visible but faint; smoothing is a debiased EMA
(:func:`lrstudio.core.smoothing.debiased_ema`) on the full-resolution data, computed once per
slider change (debounced) and cached per run and weight.

Drawing 10 runs × 100,000 points: each curve is thinned once, into precomputed min/max levels
(:mod:`lrstudio.core.series`); the level is re-chosen synchronously when the x range or the plot's
width changes (a setData only when the level changes, :meth:`RunCurves.show_level`), so a zoom
never draws a coarse frame first and nothing is decimated per paint. The y auto-range fits the
visible x range (``setAutoVisible``). Auto-range and view transform are settled before the next
paint, so it paints once. :meth:`CompareWidget.curve_data` returns the full-resolution data.

Layout. The plots have their own tab ("Curves"), with a run list beside them instead of legends
inside them (:mod:`~lrstudio.gui.compare.run_list`). The settings diff and the summary have tabs of
their own (:mod:`~lrstudio.gui.compare.tables`). A run's colour comes from its id
(:func:`lrstudio.gui.palette.run_color`), so adding a run never recolours the others.

Y range. "Ignore outliers" (on by default, as TensorBoard offers) sets the loss plot's y range from
percentiles of the shown runs' points (:func:`lrstudio.core.compare.loss_range`), leaving out
diverged runs unless every shown run diverged: one divergence no longer flattens every other curve.
Off, or when the user zooms, pyqtgraph's auto-range shows every point. Losses of different kinds
(cross-entropy, MSE of a standardised target, MSE in target units) are named in the run list and on
the axis; a plot that mixes kinds says so above the plots.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import QLabel, QProgressBar, QSplitter, QTabWidget, QVBoxLayout, QWidget

from lrstudio.core.compare import LOSS_KINDS, SHORT_LOSS_KINDS, loss_kind, summary_row
from lrstudio.core.errors import LrstudioError
from lrstudio.core.runs import CONFIG_KINDS, RunInfo, RunStore
from lrstudio.gui.compare.canvas import CurveCanvas
from lrstudio.gui.compare.controls import CompareControls
from lrstudio.gui.compare.curves import RunCurves
from lrstudio.gui.compare.loader import SeriesLoader, batches
from lrstudio.gui.compare.loading import RunCache
from lrstudio.gui.compare.readout import Readout
from lrstudio.gui.compare.run_list import RunList, RunRow
from lrstudio.gui.compare.tables import RunColumn, SettingsPage, SummaryPage
from lrstudio.gui.palette import run_color
from lrstudio.gui.plots.factory import FOREGROUND

__all__ = ["CompareWidget"]

#: What an external (or playground) run's loss is: whatever the user's code logged.
_UNKNOWN_LOSS = "what your code logged (kind unknown)"

# Loads of more points than this are read off the GUI thread (row storage reads ~1 µs per point).
SYNC_POINTS = 20_000
# Runs of a background load drawn per turn of the event loop (each new run costs the GUI thread
# ~1.3 ms: setData, its levels; the repaint that follows costs ~0.5 ms per run drawn so far). With
# 12, the last slices of a 50-run load took ~15 ms to draw plus ~30 ms to repaint, one turn of
# 45-60 ms (issue 11: "GUI never blocked > 50 ms"); with 6, ~32 ms (bench/bench_compare.py --runs 50).
DRAW_SLICE = 6
# ... with at least this many ms between two such turns while runs still arrive: each one repaints
# every run drawn so far (~25 ms with 50 runs: a repaint per few runs doubled the CPU time of a
# 50-run load), and back-to-back turns kept the event loop from its timers and input for ~90 ms
# (issue 11: "GUI never blocked > 50 ms" during a cold load, bench/bench_compare.py).
DRAW_INTERVAL_MS = 150
DRAW_MS_PER_RUN = 3  # ... less with fewer runs drawn: about 3 ms per run drawn (the repaint's cost grows so)
# Runs whose (empty) plot items are made per turn while a background load reads their series.
PREPARE_SLICE = 4
# Between the last turns of a load (the last curves, the ranges, the tables): room for the event loop.
TURN_GAP_MS = 20
# A run that is still growing (progress of the app's own run) is reloaded at most this often.
RELOAD_INTERVAL_MS = 1000


class CompareWidget(QWidget):
    """Overlay of several runs: loss and LR plots, differing settings, summary table.

    Signals
    -------
    runs_shown(list)
        Emitted after :meth:`show_runs` drew the given run ids.
    """

    runs_shown = Signal(list)
    loading_finished = Signal()

    def __init__(self, store: RunStore | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cache = RunCache(store)
        self._series = self._cache.series  # run id -> key -> Series
        self._run_ids: list[int] = []
        self._infos: dict[int, RunInfo] = {}
        self._hidden: set[int] = set()
        self._loss_kinds: dict[int, str] = {}
        self._load_error = ""
        self._pending: set[int] = set()  # shown runs to reload (invalidate_soon)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_INTERVAL_MS)
        self._reload_timer.timeout.connect(self._on_reload_timer)
        self._loader = SeriesLoader(self)
        self._loader.batch_loaded.connect(self._on_batch_loaded)
        self._loader.progress.connect(self._on_load_progress)
        self._loader.finished.connect(self._on_load_finished)
        self._loader.failed.connect(self._on_load_failed)
        # Reloads of growing runs (invalidate_soon) read in a thread of their own (issue 11).
        self._reloader = SeriesLoader(self)
        self._reloader.batch_loaded.connect(self._on_reload_loaded)
        self._reloader.failed.connect(self._on_reload_failed)
        self._loading: list[int] = []  # the selection being loaded
        self._reloading: list[int] = []  # growing runs being read again
        self._loading_infos: dict[int, RunInfo] = {}
        self._draw_due = False
        self._load_done = False  # every batch of the load in progress arrived
        self.sync_points = SYNC_POINTS

        self.controls = CompareControls()
        self.smoothing_slider = self.controls.smoothing_slider
        self.smoothing_label = self.controls.smoothing_label
        self.val_loss_check = self.controls.val_loss_check
        self.log_loss_check = self.controls.log_loss_check
        self.log_lr_check = self.controls.log_lr_check
        self.outliers_check = self.controls.outliers_check
        self.x_axis_combo = self.controls.x_axis_combo
        self.controls.smoothing_changed.connect(self._apply_smoothing)
        self.val_loss_check.toggled.connect(self._on_val_loss_toggled)
        self.log_loss_check.toggled.connect(self._on_log_toggled)
        self.log_lr_check.toggled.connect(self._on_log_toggled)
        self.outliers_check.toggled.connect(lambda _checked: self._settle_ranges())
        self.x_axis_combo.currentIndexChanged.connect(self._on_x_axis_changed)

        self.canvas = CurveCanvas(self.controls, self._cache, self._hidden, self._legend_entries)
        self.loss_plot = self.canvas.loss_plot
        self.lr_plot = self.canvas.lr_plot
        self.loss_plot.getPlotItem().vb.sigRangeChangedManually.connect(self._on_loss_zoomed)
        self.readouts = {"loss": Readout(self, self.loss_plot, "loss"), "lr": Readout(self, self.lr_plot, "lr")}

        self.run_list = RunList()
        self.run_list.visibility_toggled.connect(self.set_run_visible)
        self.note_label = QLabel()
        self.note_label.setObjectName("compareNote")
        self.note_label.setProperty("role", "caution")
        self.note_label.setWordWrap(True)
        self.note_label.hide()
        self.empty_label = QLabel("Select runs in the runs table to compare them.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setProperty("role", "placeholder")
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("compareProgress")
        self.progress_bar.setFormat("Loading runs: %v of %m")
        self.progress_bar.setMaximumHeight(16)
        self.progress_bar.hide()

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

        self.settings_page = SettingsPage()
        self.settings_table = self.settings_page.table
        self.settings_title = self.settings_page.title
        self.show_all_check = self.settings_page.show_all_check
        self.summary_page = SummaryPage()
        self.summary_table = self.summary_page.table

        # The tables have their own tab: under the plots they got 3 of 18 rows at the default size.
        curves_page = QWidget()
        cl = QVBoxLayout(curves_page)
        cl.setContentsMargins(0, 4, 0, 0)
        # The load's progress keeps its place when hidden: showing and hiding it above the plots
        # resized them, and they were laid out and painted once more at the end of every cold
        # load (~50 ms with 50 runs, issue 11).
        policy = self.progress_bar.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.progress_bar.setSizePolicy(policy)
        cl.addWidget(self.progress_bar)
        cl.addWidget(self.note_label)
        cl.addWidget(plots, 1)
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.views.addTab(curves_page, "Curves")
        self.views.addTab(self.settings_page, "Settings")
        self.views.addTab(self.summary_page, "Summary")
        self.views.setTabToolTip(1, "The settings that differ between the runs (or all of them)")
        self.views.setTabToolTip(2, "Each run's results: status, losses, accuracy, steps, duration")
        self.settings_page.differ_count_changed.connect(
            lambda n: self.views.setTabText(1, f"Settings ({n} differ)" if n else "Settings"))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.views, 1)
        self._update_empty_label()

    # -- public API ----------------------------------------------------------------------------
    def store(self) -> RunStore | None:
        return self._cache.store

    def set_store(self, store: RunStore | None) -> None:
        """Switch databases: forget every cached series and clear the view."""
        self._cancel_load()
        self._cache.store = store
        self._cache.clear()
        self._infos.clear()
        self._hidden.clear()
        self.show_runs([])
        self.canvas.remove_all()

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
        return self.canvas.curves[run_id].items()

    def curve_data(self, run_id: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Full-resolution ``(x, y)`` of each curve of a shown run, keyed as :meth:`curve_items`."""
        return self.canvas.curve_data(run_id)

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

    def is_loading(self) -> bool:
        """True while series of the selection are read in the background."""
        return bool(self._loading)

    def show_runs(self, run_ids: Sequence[int]) -> None:
        """Compare these runs (order = colour order). Loads only series not cached yet; big loads in
        the background (the runs appear as their batches arrive, see :meth:`is_loading`)."""
        run_ids = list(dict.fromkeys(int(i) for i in run_ids))
        self._cancel_load()  # a new selection supersedes the load in progress
        if self._reloader.is_loading():  # and a reload of growing runs (those are read afresh)
            self._reloader.cancel()
            self._pending.update(self._reloading)
        self._forget(self._pending.intersection(run_ids))  # stale: load them afresh
        self._pending.difference_update(run_ids)
        infos: dict[int, RunInfo] = {}
        if self._cache.store is not None and run_ids:
            try:
                infos = self._cache.load_infos(run_ids)
                missing = self._cache.missing([i for i in run_ids if i in infos])
                if missing and self._load_in_background([i for i in run_ids if i in infos], infos, missing):
                    return
                self._cache.load_missing(missing)
                self._load_error = ""
            except LrstudioError as exc:
                self._show_error(exc)
            run_ids = [i for i in run_ids if i in infos and i in self._series]
        else:
            run_ids = []
        self._display(run_ids, infos)

    def _display(self, run_ids: list[int], infos: dict[int, RunInfo], tables: bool = True) -> None:
        """Draw these runs (all cached) and, with ``tables``, fill the tables and announce them."""
        same = bool(run_ids) and run_ids == self._run_ids
        self._run_ids = run_ids
        self._infos = infos
        layout = self.layout()
        if self._update_empty_label() and self.isVisible() and layout is not None:
            # The hint above the plots came or went: resize the plots now, not after the next
            # paint (which would then be repeated at the new size).
            layout.activate()
        self._rebuild_curves(keep_view=same)
        if tables:
            self._fill_tables()
            self.runs_shown.emit(list(run_ids))

    def smoothing(self) -> float:
        return self.canvas.smoothing

    def set_smoothing(self, weight: float) -> None:
        """Set the smoothing weight (0 ≤ w ≤ 0.999) and redraw now (no debounce)."""
        self._apply_smoothing(self.controls.set_smoothing(weight))

    def is_run_visible(self, run_id: int) -> bool:
        return run_id not in self._hidden

    def set_run_visible(self, run_id: int, visible: bool) -> None:
        if visible:
            self._hidden.discard(run_id)
        else:
            self._hidden.add(run_id)
        curves = self.canvas.curves.get(run_id)
        if curves is not None:
            self._apply_visibility(curves)
            self._settle_ranges(keep_y=self.canvas.y_zoomed)

    def set_show_all_params(self, show_all: bool) -> None:
        self.show_all_check.setChecked(show_all)

    def set_x_axis(self, mode: str) -> None:
        """``"step"`` or ``"wall_time"``."""
        index = self.x_axis_combo.findData(mode)
        if index < 0:
            raise ValueError(f"x axis must be 'step' or 'wall_time', got {mode!r}")
        self.x_axis_combo.setCurrentIndex(index)

    def x_axis(self) -> str:
        return self.controls.x_axis()

    def settings_rows(self) -> list[str]:
        """Parameter keys shown in the settings table, top to bottom."""
        return self.settings_page.rows()

    def outlier_bounds(self) -> tuple[float, float] | None:
        """Loss range (data units) that "ignore outliers" shows, or None (auto-range: every point)."""
        return self.canvas.outlier_bounds(self._visible_ids(), self._diverged_ids())

    def values_at(self, key: str, x: float) -> list[tuple[str, str, float, float]]:
        """Per visible run: ``(name, colour, value, x of the point)`` nearest to view x in plot ``key``.

        The loss plot reads the smoothed loss when smoothing is on (the curve drawn in full
        colour), else the raw loss. Runs whose points end before ``x`` are left out.
        """
        return [(self._run_label(self._infos[run_id]), run_color(run_id).name(), value, px)
                for run_id, value, px in self.canvas.points_at(key, x)]

    # -- loading -------------------------------------------------------------------------------
    @staticmethod
    def _points(info: RunInfo | None) -> int:
        """Points a run's plotted series hold, about (loss and LR per step; 0 when not recorded yet)."""
        return 2 * int(info.steps or 0) if info is not None else 0

    def _load_in_background(self, run_ids: list[int], infos: dict[int, RunInfo], missing: list[int]) -> bool:
        """Start reading ``missing`` off the GUI thread when it is big; False: read it here.

        The thread also prepares the curves (levels, bounds, smoothed loss at the current weight)."""
        if sum(self._points(infos.get(i)) for i in missing) <= self.sync_points:
            return False
        self._loading = run_ids
        self._loading_infos = infos
        parts = batches(missing, lambda i: self._points(infos.get(i)))
        self.progress_bar.setRange(0, len(missing))
        self.progress_bar.setValue(0)
        self.progress_bar.show()
        weight, pixels = self.canvas.smoothing, self.canvas.view_spans()["loss"][1]
        self._loader.start(lambda part: self._cache.read_prepared(part, weight, pixels), parts)
        generation = self._loader.generation
        QTimer.singleShot(0, lambda: self._prepare_items(generation))
        return True

    def _prepare_items(self, generation: int) -> None:
        """Make the plot items of runs being loaded a few per turn while their series are read
        (the first cold load of a session spent ~3 ms a run on them in its draw turns)."""
        if generation != self._loader.generation or not self._loading:
            return  # superseded or done
        if self.canvas.prepare(self._loading, PREPARE_SLICE):
            QTimer.singleShot(0, lambda: self._prepare_items(generation))

    def _cancel_load(self) -> None:
        if self._loading:
            self._loader.cancel()
            self._loading = []
            self._loading_infos = {}
            self._load_done = False
            self.progress_bar.hide()

    def _on_batch_loaded(self, generation: int, loaded: dict) -> None:
        if generation != self._loader.generation or not self._loading:
            return  # superseded
        self._cache.add(loaded)
        self._schedule_draw()

    def _schedule_draw(self) -> None:
        """Draw what has arrived at the next turn of the event loop (once for batches that arrived
        together)."""
        if not self._draw_due:
            self._draw_due = True
            paced = min(DRAW_INTERVAL_MS, max(TURN_GAP_MS, DRAW_MS_PER_RUN * len(self._run_ids)))
            delay = 0 if not self._run_ids else TURN_GAP_MS if self._load_done else paced
            QTimer.singleShot(delay, self._draw_loaded)

    def _draw_loaded(self) -> None:
        """Draw the runs read so far, at most DRAW_SLICE new ones per turn of the event loop (the
        GUI thread's share of a cold load stays in small pieces); after the last batch, the tables."""
        self._draw_due = False
        if not self._loading:
            return
        arrived = [i for i in self._loading if i in self._series]
        drawn = set(self.canvas.curves) if self._run_ids else set()
        new = [i for i in arrived if i not in drawn]
        if len(new) > DRAW_SLICE:
            allowed = drawn | set(new[:DRAW_SLICE])
            self._draw_slice([i for i in arrived if i in allowed])
            self._schedule_draw()
        elif self._load_done:
            if new and self._run_ids:  # the last curves in this turn, the ranges in the next
                self._draw_slice(arrived)
                self._schedule_draw()
                return
            self._load_error = ""
            light = self._run_ids == arrived and set(self.canvas.curves) == set(arrived)
            if light:
                # Every curve is drawn: what is left of _display, the ranges now (the plots
                # repaint), the run list with the tables in the next turn.
                self._infos = self._loading_infos
                self._settle_ranges(keep_y=self.canvas.y_zoomed)
            else:
                self._display(arrived, self._loading_infos, tables=False)
            # The tables in the next turn (each turn stays short).
            generation = self._loader.generation
            QTimer.singleShot(TURN_GAP_MS, lambda: self._finish_load(generation, run_list=light))
        elif new:
            self._draw_slice(arrived)

    def _finish_load(self, generation: int, run_list: bool = False) -> None:
        if generation != self._loader.generation or not self._loading:
            return  # superseded meanwhile
        self._loading, self._loading_infos, self._load_done = [], {}, False
        self.progress_bar.hide()
        if run_list:
            self._fill_run_list()
            self._trim_caches()
        self._fill_tables()
        self.runs_shown.emit(list(self._run_ids))
        self.loading_finished.emit()

    def _draw_slice(self, run_ids: list[int]) -> None:
        """Add the curves of runs read so far. The first slice settles the ranges; later ones leave
        them to pyqtgraph's auto-range and the end of the load (re-settling every slice made each
        cost O(runs shown): 130 ms per slice with 50 runs)."""
        if not self._run_ids:
            self._display(run_ids, self._loading_infos, tables=False)
            return
        self._run_ids = run_ids
        self._infos = self._loading_infos
        # The loss kinds follow the runs drawn: runs without one yet read as a mix of kinds, and
        # the note saying so came and went above the plots (two relayouts, two full repaints).
        self._update_loss_kinds()
        self.canvas.show(run_ids, keep_view=True)
        for curves in self.canvas.curves.values():
            self._apply_visibility(curves)

    def _on_load_progress(self, generation: int, done: int, _total: int) -> None:
        if generation == self._loader.generation and self._loading:
            self.progress_bar.setValue(done)

    def _on_load_finished(self, generation: int) -> None:
        if generation != self._loader.generation or not self._loading:
            return
        self._load_done = True
        self._schedule_draw()

    def _on_load_failed(self, generation: int, exc: object) -> None:
        if generation != self._loader.generation or not self._loading:
            return
        run_ids, infos = self._loading, self._loading_infos
        self._loading, self._loading_infos, self._load_done = [], {}, False
        self.progress_bar.hide()
        if not isinstance(exc, LrstudioError):
            exc = LrstudioError(str(exc))
        self._show_error(exc)
        self._display([i for i in run_ids if i in self._series], infos)
        self.loading_finished.emit()

    def _forget(self, ids: set[int]) -> None:
        self._cache.forget(ids)
        self.canvas.forget(ids)  # new data when next drawn

    def _on_reload_timer(self) -> None:
        if not self.isVisible():
            return  # showEvent reloads
        if self._loading or self._reloader.is_loading():  # after the read in progress
            self._reload_timer.start()
            return
        ids, self._pending = self._pending, set()
        self._forget(ids - set(self._run_ids))
        shown = [i for i in self._run_ids if i in ids]
        if not shown or self._cache.store is None:
            return
        # Growing runs are read off the GUI thread (issue 11); what is drawn stays until the new
        # series arrive. invalidate() (a run ended, Refresh) still reloads at once.
        self._reloading = shown
        run_ids = list(self._run_ids)
        cache = self._cache
        self._reloader.start(lambda part: (cache.load_infos(run_ids), cache.read(part)), [shown])

    def _on_reload_loaded(self, generation: int, got: object) -> None:
        if generation != self._reloader.generation:
            return  # superseded (a new selection)
        infos, loaded = got  # type: ignore[misc]
        self._reloading = []
        if any(i not in infos for i in self._run_ids):  # deleted meanwhile: start over
            self.show_runs(self._run_ids)
            return
        ids = [i for i in loaded if i in self._run_ids]
        self._forget(set(ids))
        self._cache.add({i: loaded[i] for i in ids})
        self._load_error = ""
        self._redraw_reloaded(ids, infos)

    def _on_reload_failed(self, generation: int, exc: object) -> None:
        if generation != self._reloader.generation:
            return
        self._pending.update(self._reloading)
        self._reloading = []
        self._show_error(exc if isinstance(exc, LrstudioError) else LrstudioError(str(exc)))
        if not self._reload_timer.isActive():
            self._reload_timer.start()

    def showEvent(self, event: QShowEvent) -> None:  # Qt API name
        super().showEvent(event)
        if self._pending and not self._reload_timer.isActive():
            QTimer.singleShot(0, self._on_reload_timer)

    def _reload(self, run_ids: list[int]) -> None:
        """Re-read the infos of the shown runs and the series of ``run_ids``; redraw only those."""
        try:
            infos = self._cache.load_infos(self._run_ids)
            if any(i not in infos for i in self._run_ids):  # deleted meanwhile: start over
                self.show_runs(self._run_ids)
                return
            self._cache.load_missing(run_ids)
        except LrstudioError as exc:
            # Often passing (a writer holds a lock): say so where the plots are, without a modal
            # dialog (a reload may come every second), keep what is drawn and try again.
            self._show_error(exc)
            self._pending.update(run_ids)
            if not self._reload_timer.isActive():
                self._reload_timer.start()
            return
        self._load_error = ""
        self._redraw_reloaded(run_ids, infos)

    def _redraw_reloaded(self, run_ids: list[int], infos: dict[int, RunInfo]) -> None:
        self._infos = infos
        self.canvas.reload(run_ids)
        self._fill_run_list()
        self._fill_summary_table()
        self._settle_ranges(keep_y=self.canvas.y_zoomed)

    def _show_error(self, exc: BaseException) -> None:
        """Say why runs could not be (re)loaded above the plots: never a modal dialog."""
        self._load_error = f"Cannot load runs: {exc}"
        self._update_loss_label()

    def _trim_caches(self) -> None:
        """Forget the least recently shown runs beyond the cache's memory bound (series, levels and
        smoothed losses; ~5 MB per 100k steps), never the shown or loading ones."""
        self._cache.touch(self._run_ids)
        dropped = self._cache.trim(set(self._run_ids) | set(self._loading), extra=self.canvas.nbytes)
        self.canvas.drop(dropped)
        # Not the items of runs being loaded (a Refresh forgets their series): rebuilding them cost
        # more than the rest of the first slice of a cold load (issue 11); nor empty ones (made
        # ahead of a load that was superseded: they hold no data, and removing them repainted).
        self.canvas.drop([i for i, curves in list(self.canvas.pool.items())
                          if i not in self._series and i not in self._loading and curves.data])

    # -- drawing -------------------------------------------------------------------------------
    def _rebuild_curves(self, keep_view: bool = False) -> None:
        self.canvas.show(self._run_ids, keep_view)
        self._fill_run_list()
        for curves in self.canvas.curves.values():
            self._apply_visibility(curves)
        self._trim_caches()
        self._settle_ranges(keep_y=keep_view and self.canvas.y_zoomed)

    def _settle_ranges(self, keep_y: bool = False) -> None:
        self.canvas.settle_ranges(self._visible_ids(), self._diverged_ids(), keep_y=keep_y)
        self._update_loss_label()

    def _apply_visibility(self, curves: RunCurves) -> None:
        visible = curves.run_id not in self._hidden
        self.canvas.set_visible(curves, visible)
        self.run_list.set_checked(curves.run_id, visible)

    def _apply_smoothing(self, weight: float) -> None:
        self.controls.show_smoothing(weight)
        self.canvas.set_smoothing(weight)
        self._settle_ranges(keep_y=self.canvas.y_zoomed)

    # -- run list, labels and tables -----------------------------------------------------------
    def _visible_ids(self) -> list[int]:
        return [i for i in self._run_ids if i not in self._hidden]

    def _is_diverged(self, run_id: int) -> bool:
        info = self._infos.get(run_id)
        return info is not None and str(info.status) == "diverged"

    def _diverged_ids(self) -> set[int]:
        return {i for i in self._run_ids if self._is_diverged(i)}

    @staticmethod
    def _run_label(info: RunInfo) -> str:
        name = info.name or f"run {info.id}"
        return name if len(name) <= 32 else name[:31] + "…"

    def _column(self, run_id: int) -> RunColumn:
        info = self._infos[run_id]
        return RunColumn(run_id, self._run_label(info), info.name, run_color(run_id))

    def _legend_entries(self, loss: bool) -> list[tuple[str, QColor]]:
        """Names and colours of the visible runs, for the legend of an exported plot."""
        out = []
        for run_id in self._visible_ids():
            name = self._run_label(self._infos[run_id])
            if loss and run_id in self._loss_kinds:
                name += f" ({SHORT_LOSS_KINDS[self._loss_kinds[run_id]]})"
            out.append((name, run_color(run_id)))
        return out

    def _fill_run_list(self) -> None:
        """One row per shown run: swatch and check box, name, loss kind, status."""
        self._update_loss_kinds()
        rows = []
        for run_id in self._run_ids:
            info = self._infos[run_id]
            kind, status = self._loss_kinds.get(run_id), str(info.status)
            short = SHORT_LOSS_KINDS[kind] if kind else "own"
            what = LOSS_KINDS[kind] if kind else _UNKNOWN_LOSS
            rows.append(RunRow(run_id, self._run_label(info), short, status,
                               f"{info.name} (run {run_id}, {status}); loss: {what}",
                               run_color(run_id), run_id not in self._hidden))
        self.run_list.fill(rows)
        self._update_loss_label()

    def _update_loss_kinds(self) -> None:
        # Only lrstudio's own runs have a known loss kind; a run of the user's code (or the
        # playground) records whatever it logged: no kind, and the axis must not claim one.
        self._loss_kinds = {i: loss_kind(self._infos[i].config_dict, self._infos[i].summary_extra)
                            for i in self._run_ids if getattr(self._infos[i], "kind", "training") in CONFIG_KINDS}

    def _update_loss_label(self) -> None:
        """Name the loss on the axis; say so above the plots when the shown runs mix kinds."""
        kinds = [self._loss_kinds.get(i, "") for i in self._run_ids if i not in self._hidden and i in self._infos]
        distinct = list(dict.fromkeys(kinds))
        item = self.loss_plot.getPlotItem()
        if len(distinct) == 1 and distinct[0]:
            item.setLabel("left", f"loss ({LOSS_KINDS[distinct[0]]})", color=FOREGROUND)
        else:  # kinds that differ, or a run of the user's own code: no kind to name
            item.setLabel("left", "loss", color=FOREGROUND)
        notes = [self._load_error] if self._load_error else []
        if len(distinct) > 1:
            counts = ", ".join(f"{LOSS_KINDS.get(k, _UNKNOWN_LOSS)}: {kinds.count(k)} run{'s' if kinds.count(k) > 1 else ''}"
                               for k in distinct)
            notes.append(f"These runs record different losses ({counts}); their values are not comparable "
                         "with each other. Untick runs in the list to compare one kind.")
        left_out = self._outliers_left_out()
        if left_out:
            notes.append(f"Ignore outliers: the axes leave out {left_out} (untick it to see every point).")
        self.note_label.setText("  ".join(notes))
        self.note_label.setVisible(bool(notes))

    def _outliers_left_out(self) -> str:
        if not self.outliers_check.isChecked() or self.canvas.y_zoomed:
            return ""
        diverged = [i for i in self._visible_ids() if self._is_diverged(i)]
        if diverged and len(diverged) < len(self._visible_ids()):
            names = ", ".join(self._run_label(self._infos[i]) for i in diverged[:3])
            more = f" and {len(diverged) - 3} more" if len(diverged) > 3 else ""
            return f"the diverged run{'s' if len(diverged) > 1 else ''} {names}{more}"
        return ""

    def _fill_tables(self) -> None:
        self.settings_page.fill([self._column(i) for i in self._run_ids],
                                [self._infos[i].config_dict for i in self._run_ids])
        self._fill_summary_table()

    def _fill_summary_table(self) -> None:
        self.summary_page.fill([(self._column(i), summary_row(self._infos[i])) for i in self._run_ids])

    def _update_empty_label(self) -> bool:
        """Show the hint when no run is shown; True when its visibility changed."""
        changed = self.empty_label.isHidden() == (not self._run_ids)
        self.empty_label.setVisible(not self._run_ids)
        return changed

    # -- slots ---------------------------------------------------------------------------------
    def _on_val_loss_toggled(self, _checked: bool) -> None:
        self.canvas.update_all()
        self._settle_ranges()

    def _on_log_toggled(self, _checked: bool) -> None:
        self.loss_plot.setLogMode(y=self.log_loss_check.isChecked())
        self.lr_plot.setLogMode(y=self.log_lr_check.isChecked())
        self._settle_ranges()

    def _on_x_axis_changed(self, _index: int) -> None:
        label = "Wall time (s)" if self.x_axis() == "wall_time" else "Step"
        for plot in self.plot_widgets():
            plot.getPlotItem().setLabel("bottom", label, color=FOREGROUND)
        self.canvas.update_all(auto_range=True)
        self._settle_ranges()

    def _on_loss_zoomed(self, *_args: object) -> None:
        self.canvas.y_zoomed = True
        self._update_loss_label()
