"""The status bar's view of the run in progress: step, epoch, elapsed time, ETA and a progress bar,
drawn from the window's :class:`~lrstudio.services.live_run.LiveRun` (the model; this is a view)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from lrstudio.services.live_run import LiveRun

__all__ = ["RunStatus"]


class RunStatus:
    """Permanent widgets of a status bar that show a :class:`LiveRun`."""

    def __init__(self, bar: QStatusBar, run: LiveRun) -> None:
        self.run = run
        self.bar = bar
        self.step_label = QLabel("Step –")
        self.epoch_label = QLabel("Epoch –")
        self.elapsed_label = QLabel("Elapsed –")
        self.eta_label = QLabel("ETA –")
        for lab in (self.step_label, self.epoch_label, self.elapsed_label, self.eta_label):
            lab.setMinimumWidth(90)
            bar.addPermanentWidget(lab)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        bar.addPermanentWidget(self.progress)

    def say(self, text: str) -> None:
        """The status bar's message (until the next one); cut with "…" when it does not fit beside
        the permanent widgets (a status bar clips it mid-letter), the whole in the bar's tooltip."""
        room = self.message_room()
        fm = self.bar.fontMetrics()
        shown = text if room <= 0 or fm.horizontalAdvance(text) <= room else fm.elidedText(
            text, Qt.TextElideMode.ElideRight, room)
        self.bar.setToolTip(text)
        self.bar.showMessage(shown)

    def message_room(self) -> int:
        """Pixels left for the message left of the step, epoch, elapsed, ETA and progress widgets."""
        used = sum(w.width() + 8 for w in (self.step_label, self.epoch_label, self.elapsed_label,
                                           self.eta_label, self.progress) if w.isVisible())
        return self.bar.width() - used - 16

    def started(self) -> None:
        self.progress.setValue(0)
        self.progress.setFormat("%p%")

    def update(self) -> None:
        """Show the last step (nothing changes before the first one)."""
        run = self.run
        if run.last_step is None:
            return
        self.step_label.setText(run.step_text())
        self.epoch_label.setText(run.epoch_text())
        self.elapsed_label.setText(run.elapsed_text())
        fraction = run.fraction
        if fraction is not None:
            self.progress.setValue(int(round(fraction * 100)))
            self.eta_label.setText(run.eta_text())

    def tick(self, now: float) -> None:
        """Once a second while running: the elapsed time before the first step arrives."""
        if self.run.last_step is None:
            self.elapsed_label.setText(self.run.elapsed_text(now))

    def finished(self) -> None:
        self.update()
        self.eta_label.setText("ETA –")
        summary = self.run.summary
        if summary is None:
            return
        if summary.status == "completed":
            self.progress.setValue(100)
        self.progress.setFormat(f"{summary.status} · %p%")
