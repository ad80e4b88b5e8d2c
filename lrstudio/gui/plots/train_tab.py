"""The Train tab: the live plots of the run in progress, fed from the window's
:class:`~lrstudio.services.live_run.LiveRun` (the model) together with the status bar's
:class:`~lrstudio.gui.run_status.RunStatus` (another view of it).

The plots (and pyqtgraph) are built by :meth:`TrainTab.build_plots`, which the window may call
after it is shown (start-up time); until then the tab shows "Loading…". This module imports no
pyqtgraph at its top for that reason.

Momentum (issue 15): when the run's schedule cycles the optimizer's momentum (one_cycle, cyclic),
a :class:`MomentumPlot` under the LR plot (same x-range) shows the planned momentum of the whole run
and the recorded series ``momentum`` (SGD momentum or Adam's beta1); otherwise it is hidden.
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
    import numpy as np

    from lrstudio.core.runs import RunStore
    from lrstudio.gui.plots.live import LivePlots

__all__ = ["STATUS_MIN_INTERVAL_S", "MomentumPlot", "TrainTab", "expected_length", "loading_label",
           "planned_momentum"]

MOMENTUM_REDRAW_MS = 100  # the momentum plot follows at <= 10 Hz (a slow-moving curve)

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


def planned_momentum(cfg: RunConfig | None, length: RunLength | None) -> np.ndarray | None:
    """The momentum planned for each optimizer step of the whole run (element i: step i + 1), or
    None when the schedule does not cycle momentum or the length is not known."""
    if cfg is None or length is None or length.total_steps < 1:
        return None
    import numpy as np

    from lrstudio.core.schedules.momentum import momentum_curve

    try:
        if cfg.schedule_unit == "epoch":
            per_epoch = momentum_curve(cfg.schedule, max(1, length.epochs))
            if per_epoch is None:
                return None
            return np.repeat(per_epoch, max(1, length.steps_per_epoch))[: length.total_steps]
        return momentum_curve(cfg.schedule, length.total_steps)
    except LrstudioError:
        return None


class MomentumPlot:
    """The momentum plot under the LR plot of :class:`LivePlots` (x linked to it).

    It reads the ``momentum`` series that the live plots buffer with every other key of a step, and
    redraws on its own timer when points came in; hidden unless the run cycles momentum.
    """

    def __init__(self, live: LivePlots) -> None:
        import pyqtgraph as pg
        from PySide6.QtWidgets import QSplitter

        from lrstudio.core.metrics import MOMENTUM
        from lrstudio.gui.plots.factory import APPLIED_COLOR, PLANNED_COLOR
        from lrstudio.gui.plots.items import make_live_plot

        self.live = live
        self.key = MOMENTUM
        # no title (the y label says it): the plot is a third of the column's height
        # legend near the top, a third in: one-cycle momentum is low there (high at both ends)
        self.plot = make_live_plot("", "momentum", legend_offset=(110, 2))
        self.plot.setXLink(live.lr_plot)
        # "applied" as in the LR plot; which optimizer setting it is (Adam's β1) is in the tooltip
        self.plot.setToolTip("Momentum cycled by the schedule: SGD's momentum, or β1 for Adam/AdamW")
        self.curve = self.plot.plot(name="applied", pen=None, symbol="o", symbolSize=3,
                                    symbolBrush=APPLIED_COLOR, symbolPen=None)
        self.plan_curve = self.plot.plot(name="plan (whole run)",
                                         pen=pg.mkPen(PLANNED_COLOR, width=1, style=Qt.PenStyle.DotLine))
        self.plan_curve.setZValue(-5)
        # the LR plot and this one share a column of the live plots' splitter
        self.column = QSplitter(Qt.Orientation.Vertical)
        self.column.setChildrenCollapsible(False)
        index = live.splitter.indexOf(live.lr_plot)
        live.splitter.insertWidget(index, self.column)
        self.column.addWidget(live.lr_plot)
        self.column.addWidget(self.plot)
        self.column.setStretchFactor(0, 2)
        self.column.setStretchFactor(1, 1)
        self.column.setSizes([2000, 1000])
        self.plot.setVisible(False)
        self.plan: np.ndarray | None = None
        self._drawn = -1  # points drawn so far (-1: nothing, redraw)
        self._timer = QTimer(self.plot)
        self._timer.setInterval(MOMENTUM_REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()

    def start(self, cfg: RunConfig | None, length: RunLength | None) -> None:
        """A new run: shown with its plan when the schedule cycles momentum, hidden otherwise."""
        from lrstudio.core.schedules.momentum import cycles_momentum

        try:
            on = cfg is not None and cycles_momentum(cfg.schedule)
        except LrstudioError:
            on = False
        self.plan = planned_momentum(cfg, length) if on else None
        self.plot.setVisible(on)
        self._drawn = -1
        self.redraw()

    def invalidate(self) -> None:
        """Redraw everything now (the x-axis changed)."""
        self._drawn = -1
        self.redraw()

    def redraw(self) -> None:
        """Draw the recorded points (and the plan) if anything changed since the last draw."""
        if self.plot.isHidden() or self.live.series_length(self.key) == self._drawn:
            return
        import numpy as np

        x, y = self.live.series(self.key)
        self._drawn = len(y)
        self.curve.setData(x, y)
        axis = self.live.x_axis
        if self.plan is not None and axis in ("step", "epoch"):
            xs = np.arange(1, len(self.plan) + 1, dtype=np.float64)
            if axis == "epoch":
                xs = xs / max(1, self.live.run.steps_per_epoch)
            self.plan_curve.setData(xs, self.plan)
        else:
            self.plan_curve.setData([], [])


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
        self.momentum_plot: MomentumPlot | None = None
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
        self.momentum_plot = MomentumPlot(plots)
        plots.x_axis_changed.connect(lambda _axis: self._redraw_momentum())
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
        if self.momentum_plot is not None:
            self.momentum_plot.start(cfg, expected_length(cfg))
        self.status.started()
        return name

    def progressed(self, batch: list) -> None:
        folded = self.run.fold(batch)
        if self.live_plots is None:
            return
        if folded.replanned:
            self.live_plots.reset()  # the new length and planned LR come from the model
            if self.momentum_plot is not None:
                self.momentum_plot.start(self.run.config, self.run.length)
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

    def _redraw_momentum(self) -> None:
        if self.momentum_plot is not None:
            self.momentum_plot.invalidate()


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
