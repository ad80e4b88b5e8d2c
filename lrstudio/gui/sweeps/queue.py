"""Start while a run trains: the run is queued, and queued runs start one after another (issue 13).

Before, Start was disabled while a run trained. Now the main window's Start, during a run, appends
the form's config to a :class:`RunQueue` (Start reads "Queue" then); when the run in progress ends,
the window starts the first queued config (``MainWindow._start_next_queued``), with the same checks
as a Start (a config that fails them is reported and skipped, the next one starts). The queue is
visible in the status bar (:class:`QueueButton`: "2 queued", a menu listing each queued run with
its model, optimizer, LR and schedule, to remove one or all). Queued runs are not stored until
they start: closing the window drops them (the window says how many).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from lrstudio.core.config import RunConfig

__all__ = ["QueueButton", "RunQueue", "describe"]


def describe(config: RunConfig) -> str:
    """One line for a queued run: its name (if any), model/data, optimizer, LR, schedule, epochs."""
    data = config.to_dict()
    name = f"{config.name}: " if config.name else ""
    return (f"{name}{config.model}/{data['dataset']['name']} {data['optimizer']['name']} lr={config.lr:g} "
            f"{data['schedule']['name']}, {config.epochs} epoch{'s' if config.epochs != 1 else ''}")


class RunQueue(QObject):
    """Configs waiting for the run in progress to end, first in first out."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._configs: list[RunConfig] = []

    def __len__(self) -> int:
        return len(self._configs)

    def configs(self) -> list[RunConfig]:
        return list(self._configs)

    def add(self, config: RunConfig) -> int:
        """Queue ``config``; returns its place (1 = next)."""
        self._configs.append(config)
        self.changed.emit()
        return len(self._configs)

    def take_next(self) -> RunConfig | None:
        """Remove and return the first queued config (None when the queue is empty)."""
        if not self._configs:
            return None
        config = self._configs.pop(0)
        self.changed.emit()
        return config

    def remove(self, index: int) -> None:
        del self._configs[index]
        self.changed.emit()

    def clear(self) -> None:
        if self._configs:
            self._configs.clear()
            self.changed.emit()


class QueueButton(QToolButton):
    """The status bar's "N queued" button; hidden when the queue is empty."""

    def __init__(self, queue: RunQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self.setObjectName("runQueueButton")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setAutoRaise(True)
        self._menu = QMenu(self)
        self.setMenu(self._menu)
        queue.changed.connect(self._update)
        self._update()

    def _update(self) -> None:
        n = len(self.queue)
        self.setText(f"{n} queued")
        self.setToolTip("Runs that start one after another when the run in progress ends:\n"
                        + "\n".join(f"{i}. {describe(c)}" for i, c in enumerate(self.queue.configs(), 1)))
        self._menu.clear()
        for i, config in enumerate(self.queue.configs()):
            act = self._menu.addAction(f"Remove {i + 1}. {describe(config)}")
            act.triggered.connect(lambda _checked=False, i=i: self.queue.remove(i))
        if n:
            self._menu.addSeparator()
            self._menu.addAction("Remove all", self.queue.clear)
        self.setVisible(n > 0)
