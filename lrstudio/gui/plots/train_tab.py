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

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import RunSummary
from lrstudio.gui.run_status import RunStatus
from lrstudio.gui.settings import Preferences
from lrstudio.services.live_run import LiveRun, RunLength

if TYPE_CHECKING:
    from lrstudio.gui.plots.live import LivePlots

__all__ = ["STATUS_MIN_INTERVAL_S", "TrainTab", "expected_length", "loading_label"]

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
    """The Train page; ``live_plots`` is None until :meth:`build_plots`."""

    def __init__(self, run: LiveRun, status: RunStatus, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run = run
        self.status = status
        self.live_plots: LivePlots | None = None
        self._status_shown_at = 0.0
        QVBoxLayout(self).setContentsMargins(0, 0, 0, 0)
        self.layout().addWidget(loading_label())

    def build_plots(self, prefs: Preferences) -> LivePlots:
        """Create the live plots (imports pyqtgraph) with the user's saved plot options."""
        from lrstudio.gui.plots.live import LivePlots

        clear_layout(self)
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

    # -- the run ---------------------------------------------------------------------------
    def run_started(self, run_id: int, name: str, title: str, cfg: RunConfig | None) -> None:
        """A new run. Its length (and so the planned LR curve and the x-range) is known here when
        the data set is cached (prewarm, or an earlier run): then the plots are reset once, not
        again when the worker's RunStarted arrives (each reset redraws every plot, with new axes)."""
        self.run.start(run_id, name, cfg, expected_length(cfg), started_at=time.monotonic())
        from lrstudio.core.compare import loss_kind

        if self.live_plots is None:  # never: Start is disabled until the plots exist
            return
        self.live_plots.reset(title=title, classifier=(cfg is not None and cfg.model == "cnn"),
                              loss_kind=loss_kind(cfg.to_dict()) if cfg is not None else None)
        self.status.started()

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

    def finished(self, summary: RunSummary) -> None:
        self.run.finish(summary)
        self.status.finished()
        # The last points are drawn by the plots' timer, one plot per frame (gui/plots/live.py).
        if self.live_plots is not None:
            self.live_plots.mark_finished(summary)


def clear_layout(holder: QWidget) -> None:
    """Remove (and delete) what a page shows, e.g. its "Loading…" label."""
    while holder.layout().count():
        widget = holder.layout().takeAt(0).widget()
        if widget is not None:
            widget.hide()
            widget.deleteLater()
