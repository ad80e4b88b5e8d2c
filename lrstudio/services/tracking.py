"""The tracking API: log your own training loop into the lrstudio database (issue 14).

Life cycle of one tracked run::

    with lrstudio.start_run(name="resnet-try", config={"lr": 0.1, "batch": 64}) as run:
        for step in ...:
            ...                                   # the user's own loop
            run.log({"train/loss": loss}, step=step)
            run.log_lr(optimizer, step=step)      # every param group's LR
    # leaving the block: completed; an exception: failed (its message kept), then re-raised

Key names: Compare plots ``train/loss``, ``val/loss`` and ``lr``. W&B, MLflow and Aim store a key
as it was logged, so a loop written for them logs ``loss``, ``train_loss``, ``val_loss``,
``learning_rate`` ...; a run stores such a name under the app's key (the names the TensorBoard
import knows, :func:`lrstudio.services.importers.app_key_renames`), decided at the key's first call
and kept for the run: never onto a key the run logged itself (or logs in the same call; then
the name keeps its own key), one name per app key (the first, or in a call with several the one
listed first, ``train_loss`` before ``loss``), and an app key logged after a name took it is
refused with a message (no point of that call is stored). ``loss_key`` / ``val_loss_key`` name
the loss keys outright; ``aliases=False`` stores every key as logged. What was renamed is
:attr:`TrackedRun.renamed` and the finished run's ``summary_extra["renamed"]`` (``lrstudio runs
show``); the curves are the app's own (Compare names an external run's loss "what your code
logged").

:func:`start_run` opens the store (``db``: a path, an SQLAlchemy URL, or ``$LRSTUDIO_DB`` / the
default database, like the CLI's ``--db``), creates a run of kind ``external`` that keeps the
user's config as given (any JSON object; the Compare view flattens it into dotted keys), and
writes the points through the store's :class:`~lrstudio.storage.recorder.RunRecorder`, the
batching writer the app's own runs use: no commit per call (a transaction every ``max_delay_s``
(0.5 s) or every 1,000 points), and every point up to the last commit survives a crash. A
background thread of the run commits what is waiting once it is ``max_delay_s`` old, so an open
app (which polls ``Store.data_version()``) shows the run growing even when the loop pauses, and
it keeps the heartbeat fresh; a process killed mid-run leaves a ``running`` row whose pid is gone,
which the next :func:`~lrstudio.storage.open_store` (the app, the CLI, another script) marks
``interrupted`` (:meth:`~lrstudio.storage.Store.recover_interrupted`), its points kept.

A :class:`TrackedRun` may be used from several threads: one lock guards its counters and the
recorder. Per call it costs a lock, a dict of floats and an append (``bench/bench_tracking.py``).
A run still open when the interpreter exits is finished by an ``atexit`` hook: ``failed`` after
an uncaught exception, else as its ``at_exit`` says (``completed``; an integration whose run
being left open means its framework call raised sets ``failed``).
"""

from __future__ import annotations

import atexit
import math
import os
import sys
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import FAILED, RunFinished, RunSummary, StepLogged
from lrstudio.core.metrics import APP_KEY_NAMES, normalise_key  # the names of the app's curves: one table
from lrstudio.core.runs import FINAL_STATUSES
from lrstudio.storage import Store, open_store
from lrstudio.storage.recorder import HEARTBEAT_S, MAX_DELAY_S, RunRecorder

__all__ = ["TrackedRun", "TrackingError", "jsonable", "start_run"]

MAX_STEP = 2**63 - 1  # the store's steps are signed 64-bit
# The keys Compare plots, and the other names of each (normalised, in order of preference).
APP_KEYS: tuple[str, ...] = tuple(APP_KEY_NAMES)
_ALIASES: dict[str, tuple[int, str]] = {}
for _key, _names in APP_KEY_NAMES.items():
    for _rank, _name in enumerate(_names):
        _ALIASES.setdefault(_name, (_rank, _key))


class TrackingError(LrstudioError, ValueError):
    """A tracking call got what it cannot store (a value that is not a number, a bad step,
    a run that is already finished); the message says what is allowed."""


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _step(value: Any) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TrackingError(f"step must be a whole number between 0 and {MAX_STEP}, got {_describe(value)}")
    step = int(value.__index__())
    if not 0 <= step <= MAX_STEP:
        raise TrackingError(f"step must be a whole number between 0 and {MAX_STEP}, got {step}")
    return step


def _float(key: str, value: Any) -> float:
    """A number (int, float, numpy scalar, one-element tensor) as a float; anything else refused."""
    if isinstance(value, (str, bytes)) or isinstance(value, bool):
        raise TrackingError(f"the value of {key!r} must be a number, got {_describe(value)}")
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError) as exc:
        # RuntimeError: torch's "a Tensor with N elements cannot be converted to Scalar".
        raise TrackingError(f"the value of {key!r} must be a number (a float, an int, or a tensor or "
                            f"array with one element), got {_describe(value)}: {exc}") from None


def jsonable(value: Any, depth: int = 0) -> Any:
    """A framework's hyper-parameters as JSON (for a run's config): dicts with text keys, lists,
    text, numbers, booleans and None as they are; an ``argparse.Namespace`` or dataclass as its
    fields; numpy scalars and one-element tensors as numbers, arrays and tuples as lists; a class
    or function as its name; anything else as its ``str()``."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth > 20:
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, type) or callable(value):  # a class, a function, a module instance
        name = getattr(value, "__qualname__", None)
        return name if isinstance(name, str) else type(value).__name__
    tolist = getattr(value, "tolist", None)  # numpy and torch
    if callable(tolist):
        try:
            return jsonable(tolist(), depth + 1)
        except Exception:
            return str(value)
    import dataclasses

    if dataclasses.is_dataclass(value):
        return jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, depth + 1)
    if hasattr(value, "__dict__") and type(value).__name__ == "Namespace":
        return jsonable(vars(value), depth + 1)
    return str(value)


def _default_name() -> str:
    """The running script's name (``train`` for ``python train.py``), else ``external run``."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c", "-m") else ""
    stem = Path(argv0).stem if argv0 else ""
    return stem or "external run"


class TrackedRun:
    """One run of the user's own training, being logged. Create with :func:`start_run`.

    Attributes: ``id`` (the run's id in the database), ``name`` (as stored: unique, so maybe with
    a " (2)" suffix), ``store`` (the :class:`~lrstudio.storage.Store` it writes to), ``at_exit``
    (the ``(status, error)`` the interpreter's exit finishes the run with if it is still open and
    no exception ended the script; default ``("completed", None)``).
    """

    def __init__(self, store: Store, run_id: int, *, owns_store: bool, max_delay_s: float = MAX_DELAY_S,
                 heartbeat_s: float = HEARTBEAT_S, keys: Mapping[str, str] | None = None,
                 aliases: bool = True) -> None:
        self.store = store
        self.id = run_id
        self.name = store.get_run(run_id).name
        self._owns_store = owns_store
        self.at_exit: tuple[str, str | None] = ("completed", None)
        self._recorder: RunRecorder = store.recorder(run_id, max_delay_s=max_delay_s, heartbeat_s=heartbeat_s)
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()
        self._last_step: int | None = None
        self._epoch = 0
        self._epochs = 0  # epochs seen: the largest epoch given + 1
        self._loss: tuple[float | None, float | None] = (None, None)  # last, best (finite)
        self._val_loss: tuple[float | None, float | None] = (None, None)
        self._best_acc: float | None = None
        # Key names (the module doc): the keys the user named (loss_key ...) -> the app's key;
        # every key seen -> the key it is stored under; each app key -> the key stored under it.
        self._named = dict(keys or {})
        self._aliases = aliases
        self._stored: dict[str, str] = {}
        self._holder: dict[str, str] = {}
        # The step of each thread's last log() call: log_lr() without a step goes there, so a
        # side thread logging ahead never pulls the training thread's LRs to its steps.
        self._thread_step = threading.local()
        self._finished = False
        self._closed = threading.Event()
        self._error: BaseException | None = None  # a failed background commit, raised by the next call
        self._flusher = threading.Thread(target=self._flush_loop, args=(max_delay_s,),
                                         name=f"lrstudio-run-{run_id}", daemon=True)
        self._flusher.start()
        _open_runs.add(self)

    # -- logging -------------------------------------------------------------------------------
    def log(self, values: Mapping[str, Any], step: int | None = None, *, epoch: int | None = None) -> None:
        """Record metric values at one step.

        ``values`` maps metric keys (``"train/loss"``, ``"val/acc"``, any text up to 100
        characters) to numbers (floats, ints, numpy scalars, one-element tensors; NaN and
        infinities are kept as such). ``step`` is a whole number >= 0; without it, the step after
        the last one logged (1 for the first call). ``epoch`` (default: the last one given, 0 at
        first) is what the app's "per epoch" x-axis uses. Keys the app knows: ``train/loss``,
        ``val/loss``, ``val/acc``, ``lr`` (see :mod:`lrstudio.core.events`).
        """
        if not isinstance(values, Mapping):
            raise TrackingError(f"log() takes a dict of metric key -> number, got {_describe(values)}")
        clean: dict[str, float] = {}
        for key, value in values.items():
            if not isinstance(key, str) or not key:
                raise TrackingError(f"a metric key must be non-empty text, got {_describe(key)}")
            clean[key] = _float(key, value)
        with self._lock:
            self._check_open()
            clean = self._renamed_keys(clean)
            at = self._next_step(step)
            self._thread_step.step = at
            if epoch is not None:
                self._epoch = _step(epoch)
                self._epochs = max(self._epochs, self._epoch + 1)
            self._record(at, clean)

    def log_lr(self, optimizer: Any, step: int | None = None) -> None:
        """Record the current LR of each of the optimizer's param groups.

        Group 0 is stored as ``lr`` (the key the app plots); further groups as ``lr/group1``,
        ``lr/group2`` ... ``optimizer`` is anything with ``param_groups`` (a ``torch.optim``
        optimizer). Without ``step``, the LRs go to the step of this thread's last :meth:`log`
        call (else the run's last step, else 1), so ``run.log({...}); run.log_lr(opt)`` puts both
        at one step even while other threads log at their own steps.
        """
        groups = getattr(optimizer, "param_groups", None)
        if not isinstance(groups, (list, tuple)) or not groups:
            raise TrackingError(f"log_lr() takes an optimizer with param_groups (a torch.optim optimizer), "
                                f"got {_describe(optimizer)}")
        values: dict[str, float] = {}
        for k, group in enumerate(groups):
            key = "lr" if k == 0 else f"lr/group{k}"
            values[key] = _float(key, group["lr"] if isinstance(group, Mapping) else group)
        with self._lock:
            self._check_open()
            values = self._renamed_keys(values)
            if step is None:
                at = getattr(self._thread_step, "step", self._last_step)  # step 0 is a step
                at = 1 if at is None else at
            else:
                at = _step(step)
            self._last_step = at if self._last_step is None else max(at, self._last_step)
            self._recorder.handle([StepLogged(at, self._epoch, time.perf_counter() - self._t0, values)])

    def flush(self) -> None:
        """Commit everything logged so far now (the run commits by itself every half second)."""
        with self._lock:
            self._check_open()
            self._recorder.flush()

    def finish(self, status: str = "completed", error: str | None = None) -> None:
        """End the run as ``status`` (one of ``completed``, ``stopped``, ``diverged``, ``failed``,
        ``interrupted``, ``pruned``), commit what is left and close the store (if the run opened
        it). ``error`` is kept as the run's message. A second call does nothing."""
        if status not in FINAL_STATUSES:
            raise TrackingError(f"a run cannot finish as {status!r}; allowed: {', '.join(FINAL_STATUSES)}")
        with self._lock:
            if self._finished:
                return
            self._finished = True
            self._closed.set()
            try:
                summary = RunSummary(
                    status=status, steps=self._last_step or 0, epochs=self._epochs,
                    duration_s=time.perf_counter() - self._t0,
                    final_loss=self._loss[0], best_loss=self._loss[1],
                    final_val_loss=self._val_loss[0], best_val_loss=self._val_loss[1],
                    best_accuracy=self._best_acc, error=error,
                    extra={"renamed": self.renamed} if self.renamed else {})
                self._recorder.handle([RunFinished(summary)])
                self._recorder.close()
            finally:
                _open_runs.discard(self)
                if self._owns_store:
                    self.store.close()
        if self._flusher is not threading.current_thread():
            self._flusher.join(timeout=5)

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def renamed(self) -> dict[str, str]:
        """The logged keys stored under another key: ``{"loss": "train/loss"}`` (module doc)."""
        return {key: to for key, to in self._stored.items() if key != to}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            self.finish()
        elif isinstance(exc, KeyboardInterrupt):
            self.finish("stopped", "stopped by the user (KeyboardInterrupt)")
        else:
            self.finish(FAILED, f"{type(exc).__name__}: {exc}")

    def __repr__(self) -> str:
        state = "finished" if self._finished else "running"
        return f"<TrackedRun id={self.id} name={self.name!r} {state}>"

    # -- internals (called with the lock held) -------------------------------------------------
    def _check_open(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._finished:
            raise TrackingError(f"run {self.id} ({self.name!r}) is finished: start a new run to log more")

    def _renamed_keys(self, values: dict[str, float]) -> dict[str, float]:
        """``values`` under the keys they are stored under; a call's keys not seen before are
        decided first (the module doc's rules), all or none: a refused call changes nothing."""
        stored = self._stored
        if any(key not in stored for key in values):
            stored = self._decide([key for key in values if key not in stored], set(values))
            self._stored = stored
            self._holder = {to: key for key, to in stored.items() if to in APP_KEYS}
        return {stored[key]: value for key, value in values.items()}

    def _decide(self, new: list[str], in_call: set[str]) -> dict[str, str]:
        stored, holder = dict(self._stored), dict(self._holder)

        def take(key: str, to: str) -> None:
            other = holder.get(to)
            if other is not None and other != key:
                why = ("you named it with loss_key / val_loss_key" if other in self._named else
                       "it is a usual name of that curve; start_run(..., aliases=False) keeps every key as logged")
                if key in self._named:
                    raise TrackingError(f"{key!r} cannot be stored as {to!r}: the run logged {to!r} itself; "
                                        f"log one of the two")
                raise TrackingError(f"{to!r} holds the values of {other!r} (the run stores {other!r} as "
                                    f"{to!r}, the key Compare plots, because {why}); log one of the two")
            holder[to] = key
            stored[key] = to

        for key in new:  # the app's own keys first: a name never takes one the call logs
            if key in APP_KEYS:
                take(key, key)
        for key in new:
            if key in self._named:
                take(key, self._named[key])
        named = set(self._named.values())
        names = sorted((_ALIASES[n][0], i, key, _ALIASES[n][1]) for i, key in enumerate(new)
                       if key not in stored and self._aliases and (n := normalise_key(key)) in _ALIASES)
        for _rank, _i, key, to in names:
            if to not in holder and to not in named and to not in in_call:
                take(key, to)
        for key in new:
            stored.setdefault(key, key)
        return stored

    def _next_step(self, step: int | None) -> int:
        if step is None:
            return 1 if self._last_step is None else self._last_step + 1
        return _step(step)

    def _record(self, at: int, values: dict[str, float]) -> None:
        self._recorder.handle([StepLogged(at, self._epoch, time.perf_counter() - self._t0, values)])
        self._last_step = at if self._last_step is None else max(at, self._last_step)
        # The summary the runs table sorts by: last and best finite loss, best accuracy.
        loss = values.get("train/loss")
        if loss is None and "train/loss" not in self._holder:
            loss = values.get("loss")  # a run that keeps "loss" as logged (aliases=False)
        if loss is not None:
            self._loss = (loss, _best(self._loss[1], loss, min))
        val = values.get("val/loss")
        if val is not None:
            self._val_loss = (val, _best(self._val_loss[1], val, min))
        acc = values.get("val/acc")
        if acc is not None:
            self._best_acc = _best(self._best_acc, acc, max)

    def _flush_loop(self, every_s: float) -> None:
        """Commit what waits once it is ``every_s`` old, and keep the heartbeat fresh."""
        while not self._closed.wait(every_s):
            with self._lock:
                if self._finished:
                    return
                try:
                    self._recorder.flush()
                except Exception as exc:  # shown to the user by their next call
                    self._error = exc


def _best(old: float | None, new: float, pick: Any) -> float | None:
    if not math.isfinite(new):
        return old
    return new if old is None else float(pick(old, new))


# Runs not finished yet; at interpreter exit each is finished (the atexit hook below).
_open_runs: weakref.WeakSet[TrackedRun] = weakref.WeakSet()


def _finish_open_runs() -> None:
    crashed = getattr(sys, "last_value", None)  # set when an uncaught exception ended the script
    for run in list(_open_runs):
        try:
            if crashed is not None:
                run.finish(FAILED, f"{type(crashed).__name__}: {crashed}")
            else:
                run.finish(*run.at_exit)
        except Exception as exc:  # the interpreter is exiting: say so, never raise from atexit
            print(f"lrstudio: could not finish run {run.id}: {exc}", file=sys.stderr)


atexit.register(_finish_open_runs)


def _named_keys(**given: tuple[Any, str]) -> dict[str, str]:
    """``loss_key`` / ``val_loss_key`` checked: each user key -> the app key it is stored under."""
    out: dict[str, str] = {}
    for param, (key, to) in given.items():
        if key is None:
            continue
        if not isinstance(key, str) or not key:
            raise TrackingError(f"{param} must be non-empty text (the key your code logs), got {_describe(key)}")
        if key in APP_KEYS and key != to:
            raise TrackingError(f"{param} cannot be {key!r}: the app stores its own {key!r} curve under that "
                                f"key; {param} names the key stored as {to!r}")
        if key in out:
            raise TrackingError(f"{' and '.join(given)} must differ, got {key!r} for both")
        if key != to:
            out[key] = to
    return out


def start_run(name: str | None = None, config: Mapping[str, Any] | None = None,
              db: str | os.PathLike[str] | Store | None = None, tags: Iterable[str] = (), *,
              loss_key: str | None = None, val_loss_key: str | None = None, aliases: bool = True) -> TrackedRun:
    """Start logging a run of your own training into the lrstudio database.

    Parameters
    ----------
    name
        The run's name in the app (unique: a " (2)" suffix is added when taken); default: the
        script's name.
    config
        Anything describing the run, as a JSON-able dict (nested dicts and lists, strings,
        numbers, booleans, None). Its ``model``, ``dataset``, ``optimizer``, ``schedule`` and
        ``lr`` keys, when present, fill the runs table's columns; Compare shows every key.
    db
        A database file, an SQLAlchemy URL, or an open :class:`~lrstudio.storage.Store` (left
        open at the end); default ``$LRSTUDIO_DB``, else the app's own database.
    tags
        Tags shown in the runs table.
    loss_key, val_loss_key
        The key your code logs its training (validation) loss under, when not ``train/loss``
        (``val/loss``): stored as ``train/loss`` (``val/loss``), the curves Compare plots.
    aliases
        Store the usual names of those curves (``loss``, ``train_loss``, ``val_loss``,
        ``eval_loss``, ``learning_rate`` ...) under the app's keys (``train/loss``, ``val/loss``,
        ``lr``); the module doc has the rules. ``False``: every key as logged.

    Returns
    -------
    TrackedRun
        Use it as a context manager, or call :meth:`TrackedRun.finish` yourself.
    """
    from lrstudio.paths import resolve_db

    if isinstance(tags, str):
        tags = (tags,)
    tags = list(tags)
    if not all(isinstance(t, str) for t in tags):
        raise TrackingError(f"tags must be text, got {_describe(tags)}")
    if config is not None and not isinstance(config, Mapping):
        raise TrackingError(f"config must be a dict (a JSON object), got {_describe(config)}")
    if name is not None and not isinstance(name, str):
        raise TrackingError(f"name must be text, got {_describe(name)}")
    if not isinstance(aliases, bool):
        raise TrackingError(f"aliases must be True or False, got {_describe(aliases)}")
    named = _named_keys(loss_key=(loss_key, "train/loss"), val_loss_key=(val_loss_key, "val/loss"))
    owns = not isinstance(db, Store)
    store = db if isinstance(db, Store) else open_store(resolve_db(db))
    try:
        run_id = store.create_run(dict(config or {}), name=name or _default_name(), kind="external")
        try:
            if tags:
                store.set_tags(run_id, tags)
            return TrackedRun(store, run_id, owns_store=owns, keys=named, aliases=aliases)
        except BaseException:
            store.delete_run(run_id)  # nothing half-made stays behind
            raise
    except BaseException:
        if owns:
            store.close()
        raise
