"""Runs training beside the GUI through the run service and relays its events to the GUI.

Two modes (``RuntimeOptions.separate_process``; the preference ``train_in_process``):

* **process** (the default, issue 11): the worker thread owns a spawned child process
  (:class:`~lrstudio.services.process_run.TrainingProcess`) that runs ``execute_run`` and writes
  the run to the store itself; the worker relays the child's event batches exactly as the thread
  mode emits them. The GUI's interpreter then never trains (no GIL contention with the plots) and
  never imports torch. A child that dies (``kill -9``) ends the run ``failed`` with its points;
  closing the window stops the run, joins the child with a timeout, then terminates it. The idle
  child is reused for the next run (spawn + ``import torch`` cost ~1.5-4 s).
* **thread** (debugging; and always for an in-memory SQLite database, which a child process
  cannot open): the worker thread itself calls ``execute_run``, as below.

Life cycle of one run (thread mode; in process mode ``execute_run`` runs in the child)::

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

The QThread plumbing (start, relay, hand-over after the thread ended) is :mod:`lrstudio.gui.threads`,
shared with the sweep controller; every started QThread is kept in its :data:`LIVE_THREADS` until
it has finished, so tests (and the app on exit) can check that none is left running
(:func:`live_threads`).
"""

from __future__ import annotations

import threading
from dataclasses import replace

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import RunSummary
from lrstudio.core.runs import RunStore
from lrstudio.gui.threads import LIVE_THREADS, end_worker_thread, start_worker_thread
from lrstudio.gui.threads import live_threads as live_threads
from lrstudio.paths import is_sqlite_memory
from lrstudio.services import process_run, runtime
from lrstudio.services.process_run import TrainingProcess
from lrstudio.services.runtime import DESKTOP, RuntimeOptions
from lrstudio.services.training_run import check_before_run, execute_run

EMIT_INTERVAL_S = DESKTOP.emit_interval_s

# Names the GUI modules use (the objects live in services.runtime; import them from there).
cached_dataset = runtime.DATASETS.get
prewarm = runtime.prewarm
torch_problem = runtime.torch_problem

# The names this module had (tests import live_threads from here); they live in gui/threads.py.
_LIVE_THREADS = LIVE_THREADS


class TrainingWorker(QObject):
    """Trains one existing run through :func:`~lrstudio.services.training_run.execute_run`; lives
    in the worker thread once moved there."""

    progressed = Signal(object)  # list[Event], at most every EMIT_INTERVAL_S
    finished = Signal(object)  # RunSummary
    failed = Signal(object)  # Exception

    def __init__(self, config: RunConfig, db_url: str, run_id: int, store: RunStore | None = None,
                 options: RuntimeOptions = DESKTOP, process: TrainingProcess | None = None) -> None:
        super().__init__()
        self._config = config
        self._db_url = db_url
        self._run_id = run_id
        self._shared_store = store  # used only when the URL cannot be opened twice (in-memory SQLite)
        self._options = options
        self._stop = threading.Event()
        self._go = threading.Event()
        self.process = process  # process mode: the child that trains (None: this thread trains)

    def request_stop(self) -> None:
        self._stop.set()
        if self.process is not None:
            self.process.stop()
        self._go.set()

    def go(self) -> None:
        """The GUI has drawn the new run's empty plots: set-up may start (see ``run``)."""
        self._go.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @Slot()
    def run(self) -> None:
        if self.process is not None:
            self._run_in_process(self.process)
            return
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

    def _run_in_process(self, process: TrainingProcess) -> None:
        """Process mode: the child trains and stores; this thread relays its batches."""
        try:
            summary = process.train(self._run_id, self._config, self._db_url, on_events=self.progressed.emit,
                                    stop=self._stop)
            self.finished.emit(summary)
        except Exception as exc:  # what the child's execute_run raised, or the pipe failing
            self.failed.emit(exc)
        finally:
            QThread.currentThread().quit()


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

    @property
    def options(self) -> RuntimeOptions:
        return self._options

    def set_separate_process(self, on: bool) -> None:
        """Train the next runs in a child process (True) or in a thread of the GUI (False)."""
        self._options = replace(self._options, separate_process=on)

    def uses_process(self, db_url: str | None = None) -> bool:
        """Whether a run started now trains in a child process: asked for, and the database is
        one a child can open (an in-memory SQLite database falls back to the thread mode)."""
        return self._options.separate_process and process_run.can_share(db_url or self._db_url)

    def prewarm_process(self, config: RunConfig | None = None) -> None:
        """Process mode: spawn the warm child now (it imports torch and loads ``config``'s data
        set while idle) so that Start does not wait for it."""
        if self.uses_process():
            process_run.start_spare(config)

    @property
    def process(self) -> TrainingProcess | None:
        """The child training the current run (process mode), else None."""
        return self._worker.process if self._worker is not None else None

    def set_store(self, store: RunStore | None, db_url: str) -> None:
        if self.is_running():
            raise RuntimeError("cannot switch databases during a run")
        if db_url != self._db_url:
            process_run.close_spare()  # the idle child was warmed for the other database
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
        # In-memory SQLite cannot be opened a second time: the worker must share the app's store
        # (and so train in this process).
        shared = self._store if is_sqlite_memory(self._db_url) else None
        process = process_run.take_spare(config) if self.uses_process() else None
        worker = TrainingWorker(config, self._db_url, run_id, store=shared, options=self._options, process=process)
        thread = start_worker_thread(self, worker, f"lrstudio-train-{run_id}", progressed=self._on_worker_progressed,
                                     finished=self._on_worker_finished, failed=self._on_worker_failed,
                                     thread_finished=self._on_thread_finished)
        self._thread, self._worker = thread, worker
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
        """Stop and wait for the thread (window closing). True when no thread is left running.

        Process mode: the child gets ``timeout_ms`` to stop the run; then it is terminated (the
        run ends ``failed`` with its points) and, after the run ended either way, it is joined or
        terminated too: no child outlives the window's run.
        """
        thread = self._thread
        if thread is None:
            return True
        process = self.process
        self.stop()
        ok = thread.wait(timeout_ms)
        if not ok and process is not None:
            process.terminate()  # the worker sees the child end, records the run, and returns
            ok = thread.wait(30_000)
        # Deliver the queued finished/failed signals now, so the run's end is handled here.
        if ok:
            self._on_thread_finished(keep_process=False)
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
    def _on_thread_finished(self, keep_process: bool = True) -> None:
        thread, worker = self._thread, self._worker
        if thread is None:
            return  # already handled by shutdown()
        thread.wait()
        process = worker.process if worker is not None else None
        if process is not None:
            if keep_process:
                process_run.give_back(process)  # the warm child trains the next run
            else:
                process.close()  # window closing: quit, join with a timeout, then terminate
        # Signals the worker queued before its thread ended (last batch, finished) come first.
        end_worker_thread(self, thread, worker)
        self._thread = self._worker = None
        self.running_changed.emit(False)
        if self._error is not None:
            self.failed.emit(self._error)
        elif self._summary is not None:
            self.finished.emit(self._summary)
        else:  # pragma: no cover - the worker always emits one of the two
            self.failed.emit(RuntimeError("the training thread ended without a result"))

