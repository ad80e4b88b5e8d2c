"""Running a sweep beside the GUI: :class:`~lrstudio.services.sweep.SweepRunner` in a QThread.

The GUI never trains a trial: the runner (in its own QThread, with its own store) hands every run
to a :class:`~lrstudio.services.sweep.LocalExecutor`, whose spawned worker processes train and
write the runs themselves (niceness 10, as the app's own training child, so the GUI thread wins a
core at once). The thread only waits on the workers' pipes and relays a
:class:`~lrstudio.services.sweep.SweepProgress` after each finished run, as a queued signal, so
the GUI thread does no sweep work beyond drawing (``bench/bench_sweep_gui.py``: timer lateness
while 2 trials train).

Life cycle::

    SweepController.start(experiment_id, parallel)   GUI thread: refused when one runs already,
                                                     or when the database is in-memory SQLite
                                                     (worker processes cannot open it)
      SweepWorker.run()                              worker thread: opens its own store, then
                                                     SweepRunner.run() (claims, runs, resumes)
        on_progress -> progressed(SweepProgress)     queued into the GUI thread
      finished(SweepResult) | failed(exception)      then the thread quits
    controller.finished / failed, running_changed(False)     GUI thread, after the thread ended

``cancel()`` asks the runner to stop (running trials end ``stopped``, queued ones never start);
``shutdown()`` (window closing) cancels and waits for the thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from lrstudio.core.errors import LrstudioError
from lrstudio.gui.threads import end_worker_thread, start_worker_thread

__all__ = ["GUI_WORKER_NICE", "SweepController", "SweepWorker"]

#: The workers' niceness: the GUI thread gets a core first (as ``services/process_run.py``'s child).
GUI_WORKER_NICE = 10


class SweepWorker(QObject):
    """Runs (or resumes) one stored experiment; lives in the controller's thread once moved."""

    progressed = Signal(object)  # SweepProgress
    finished = Signal(object)  # SweepResult
    failed = Signal(object)  # Exception

    def __init__(self, db_url: str, experiment_id: int, parallel: int, nice: int = GUI_WORKER_NICE) -> None:
        super().__init__()
        self.db_url = db_url
        self.experiment_id = experiment_id
        self.parallel = parallel
        self.nice = nice
        self.runner: Any = None
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True
        if self.runner is not None:
            self.runner.cancel()

    @Slot()
    def run(self) -> None:
        store = None
        try:
            from lrstudio.services.sweep import LocalExecutor, SweepRunner
            from lrstudio.storage import open_store

            store = open_store(self.db_url, upgrade=False, backup=False, recover=False)
            self.runner = SweepRunner(store, self.experiment_id, LocalExecutor(self.parallel, nice=self.nice),
                                      on_progress=self.progressed.emit)
            if self._cancelled:
                self.runner.cancel()
            self.finished.emit(self.runner.run())
        except Exception as exc:  # reported in the panel, never lost (as the training worker does)
            self.failed.emit(exc)
        finally:
            if store is not None:
                store.close()
            QThread.currentThread().quit()


class SweepController(QObject):
    """At most one sweep at a time, run from a QThread; relays its signals in the GUI thread."""

    started = Signal(int)  # experiment id
    progressed = Signal(object)  # SweepProgress
    finished = Signal(object)  # SweepResult
    failed = Signal(object)  # Exception
    running_changed = Signal(bool)

    def __init__(self, db_url: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db_url = db_url
        self.experiment_id: int | None = None
        self._thread: QThread | None = None
        self._worker: SweepWorker | None = None
        self._result: Any = None
        self._error: BaseException | None = None

    def is_running(self) -> bool:
        return self._thread is not None

    def start(self, experiment_id: int, parallel: int) -> None:
        """Run (or resume) the stored experiment in ``parallel`` worker processes."""
        from lrstudio.services.process_run import can_share

        if self.is_running():
            raise LrstudioError("A sweep is running already: cancel it or wait until it ends.")
        if not can_share(self.db_url):
            raise LrstudioError("Sweeps train in worker processes, which cannot open an in-memory database: "
                                "open a database file (File > Open database).")
        self.experiment_id = experiment_id
        self._result = self._error = None
        worker = SweepWorker(self.db_url, experiment_id, parallel, nice=GUI_WORKER_NICE)
        # in LIVE_THREADS until it ends: the tests' check that no thread is left running sees it
        thread = start_worker_thread(self, worker, f"lrstudio-sweep-{experiment_id}", progressed=self._on_progressed,
                                     finished=self._on_finished, failed=self._on_failed,
                                     thread_finished=self._on_thread_finished)
        self._thread, self._worker = thread, worker
        self.started.emit(experiment_id)
        self.running_changed.emit(True)
        thread.start()

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Cancel and wait for the thread (window closing); True when none is left running."""
        thread = self._thread
        if thread is None:
            return True
        self.cancel()
        ok = thread.wait(timeout_ms)
        if ok:
            self._on_thread_finished()
        return ok

    @Slot(object)
    def _on_progressed(self, progress: Any) -> None:
        self.progressed.emit(progress)

    @Slot(object)
    def _on_finished(self, result: Any) -> None:
        self._result = result

    @Slot(object)
    def _on_failed(self, exc: BaseException) -> None:
        self._error = exc

    @Slot()
    def _on_thread_finished(self) -> None:
        thread, worker = self._thread, self._worker
        if thread is None:
            return
        thread.wait()
        end_worker_thread(self, thread, worker)  # the worker's last progress and its result first
        self._thread = self._worker = None
        self.running_changed.emit(False)
        if self._error is not None:
            self.failed.emit(self._error)
        else:
            self.finished.emit(self._result)
