"""Qt objects freed by Python's cyclic GC die in the GUI thread, never in a worker thread
(lrstudio/gui/gc_thread.py; a worker-thread collection deadlocked shiboken against Qt)."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest
from PySide6.QtCore import QObject

from lrstudio.gui.gc_thread import GuiThreadCollector

pytestmark = pytest.mark.gui


class Cyclic:
    """A reference cycle holding a QObject (as a closed dialog's Python side does): only the
    cyclic GC frees it, and the QObject is destroyed in the thread that runs that collection."""

    def __init__(self, died: list[int]) -> None:
        self.me = self
        self.obj = QObject()
        weakref.finalize(self, lambda: died.append(threading.get_ident()))


KEPT: list[list[int]] = []


def _allocate_in_a_thread() -> None:
    """Net allocations in a worker (5,000 containers kept alive) cross generation 0's threshold
    (700): with automatic GC on, that thread would run the collection."""
    t = threading.Thread(target=lambda: KEPT.extend([i] for i in range(5000)))
    t.start()
    t.join()


def test_a_qt_cycle_is_freed_by_the_gui_thread_not_by_a_worker(qtbot):
    gui = threading.get_ident()
    collector = GuiThreadCollector(interval_ms=50)
    try:
        died: list[int] = []
        Cyclic(died)
        _allocate_in_a_thread()
        assert died == []  # the worker's allocations did not collect it
        qtbot.waitUntil(lambda: died != [], timeout=10_000)
        assert died == [gui] and sum(collector.collections) > 0
        assert not gc.isenabled()
    finally:
        collector.stop()
        KEPT.clear()
    assert gc.isenabled()
