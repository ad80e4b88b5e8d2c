"""The Train tab: the live plots of the run in progress, fed from the window's
:class:`~lrstudio.services.live_run.LiveRun` (the model) together with the status bar's
:class:`~lrstudio.gui.run_status.RunStatus` (another view of it).

The plots (and pyqtgraph) are built by :meth:`TrainTab.build_plots`, which the window may call
after it is shown (start-up time); until then the tab shows "Loading…". This module imports no
pyqtgraph at its top for that reason.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import FAILED, RunSummary
from lrstudio.gui.controller import TrainingController
from lrstudio.gui.dialogs import errors
from lrstudio.gui.run_status import RunStatus
from lrstudio.gui.settings import Preferences
from lrstudio.services.live_run import LiveRun, RunLength

if TYPE_CHECKING:
    from lrstudio.core.runs import RunStore
    from lrstudio.gui.plots.live import LivePlots

__all__ = ["STATUS_MIN_INTERVAL_S", "TrainTab", "expected_length", "loading_label"]

STATUS_REFRESH_MS = 1000  # the running run's row in the table, and the elapsed time before the first step
# The status bar repaints cost GUI time while the worker competes for the GIL: ≤ 4 Hz.
STATUS_MIN_INTERVAL_S = 0.25


def loading_label() -> QLabel:
    """What a page shows until its plots are built."""
    label = QLabel("Loading…")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setProperty("role", "loading")
    return label


def expected_length(cfg: RunConfig | None) -> RunLength | None:
    """The run length of ``cfg`` if its data set is already loaded (no loading here: the GUI
    thread must not parse data); None otherwise."""
    if cfg is None:
        return None
    from lrstudio.core.plan import run_length
    from lrstudio.gui.controller import cached_dataset

    try:
        ds = cached_dataset(cfg, load=False)
        if ds is None or ds.n_train < 1:
            return None
        spe, total, epochs = run_length(ds.n_train, cfg.batch_size, cfg.epochs, cfg.max_steps)
        return RunLength(total, spe, epochs)
    except (LrstudioError, ValueError, TypeError):
        return None


class TrainTab(QWidget):
    """The Train page; ``live_plots`` is None until :meth:`build_plots`.

    It follows the controller's run: the plots and the status bar show it, and the signals tell
    the window which run to re-read elsewhere (runs table, Compare).
    """

    started = Signal(int)  # a run started (the window shows this tab)
    touched = Signal(int)  # the run's row may have changed: at the start and once a second while it runs
    grew = Signal(int)  # new points of the running run
    ended = Signal(int)  # the run finished or failed

    def __init__(self, run: LiveRun, status: RunStatus, controller: TrainingController,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run = run
        self.status = status
        self.controller = controller
        self.store: RunStore | None = None  # where the run's name is read
        self.closing = False  # the window is closing: no error dialogs
        self._timer = QTimer(self)
        self._timer.setInterval(STATUS_REFRESH_MS)
        self._timer.timeout.connect(self._on_timer)
        controller.started.connect(self._on_started)
        controller.progressed.connect(self.progressed)
        controller.finished.connect(self.finished)
        controller.failed.connect(self._on_failed)
        self.live_plots: LivePlots | None = None
        self._status_shown_at = 0.0
        self.prewarm_thread: QThread | None = None
        QVBoxLayout(self).setContentsMargins(0, 0, 0, 0)
        self.layout().addWidget(loading_label())

    def build_plots(self, prefs: Preferences) -> LivePlots:
        """Create the live plots (imports pyqtgraph) with the user's saved plot options."""
        from lrstudio.gui.plots.live import LivePlots

        clear_layout(self)
        self.controller.set_separate_process(prefs.train_in_process)
        plots = self.live_plots = LivePlots(self.run)
        plots.loss_log.setChecked(prefs.loss_log_y)
        plots.lr_log.setChecked(prefs.lr_log_y)
        if prefs.x_axis in ("step", "epoch", "wall"):
            plots.set_x_axis(prefs.x_axis)
        if 0.0 <= prefs.live_smoothing < 1.0:
            plots.set_smoothing(prefs.live_smoothing)
        self.layout().addWidget(plots)
        return plots

    def save_preferences(self, prefs: Preferences) -> None:
        if self.live_plots is not None:
            prefs.loss_log_y = self.live_plots.loss_log.isChecked()
            prefs.lr_log_y = self.live_plots.lr_log.isChecked()
            prefs.x_axis = self.live_plots.x_axis
            prefs.live_smoothing = self.live_plots.smoothing

    # -- warm-up ---------------------------------------------------------------------------
    def prewarm(self, config: RunConfig | None) -> None:
        """Import torch and load ``config``'s data set in a background thread (once).

        Importing torch takes a second or more and parsing a data set holds the GIL for a few
        hundred ms; done at idle time after start-up, the first press of Start does not pay for
        either while the user watches the plots. When runs train in a child process, the warm
        child is spawned now (it imports torch) and this process only loads the data set (the
        plots' run length) and never imports torch.
        """
        if self.prewarm_thread is not None:
            return
        in_process = self.controller.uses_process()
        if in_process:
            self.controller.prewarm_process(config)
        thread = _PrewarmThread(config, self, torch=not in_process)
        thread.setObjectName("lrstudio-prewarm")
        self.prewarm_thread = thread
        thread.start(QThread.Priority.LowPriority)

    def wait_for_prewarm(self) -> None:
        if self.prewarm_thread is not None:
            self.prewarm_thread.wait()

    # -- the run ---------------------------------------------------------------------------
    def _on_started(self, run_id: int) -> None:
        name = self.run_started(run_id, self.store, self.controller.config)
        self.started.emit(run_id)
        self.touched.emit(run_id)
        self.status.say(f"Training {name}…")
        self._timer.start()

    def _on_timer(self) -> None:
        run_id = self.controller.run_id
        if run_id is not None and self.controller.is_running():
            self.touched.emit(run_id)
            self.status.tick(time.monotonic())

    def run_started(self, run_id: int, store: RunStore | None, cfg: RunConfig | None) -> str:
        """A new run; returns its name as shown (in the plots' title and the status bar). Its length (and so the planned LR curve and the x-range) is known here when
        the data set is cached (prewarm, or an earlier run): then the plots are reset once, not
        again when the worker's RunStarted arrives (each reset redraws every plot, with new axes)."""
        name, title = f"run {run_id}", f"Run {run_id}"
        try:
            if store is not None:
                from lrstudio.gui.runs import display_text

                name = display_text(store.get_run(run_id).name)
                title = f"{name}  ·  {cfg.describe() if cfg else ''}"
        except LrstudioError:
            pass
        self.run.start(run_id, name, cfg, expected_length(cfg), started_at=time.monotonic())
        from lrstudio.core.compare import loss_kind

        if self.live_plots is not None:  # always: Start is disabled until the plots exist
            self.live_plots.reset(title=title, classifier=(cfg is not None and cfg.model == "cnn"),
                                  loss_kind=loss_kind(cfg.to_dict()) if cfg is not None else None)
        self.status.started()
        return name

    def progressed(self, batch: list) -> None:
        folded = self.run.fold(batch)
        if self.live_plots is None:
            return
        if folded.replanned:
            self.live_plots.reset()  # the new length and planned LR come from the model
        self.live_plots.append_events(batch, folded)
        now = time.monotonic()
        if now - self._status_shown_at >= STATUS_MIN_INTERVAL_S:
            self._status_shown_at = now
            self.status.update()
        if self.controller.run_id is not None:
            self.grew.emit(self.controller.run_id)

    def finished(self, summary: RunSummary) -> None:
        self._timer.stop()
        self.run.finish(summary)
        self.status.finished()
        # The last points are drawn by the plots' timer, one plot per frame (gui/plots/live.py).
        if self.live_plots is not None:
            self.live_plots.mark_finished(summary)
        self._ended()
        self.status.say(self.run.summary_text())
        if summary.status == FAILED and not self.closing:
            errors.show_error(self.window(), summary.error or "unknown error", context=f"Run {self.run.name} failed.")

    def _on_failed(self, exc: BaseException) -> None:
        self._timer.stop()
        self._ended()
        self.status.say(f"Run {self.run.name} failed: {exc}")
        if not self.closing:
            errors.show_error(self.window(), exc, context=f"Run {self.run.name} failed.")

    def _ended(self) -> None:
        if self.controller.run_id is not None:
            self.ended.emit(self.controller.run_id)

    def stop_timer(self) -> None:
        self._timer.stop()


def clear_layout(holder: QWidget) -> None:
    """Remove (and delete) what a page shows, e.g. its "Loading…" label."""
    while holder.layout().count():
        widget = holder.layout().takeAt(0).widget()
        if widget is not None:
            widget.hide()
            widget.deleteLater()


class _PrewarmThread(QThread):
    def __init__(self, config: RunConfig | None, parent: QWidget | None = None, torch: bool = True) -> None:
        super().__init__(parent)
        self._config = config
        self._torch = torch

    def run(self) -> None:
        from lrstudio.gui.controller import prewarm

        prewarm(self._config, torch=self._torch)
