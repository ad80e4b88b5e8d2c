"""One long-lived background thread that reads for the sweep panel (issue 13).

The panel re-reads its sweep every second while trials train (the app's database poll): the
experiments, the trials, the running runs' points. Done on the GUI thread that cost 20-60 ms a
second on the loaded 2-core machine (``bench/bench_sweep_gui.py``), and a new Python thread per
read made the GUI thread wait for the thread to start (``Thread.start`` blocks until it runs,
tens of ms under load). :class:`BackgroundReader` keeps one daemon thread: :meth:`request` hands
it a function (non-blocking; refused while a read is in progress, the next poll asks again), and
its result comes back through a queued signal of this QObject, which lives in the GUI thread.
Results of a read requested before :meth:`cancel` carry an old generation and are dropped by the
receiver.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

__all__ = ["BackgroundReader"]


class BackgroundReader(QObject):
    """Signals: ``loaded(generation, result)``, ``failed(generation, exception)``."""

    loaded = Signal(int, object)
    failed = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.generation = 0
        self._jobs: queue.SimpleQueue[tuple[int, Callable[[], Any]]] = queue.SimpleQueue()
        self._busy = threading.Event()
        self._thread: threading.Thread | None = None

    def is_busy(self) -> bool:
        return self._busy.is_set()

    def request(self, read: Callable[[], Any]) -> bool:
        """Run ``read()`` in the thread; False (nothing queued) while a read is in progress."""
        if self._busy.is_set():
            return False
        self._busy.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="sweep-panel-reader", daemon=True)
            self._thread.start()
        self._jobs.put((self.generation, read))
        return True

    def cancel(self) -> None:
        """Results of reads requested so far are stale (their generation is old)."""
        self.generation += 1

    def _loop(self) -> None:
        while True:
            generation, read = self._jobs.get()
            try:
                result = read()
            except Exception as exc:  # handed to the GUI thread, which says what went wrong
                self._emit(self.failed, generation, exc)
            else:
                self._emit(self.loaded, generation, result)
            finally:
                self._busy.clear()

    @staticmethod
    def _emit(signal: Any, generation: int, value: Any) -> None:
        try:
            signal.emit(generation, value)
        except RuntimeError:  # the panel was deleted (the window closed): nobody to tell
            pass
