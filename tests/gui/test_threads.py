"""The shared worker-thread plumbing (gui/threads.py) of the training and the sweep controllers:
the worker's signals reach the owner in the GUI thread, in order, its last ones before the
hand-over; the thread is listed while it runs and gone after; a failure is relayed."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QObject, QThread, Signal, Slot

from lrstudio.gui import controller
from lrstudio.gui.sweeps import runner
from lrstudio.gui.threads import LIVE_THREADS, end_worker_thread, live_threads, start_worker_thread


class _Worker(QObject):
    progressed = Signal(object)
    finished = Signal(object)
    failed = Signal(object)

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.gate = threading.Event()

    @Slot()
    def run(self) -> None:
        self.gate.wait(5)
        for i in range(3):
            self.progressed.emit(i)
        if self.fail:
            self.failed.emit(ValueError("boom"))
        else:
            self.finished.emit("done")
        QThread.currentThread().quit()


class _Owner(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, object, bool]] = []
        self.ended = False
        self.thread_: QThread | None = None
        self.worker: _Worker | None = None

    def _gui(self) -> bool:
        return QThread.currentThread() is self.thread()

    @Slot(object)
    def on_progressed(self, v: object) -> None:
        self.seen.append(("progressed", v, self._gui()))

    @Slot(object)
    def on_finished(self, v: object) -> None:
        self.seen.append(("finished", v, self._gui()))

    @Slot(object)
    def on_failed(self, exc: object) -> None:
        self.seen.append(("failed", str(exc), self._gui()))

    @Slot()
    def on_thread_finished(self) -> None:
        assert self.thread_ is not None
        self.thread_.wait()
        end_worker_thread(self, self.thread_, self.worker)
        self.seen.append(("ended", None, self._gui()))
        self.ended = True


@pytest.mark.parametrize("fail", [False, True])
def test_a_worker_thread_relays_in_order_and_is_forgotten_when_it_ends(qtbot, fail):
    owner = _Owner()
    worker = _Worker(fail)
    thread = start_worker_thread(owner, worker, "lrstudio-test", progressed=owner.on_progressed,
                                 finished=owner.on_finished, failed=owner.on_failed,
                                 thread_finished=owner.on_thread_finished)
    owner.thread_, owner.worker = thread, worker
    assert thread.objectName() == "lrstudio-test" and worker.thread() is thread
    assert thread in LIVE_THREADS and not thread.isRunning()  # listed, started by the caller
    thread.start()
    qtbot.waitUntil(thread.isRunning)
    assert thread in live_threads()
    worker.gate.set()
    qtbot.waitUntil(lambda: owner.ended, timeout=5000)
    last = ("failed", "boom", True) if fail else ("finished", "done", True)
    assert owner.seen == [("progressed", 0, True), ("progressed", 1, True), ("progressed", 2, True), last,
                          ("ended", None, True)]
    assert thread not in LIVE_THREADS and live_threads() == []


def test_both_controllers_use_the_shared_plumbing():
    assert controller._LIVE_THREADS is LIVE_THREADS and controller.live_threads is live_threads
    assert runner.start_worker_thread is start_worker_thread and runner.end_worker_thread is end_worker_thread
    assert controller.start_worker_thread is start_worker_thread
