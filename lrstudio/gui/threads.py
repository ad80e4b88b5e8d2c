"""One worker QObject on its own QThread, relayed to a controller in the GUI thread.

The training controller (:mod:`lrstudio.gui.controller`) and the sweep controller
(:mod:`lrstudio.gui.sweeps.runner`) run their work the same way (Qt for Python's ``QThread``
docs; superqt's ``new_worker_qthread``): a worker with ``run()`` and the signals ``progressed``,
``finished`` and ``failed`` is moved onto a new thread; its signals reach slots of the controller
as queued connections (the controller lives in the GUI thread), and when the thread has ended the
controller takes the worker's last queued signals, then both objects are deleted.

    thread = start_worker_thread(self, worker, "lrstudio-train-3", progressed=self._on_progressed,
                                 finished=self._on_finished, failed=self._on_failed,
                                 thread_finished=self._on_thread_finished)
    thread.start()
    ...
    # in _on_thread_finished (GUI thread), after thread.wait():
    end_worker_thread(self, thread, worker)   # the worker's last progress and its result first

Every started thread is in :data:`LIVE_THREADS` until it has ended, so tests (and the app on
exit) can check that none is left running.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread

__all__ = ["LIVE_THREADS", "end_worker_thread", "live_threads", "start_worker_thread"]

#: Every worker thread started and not yet ended.
LIVE_THREADS: set[QThread] = set()


def start_worker_thread(owner: QObject, worker: Any, name: str, *, progressed: Callable[[Any], None],
                        finished: Callable[[Any], None], failed: Callable[[Any], None],
                        thread_finished: Callable[[], None]) -> QThread:
    """A new thread named ``name`` with ``worker`` moved onto it, ``worker.run`` connected to its
    start, the worker's signals to ``owner``'s slots (queued: call them with slots of ``owner``,
    never lambdas, which would run in the worker thread) and its end to ``thread_finished``.
    Not started: the caller starts it once its own state is set."""
    thread = QThread()  # no parent: end_worker_thread deletes it
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    worker.progressed.connect(progressed)
    worker.finished.connect(finished)
    worker.failed.connect(failed)
    thread.finished.connect(thread_finished)
    LIVE_THREADS.add(thread)
    return thread


def end_worker_thread(owner: QObject, thread: QThread, worker: QObject | None) -> None:
    """After ``thread`` has ended (call ``thread.wait()`` first): deliver the signals the worker
    queued to ``owner`` before its thread ended (its last batch, its result), forget the thread,
    and delete both objects (later, in this thread's event loop)."""
    QCoreApplication.sendPostedEvents(owner)
    LIVE_THREADS.discard(thread)
    if worker is not None:
        worker.deleteLater()
    thread.deleteLater()


def live_threads() -> list[QThread]:
    """Worker threads started by any controller that have not finished yet."""
    return [t for t in list(LIVE_THREADS) if _alive(t)]


def _alive(t: QThread) -> bool:
    try:
        return t.isRunning()
    except RuntimeError:  # the C++ object is gone
        return False
