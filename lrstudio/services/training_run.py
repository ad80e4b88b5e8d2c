"""The one run orchestration: validate -> create the run -> record -> load data -> train -> finish.

Every front end trains through here: ``lrstudio train``/``demo`` call :func:`run_training` in the
main thread, the GUI's worker calls :func:`execute_run` in a ``QThread`` after creating the row in
the GUI thread with :func:`check_before_run` + ``store.create_run`` (so Start knows the run id at
once), and a separate process (``multiprocessing``, spawn) or another machine calls
:func:`run_training` with plain data: a :class:`~lrstudio.core.config.RunConfig` or its dict, a
database URL, a stop signal (anything with ``is_set()``: a ``threading.Event``, a
``multiprocessing`` event) and optionally a callback that receives each batch of events.

Failure policy (the same for every front end)
---------------------------------------------
1. **Before the run row** (:func:`check_before_run`): every check that needs no data file: PyTorch
   importable, ``check_runnable`` (the config's values, model/option pairs, and the run-length checks
   when the data set's size is known without reading a file: the built-in data sets, or a data set
   the caller already holds). A failure raises (:class:`~lrstudio.core.errors.LrstudioError`, a
   ``ParamError`` naming the field) and **no run is stored**.
2. **After the run row**: the data set is loaded (a csv or MNIST file is read here, in the thread
   or process that trains), the run-length checks run again with its real size, then the loop
   trains. Anything that fails from here (a file that does not exist or does not parse, a warm-up
   longer than the run a csv allows, an exception in the loop) ends the run ``failed`` with the
   message in ``RunSummary.error``: stored, returned, never raised. A run that diverges ends
   ``diverged`` and a stop request ends it ``stopped``, with every step so far stored.
3. An error of the database itself while recording is raised to the caller after the run has been
   marked ``failed`` as far as the database still allows.

Events go to the store's ``RunRecorder`` first and then to ``on_events`` (what the user saw is
saved). Nothing here imports Qt, and torch is imported only inside the functions that train, so the
GUI thread can import this module before the window shows.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lrstudio.core.config import RunConfig, check_runnable
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import FAILED, Event, RunFinished, RunStarted, RunSummary
from lrstudio.services.runtime import (
    DATASETS,
    HEADLESS,
    RuntimeOptions,
    make_reporter,
    prepare_training_thread,
    switch_interval,
    torch_problem,
)


class StopSignal(Protocol):
    def is_set(self) -> bool: ...


EventSink = Callable[[list[Event]], None]


@dataclass(frozen=True)
class RunResult:
    """What :func:`run_training` returns: the stored run's id, how it ended, the config it ran."""

    run_id: int
    summary: RunSummary
    config: RunConfig


class _NeverStop:
    def is_set(self) -> bool:
        return False


# -- 1. before the run row ------------------------------------------------------------------------------
def torch_missing_message(detail: str) -> str:
    return (f"PyTorch is not installed or failed to import: {detail}; install it into this Python "
            f"({sys.executable}) with `pip install torch` (CPU build: `pip install torch --index-url "
            "https://download.pytorch.org/whl/cpu`)")


def require_torch() -> Any:
    """Import torch, or raise a one-line :class:`LrstudioError` that says how to install it."""
    try:
        import torch
    except Exception as exc:  # ImportError, or OSError from a broken native library (a missing DLL)
        raise LrstudioError(torch_missing_message(f"{type(exc).__name__}: {exc}".splitlines()[0])) from None
    return torch


def check_before_run(config: RunConfig | Mapping[str, Any], *, n_train: int | None = None,
                     import_torch: bool = True) -> RunConfig:
    """Every check made before a run row exists (policy step 1); the validated config.

    ``n_train``: the training examples of a data set the caller already holds (the GUI's cache),
    so the run-length checks run now instead of after the data load. ``import_torch=False`` (a GUI
    thread) only looks torch up (:func:`~lrstudio.services.runtime.torch_problem`) instead of
    importing it.
    """
    cfg = config if isinstance(config, RunConfig) else RunConfig.from_dict(dict(config))
    if import_torch:
        require_torch()
    else:
        problem = torch_problem()
        if problem:
            raise LrstudioError(torch_missing_message(problem))
    cfg = check_runnable(cfg, n_train=n_train)
    if cfg.device == "cuda":  # needs torch: only when asked for CUDA
        from lrstudio.trainer.loop import check_device

        check_device(cfg.device)
    return cfg


def fit_warnings(cfg: RunConfig, n_train: int | None = None) -> tuple[str, ...]:
    """Sentences saying how the schedule does not fit this run's length (empty when it fits, or
    when the length is unknown before the data loads: a csv or mnist data set)."""
    from lrstudio.core.params import ParamError
    from lrstudio.core.plan import plan_run
    from lrstudio.core.schedules import schedule_fit

    try:
        plan = plan_run(cfg, n_train, estimate=False)
    except (LookupError, ParamError):  # size unknown before the data load, or no training example
        return ()
    return schedule_fit(cfg.schedule, plan.schedule_steps, unit=plan.unit).warnings


# -- the whole run ---------------------------------------------------------------------------------------
def run_training(config: RunConfig | Mapping[str, Any], db_url: str, *, stop: StopSignal | None = None,
                 on_events: EventSink | None = None,
                 on_warnings: Callable[[Sequence[str]], None] | None = None, name: str | None = None,
                 options: RuntimeOptions = HEADLESS, store: Any = None) -> RunResult:
    """Validate, create, record and train one run in the database at ``db_url``; its result.

    Plain-data inputs, so this runs in a thread, a spawned process or on another machine. Raises
    before anything is stored when a check of policy step 1 fails; a run that fails later is
    returned (``summary.status == "failed"``). ``store``: an open store to use instead of opening
    ``db_url`` (an in-memory SQLite database cannot be opened twice).
    """
    cfg = check_before_run(config)
    if store is not None:
        return _create_and_execute(store, cfg, stop, on_events, on_warnings, name, options)
    from lrstudio.storage import open_store

    with open_store(db_url) as own:
        return _create_and_execute(own, cfg, stop, on_events, on_warnings, name, options)


def _create_and_execute(store: Any, cfg: RunConfig, stop: StopSignal | None, on_events: EventSink | None,
                        on_warnings: Callable[[Sequence[str]], None] | None, name: str | None,
                        options: RuntimeOptions) -> RunResult:
    run_id = store.create_run(cfg, name=name or cfg.name or None)
    summary = execute_run(store, run_id, cfg, stop=stop, on_events=on_events, on_warnings=on_warnings,
                          options=options)
    return RunResult(run_id, summary, cfg)


# -- 2. after the run row ------------------------------------------------------------------------------
def execute_run(store: Any, run_id: int, config: RunConfig, *, stop: StopSignal | None = None,
                on_events: EventSink | None = None,
                on_warnings: Callable[[Sequence[str]], None] | None = None,
                options: RuntimeOptions = HEADLESS) -> RunSummary:
    """Record, load the data, train and finish the existing run ``run_id`` (policy steps 2 and 3).

    Call it in the thread (or process) that trains; ``config`` has passed :func:`check_before_run`.
    """

    def work(reporter: Any) -> RunSummary:
        with switch_interval(options.switch_interval_s):
            return _load_and_train(config, reporter, options, on_warnings)

    return run_recorded(store, run_id, work, stop=stop, on_events=on_events, options=options)


def run_recorded(store: Any, run_id: int, work: Callable[[Any], RunSummary], *, stop: StopSignal | None = None,
                 on_events: EventSink | None = None, options: RuntimeOptions = HEADLESS) -> RunSummary:
    """Run ``work(reporter)`` for the existing run ``run_id`` with its events going to the run's
    recorder first (what the user saw is saved), then to ``on_events``; the frame of a training
    run and of a range test (:mod:`lrstudio.services.range_test_run`).

    An exception from ``work`` ends the run ``failed`` with its message (unless the run already
    ended) and is raised again; the recorder is closed in every case.
    """
    started = time.monotonic()
    recorder = store.recorder(run_id)
    raised = False
    try:
        prepare_training_thread(options)

        def sink(batch: list[Event]) -> None:
            recorder.handle(batch)  # the database first: what the user saw is saved
            if on_events is not None:
                on_events(batch)

        reporter = make_reporter(sink, stop if stop is not None else _NeverStop(), options)
        summary = work(reporter)
        reporter.flush()
        recorder.flush()
        return summary
    except BaseException as exc:
        raised = True
        if isinstance(exc, Exception) and not recorder.finished:
            _record_failure(recorder, exc, time.monotonic() - started)
        raise
    finally:
        try:
            recorder.close()
        except Exception:
            if not raised:  # else the error that matters is already on its way
                raise


def _load_and_train(config: RunConfig, reporter: Any, options: RuntimeOptions,
                    on_warnings: Callable[[Sequence[str]], None] | None) -> RunSummary:
    try:
        if options.dataset_cache:
            dataset = DATASETS.load(config)
        else:
            from lrstudio.core.datasets import load_dataset

            dataset = load_dataset(config.dataset, seed=config.seed)
        cfg = check_runnable(config, n_train=dataset.n_train)
        warnings = fit_warnings(cfg, dataset.n_train)
    except Exception as exc:  # as train() would: the run ends failed with the message
        return _fail_before_training(reporter, exc)
    if warnings and on_warnings is not None:
        on_warnings(warnings)
    from lrstudio.trainer.loop import train

    return train(cfg, reporter, dataset=dataset, freeze_heap=options.freeze_heap_per_run)


def failure_message(exc: BaseException) -> str:
    """A run's error text: an lrstudio error as it is, anything else as ``Type: message``."""
    return str(exc) if isinstance(exc, LrstudioError) else f"{type(exc).__name__}: {exc}"


def _fail_before_training(reporter: Any, exc: BaseException) -> RunSummary:
    summary = RunSummary(status=FAILED, steps=0, epochs=0, duration_s=0.0, error=failure_message(exc))
    reporter.emit(RunStarted(total_steps=0, steps_per_epoch=0, epochs=0, wall_time=0.0))
    reporter.emit(RunFinished(summary))
    return summary


def _record_failure(recorder: Any, exc: BaseException, duration: float) -> None:
    summary = RunSummary(status=FAILED, steps=0, epochs=0, duration_s=duration,
                         error=str(exc) or type(exc).__name__)
    try:
        recorder.handle([RunFinished(summary)])
        recorder.flush()
    except Exception:
        pass
