"""Runs training in a worker thread and relays its events to the GUI.

Life cycle of one run::

    controller.start(config)            GUI thread: check_runnable(config) (else raises: no run row),
                                        store.create_run(...) -> run_id ("running"),
                                        emits started(run_id), starts a QThread
      worker.run()                      worker thread: opens its own store + RunRecorder,
                                        train(config, BatchingReporter(sink, stop, 0.1 s))
        sink(batch)                     recorder.handle(batch) (DB first), then progressed(batch)
      worker.finished(summary)          or failed(exc); then the thread's event loop quits
    QThread.finished                    GUI thread: controller emits finished(summary) / failed(exc)

``TrainingController`` lives in the GUI thread; the worker's signals reach it as queued
connections, so everything connected to the controller runs in the GUI thread (a worker signal
connected to a lambda would run in the worker thread, see QT-NOTES). Stopping is cooperative:
``stop()`` sets a ``threading.Event`` that the training loop checks between optimizer steps.
``QThread.terminate()`` is never used: it could kill the thread inside a database transaction.

Responsiveness (measured, QT-NOTES): the worker emits at most every ~100 ms and calls
``torch.set_num_threads(1)`` inside its own thread; ``train()`` runs one warm-up step and then
``gc.freeze()`` so that full collections in the worker no longer stall the GUI thread.

While a run is in progress the interpreter's GIL switch interval is lowered from 5 ms to 1 ms
(:data:`WORKER_SWITCH_INTERVAL_S`): the GUI thread otherwise waits a full interval for the GIL
each time it wakes, which measured as ~10 ms median lateness of a 5 ms timer during CNN training;
at 1 ms it was ~2 ms (``bench/bench_gui.py``).

Loaded data sets are kept in a small cache (:func:`cached_dataset`): parsing the digits CSV holds
the GIL for ~0.3 s, a visible freeze at every Start otherwise. :func:`prewarm` (called by the main
window in a background thread after start-up) imports torch and loads the form's data set, so the
first Start does not pay for either. It does so without stalling the GUI thread: torch's native
libraries are mapped by a ``dlopen`` that runs without the GIL (``import torch`` holds it ~250 ms
in ``dlopen``), the collector is paused during the imports (they triggered full collections of
100-260 ms each) and the imported heap is then frozen for good (``gc.freeze``), which ``train()``
respects.

Every started QThread is kept in :data:`_LIVE_THREADS` until it has finished, so tests (and the
app on exit) can check that none is left running.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from lrstudio.core.config import RunConfig, check_runnable
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import FAILED, BatchingReporter, RunFinished, RunSummary

EMIT_INTERVAL_S = 0.1
WORKER_SWITCH_INTERVAL_S = 0.001
DATASET_CACHE_SIZE = 3

_LIVE_THREADS: set[QThread] = set()
# Why importing torch failed in the warm-up thread ("" when it did not fail, or did not run).
_TORCH_IMPORT_ERROR = ""
_DATASETS: OrderedDict[str, Any] = OrderedDict()
_DATASETS_LOCK = threading.Lock()


class GuiGate:
    """Lets the GUI thread draw a frame without fighting the worker for the GIL.

    PySide6 releases the GIL around Qt calls; while the worker runs Python (the training loop,
    the optimizer), every such call costs the GUI thread up to one switch interval to get the GIL
    back, and a plot frame makes hundreds of them: frames measured 50-100 ms instead of ~5 ms. The
    live plots hold the gate while they update and paint (:meth:`hold`); the worker waits at the
    gate between optimizer steps (:meth:`wait`, at most ``timeout`` seconds, so it can never hang).
    """

    def __init__(self) -> None:
        self._free = threading.Event()
        self._free.set()
        self._depth = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        self._depth += 1
        self._free.clear()
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._free.set()

    def wait(self, timeout: float = 0.05) -> None:
        self._free.wait(timeout)


GUI_GATE = GuiGate()


class _GatedReporter(BatchingReporter):
    """A BatchingReporter that waits at :data:`GUI_GATE` between steps."""

    def should_stop(self) -> bool:
        GUI_GATE.wait()
        return super().should_stop()


def _dataset_key(config: RunConfig) -> str:
    ds = asdict(config.dataset)
    stamp = None
    if ds.get("path"):
        try:
            stamp = os.path.getmtime(os.path.expanduser(ds["path"]))
        except OSError:
            stamp = None
    return json.dumps([ds, config.seed, stamp], sort_keys=True, default=str)


def cached_dataset(config: RunConfig, load: bool = True) -> Any:
    """The loaded data set of ``config`` (from the cache, or loaded now); None if it cannot load.

    A data set that fails to load is not cached: ``train()`` then loads it again and reports the
    error as the run's failure, with its message.
    """
    key = _dataset_key(config)
    with _DATASETS_LOCK:
        if key in _DATASETS:
            _DATASETS.move_to_end(key)
            return _DATASETS[key]
    if not load:
        return None
    from lrstudio.core.data import load_dataset

    try:
        ds = load_dataset(config.dataset, seed=config.seed)
    except (LrstudioError, OSError, ValueError):
        return None
    with _DATASETS_LOCK:
        _DATASETS[key] = ds
        while len(_DATASETS) > DATASET_CACHE_SIZE:
            _DATASETS.popitem(last=False)
    return ds


def prewarm(config: RunConfig | None = None) -> None:
    """Import torch and the training code, and load ``config``'s data set (background, idle time).

    The garbage collector is paused while torch is imported and the imported heap is frozen
    afterwards (``gc.freeze``): importing torch allocates hundreds of thousands of objects, which
    triggered several full collections of 100-260 ms each, holding the GIL and stalling the GUI
    thread (measured with a faulthandler watchdog on the GUI thread's timer); once frozen, no later
    collection scans torch's modules again. ``train()`` leaves an existing freeze in place.
    """
    global _TORCH_IMPORT_ERROR
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        _preload_torch_libraries()
        try:
            _prewarm_imports(config)
        except Exception as exc:  # a broken PyTorch (ImportError, OSError of a native library)
            if sys.modules.get("torch") is not None:
                raise
            # Start then says so (torch_problem) instead of storing a run that fails at once.
            _TORCH_IMPORT_ERROR = f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        # Whatever cyclic garbage exists now is frozen with the rest (bounded, one time): a
        # gc.collect() first would itself be the 200 ms stall this avoids.
        from lrstudio.core.training import freeze_heap_for_good

        freeze_heap_for_good()
        if gc_was_enabled:
            gc.enable()


def _preload_torch_libraries() -> None:
    """Map torch's native libraries without holding the GIL (Linux and macOS; best effort).

    ``import torch`` loads libtorch_cpu & co. (hundreds of MB, static initialisers) inside
    ``dlopen`` while holding the GIL: a single ~250-300 ms stall of the GUI thread. ``dlopen``
    called as a ctypes foreign function runs with the GIL released; the import then finds the
    libraries already loaded. (``ctypes.CDLL(path)`` itself keeps the GIL.) Only libraries that do
    not call into Python while loading are preloaded; libtorch_python is left to the import.
    """
    if sys.platform not in ("linux", "darwin"):
        return
    try:
        import ctypes
        import importlib.util

        spec = importlib.util.find_spec("torch")
        if spec is None or spec.origin is None:
            return
        libdir = os.path.join(os.path.dirname(spec.origin), "lib")
        ext = ".dylib" if sys.platform == "darwin" else ".so"
        libc = ctypes.CDLL(None)
        dlopen = libc.dlopen
        dlopen.restype = ctypes.c_void_p
        dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
        for name in ("libc10", "libtorch_cpu", "libtorch"):
            path = os.path.join(libdir, name + ext)
            if os.path.exists(path):
                dlopen(os.fsencode(path), os.RTLD_NOW | os.RTLD_LOCAL)  # handle kept: never unloaded
    except (OSError, AttributeError, ImportError, ValueError):
        pass


def _prewarm_imports(config: RunConfig | None) -> None:
    import torch
    import torch.nn.functional

    import lrstudio.core.data
    import lrstudio.core.models
    import lrstudio.core.training
    import lrstudio.trainer.schedule_adapter

    # First use of autograd and of the CPU conv/pool kernels initialises them (a few hundred ms
    # that would otherwise land in the first run, partly while holding the GIL).
    torch.set_num_threads(1)
    F = torch.nn.functional
    x = torch.zeros(2, 1, 8, 8, requires_grad=True)
    h = F.max_pool2d(F.relu(F.conv2d(x, torch.zeros(4, 1, 3, 3), padding=1)), 2)
    F.cross_entropy(F.linear(h.flatten(1), torch.zeros(10, 64)), torch.zeros(2, dtype=torch.long)).backward()
    F.mse_loss(F.linear(torch.zeros(4, 3, requires_grad=True), torch.zeros(1, 3)), torch.zeros(4, 1)).backward()
    # The first optimizer step imports more of torch (torch.optim's compile/fallback helpers).
    p = torch.nn.Parameter(torch.zeros(3))
    p.grad = torch.zeros(3)
    for opt in (torch.optim.SGD([p], lr=0.1), torch.optim.Adam([p], lr=0.1)):
        opt.step()

    # SQLAlchemy configures its ORM mappers when the first row object is created: ~8 ms of
    # Python in the GUI thread at the first Start (store.create_run), done here instead.
    from sqlalchemy.orm import configure_mappers

    import lrstudio.storage.models  # noqa: F401

    configure_mappers()

    if config is not None:
        cached_dataset(config)


def torch_problem() -> str:
    """Why PyTorch cannot train here ("" when it can, as far as is known without importing it).

    Cheap enough for the GUI thread: torch already imported is fine; a failed import in the
    warm-up thread (:func:`prewarm`) is reported; otherwise the package is only looked up
    (``importlib.util.find_spec``), never imported here (an import takes seconds).
    """
    if sys.modules.get("torch") is not None:
        return ""
    if _TORCH_IMPORT_ERROR:
        return _TORCH_IMPORT_ERROR
    import importlib.util

    try:
        found = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        found = False
    return "" if found else "No module named 'torch'"


def live_threads() -> list[QThread]:
    """Training threads started by any controller that have not finished yet."""
    return [t for t in list(_LIVE_THREADS) if _alive(t)]


def _alive(t: QThread) -> bool:
    try:
        return t.isRunning()
    except RuntimeError:  # the C++ object is gone
        return False


class TrainingWorker(QObject):
    """Trains one run; lives in the worker thread once moved there."""

    progressed = Signal(object)  # list[Event], at most every EMIT_INTERVAL_S
    finished = Signal(object)  # RunSummary
    failed = Signal(object)  # Exception

    def __init__(self, config: RunConfig, db_url: str, run_id: int, store: Any = None) -> None:
        super().__init__()
        self._config = config
        self._db_url = db_url
        self._run_id = run_id
        self._shared_store = store  # used only when the URL cannot be opened twice (in-memory SQLite)
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
        store = recorder = None
        own_store = False
        started = time.monotonic()
        try:
            _prepare_worker_thread()
            # Building the model and opening the store is Python-heavy; done while the GUI thread
            # repaints everything for the new run, both took ~3x longer (GIL ping-pong). Wait
            # until the controller says the GUI is done (or 0.5 s at most).
            self._go.wait(0.5)
            from lrstudio.core.training import train
            from lrstudio.storage import open_store

            if self._shared_store is not None:
                store = self._shared_store
            else:
                # The worker's own store (engine + sessions), opened in this thread; the GUI reads
                # through the main window's store. The database was upgraded when the app opened it.
                store = open_store(self._db_url, upgrade=False, backup=False, recover=False)
                own_store = True
            recorder = store.recorder(self._run_id)

            def sink(batch: list) -> None:
                recorder.handle(batch)  # the database first: what the user saw is saved
                self.progressed.emit(batch)

            reporter = _GatedReporter(sink, self._stop, interval_s=EMIT_INTERVAL_S)
            summary = train(self._config, reporter, dataset=cached_dataset(self._config))
            recorder.flush()
            self.finished.emit(summary)
        except Exception as exc:  # the only broad except in the app: anything is reported, not lost
            if recorder is not None:
                _record_failure(recorder, exc, time.monotonic() - started)
            self.failed.emit(exc)
        finally:
            if recorder is not None:
                try:
                    recorder.close()
                except Exception:
                    pass
            if own_store and store is not None:
                store.close()
            thread = QThread.currentThread()
            thread.quit()


def _prepare_worker_thread() -> None:
    if "torch" not in sys.modules:  # no prewarm ran: at least map the libraries without the GIL
        _preload_torch_libraries()
    import torch

    # Per thread: intra-op threads of this (worker) thread only. On 2 cores this was never slower,
    # and it leaves a core to the GUI thread. (train() sets it too; set here before anything runs.)
    # The warm-up step and gc.freeze() of QT-NOTES happen inside train(); a gc.collect() here was
    # measured as a ~300 ms GUI stall at every Start (it scans all of torch while holding the GIL).
    torch.set_num_threads(1)


def _record_failure(recorder: Any, exc: BaseException, duration: float) -> None:
    summary = RunSummary(status=FAILED, steps=0, epochs=0, duration_s=duration, error=str(exc) or type(exc).__name__)
    try:
        recorder.handle([RunFinished(summary)])
        recorder.flush()
    except Exception:
        pass


class TrainingController(QObject):
    """Owns at most one training thread at a time; relays its signals in the GUI thread."""

    started = Signal(int)  # run id (the run exists in the database as "running")
    progressed = Signal(object)  # list[Event]
    finished = Signal(object)  # RunSummary, after the thread has ended
    failed = Signal(object)  # Exception, after the thread has ended
    running_changed = Signal(bool)

    def __init__(self, store: Any, db_url: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._db_url = db_url
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._summary: RunSummary | None = None
        self._error: BaseException | None = None
        self.run_id: int | None = None
        self.config: RunConfig | None = None
        self._saved_switch_interval: float | None = None

    def set_store(self, store: Any, db_url: str) -> None:
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
        """Check ``config`` (``check_runnable``), create the run in the database and start training it.

        Raises the check's :class:`~lrstudio.core.params.ParamError` before anything is stored.
        """
        if self.is_running():
            raise RuntimeError("a run is already in progress")
        # The one pre-run gate (issue 9): a config that fails any check possible before the data
        # load never becomes a run row. A data set loaded before (cache) gives its exact size.
        problem = torch_problem()
        if problem:
            raise LrstudioError(
                f"PyTorch is not installed or failed to import ({problem}); install it into this Python "
                f"({sys.executable}) with `pip install torch` (CPU build: `pip install torch --index-url "
                "https://download.pytorch.org/whl/cpu`)")
        loaded = cached_dataset(config, load=False)
        config = check_runnable(config, n_train=getattr(loaded, "n_train", None))
        run_id = self._store.create_run(config, name=config.name or None)
        self.run_id = run_id
        self.config = replace(config)
        self._summary = None
        self._error = None
        thread = QThread()
        thread.setObjectName(f"lrstudio-train-{run_id}")
        shared = self._store if _single_connection_url(self._db_url) else None
        worker = TrainingWorker(config, self._db_url, run_id, store=shared)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progressed.connect(self._on_worker_progressed)
        worker.finished.connect(self._on_worker_finished)
        worker.failed.connect(self._on_worker_failed)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        _LIVE_THREADS.add(thread)
        self._saved_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._saved_switch_interval, WORKER_SWITCH_INTERVAL_S))
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
        if self._saved_switch_interval is not None:
            sys.setswitchinterval(self._saved_switch_interval)
            self._saved_switch_interval = None
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


def _single_connection_url(url: str) -> bool:
    """In-memory SQLite cannot be opened a second time: the worker must share the app's store."""
    u = url.lower()
    return u.startswith("sqlite") and (u in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in u)
