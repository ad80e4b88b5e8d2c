"""Measured process tuning, in one labelled room (issue 10; STYLE.md habit 6).

Every tweak here was measured and cites the script a successor can rerun. None of them changes what
a run computes or stores; they change how the training thread shares one interpreter with a GUI.
They are switched by :class:`RuntimeOptions`, a frozen value handed to
:func:`lrstudio.services.training_run.run_training` (and from there to the worker), never by module
globals. :data:`HEADLESS` (the CLI, a separate process, the tests) switches everything off;
:data:`DESKTOP` is what the app uses.

=====================  ==========================================  ===================================
tweak                  what it does                                measured by
=====================  ==========================================  ===================================
``emit_interval_s``    events reach the listener in batches, at    ``bench/bench_gui.py`` (lateness),
                       most every 100 ms                           ``bench/bench_engine.py`` (cost)
``paint_gate``         the worker waits at :data:`PAINT_GATE`      ``bench/bench_gui.py``: frames of
                       after each step while the GUI paints        50-100 ms -> ~5 ms
                       (:meth:`PaintGate.let_painter_finish`)
``switch_interval_s``  ``sys.setswitchinterval`` lowered from      ``bench/bench_gui.py``: median
                       5 ms to 1 ms while a run is in progress     lateness ~10 ms -> ~2 ms (CNN)
``torch_threads``      one intra-op thread in the training thread  ``bench/bench_engine.py``: never
                                                                   slower on 2 cores, up to 3x faster
``dataset_cache``      loaded data sets kept (3), so Start does    ``bench/bench_gui.py`` (first run
                       not parse the digits CSV again (~0.3 s      vs warm run, ``--no-prewarm``)
                       holding the GIL)
``preload_torch``      torch's native libraries mapped by a        ``bench/bench_gui.py``: one
                       GIL-free ``dlopen`` before ``import torch``  250-300 ms stall of the GUI thread
                                                                   removed
``separate_process``   the GUI's run trains in a spawned child     ``bench/bench_gui.py``: thread vs
                       process (``services/process_run.py``); the  process side by side (steps/s vs
                       GUI's worker thread only relays batches     the CLI, timer lateness)
:func:`prewarm`        torch, autograd kernels, ORM mappers and    ``bench/bench_gui.py`` (start-up
                       the form's data set loaded at idle; the     and first run); full collections
                       collector paused, the heap then frozen      of 100-260 ms during the imports
                       for good (``gc.freeze``)                    removed
=====================  ==========================================  ===================================

``train()`` freezes the objects alive at its start (``gc.freeze``) and unfreezes them at its end
when ``freeze_heap_per_run`` (``bench/bench_engine.py``); a process whose heap :func:`prewarm`
froze for good runs with it False, so that freeze is left in place.

No Qt here: the GUI holds the paint gate from its paint code; everything else is plain Python.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import BatchingReporter, Event, StepLogged


@dataclass(frozen=True)
class RuntimeOptions:
    """Which measured tweaks a run uses (see the module table for what measured each)."""

    emit_interval_s: float = 0.1
    paint_gate: bool = False
    paint_gate_timeout_s: float = 0.05
    switch_interval_s: float | None = None
    torch_threads: int | None = 1
    dataset_cache: bool = False
    preload_torch: bool = False
    separate_process: bool = False
    #: train() freezes the heap at its start and unfreezes it at its end; False in a process whose
    #: heap prewarm() froze for good (the app, the training child, sweep workers)
    freeze_heap_per_run: bool = True


HEADLESS = RuntimeOptions()
DESKTOP = RuntimeOptions(paint_gate=True, switch_interval_s=0.001, dataset_cache=True, preload_torch=True,
                         separate_process=True, freeze_heap_per_run=False)


# -- the paint gate ---------------------------------------------------------------------------------
class PaintGate:
    """Lets the GUI thread draw a frame without fighting the worker for the GIL.

    PySide6 releases the GIL around Qt calls; while the worker runs Python (the training loop, the
    optimizer), every such call costs the GUI thread up to one switch interval to get the GIL back,
    and a plot frame makes hundreds of them: frames measured 50-100 ms instead of ~5 ms
    (``bench/bench_gui.py``). The live plots hold the gate while they update and paint
    (:meth:`hold`); the worker, after each step, calls :meth:`let_painter_finish`, which waits
    while the gate is held (at most ``timeout`` seconds, so a run can never hang on it).
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

    def let_painter_finish(self, timeout: float = 0.05) -> None:
        """Wait (at most ``timeout`` s) until no frame is being painted. A named side effect."""
        self._free.wait(timeout)


#: The one gate of this process: the GUI's paint code holds it, a worker run with
#: ``RuntimeOptions(paint_gate=True)`` waits at it.
PAINT_GATE = PaintGate()


class PaintGatedReporter(BatchingReporter):
    """A :class:`BatchingReporter` that, after each optimizer step, lets a frame being painted
    finish (:meth:`PaintGate.let_painter_finish`) before the next step starts.

    The wait is a side effect of reporting a step (a command), never of ``should_stop()`` (a
    query, which answers at once: STYLE.md habit 5).
    """

    def __init__(self, *args: Any, gate: PaintGate = PAINT_GATE, timeout_s: float = 0.05, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate = gate
        self._timeout_s = timeout_s

    def emit(self, event: Event) -> None:
        super().emit(event)
        if type(event) is StepLogged:
            self._gate.let_painter_finish(self._timeout_s)


def make_reporter(sink: Any, stop: Any, options: RuntimeOptions) -> BatchingReporter:
    """The reporter a run of ``options`` uses: batched every ``emit_interval_s``, paint-gated if asked."""
    if options.paint_gate:
        return PaintGatedReporter(sink, stop, interval_s=options.emit_interval_s,
                                  timeout_s=options.paint_gate_timeout_s)
    return BatchingReporter(sink, stop, interval_s=options.emit_interval_s)


# -- the interpreter's switch interval -----------------------------------------------------------------
@contextmanager
def switch_interval(seconds: float | None) -> Iterator[None]:
    """Lower ``sys.setswitchinterval`` to ``seconds`` for the block (None: unchanged).

    The GUI thread otherwise waits a full interval (5 ms) for the GIL each time it wakes while the
    worker computes: ~10 ms median lateness of a 5 ms timer during CNN training, ~2 ms at 1 ms
    (``bench/bench_gui.py``).
    """
    if seconds is None:
        yield
        return
    saved = sys.getswitchinterval()
    sys.setswitchinterval(min(saved, seconds))
    try:
        yield
    finally:
        sys.setswitchinterval(saved)


# -- the data set cache ----------------------------------------------------------------------------------
class DatasetCache:
    """Loaded data sets by (data-set config, seed, file modification time), the newest ``size`` kept.

    Parsing the digits CSV holds the GIL for ~0.3 s: a visible freeze at every Start without it
    (``bench/bench_gui.py``, first run vs warm run). A data set that fails to load is not cached.
    """

    def __init__(self, size: int = 3) -> None:
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(config: RunConfig) -> str:
        ds = asdict(config.dataset)
        stamp = None
        if ds.get("path"):
            try:
                stamp = os.path.getmtime(os.path.expanduser(ds["path"]))
            except (OSError, ValueError):
                stamp = None
        return json.dumps([ds, config.seed, stamp], sort_keys=True, default=str)

    def peek(self, config: RunConfig) -> Any:
        """The cached data set of ``config``, or None (never loads: cheap for the GUI thread)."""
        key = self._key(config)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def load(self, config: RunConfig) -> Any:
        """The data set of ``config``, from the cache or loaded now (a load error is raised)."""
        found = self.peek(config)
        if found is not None:
            return found
        from lrstudio.core.datasets import load_dataset

        ds = load_dataset(config.dataset, seed=config.seed)
        with self._lock:
            self._items[self._key(config)] = ds
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return ds

    def get(self, config: RunConfig, load: bool = True) -> Any:
        """The data set of ``config`` (loading it when ``load``); None if it is not there or cannot load."""
        if not load:
            return self.peek(config)
        try:
            return self.load(config)
        except (LrstudioError, OSError, ValueError):
            return None


#: This process's data sets (used when ``RuntimeOptions.dataset_cache`` is on).
DATASETS = DatasetCache()


# -- torch: preloading, the worker thread, and what is wrong with it ------------------------------------------
_torch_import_error = ""  # why importing torch failed in prewarm ("" when it did not, or did not run)


def torch_problem() -> str:
    """Why PyTorch cannot train here ("" when it can, as far as is known without importing it).

    Cheap enough for a GUI thread: torch already imported is fine; a failed import in
    :func:`prewarm` is reported; otherwise the package is only looked up
    (``importlib.util.find_spec``), never imported here (an import takes seconds).
    """
    if sys.modules.get("torch") is not None:
        return ""
    if _torch_import_error:
        return _torch_import_error
    import importlib.util

    try:
        found = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        found = False
    return "" if found else "No module named 'torch'"


def preload_torch_libraries() -> None:
    """Map torch's native libraries without holding the GIL (Linux and macOS; best effort).

    ``import torch`` loads libtorch_cpu & co. (hundreds of MB, static initialisers) inside
    ``dlopen`` while holding the GIL: a single ~250-300 ms stall of the GUI thread
    (``bench/bench_gui.py``). ``dlopen`` called as a ctypes foreign function runs with the GIL
    released; the import then finds the libraries already loaded. (``ctypes.CDLL(path)`` itself
    keeps the GIL.) Only libraries that do not call into Python while loading are preloaded;
    libtorch_python is left to the import.
    """
    if sys.platform not in ("linux", "darwin") or "torch" in sys.modules:
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


def prepare_training_thread(options: RuntimeOptions) -> None:
    """Run in the thread that will train, before anything else of the run.

    Preloads torch's libraries without the GIL when asked, and sets this thread's intra-op threads
    (``bench/bench_engine.py``: one thread never slower on 2 cores, and it leaves a core to a GUI
    thread; ``train()`` sets it too). No ``gc.collect()`` here: it measured as a ~300 ms GUI stall
    at every Start (it scans all of torch while holding the GIL).
    """
    if options.preload_torch:
        preload_torch_libraries()
    if options.torch_threads is not None:
        import torch

        torch.set_num_threads(options.torch_threads)


def prewarm(config: RunConfig | None = None, cache: DatasetCache | None = None, *, torch: bool = True) -> None:
    """Import torch and the training code, and load ``config``'s data set (background, idle time).

    ``torch=False``: only the data set and the ORM mappers (a GUI whose runs train in a child
    process, :mod:`lrstudio.services.process_run`, never imports torch itself).

    The garbage collector is paused while torch is imported and the imported heap is frozen
    afterwards (``gc.freeze``): importing torch allocates hundreds of thousands of objects, which
    triggered several full collections of 100-260 ms each, holding the GIL and stalling the GUI
    thread (measured with a faulthandler watchdog on the GUI thread's timer, ``bench/bench_gui.py``);
    once frozen, no later collection scans torch's modules again. Runs in this process then use
    ``RuntimeOptions(freeze_heap_per_run=False)``, which leaves that freeze in place.
    """
    global _torch_import_error
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if torch:
            preload_torch_libraries()
        try:
            _prewarm_imports(config, cache if cache is not None else DATASETS, torch)
        except Exception as exc:  # a broken PyTorch (ImportError, OSError of a native library)
            if sys.modules.get("torch") is not None:
                raise
            # Start then says so (torch_problem) instead of storing a run that fails at once.
            _torch_import_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        # Whatever cyclic garbage exists now is frozen with the rest (bounded, one time): a
        # gc.collect() first would itself be the 200 ms stall this avoids.
        gc.freeze()  # for the rest of the process: its runs say freeze_heap_per_run=False
        if gc_was_enabled:
            gc.enable()


def _prewarm_imports(config: RunConfig | None, cache: DatasetCache, torch: bool = True) -> None:
    if torch:
        _prewarm_torch()
    # SQLAlchemy configures its ORM mappers when the first row object is created: ~8 ms of
    # Python in the GUI thread at the first Start (store.create_run), done here instead.
    from sqlalchemy.orm import configure_mappers

    import lrstudio.storage.models  # noqa: F401

    configure_mappers()

    if config is not None:
        cache.get(config)


def _prewarm_torch() -> None:
    import torch
    import torch.nn.functional

    import lrstudio.core.data
    import lrstudio.trainer.loop
    import lrstudio.trainer.models
    import lrstudio.trainer.schedule_adapter  # noqa: F401

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
