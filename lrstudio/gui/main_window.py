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

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from lrstudio import __version__
from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import RunSummary
from lrstudio.gui.actions import action, run_actions
from lrstudio.gui.compare.page import ComparePage
from lrstudio.gui.configure.dock import ConfigureDock
from lrstudio.gui.controller import TrainingController
from lrstudio.gui.database import DatabaseWatcher, ask_database, display_url, open_store_or_say_why
from lrstudio.gui.dialogs import errors
from lrstudio.gui.playground import PlaygroundPage
from lrstudio.gui.plots.train_tab import TrainTab, clear_layout, loading_label
from lrstudio.gui.run_status import RunStatus
from lrstudio.gui.settings import Preferences
from lrstudio.gui.sweeps import QueueButton, RunQueue, SweepPage
from lrstudio.services.live_run import LiveRun

if TYPE_CHECKING:  # the plot modules import pyqtgraph, built after the window shows (deferred_plots)
    import pyqtgraph as pg

    from lrstudio.core.runs import RunStore
    from lrstudio.gui.compare.widget import CompareWidget
    from lrstudio.gui.configure.preview import SchedulePreview
    from lrstudio.gui.lr_finder.dialog import LrFinderDialog
    from lrstudio.gui.plots.live import LivePlots

class MainWindow(QMainWindow):
    """lrstudio's main window over one open store."""

    database_changed = Signal(str)
    plots_ready = Signal()

    def __init__(self, store: RunStore | None, db_url: str, settings: QSettings | None = None,
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
        self.live_run = LiveRun()  # the run in progress (or the last one): the status bar and the plots read it
        self.run_status = RunStatus(self.statusBar(), self.live_run)
        self.step_label, self.progress = self.run_status.step_label, self.run_status.progress
        self._closing = False

        self.setObjectName("MainWindow")
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        # The left docks (configure, preview) run the full height; the runs table sits under the plots.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.controller = TrainingController(store, db_url, self)
        self.controller.running_changed.connect(self._on_running_changed)
        self.run_queue = RunQueue(self)  # Start during a run queues the form's config (issue 13)

        self._build_actions()
        self._build_central()
        self._build_docks()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()

        self.train_page.store = store
        self.train_page.started.connect(lambda _run_id: self.tabs.setCurrentWidget(self.train_page))
        self.train_page.touched.connect(self.runs_panel.refresh_run)
        self.train_page.grew.connect(self._on_run_grew)
        self.train_page.ended.connect(self._on_run_ended)
        self.db_watcher = DatabaseWatcher(self._sync_runs, self._on_database_changed, self)

        self.config_panel.validity_changed.connect(self._on_validity_changed)
        self.config_panel.config_changed.connect(self._on_config_changed)
        self.config_panel.find_lr_requested.connect(self.find_lr)
        self.lr_finder: LrFinderDialog | None = None
        self._restore_preferences()
        self._update_title()
        self._update_actions()
        if store is not None:
            self.runs_panel.refresh()
            self.db_watcher.watch(store)
        if deferred_plots:
            QTimer.singleShot(0, self._build_plots)
        else:
            self._build_plots()

    # -- construction --------------------------------------------------------------------
    def _build_actions(self) -> None:
        self.action_start, self.action_stop = run_actions(self, self.start_training, self.stop_training)
        self.action_open_db = action(self, "&Open database…", self._on_open_database, QKeySequence.StandardKey.Open)
        self.action_load_config = action(self, "&Load config…", self._on_load_config)
        self.action_save_config = action(self, "&Save config…", self._on_save_config, QKeySequence.StandardKey.Save)
        self.action_export_history = action(self, "Export selected runs' &history (CSV)…", self._on_export_history)
        self.action_export_runs = action(self, "Export runs &table (CSV)…", self._on_export_runs)
        self.action_export_plot = action(self, "Export &plot (PNG/SVG)…", self._on_export_plot)
        self.action_copy_code = action(self, "&Copy schedule as PyTorch code", self._on_copy_code)
        self.action_copy_code.setEnabled(False)  # until the preview drew a schedule
        self.action_copy_code.setToolTip("The form's schedule as a torch.optim.lr_scheduler snippet, on the "
                                         "clipboard (the preview's button, also with its dock closed)")
        self.action_quit = action(self, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        if self.action_quit.shortcut().isEmpty():  # the platform has no standard Quit key (plain X11)
            self.action_quit.setShortcut(QKeySequence("Ctrl+Q"))
        self.action_about = action(self, "&About lrstudio", self._on_about)
        self.action_find_lr = action(self, "Find &LR…", self.find_lr)
        self.action_find_lr.setShortcut(QKeySequence("Ctrl+L"))
        self.action_find_lr.setToolTip("LR range test on the form's configuration (issue 12)")

    def _build_central(self) -> None:
        self.train_page = TrainTab(self.live_run, self.run_status, self.controller)
        # The compare view is built the first time it is needed (start-up time, bench/bench_gui.py).
        self.compare_page = ComparePage(self.store, self._run_is_finished)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.train_page, "Train")
        self.tabs.addTab(self.compare_page, "Compare")
        self.playground_page = PlaygroundPage(self.store)  # built when first shown (issue 16)
        self.playground_page.runs_saved.connect(lambda ids: self.runs_panel.refresh())
        self.tabs.addTab(self.playground_page, "Playground")
        self.tabs.setTabToolTip(2, "Optimizers on test functions: d2l's pictures, saved as runs")
        self.sweeps_page = SweepPage(self.store, self.db_url, self._form_config, self._apply_trial_config)  # issue 13
        self.tabs.addTab(self.sweeps_page, "Sweeps")
        self.tabs.setTabToolTip(3, "Sweeps over the Configure form's run: trials in worker processes, results")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.tabs.setTabToolTip(0, "The run in progress (or the last one)")
        self.tabs.setTabToolTip(1, "Select runs in the Runs table to overlay them here")
        self.setCentralWidget(self.tabs)

    @property
    def compare(self) -> CompareWidget:
        """The compare view (a ``CompareWidget``), created on first use."""
        return self.compare_page.view

    def _on_tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.compare_page and not self.compare_page.built:
            self.compare.show_runs(self.runs_panel.selected_run_ids())

    def _run_is_finished(self, run_id: int) -> bool:
        """Whether the runs table knows ``run_id`` as ended (a run it does not list counts as ended)."""
        model = self.runs_panel.model
        row = model.row_of(run_id)
        return row < 0 or model.run_at(row).is_finished

    def _build_docks(self) -> None:
        from lrstudio.gui.runs import RunsPanel

        self.configure = ConfigureDock(self.action_start, self.action_stop)
        self.config_panel = self.configure.config_panel
        self.config_scroll = self.configure.config_scroll
        self.start_button, self.stop_button = self.configure.start_button, self.configure.stop_button
        self.start_hint = self.configure.start_hint
        self.config_dock = self._dock("Configure", "configureDock", self.configure, Qt.DockWidgetArea.LeftDockWidgetArea)

        self.preview: SchedulePreview | None = None  # once _build_plots() ran
        self.preview_holder = QWidget()
        QVBoxLayout(self.preview_holder).setContentsMargins(0, 0, 0, 0)
        self.preview_holder.layout().addWidget(loading_label())
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
        if self.train_page.live_plots is not None:
            return
        from lrstudio.gui.configure.preview import SchedulePreview

        self.train_page.build_plots(self.prefs)
        clear_layout(self.preview_holder)
        self.preview = SchedulePreview()
        self.preview.fit_requested.connect(self.config_panel.fit_schedule_to_run)
        self.preview.curve_updated.connect(
            lambda: self.action_copy_code.setEnabled(self.preview is not None and self.preview.copy_code_button.isEnabled()))
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
        file_menu.addAction(self.action_copy_code)
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        run_menu = mb.addMenu("&Run")
        run_menu.addAction(self.action_start)
        run_menu.addAction(self.action_stop)
        run_menu.addSeparator()
        run_menu.addAction(self.action_find_lr)
        view_menu = mb.addMenu("&View")
        for dock in (self.config_dock, self.preview_dock, self.runs_dock):
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        for index in range(self.tabs.count()):  # Ctrl+1 .. Ctrl+4: Train, Compare, Playground, Sweeps
            show_tab = view_menu.addAction(f"{self.tabs.tabText(index)} tab")
            show_tab.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            show_tab.triggered.connect(lambda _checked=False, i=index: self.tabs.setCurrentIndex(i))
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
        self.toolbar_db_label.setObjectName("toolbarDatabase")
        tb.addWidget(self.toolbar_db_label)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

    def _build_status_bar(self) -> None:
        self.statusBar().showMessage("Ready")
        self.queue_button = QueueButton(self.run_queue)
        self.statusBar().addPermanentWidget(self.queue_button)

    # -- preferences -----------------------------------------------------------------------
    def _restore_preferences(self) -> None:
        self.prefs.restore_window(self, default_size=(1400, 900))
        if self.prefs.last_config_json:
            with contextlib.suppress(LrstudioError, ValueError, TypeError):  # an unreadable form is not restored
                self.config_panel.set_config(RunConfig.from_json(self.prefs.last_config_json))

    def save_preferences(self) -> None:
        self.prefs.remember_window(self)
        self.prefs.last_config_json = self.config_panel.config().to_json(indent=None)
        self.train_page.save_preferences(self.prefs)
        self.prefs.save(self._settings)

    # -- training ----------------------------------------------------------------------------
    def start_training(self) -> int | None:
        """Start a run with the form's configuration; returns its id (None if not started). During a
        run the configuration is queued instead and starts when the runs before it ended (issue 13)."""
        if self.lr_finder is not None and self.lr_finder.is_running():
            return None
        if not self.config_panel.is_valid():
            self.statusBar().showMessage("Fix the marked fields first.", 5000)
            return None
        cfg = self.config_panel.config()
        if self.controller.is_running() or self.run_queue:
            place = self.run_queue.add(cfg)
            self.config_panel.clear_run_name()
            self.statusBar().showMessage(f"Queued: starts when the {'run' if place == 1 else 'runs'} before it "
                                         "ended.", 5000)
            return None
        try:
            run_id = self.controller.start(cfg)
        except LrstudioError as exc:
            errors.show_error(self, exc, context="The run could not start.")
            return None
        self.config_panel.clear_run_name()  # a typed name names this run only (issue 9)
        return run_id

    def find_lr(self) -> LrFinderDialog | None:
        """Open Find LR (an LR range test) on the form's configuration (issue 12)."""
        from lrstudio.gui.lr_finder.dialog import open_lr_finder

        return open_lr_finder(self)

    def stop_training(self) -> None:
        if self.controller.is_running():
            self.controller.stop()
            self.statusBar().showMessage("Stopping after the current step…")
            self._update_actions()

    def _on_run_grew(self, run_id: int) -> None:
        self.compare_page.run_grew(run_id)

    @property
    def live_plots(self) -> LivePlots | None:
        """The Train tab's plots (None until they are built, see ``deferred_plots``)."""
        return self.train_page.live_plots

    @property
    def last_summary(self) -> RunSummary | None:
        return self.live_run.summary

    def _on_run_ended(self, run_id: int) -> None:
        """Re-read the run that ended in the runs table and in Compare."""
        self.runs_panel.refresh_run(run_id)
        self.compare_page.run_ended(run_id)

    def _on_running_changed(self, running: bool) -> None:
        self._update_actions()
        if not running and self.run_queue and not self._closing:
            QTimer.singleShot(0, self._start_next_queued)

    def _start_next_queued(self) -> None:
        """Start the first queued config (issue 13); one that cannot start is reported and skipped."""
        while not self.controller.is_running() and not self._closing:
            cfg = self.run_queue.take_next()
            if cfg is None:
                return
            try:
                self.controller.start(cfg)
            except LrstudioError as exc:
                errors.show_error(self, exc, context="A queued run could not start; the next one starts.")

    # -- sweeps (issue 13) -------------------------------------------------------------------
    def _form_config(self) -> RunConfig | None:
        """The Configure form's run config, or None while a field is wrong (the sweep panel's base)."""
        return self.config_panel.config() if self.config_panel.is_valid() else None

    def _apply_trial_config(self, config: RunConfig) -> bool:
        """Put a sweep trial's config into the Configure form ("apply this config")."""
        if not self.config_panel.try_set_config(config, "This trial's configuration cannot be put into the form."):
            return False
        self.config_dock.show()
        self.statusBar().showMessage("The trial's configuration is in the form.", 4000)
        return True

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
        self.sweeps_page.config_changed()
        self._update_actions()

    def _update_actions(self) -> None:
        running = self.controller.is_running()
        valid = self.configure.show_validity()
        can_start = valid and not running and self.store is not None and self.live_plots is not None
        for w in (self.action_find_lr, self.config_panel.find_lr_button):
            w.setEnabled(can_start)
        can_queue = valid and self.store is not None and self.live_plots is not None  # issue 13: queue
        for w in (self.action_start, self.start_button):
            w.setEnabled(can_queue)
        self.action_start.setText("&Queue" if running else "&Start")
        self.start_button.setText("Queue" if running else "Start")
        stoppable = running and not self.controller.stop_requested
        for w in (self.action_stop, self.stop_button):
            w.setEnabled(stoppable)
        self.action_open_db.setEnabled(not running)
        for act in (self.action_export_history, self.action_export_runs):
            act.setEnabled(self.store is not None)

    def _on_duplicate_requested(self, config: RunConfig) -> None:
        if not self.config_panel.try_set_config(config, "This run's configuration cannot be copied into the form."):
            return
        self.config_dock.show()
        self.statusBar().showMessage("Configuration copied into the form.", 4000)

    def _on_load_config(self) -> None:
        path = self.configure.ask_load_config()
        if path:
            self.statusBar().showMessage(f"Loaded {path}", 4000)

    def load_config(self, path: str | Path) -> bool:
        ok = self.configure.load_config(path)
        if ok:
            self.statusBar().showMessage(f"Loaded {path}", 4000)
        return ok

    def _on_save_config(self) -> None:
        path = self.configure.ask_save_config()
        if path:
            self.statusBar().showMessage(f"Saved {path}", 4000)

    def save_config(self, path: str | Path) -> bool:
        ok = self.configure.save_config(path)
        if ok:
            self.statusBar().showMessage(f"Saved {path}", 4000)
        return ok

    # -- runs / compare --------------------------------------------------------------------
    def _on_runs_selected(self, run_ids: list) -> None:
        self.compare_page.show_runs(list(run_ids))
        if len(run_ids) >= 2 and self.tabs.currentWidget() is self.train_page and not self.controller.is_running():
            self.tabs.setCurrentWidget(self.compare_page)

    def poll_database(self) -> bool:
        """Take in what other processes wrote since the last poll; True if something changed.

        The runs table is merged in place (selection, scroll position and sorting stay), and runs
        shown in Compare that changed or are still running are reloaded there.
        """
        return False if self._closing else self.db_watcher.poll()

    def _sync_runs(self, full: bool) -> set[int] | None:
        return self.runs_panel.sync(full=full)

    def _on_database_changed(self, changed: set[int]) -> None:
        own = self.controller.run_id if self.controller.is_running() else None
        self.compare_page.database_changed(changed, own)
        self.sweeps_page.database_changed()

    def _on_refresh_requested(self) -> None:
        """Refresh re-reads the compared runs' points too (the runs table re-read itself)."""
        self.compare_page.refresh()

    def _on_runs_deleted(self, run_ids: list) -> None:
        if self.compare_page.built:
            self.compare.show_runs(self.runs_panel.selected_run_ids())

    # -- exports ---------------------------------------------------------------------------
    def _on_export_history(self) -> None:
        from lrstudio.gui.dialogs.export import export_history_dialog

        ids = self.runs_panel.selected_run_ids()
        if not ids:
            QMessageBox.information(self, "Export history", "Select one or more runs in the Runs table first.")
            return
        export_history_dialog(self, self.store, ids)

    def _on_export_runs(self) -> None:
        from lrstudio.gui.dialogs.export import export_runs_table_dialog

        export_runs_table_dialog(self, self.store)

    def current_plot_widgets(self) -> list[tuple[str, pg.PlotWidget]]:
        if self.tabs.currentWidget() is self.compare_page:
            widgets = self.compare.plot_widgets()
            return [(w.getPlotItem().titleLabel.text or f"Plot {i + 1}", w) for i, w in enumerate(widgets)]
        return self.live_plots.plot_widgets() if self.live_plots is not None else []

    def _on_export_plot(self) -> None:
        from lrstudio.gui.dialogs.export import export_plot_dialog
        from lrstudio.gui.plots.items import choose_plot

        widget = choose_plot(self, self.current_plot_widgets())
        if widget is not None:
            export_plot_dialog(self, widget)

    def _on_copy_code(self) -> None:
        if self.preview is None:
            return
        if self.preview.copy_pytorch_code() is not None:
            self.statusBar().showMessage("The schedule is on the clipboard as PyTorch code.", 4000)
        else:
            self.statusBar().showMessage(self.preview.info_label.text(), 6000)

    # -- database --------------------------------------------------------------------------
    def _on_open_database(self) -> None:
        url = ask_database(self, self.prefs.recent_databases, self.db_url)
        if url:
            self.open_database(url)

    def open_database(self, url: str) -> bool:
        """Switch to another database; on failure keep the current one and say why."""
        if self.controller.is_running() or self.sweeps_page.is_running():
            errors.show_error(self, "Stop the run (or the sweep) before opening another database.")
            return False
        opened = open_store_or_say_why(self, url)
        if opened is None:
            return False
        store, url = opened  # the URL with the password the user typed, if the server asked
        old = self.store
        self.attach_store(store, url)
        if old is not None and old is not store:
            old.close()
        self.statusBar().showMessage(f"Opened {display_url(url)}", 5000)
        return True

    def attach_store(self, store: RunStore, url: str) -> None:
        """Use ``store`` (already open) from now on; the window may start without one."""
        self.store, self.db_url = store, url
        self.train_page.store = store
        self.controller.set_store(store, url)
        self.runs_panel.set_store(store)
        self.db_watcher.watch(store)
        self.compare_page.set_store(store)
        self.playground_page.set_store(store)
        self.sweeps_page.set_store(store, url)
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
        QMessageBox.about(self, "About lrstudio", f"<h3>lrstudio {__version__}</h3><p>A desktop lab for learning "
                          "rates: schedules, optimizers, live training plots and saved runs.</p>")

    # -- warm-up ---------------------------------------------------------------------------
    def prewarm_training(self) -> None:
        """Import torch and load the form's data set in the background once the window is up
        (see :meth:`TrainTab.prewarm`)."""
        self.train_page.prewarm(self.config_panel.config() if self.config_panel.is_valid() else None)

    def wait_for_background_work(self) -> None:
        """Wait for the warm-up thread (an import cannot be interrupted; it ends within seconds)."""
        self.train_page.wait_for_prewarm()

    # -- closing ---------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        self._closing = self.train_page.closing = True
        if self.lr_finder is not None and not self.lr_finder.runner.shutdown():  # issue 12
            errors.show_error(self, "The range test did not stop; try closing again.")
            self._closing = self.train_page.closing = False
            event.ignore()
            return
        if self.controller.is_running():
            self.statusBar().showMessage("Stopping the run…")
            if not self.controller.shutdown():
                errors.show_error(self, "The training thread did not stop; try closing again.")
                self._closing = self.train_page.closing = False
                event.ignore()
                return
        if not self.sweeps_page.shutdown():  # issue 13: running trials end "stopped"
            errors.show_error(self, "The sweep did not stop; try closing again.")
            self._closing = self.train_page.closing = False
            event.ignore()
            return
        self.run_queue.clear()
        self.train_page.stop_timer()
        self.db_watcher.stop()
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

