"""Python's cyclic garbage collector, run in the GUI thread only.

The app's process has several Python threads: the training relay thread (it unpickles the child's
event batches), the compare loader, the sweep panel's reader, the range-test worker. Python runs
an automatic collection in whichever thread happens to allocate when a generation's threshold is
crossed. If that collection frees a cycle holding a Qt object (a closed dialog, a menu, a plot
item), the QObject is destroyed in that thread: shiboken waits for the GIL inside ``~QObject``
while the GUI thread waits for the same Qt mutex, and the app hangs (seen: a relay thread
destroying an old window's QMenu). Qt objects must die in the thread that owns them.

:class:`GuiThreadCollector` turns automatic collection off and collects from a timer of the GUI
thread instead, generation by generation when their counts pass the usual thresholds: the
pattern PyQt applications use for this (garbage waits at most one tick, ~0.5 s). Code that
freezes the heap (``gc.freeze`` in the run service's prewarm) is unaffected.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

__all__ = ["GuiThreadCollector"]


class GuiThreadCollector(QObject):
    """Automatic GC off; a GUI-thread timer collects when the counts say a collection is due."""

    INTERVAL_MS = 500

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self.was_enabled = gc.isenabled()
        self.collections = [0, 0, 0]  # per generation, for tests and diagnostics
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> None:
        """Collect the oldest generation whose count passed its threshold (as Python would)."""
        counts = gc.get_count()
        for gen in (2, 1, 0):
            if counts[gen] > self.threshold[gen]:
                gc.collect(gen)
                self.collections[gen] += 1
                return

    def stop(self) -> None:
        """Give collection back to Python (on exit)."""
        self.timer.stop()
        if self.was_enabled:
            gc.enable()
