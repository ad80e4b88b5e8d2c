"""Runs one stored LR range test beside the GUI, like a training run, and relays its events.

Life cycle (as :mod:`lrstudio.gui.controller` does for training)::

    RangeTestRunner.start(config, options)   GUI thread: check_before_range_test (else raises: no
                                             run row), store.create_run(kind="lr_range_test"),
                                             a QThread with a RangeTestWorker moved onto it
      worker.run()                           worker thread, process mode: the training child
                                             (process_run.take_spare) runs execute_range_test and
                                             stores the test; this thread relays its batches.
                                             Thread mode: its own store, then execute_range_test
        on_events(batch)                     recorder first, then progressed(batch)
      worker.finished(summary) / failed(exc)
    QThread.finished                         GUI thread: the child is given back as the warm spare
                                             (it trains the next run); the runner emits finished /
                                             failed

Process mode (``use_process``: the window's training mode, and a database a child can open) keeps
torch out of the GUI's process, as training does (issue 12: "runs in the worker like training").
Thread mode (in-memory databases, the "train in a thread" preference) runs it in the worker thread.
Stop is cooperative (checked between updates); the thread is never terminated. ``shutdown()``
stops and waits; a child that does not stop in time is terminated (the run then ends ``failed``
with its points, as a training run's).
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from lrstudio.core.config import RunConfig
from lrstudio.core.events import RunSummary
from lrstudio.core.lr_finder import RangeTestOptions
from lrstudio.paths import is_sqlite_memory
from lrstudio.services import process_run
from lrstudio.services.process_run import TrainingProcess
from lrstudio.services.range_test_run import (
    RANGE_TEST_KIND,
    check_before_range_test,
    default_name,
    execute_range_test,
)
from lrstudio.services.runtime import RuntimeOptions

# Batches at most every 50 ms: a range test is short, the curve should move smoothly.
_RUNTIME = RuntimeOptions(emit_interval_s=0.05, dataset_cache=True)


class RangeTestWorker(QObject):
    progressed = Signal(object)  # list[Event]
    finished = Signal(object)  # RunSummary
    failed = Signal(object)  # Exception

    def __init__(self, config: RunConfig, options: RangeTestOptions, db_url: str, run_id: int,
                 store: Any = None, process: TrainingProcess | None = None) -> None:
        super().__init__()
        self._config, self._options, self._db_url, self._run_id = config, options, db_url, run_id
        self._shared_store = store  # an in-memory SQLite database cannot be opened twice
        self._stop = threading.Event()
        self.process = process  # process mode: the child that runs the test (None: this thread)

    def request_stop(self) -> None:
        self._stop.set()
        if self.process is not None:
            self.process.stop()

    @Slot()
    def run(self) -> None:
        if self.process is not None:
            try:
                self.finished.emit(self.process.range_test(self._run_id, self._config, self._options,
                                                           self._db_url, on_events=self.progressed.emit,
                                                           stop=self._stop))
            except Exception as exc:  # what the child's execute_range_test raised, or the pipe failing
                self.failed.emit(exc)
            return
        store = None
        try:
            if self._shared_store is not None:
                store = self._shared_store
            else:
                from lrstudio.storage import open_store

                store = open_store(self._db_url, upgrade=False, backup=False, recover=False)
            summary = execute_range_test(store, self._run_id, self._config, self._options, stop=self._stop,
                                         on_events=self.progressed.emit, runtime=_RUNTIME)
            self.finished.emit(summary)
        except Exception as exc:  # the worker's one broad except: the GUI says what happened
            self.failed.emit(exc)
        finally:
            if store is not None and store is not self._shared_store:
                store.close()


class RangeTestRunner(QObject):
    """Owns the worker thread of one range test at a time; signals arrive in the GUI thread."""

    started = Signal(int)  # run id
    progressed = Signal(object)
    finished = Signal(object)  # RunSummary
    failed = Signal(object)

    def __init__(self, store: Any, db_url: str, parent: QObject | None = None, use_process: bool = False) -> None:
        super().__init__(parent)
        self.store, self.db_url = store, db_url
        self.use_process = use_process and process_run.can_share(db_url)
        self.run_id: int | None = None
        self.process: TrainingProcess | None = None  # the child running the current (or last) test
        self._thread: QThread | None = None
        self._worker: RangeTestWorker | None = None
        self._result: tuple[str, Any] | None = None

    def is_running(self) -> bool:
        return self._thread is not None

    def start(self, config: RunConfig, options: RangeTestOptions, name: str | None = None) -> int:
        """Check, create the run row and start the worker; raises (nothing stored) when a check fails."""
        cfg, opts = check_before_range_test(config, options, import_torch=False)
        run_id = int(self.store.create_run(cfg, name=name or default_name(cfg), kind=RANGE_TEST_KIND))
        self.run_id = run_id
        shared = self.store if is_sqlite_memory(self.db_url) else None
        self.process = process_run.take_spare(cfg) if self.use_process else None
        worker = RangeTestWorker(cfg, opts, self.db_url, run_id, shared, self.process)
        thread = QThread()
        thread.setObjectName("rangeTestThread")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progressed.connect(self._on_progressed)
        worker.finished.connect(self._on_worker_finished)
        worker.failed.connect(self._on_worker_failed)
        worker.finished.connect(thread.quit)
        worker.failed.connect(thread.quit)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker, self._result = thread, worker, None
        thread.start()
        self.started.emit(run_id)
        return run_id

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.request_stop()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop and wait for the thread; True when it ended."""
        thread = self._thread
        if thread is None:
            return True
        self.stop()
        # The worker's finished -> thread.quit connection is queued to this (GUI) thread, which
        # is about to block in wait(): quit the thread's event loop from here (thread-safe; it
        # ends once run() returns), or wait() would always time out.
        thread.quit()
        ok = thread.wait(timeout_ms)
        process = self._worker.process if self._worker is not None else None
        if not ok and process is not None:
            process.terminate()  # the worker sees the child end, records the run failed, and returns
            ok = thread.wait(30_000)
        if ok:
            self._on_thread_finished()
        return ok

    @Slot(object)
    def _on_progressed(self, batch: Any) -> None:
        self.progressed.emit(batch)

    @Slot(object)
    def _on_worker_finished(self, summary: RunSummary) -> None:
        self._result = ("finished", summary)

    @Slot(object)
    def _on_worker_failed(self, exc: Exception) -> None:
        self._result = ("failed", exc)

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is None:
            return
        thread, worker, self._thread, self._worker = self._thread, self._worker, None, None
        thread.wait()
        if worker is not None and worker.process is not None:
            process_run.give_back(worker.process)  # the warm child trains the next run (closed if dead)
        thread.deleteLater()
        result, self._result = self._result, None
        if result is None:
            return
        kind, value = result
        (self.finished if kind == "finished" else self.failed).emit(value)
