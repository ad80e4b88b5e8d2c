"""Runs training in a worker thread through the run service and relays its events to the GUI.

Life cycle of one run::

    controller.start(config)            GUI thread: check_before_run(config) (else raises: no run
                                        row), store.create_run(...) -> run_id ("running"),
                                        emits started(run_id), starts a QThread
      worker.run()                      worker thread: opens its own store, then
                                        services.training_run.execute_run(...): record, load the
                                        data, train, finish (the failure policy is the service's)
        on_events(batch)                recorder.handle(batch) (DB first), then progressed(batch)
      worker.finished(summary)          or failed(exc); then the thread's event loop quits
    QThread.finished                    GUI thread: controller emits finished(summary) / failed(exc)

The orchestration itself (what is checked before the row, what a bad data file stores) is
:mod:`lrstudio.services.training_run`, the same function the CLI calls. The measured tuning (the
paint gate, the switch interval, the data set cache, torch preloading) is
:mod:`lrstudio.services.runtime`, switched on here by :data:`~lrstudio.services.runtime.DESKTOP`.

``TrainingController`` lives in the GUI thread; the worker's signals reach it as queued
connections, so everything connected to the controller runs in the GUI thread (a worker signal
connected to a lambda would run in the worker thread, see QT-NOTES). Stopping is cooperative:
``stop()`` sets a ``threading.Event`` that the training loop checks between optimizer steps.
``QThread.terminate()`` is never used: it could kill the thread inside a database transaction.

Every started QThread is kept in :data:`_LIVE_THREADS` until it has finished, so tests (and the
app on exit) can check that none is left running.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import RunSummary
from lrstudio.core.runs import RunStore
from lrstudio.paths import is_sqlite_memory
from lrstudio.services import runtime
from lrstudio.services.runtime import DESKTOP, RuntimeOptions
from lrstudio.services.training_run import check_before_run, execute_run

EMIT_INTERVAL_S = DESKTOP.emit_interval_s

# Names the GUI modules use (the objects live in services.runtime; import them from there).
cached_dataset = runtime.DATASETS.get
prewarm = runtime.prewarm
torch_problem = runtime.torch_problem

_LIVE_THREADS: set[QThread] = set()


def live_threads() -> list[QThread]:
    """Training threads started by any controller that have not finished yet."""
    return [t for t in list(_LIVE_THREADS) if _alive(t)]


def _alive(t: QThread) -> bool:
    try:
        return t.isRunning()
    except RuntimeError:  # the C++ object is gone
        return False


class TrainingWorker(QObject):
    """Trains one existing run through :func:`~lrstudio.services.training_run.execute_run`; lives
    in the worker thread once moved there."""

    progressed = Signal(object)  # list[Event], at most every EMIT_INTERVAL_S
    finished = Signal(object)  # RunSummary
    failed = Signal(object)  # Exception

    def __init__(self, config: RunConfig, db_url: str, run_id: int, store: RunStore | None = None,
                 options: RuntimeOptions = DESKTOP) -> None:
        super().__init__()
        self._config = config
        self._db_url = db_url
        self._run_id = run_id
        self._shared_store = store  # used only when the URL cannot be opened twice (in-memory SQLite)
        self._options = options
        self._stop = threading.Event()
        self._go = threading.Event()

    def request_stop(self) -> None:
        self._stop.set()
        self._go.set()

    def go(self) -> None:
        """The GUI has drawn the new run's empty plots: set-up may start (see ``run``)."""
        self._go.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @Slot()
    def run(self) -> None:
        store = None
        own_store = False
        try:
            runtime.prepare_training_thread(self._options)
            # Building the model and opening the store is Python-heavy; done while the GUI thread
            # repaints everything for the new run, both took ~3x longer (GIL ping-pong). Wait
            # until the controller says the GUI is done (or 0.5 s at most).
            self._go.wait(0.5)
            from lrstudio.storage import open_store

            if self._shared_store is not None:
                store = self._shared_store
            else:
                # The worker's own store (engine + sessions), opened in this thread; the GUI reads
                # through the main window's store. The database was upgraded when the app opened it.
                store = open_store(self._db_url, upgrade=False, backup=False, recover=False)
                own_store = True
            summary = execute_run(store, self._run_id, self._config, stop=self._stop,
                                  on_events=self.progressed.emit, options=self._options)
            self.finished.emit(summary)
        except Exception as exc:  # the only broad except in the app: anything is reported, not lost
            self.failed.emit(exc)  # (execute_run has stored the run as failed where it could)
        finally:
            if own_store and store is not None:
                store.close()
            thread = QThread.currentThread()
            thread.quit()


class TrainingController(QObject):
    """Owns at most one training thread at a time; relays its signals in the GUI thread."""

    started = Signal(int)  # run id (the run exists in the database as "running")
    progressed = Signal(object)  # list[Event]
    finished = Signal(object)  # RunSummary, after the thread has ended
    failed = Signal(object)  # Exception, after the thread has ended
    running_changed = Signal(bool)

    def __init__(self, store: RunStore | None, db_url: str, parent: QObject | None = None,
                 options: RuntimeOptions = DESKTOP) -> None:
        super().__init__(parent)
        self._options = options
        self._store = store
        self._db_url = db_url
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._summary: RunSummary | None = None
        self._error: BaseException | None = None
        self.run_id: int | None = None
        self.config: RunConfig | None = None

    def set_store(self, store: RunStore | None, db_url: str) -> None:
        if self.is_running():
            raise RuntimeError("cannot switch databases during a run")
        self._store = store
        self._db_url = db_url

    def is_running(self) -> bool:
        return self._thread is not None

    @property
    def stop_requested(self) -> bool:
        return self._worker is not None and self._worker.stop_requested

    def start(self, config: RunConfig) -> int:
        """Check ``config`` (``check_before_run``), create the run in the database and start training it.

        Raises the check's :class:`~lrstudio.core.params.ParamError` (or an
        :class:`~lrstudio.core.errors.LrstudioError` when PyTorch is missing) before anything is
        stored; what happens after the row exists is the run service's failure policy.
        """
        if self.is_running():
            raise RuntimeError("a run is already in progress")
        # A data set loaded before (the cache) gives its exact size: the length checks run now.
        loaded = runtime.DATASETS.peek(config) if self._options.dataset_cache else None
        config = check_before_run(config, n_train=getattr(loaded, "n_train", None), import_torch=False)
        if self._store is None:
            raise LrstudioError("No database is open: open one (File > Open database) to record the run.")
        run_id = self._store.create_run(config, name=config.name or None)
        self.run_id = run_id
        self.config = replace(config)
        self._summary = None
        self._error = None
        thread = QThread()
        thread.setObjectName(f"lrstudio-train-{run_id}")
        # In-memory SQLite cannot be opened a second time: the worker must share the app's store.
        shared = self._store if is_sqlite_memory(self._db_url) else None
        worker = TrainingWorker(config, self._db_url, run_id, store=shared, options=self._options)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progressed.connect(self._on_worker_progressed)
        worker.finished.connect(self._on_worker_finished)
        worker.failed.connect(self._on_worker_failed)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        _LIVE_THREADS.add(thread)
        self.started.emit(run_id)
        self.running_changed.emit(True)
        thread.start()
        # Zero-timers run after the posted events (the repaint of the reset plots) are handled.
        QTimer.singleShot(0, worker.go)
        return run_id

    def stop(self) -> None:
        """Ask the run to stop after the current step (returns at once)."""
        if self._worker is not None:
            self._worker.request_stop()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop and wait for the thread (window closing). True when no thread is left running."""
        thread = self._thread
        if thread is None:
            return True
        self.stop()
        ok = thread.wait(timeout_ms)
        # Deliver the queued finished/failed signals now, so the run's end is handled here.
        if ok:
            self._on_thread_finished()
        return ok

    # -- worker → GUI (queued into this thread) ------------------------------------------
    @Slot(object)
    def _on_worker_progressed(self, batch: list) -> None:
        self.progressed.emit(batch)

    @Slot(object)
    def _on_worker_finished(self, summary: RunSummary) -> None:
        self._summary = summary

    @Slot(object)
    def _on_worker_failed(self, exc: BaseException) -> None:
        self._error = exc

    @Slot()
    def _on_thread_finished(self) -> None:
        thread, worker = self._thread, self._worker
        if thread is None:
            return  # already handled by shutdown()
        thread.wait()
        from PySide6.QtCore import QCoreApplication

        # Signals the worker queued before its thread ended (last batch, finished) come first.
        QCoreApplication.sendPostedEvents(self)
        self._thread = self._worker = None
        _LIVE_THREADS.discard(thread)
        if worker is not None:
            worker.deleteLater()
        thread.deleteLater()
        self.running_changed.emit(False)
        if self._error is not None:
            self.failed.emit(self._error)
        elif self._summary is not None:
            self.finished.emit(self._summary)
        else:  # pragma: no cover - the worker always emits one of the two
            self.failed.emit(RuntimeError("the training thread ended without a result"))

