"""The main window: configure on the left, train and compare in the middle, runs below.

Layout::

    ┌ Configure (dock) ┐┌ Train | Compare (tabs) ────────────────────────┐
    │ forms            ││ live plots: loss | LR | accuracy                │
    │ [Start] [Stop]   ││                                                 │
    ├ Schedule preview ┤├ Runs (dock) ─────────────────────────────────────┤
    │ LR curve + pins  ││ filter, table                                   │
    └──────────────────┘└─────────────────────────────────────────────────┘
    status bar: message | step | epoch | elapsed | ETA | progress

The window owns the open :class:`~lrstudio.storage.Store` (it closes it when another database is
opened or the window closes) and one :class:`~lrstudio.gui.controller.TrainingController`.
Closing the window during a run stops the worker and waits for its thread.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QSize, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStyle,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from lrstudio import __version__
from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import DIVERGED, FAILED, RunStarted, RunSummary, StepLogged
from lrstudio.gui import errors
from lrstudio.gui.configure.panel import ConfigPanel
from lrstudio.gui.controller import TrainingController
from lrstudio.gui.settings import Preferences

STATUS_REFRESH_MS = 1000
# The database is polled for changes made by other processes or windows, as TensorBoard polls its
# logdir (issue 9). A poll that finds nothing new is one cheap query (Store.data_version()); one
# that finds a change re-lists the runs. Polls are spaced so that they take at most DB_POLL_BUDGET
# of the GUI thread's time: a big database (or a slow server) is polled less often, never blocking.
DB_POLL_MS = 1000
DB_POLL_BUDGET = 0.05
# A change re-reads only the unfinished and the newest runs (RunsPanel.sync(full=False)); the whole
# list (renames, tags, deletions of finished runs elsewhere) at most this often, and this long after
# the last change at the latest.
DB_FULL_SYNC_S = 10.0


def display_url(url: str) -> str:
    """What the title bar shows for a database: a file path, or the URL without its password."""
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return url[len("sqlite:///"):]
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def format_seconds(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "–"
    s = max(0, int(round(s)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def db_url_from_text(text: str) -> str:
    """A path or URL typed by the user → an SQLAlchemy URL."""
    text = text.strip()
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


class DatabaseDialog(QDialog):
    """Ask for a database: a file (browse) or a URL (``postgresql+psycopg://...``)."""

    def __init__(self, parent: QWidget | None, recent: list[str], current: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Open database")
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.addItems([display_url(u) for u in recent])
        self.combo.setEditText(display_url(current))
        self.combo.setMinimumWidth(460)
        self.combo.lineEdit().setPlaceholderText("a .sqlite file, or a URL such as postgresql+psycopg://user@host/db")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        row = QHBoxLayout()
        row.addWidget(self.combo, 1)
        row.addWidget(browse)
        hint = QLabel("A new file is created if it does not exist. Older lrstudio databases are upgraded "
                      "(a backup copy is kept next to the file).")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Database file or URL:"))
        lay.addLayout(row)
        lay.addWidget(hint)
        lay.addWidget(buttons)

    def url(self) -> str:
        return db_url_from_text(self.combo.currentText())

    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Database file", self.combo.currentText(), "lrstudio databases (*.sqlite *.db);;All files (*)",
            options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.combo.setEditText(path)


def ask_database(parent: QWidget | None, recent: list[str], current: str = "") -> str | None:
    """Modal database chooser; None when cancelled. (Tests replace this function.)"""
    dlg = DatabaseDialog(parent, recent, current)
    if dlg.exec() != QDialog.DialogCode.Accepted or not dlg.combo.currentText().strip():
        return None
    return dlg.url()


class MainWindow(QMainWindow):
    """lrstudio's main window over one open store."""

    database_changed = Signal(str)
    plots_ready = Signal()

    def __init__(self, store: Any, db_url: str, settings: QSettings | None = None,
                 parent: QWidget | None = None, deferred_plots: bool = False) -> None:
        """``deferred_plots``: build the plot widgets (and import pyqtgraph) on the first turn of
        the event loop, after the window is shown; the app does this to show its window sooner."""
        super().__init__(parent)
        self.store = store
        self.db_url = db_url
        self._settings = settings
        self.prefs = Preferences.load(settings)
        if store is not None:
            self.prefs.remember_database(db_url)
        self._prewarm: QThread | None = None
        self._run_name = ""
        self._run_started_at = 0.0
        self._total_steps: int | None = None
        self._steps_per_epoch = 1
        self._epochs: int | None = None
        self._progress_shown_at = 0.0
        self._last_step: StepLogged | None = None
        self._reset_length: tuple[int, int, int] | None = None
        self.last_summary: RunSummary | None = None
        self._closing = False

        self.setObjectName("MainWindow")
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        # The left docks (configure, preview) run the full height; the runs table sits under the plots.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.controller = TrainingController(store, db_url, self)
        self.controller.started.connect(self._on_run_started)
        self.controller.progressed.connect(self._on_run_progressed)
        self.controller.finished.connect(self._on_run_finished)
        self.controller.failed.connect(self._on_run_failed)
        self.controller.running_changed.connect(self._on_running_changed)

        self._build_actions()
        self._build_central()
        self._build_docks()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()

        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_REFRESH_MS)
        self._status_timer.timeout.connect(self._on_status_timer)
        self._db_version: Any = None
        self._db_poll_after = 0.0
        self._db_full_at = 0.0  # when the runs were last listed in full
        self._db_full_due = False  # a partial sync ran since then
        self.db_poll_cost_s = 0.0  # what the last poll that found a change cost the GUI thread
        self._db_timer = QTimer(self)
        self._db_timer.setInterval(DB_POLL_MS)
        self._db_timer.timeout.connect(self.poll_database)

        self.config_panel.validity_changed.connect(self._on_validity_changed)
        self.config_panel.config_changed.connect(self._on_config_changed)
        self._restore_preferences()
        self._update_title()
        self._update_actions()
        if store is not None:
            self.runs_panel.refresh()
            self._watch_database()
        if deferred_plots:
            QTimer.singleShot(0, self._build_plots)
        else:
            self._build_plots()

    # -- construction --------------------------------------------------------------------
    def _build_actions(self) -> None:
        style = self.style()
        self.action_start = QAction(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "&Start", self)
        self.action_start.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.action_start.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.action_start.setToolTip("Start training with the configuration on the left (Ctrl+Enter)")
        self.action_start.triggered.connect(self.start_training)
        self.action_stop = QAction(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "S&top", self)
        self.action_stop.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.action_stop.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.action_stop.setToolTip("Stop the run after the current step; what was logged is kept (Esc)")
        self.action_stop.triggered.connect(self.stop_training)

        self.action_open_db = QAction("&Open database…", self)
        self.action_open_db.setShortcut(QKeySequence.StandardKey.Open)
        self.action_open_db.triggered.connect(self._on_open_database)
        self.action_load_config = QAction("&Load config…", self)
        self.action_load_config.triggered.connect(self._on_load_config)
        self.action_save_config = QAction("&Save config…", self)
        self.action_save_config.setShortcut(QKeySequence.StandardKey.Save)
        self.action_save_config.triggered.connect(self._on_save_config)
        self.action_export_history = QAction("Export selected runs' &history (CSV)…", self)
        self.action_export_history.triggered.connect(self._on_export_history)
        self.action_export_runs = QAction("Export runs &table (CSV)…", self)
        self.action_export_runs.triggered.connect(self._on_export_runs)
        self.action_export_plot = QAction("Export &plot (PNG/SVG)…", self)
        self.action_export_plot.triggered.connect(self._on_export_plot)
        self.action_quit = QAction("&Quit", self)
        self.action_quit.setShortcut(QKeySequence.StandardKey.Quit)
        self.action_quit.triggered.connect(self.close)
        self.action_about = QAction("&About lrstudio", self)
        self.action_about.triggered.connect(self._on_about)

    def _build_central(self) -> None:
        self.live_plots: Any = None  # a LivePlots, once _build_plots() ran
        self.train_page = QWidget()
        QVBoxLayout(self.train_page).setContentsMargins(0, 0, 0, 0)
        self.train_page.layout().addWidget(_loading_label())
        # The compare view is built the first time it is needed (start-up time, bench/bench_gui.py).
        self._compare: Any = None
        self.compare_page = QWidget()
        QVBoxLayout(self.compare_page).setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.train_page, "Train")
        self.tabs.addTab(self.compare_page, "Compare")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.tabs.setTabToolTip(0, "The run in progress (or the last one)")
        self.tabs.setTabToolTip(1, "Select runs in the Runs table to overlay them here")
        self.setCentralWidget(self.tabs)

    @property
    def compare(self) -> Any:
        """The compare view (a ``CompareWidget``), created on first use."""
        if self._compare is None:
            from lrstudio.gui.compare import CompareWidget

            self._compare = CompareWidget(self.store)
            self.compare_page.layout().addWidget(self._compare)
        return self._compare

    def _on_tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.compare_page and self._compare is None:
            self.compare.show_runs(self.runs_panel.selected_run_ids())

    def _build_docks(self) -> None:
        from lrstudio.gui.runs_table import RunsPanel

        self.config_panel = ConfigPanel()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.config_panel)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.config_scroll = scroll
        self.start_button = QPushButton(self.action_start.icon(), "Start")
        self.start_button.setObjectName("startButton")
        self.start_button.setToolTip(self.action_start.toolTip())
        self.start_button.clicked.connect(self.action_start.trigger)
        self.stop_button = QPushButton(self.action_stop.icon(), "Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip(self.action_stop.toolTip())
        self.stop_button.clicked.connect(self.action_stop.trigger)
        self.start_hint = QLabel()
        self.start_hint.setObjectName("startHint")
        self.start_hint.setWordWrap(True)
        self.start_hint.setStyleSheet("color: #c62828;")
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 2)
        buttons.addWidget(self.stop_button, 1)
        holder = QWidget()
        lay = QVBoxLayout(holder)
        lay.setContentsMargins(0, 0, 0, 4)
        lay.setSpacing(4)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.start_hint)
        lay.addLayout(buttons)
        self.config_dock = self._dock("Configure", "configureDock", holder, Qt.DockWidgetArea.LeftDockWidgetArea)

        self.preview: Any = None  # a SchedulePreview, once _build_plots() ran
        self.preview_holder = QWidget()
        QVBoxLayout(self.preview_holder).setContentsMargins(0, 0, 0, 0)
        self.preview_holder.layout().addWidget(_loading_label())
        self.preview_dock = self._dock("Schedule preview", "previewDock", self.preview_holder,
                                       Qt.DockWidgetArea.LeftDockWidgetArea)
        self.splitDockWidget(self.config_dock, self.preview_dock, Qt.Orientation.Vertical)

        self.runs_panel = RunsPanel(self.store)
        self.runs_panel.selection_changed.connect(self._on_runs_selected)
        self.runs_panel.duplicate_requested.connect(self._on_duplicate_requested)
        self.runs_panel.runs_deleted.connect(self._on_runs_deleted)
        self.runs_panel.action_refresh.triggered.connect(self._on_refresh_requested)
        self.runs_dock = self._dock("Runs", "runsDock", self.runs_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.resizeDocks([self.config_dock], [410], Qt.Orientation.Horizontal)
        self.resizeDocks([self.config_dock, self.preview_dock], [600, 300], Qt.Orientation.Vertical)
        self.resizeDocks([self.runs_dock], [250], Qt.Orientation.Vertical)

    def _build_plots(self) -> None:
        """Create the plot widgets (imports pyqtgraph); see ``deferred_plots``."""
        if self.live_plots is not None:
            return
        from lrstudio.gui.configure.preview import SchedulePreview
        from lrstudio.gui.plots.live import LivePlots

        for holder in (self.train_page, self.preview_holder):
            while holder.layout().count():
                widget = holder.layout().takeAt(0).widget()
                if widget is not None:
                    widget.hide()
                    widget.deleteLater()
        self.live_plots = LivePlots()
        self.live_plots.loss_log.setChecked(self.prefs.loss_log_y)
        self.live_plots.lr_log.setChecked(self.prefs.lr_log_y)
        if self.prefs.x_axis in ("step", "epoch", "wall"):
            self.live_plots.set_x_axis(self.prefs.x_axis)
        if 0.0 <= self.prefs.live_smoothing < 1.0:
            self.live_plots.set_smoothing(self.prefs.live_smoothing)
        self.train_page.layout().addWidget(self.live_plots)
        self.preview = SchedulePreview()
        self.preview.fit_requested.connect(self.config_panel.fit_schedule_to_run)
        self.preview_holder.layout().addWidget(self.preview)
        self._on_config_changed()
        self.plots_ready.emit()

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_menus(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        file_menu.addAction(self.action_open_db)
        file_menu.addSeparator()
        file_menu.addAction(self.action_load_config)
        file_menu.addAction(self.action_save_config)
        file_menu.addSeparator()
        file_menu.addAction(self.action_export_history)
        file_menu.addAction(self.action_export_runs)
        file_menu.addAction(self.action_export_plot)
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        run_menu = mb.addMenu("&Run")
        run_menu.addAction(self.action_start)
        run_menu.addAction(self.action_stop)
        view_menu = mb.addMenu("&View")
        for dock in (self.config_dock, self.preview_dock, self.runs_dock):
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        show_train = view_menu.addAction("Train tab")
        show_train.setShortcut(QKeySequence("Ctrl+1"))
        show_train.triggered.connect(lambda: self.tabs.setCurrentIndex(0))
        show_compare = view_menu.addAction("Compare tab")
        show_compare.setShortcut(QKeySequence("Ctrl+2"))
        show_compare.triggered.connect(lambda: self.tabs.setCurrentIndex(1))
        help_menu = mb.addMenu("&Help")
        help_menu.addAction(self.action_about)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Training")
        tb.setObjectName("trainingToolBar")
        tb.setIconSize(QSize(18, 18))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.setMovable(False)
        tb.addAction(self.action_start)
        tb.addAction(self.action_stop)
        tb.addSeparator()
        self.toolbar_db_label = QLabel()
        self.toolbar_db_label.setStyleSheet("color: #555; padding-left: 6px;")
        tb.addWidget(self.toolbar_db_label)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.step_label = QLabel("Step –")
        self.epoch_label = QLabel("Epoch –")
        self.elapsed_label = QLabel("Elapsed –")
        self.eta_label = QLabel("ETA –")
        for lab in (self.step_label, self.epoch_label, self.elapsed_label, self.eta_label):
            lab.setMinimumWidth(90)
            sb.addPermanentWidget(lab)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        sb.addPermanentWidget(self.progress)
        sb.showMessage("Ready")

    # -- preferences -----------------------------------------------------------------------
    def _restore_preferences(self) -> None:
        if self.prefs.geometry:
            self.restoreGeometry(self.prefs.geometry)
        else:
            self.resize(1400, 900)
        if self.prefs.window_state:
            self.restoreState(self.prefs.window_state)
        if self.prefs.last_config_json:
            try:
                self.config_panel.set_config(RunConfig.from_json(self.prefs.last_config_json))
            except (LrstudioError, ValueError, TypeError):
                pass  # an unreadable saved form is simply not restored

    def save_preferences(self) -> None:
        p = self.prefs
        p.geometry = bytes(self.saveGeometry().data())
        p.window_state = bytes(self.saveState().data())
        p.last_config_json = self.config_panel.config().to_json(indent=None)
        if self.live_plots is not None:
            p.loss_log_y = self.live_plots.loss_log.isChecked()
            p.lr_log_y = self.live_plots.lr_log.isChecked()
            p.x_axis = self.live_plots.x_axis
            p.live_smoothing = self.live_plots.smoothing
        p.save(self._settings)

    # -- training ----------------------------------------------------------------------------
    def start_training(self) -> int | None:
        """Start a run with the form's configuration; returns its id (None if not started)."""
        if self.controller.is_running():
            return None
        if not self.config_panel.is_valid():
            self.statusBar().showMessage("Fix the marked fields first.", 5000)
            return None
        cfg = self.config_panel.config()
        try:
            run_id = self.controller.start(cfg)
        except LrstudioError as exc:
            errors.show_error(self, exc, context="The run could not start.")
            return None
        self.config_panel.clear_run_name()  # a typed name names this run only (issue 9)
        return run_id

    def stop_training(self) -> None:
        if self.controller.is_running():
            self.controller.stop()
            self.statusBar().showMessage("Stopping after the current step…")
            self._update_actions()

    def _on_run_started(self, run_id: int) -> None:
        cfg = self.controller.config
        self._run_started_at = time.monotonic()
        self._last_step = None
        self._total_steps = None
        self.last_summary = None
        title = f"Run {run_id}"
        try:
            info = self.store.get_run(run_id)
            from lrstudio.gui.runs_table import display_text

            self._run_name = display_text(info.name)  # shown in the plots' title and the status bar
            title = f"{self._run_name}  ·  {cfg.describe() if cfg else ''}"
        except LrstudioError:
            self._run_name = f"run {run_id}"
        # The run's length (and so the planned LR curve and the x-range) is known here when the
        # data set is cached (prewarm, or an earlier run): then the plots are reset once, not again
        # when the worker's RunStarted arrives (each reset redraws every plot, with new axes).
        length = self._expected_length(cfg)
        planned, per_epoch = None, 1
        if length is not None:
            self._total_steps, per_epoch, self._epochs = length[0] or None, length[1], length[2] or None
            self._steps_per_epoch = max(1, per_epoch)
            planned = self._planned_lr(length[0], length[2])
        self._reset_length = length
        from lrstudio.core.compare import loss_kind

        self.live_plots.reset(title=title, classifier=(cfg is not None and cfg.model == "cnn"),
                              planned=planned, steps_per_epoch=per_epoch,
                              loss_kind=loss_kind(cfg.to_dict()) if cfg is not None else None)
        self.tabs.setCurrentWidget(self.train_page)
        self.runs_panel.refresh_run(run_id)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.statusBar().showMessage(f"Training {self._run_name}…")
        self._status_timer.start()

    def _on_run_progressed(self, batch: list) -> None:
        for ev in batch:
            if isinstance(ev, RunStarted):
                self._total_steps = ev.total_steps or None
                self._steps_per_epoch = max(1, ev.steps_per_epoch)
                self._epochs = ev.epochs or None
                if self._reset_length != (ev.total_steps, ev.steps_per_epoch, ev.epochs):
                    self.live_plots.reset(planned=self._planned_lr(ev.total_steps, ev.epochs),
                                          steps_per_epoch=self._steps_per_epoch)
        self.live_plots.append_events(batch)
        for ev in reversed(batch):
            if isinstance(ev, StepLogged):
                self._last_step = ev
                break
        # The status bar repaints cost GUI time while the worker competes for the GIL: ≤ 4 Hz.
        now = time.monotonic()
        if now - self._progress_shown_at >= 0.25:
            self._progress_shown_at = now
            self._update_progress()
        if self._compare is not None and self.controller.run_id is not None:
            self._compare.invalidate_soon([self.controller.run_id])  # throttled there

    def _planned_lr(self, total_steps: int, epochs: int) -> Any:
        cfg = self.controller.config
        if cfg is None or not total_steps:
            return None
        try:
            import numpy as np

            from lrstudio.core.schedules import lr_curve

            if cfg.schedule_unit == "epoch":
                per_epoch = lr_curve(cfg.schedule, max(1, epochs), cfg.lr)
                return np.repeat(per_epoch, self._steps_per_epoch)[:total_steps]
            return lr_curve(cfg.schedule, total_steps, cfg.lr)
        except (LrstudioError, ValueError):
            return None

    def _expected_length(self, cfg: RunConfig | None) -> tuple[int, int, int] | None:
        """``(total_steps, steps_per_epoch, epochs)`` of ``cfg`` if its data set is already loaded
        (no loading here: the GUI thread must not parse data); None otherwise."""
        if cfg is None:
            return None
        from lrstudio.core.plan import run_length
        from lrstudio.gui.controller import cached_dataset

        try:
            ds = cached_dataset(cfg, load=False)
            if ds is None or ds.n_train < 1:
                return None
            spe, total, epochs = run_length(ds.n_train, cfg.batch_size, cfg.epochs, cfg.max_steps)
            return total, spe, epochs
        except (LrstudioError, ValueError, TypeError):
            return None

    def _update_progress(self) -> None:
        ev = self._last_step
        if ev is None:
            return
        total = self._total_steps
        self.step_label.setText(f"Step {ev.step:,}" + (f" / {total:,}" if total else ""))
        self.epoch_label.setText(f"Epoch {ev.epoch + 1}" + (f" / {self._epochs}" if self._epochs else ""))
        self.elapsed_label.setText(f"Elapsed {format_seconds(ev.wall_time)}")
        if total:
            frac = min(1.0, ev.step / total)
            self.progress.setValue(int(round(frac * 100)))
            eta = ev.wall_time / ev.step * (total - ev.step) if ev.step else None
            self.eta_label.setText(f"ETA {format_seconds(eta)}")

    def _on_status_timer(self) -> None:
        run_id = self.controller.run_id
        if run_id is not None and self.controller.is_running():
            self.runs_panel.refresh_run(run_id)
            if self._last_step is None:
                self.elapsed_label.setText(
                    f"Elapsed {format_seconds(time.monotonic() - self._run_started_at)}")

    def _on_run_finished(self, summary: RunSummary) -> None:
        self._status_timer.stop()
        self.last_summary = summary
        self._update_progress()
        run_id = self.controller.run_id
        # The last points are drawn by the plots' timer, one plot per frame (live_plots).
        self.live_plots.mark_finished(summary)
        if run_id is not None:
            self.runs_panel.refresh_run(run_id)
            if self._compare is not None:
                self._compare.invalidate([run_id])
        self.eta_label.setText("ETA –")
        text = _summary_text(self._run_name, summary)
        if summary.status == "completed":
            self.progress.setValue(100)
        self.progress.setFormat(f"{summary.status} · %p%")
        self.statusBar().showMessage(text)
        if summary.status == FAILED and not self._closing:
            errors.show_error(self, summary.error or "unknown error", context=f"Run {self._run_name} failed.")

    def _on_run_failed(self, exc: BaseException) -> None:
        self._status_timer.stop()
        run_id = self.controller.run_id
        if run_id is not None:
            self.runs_panel.refresh_run(run_id)
            if self._compare is not None:
                self._compare.invalidate([run_id])
        self.statusBar().showMessage(f"Run {self._run_name} failed: {exc}")
        if not self._closing:
            errors.show_error(self, exc, context=f"Run {self._run_name} failed.")

    def _on_running_changed(self, _running: bool) -> None:
        self._update_actions()

    # -- config ----------------------------------------------------------------------------
    def _on_validity_changed(self, _valid: bool) -> None:
        self._update_actions()

    def _on_config_changed(self) -> None:
        if self.preview is not None:
            spec, lr, steps, note = self.config_panel.preview_args()
            self.preview.set_schedule(spec, lr, steps, note)
            self.preview.set_fit(self.config_panel.fit_warnings(), self.config_panel.can_fit())
        if self.live_plots is not None and self.controller.run_id is None and self.config_panel.is_valid():
            # Before the first run, lay the plots out for the form's model now (idle time): the
            # accuracy plot appearing at Start re-laid out and repainted all plots in one ~25 ms
            # frame, on top of the Start itself.
            self.live_plots.show_accuracy(self.config_panel.config().model == "cnn")
        self._update_actions()

    def _update_actions(self) -> None:
        running = self.controller.is_running()
        valid = self.config_panel.is_valid()
        can_start = valid and not running and self.store is not None and self.live_plots is not None
        for w in (self.action_start, self.start_button):
            w.setEnabled(can_start)
        stoppable = running and not self.controller.stop_requested
        for w in (self.action_stop, self.stop_button):
            w.setEnabled(stoppable)
        self.action_open_db.setEnabled(not running)
        for action in (self.action_export_history, self.action_export_runs):
            action.setEnabled(self.store is not None)
        if not valid:
            errs = self.config_panel.errors()
            first = next(iter(errs.values()), "")
            self.start_hint.setText(f"Start is disabled: {first}" if first else "Start is disabled: fix the "
                                    "marked fields.")
        self.start_hint.setVisible(not valid)

    def _on_duplicate_requested(self, config: RunConfig) -> None:
        if not self.config_panel.try_set_config(config, "This run's configuration cannot be copied into the form."):
            return
        self.config_dock.show()
        self.statusBar().showMessage("Configuration copied into the form.", 4000)

    def _on_load_config(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load configuration", "", "JSON (*.json);;All files (*)")
        if path:
            self.load_config(path)

    def load_config(self, path: str | Path) -> bool:
        try:
            cfg = RunConfig.from_file(path)  # as the CLI reads it: UTF-8 (a BOM allowed), named errors
        except (LrstudioError, ValueError, TypeError) as exc:
            errors.show_error(self, exc if isinstance(exc, LrstudioError) else str(exc),
                              context=f"{Path(path).name} is not a usable lrstudio configuration.")
            return False
        if not self.config_panel.try_set_config(cfg, f"{Path(path).name} is not a usable lrstudio configuration."):
            return False
        self.statusBar().showMessage(f"Loaded {path}", 4000)
        return True

    def _on_save_config(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save configuration", "run-config.json",
                                              "JSON (*.json);;All files (*)")
        if path:
            self.save_config(path)

    def save_config(self, path: str | Path) -> bool:
        try:
            Path(path).write_text(self.config_panel.config().to_json() + "\n", encoding="utf-8")
        except OSError as exc:
            errors.show_error(self, f"Cannot write {path}: {exc.strerror or exc}")
            return False
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    # -- runs / compare --------------------------------------------------------------------
    def _on_runs_selected(self, run_ids: list) -> None:
        if not run_ids and self._compare is None:
            return
        self.compare.show_runs(list(run_ids))
        if len(run_ids) >= 2 and self.tabs.currentWidget() is self.train_page and not self.controller.is_running():
            self.tabs.setCurrentWidget(self.compare_page)

    def _watch_database(self) -> None:
        """Start polling the open store; what is listed now is the baseline."""
        self._db_version = self._read_db_version()
        self._db_poll_after = 0.0
        self._db_full_at = time.monotonic()  # the runs panel has just listed every run
        self._db_full_due = False
        self._db_timer.start()

    def _read_db_version(self) -> Any:
        version = getattr(self.store, "data_version", None)
        if version is None:
            return None
        try:
            return version()
        except LrstudioError:
            return None  # not readable right now (locked, server gone): try again next time

    def poll_database(self) -> bool:
        """Take in what other processes wrote since the last poll; True if something changed.

        The runs table is merged in place (selection, scroll position and sorting stay), and runs
        shown in Compare that changed or are still running are reloaded there.
        """
        if self.store is None or self._closing:
            return False
        now = time.monotonic()
        if now < self._db_poll_after:
            return False
        version = self._read_db_version()
        full = now - self._db_full_at >= DB_FULL_SYNC_S
        if version is None or version == self._db_version:
            if not (self._db_full_due and full):
                return False
        else:
            self._db_version = version
        t0 = time.perf_counter()
        changed = self.runs_panel.sync(full=full)
        if changed is not None:
            if full:
                self._db_full_at, self._db_full_due = now, False
            else:
                self._db_full_due = True
        if changed is not None and self._compare is not None:
            # Reload compared runs that changed or still grow (their points are not in the table's
            # change set: a recorder refreshes the run row only every few seconds). This window's
            # own run is reloaded on its progress already.
            own = self.controller.run_id if self.controller.is_running() else None
            model = self.runs_panel.model
            live = [i for i in self._compare.run_ids() if i != own and (
                i in changed or (model.row_of(i) >= 0 and not model.run_at(model.row_of(i)).is_finished))]
            if live:
                self._compare.invalidate_soon(live)  # at most 1/s, and not while Compare is hidden
        cost = time.perf_counter() - t0
        self.db_poll_cost_s = cost
        self._db_poll_after = now + cost / DB_POLL_BUDGET - DB_POLL_MS / 1000
        return True

    def _on_refresh_requested(self) -> None:
        """Refresh re-reads the compared runs' points too (the runs table re-read itself)."""
        if self._compare is not None:
            self._compare.invalidate()

    def _on_runs_deleted(self, run_ids: list) -> None:
        if self._compare is not None:
            self.compare.show_runs(self.runs_panel.selected_run_ids())

    # -- exports ---------------------------------------------------------------------------
    def _on_export_history(self) -> None:
        from lrstudio.gui.export import export_history_dialog

        ids = self.runs_panel.selected_run_ids()
        if not ids:
            QMessageBox.information(self, "Export history", "Select one or more runs in the Runs table first.")
            return
        export_history_dialog(self, self.store, ids)

    def _on_export_runs(self) -> None:
        from lrstudio.gui.export import export_runs_table_dialog

        export_runs_table_dialog(self, self.store)

    def current_plot_widgets(self) -> list[tuple[str, Any]]:
        if self.tabs.currentWidget() is self.compare_page:
            widgets = self.compare.plot_widgets()
            return [(w.getPlotItem().titleLabel.text or f"Plot {i + 1}", w) for i, w in enumerate(widgets)]
        return self.live_plots.plot_widgets() if self.live_plots is not None else []

    def _on_export_plot(self) -> None:
        from lrstudio.gui.export import export_plot_dialog

        plots = self.current_plot_widgets()
        if not plots:
            return
        widget = plots[0][1]
        if len(plots) > 1:
            names = [_plain(name) for name, _ in plots]
            name, ok = QInputDialog.getItem(self, "Export plot", "Which plot?", names, 0, False)
            if not ok:
                return
            widget = plots[names.index(name)][1]
        export_plot_dialog(self, widget)

    # -- database --------------------------------------------------------------------------
    def _on_open_database(self) -> None:
        url = ask_database(self, self.prefs.recent_databases, self.db_url)
        if url:
            self.open_database(url)

    def open_database(self, url: str) -> bool:
        """Switch to another database; on failure keep the current one and say why."""
        if self.controller.is_running():
            errors.show_error(self, "Stop the run before opening another database.")
            return False
        from lrstudio.storage import open_store

        try:
            store = open_store(url)
        except LrstudioError as exc:
            errors.show_error(self, exc, context=f"Cannot open {display_url(url)}.")
            return False
        old = self.store
        self.attach_store(store, url)
        if old is not None and old is not store:
            old.close()
        self.statusBar().showMessage(f"Opened {display_url(url)}", 5000)
        return True

    def attach_store(self, store: Any, url: str) -> None:
        """Use ``store`` (already open) from now on; the window may start without one."""
        self.store, self.db_url = store, url
        self.controller.set_store(store, url)
        self.runs_panel.set_store(store)
        self._watch_database()
        if self._compare is not None:
            self._compare.set_store(store)
            self._compare.show_runs([])
        self.prefs.remember_database(url)
        self._update_title()
        self._update_actions()
        self.database_changed.emit(url)

    def _update_title(self) -> None:
        shown = display_url(self.db_url)
        if self.store is None:
            self.setWindowTitle(f"lrstudio — opening {shown}…")
            self.toolbar_db_label.setText(f"Opening {shown}…")
            return
        self.setWindowTitle(f"lrstudio — {shown}")
        self.toolbar_db_label.setText(f"Database: {shown}")
        self.toolbar_db_label.setToolTip(shown)

    def _on_about(self) -> None:
        QMessageBox.about(
            self, "About lrstudio",
            f"<h3>lrstudio {__version__}</h3><p>A desktop lab for learning rates: schedules, optimizers, "
            "live training plots and saved runs.</p><p>PySide6 · pyqtgraph · PyTorch · SQLAlchemy</p>")

    # -- warm-up ---------------------------------------------------------------------------
    def prewarm_training(self) -> None:
        """Import torch and load the form's data set in the background once the window is up.

        Importing torch takes a second or more and parsing a data set holds the GIL for a few
        hundred ms; done here, at idle time after start-up, the first press of Start does not
        pay for either while the user watches the plots.
        """
        if self._prewarm is not None:
            return
        cfg = self.config_panel.config() if self.config_panel.is_valid() else None
        thread = _PrewarmThread(cfg, self)
        thread.setObjectName("lrstudio-prewarm")
        self._prewarm = thread
        thread.start(QThread.Priority.LowPriority)

    def wait_for_background_work(self) -> None:
        """Wait for the warm-up thread (an import cannot be interrupted; it ends within seconds)."""
        if self._prewarm is not None:
            self._prewarm.wait()

    # -- closing ---------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        self._closing = True
        if self.controller.is_running():
            self.statusBar().showMessage("Stopping the run…")
            if not self.controller.shutdown():
                errors.show_error(self, "The training thread did not stop; try closing again.")
                self._closing = False
                event.ignore()
                return
        self._status_timer.stop()
        self._db_timer.stop()
        self.wait_for_background_work()
        try:
            self.save_preferences()
        except Exception as exc:
            print(f"lrstudio: could not save preferences: {exc}")
        if self.store is not None:
            self.store.close()
            self.store = None
        event.accept()
        super().closeEvent(event)


def _loading_label() -> QLabel:
    label = QLabel("Loading…")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("color: #888;")
    return label


class _PrewarmThread(QThread):
    def __init__(self, config: RunConfig | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._config = config

    def run(self) -> None:
        from lrstudio.gui.controller import prewarm

        prewarm(self._config)


def _plain(html: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", html).strip()


def _summary_text(name: str, s: RunSummary) -> str:
    parts = [f"Run {name} {s.status}: {s.steps:,} steps in {format_seconds(s.duration_s)}"]
    if s.final_loss is not None and math.isfinite(s.final_loss):
        parts.append(f"final loss {s.final_loss:.4g}")
    if s.best_val_loss is not None:
        parts.append(f"best val loss {s.best_val_loss:.4g}")
    if s.best_accuracy is not None:
        parts.append(f"best accuracy {s.best_accuracy:.1%}")
    if s.status == DIVERGED and s.diverged_step:
        parts.append(f"diverged at step {s.diverged_step}")
    if s.error:
        parts.append(s.error)
    return " · ".join(parts)


def app_icon() -> QIcon:
    from lrstudio.paths import resources_dir

    try:
        path = resources_dir() / "icons" / "lrstudio.svg"
    except FileNotFoundError:
        return QIcon()
    return QIcon(str(path)) if path.exists() else QIcon()
