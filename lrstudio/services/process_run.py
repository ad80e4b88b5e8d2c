"""Training beside the GUI: one run at a time in a spawned child process (issue 11).

A GUI thread and a training thread in one interpreter compete for the GIL: the app's 5 ms timer
was late by p99 16-20 ms and training ran at 0.62-0.73 of the headless CLI's speed
(``bench/bench_gui.py``). Here the run executes in its own process through the one orchestration,
:func:`~lrstudio.services.training_run.execute_run`; the child writes the run to the store
itself and sends its event batches back through a pipe.

Life cycle::

    TrainingProcess()                  spawn a child; it imports torch and the trainer (and loads
                                       the warm-up config's data set) while it waits for a job
    proc.train(run_id, config, url,    parent (a worker thread): send the job, then relay every
               on_events)              batch to on_events until the child says done / error;
                                       the run row exists already (created by the caller)
      child: execute_run(...)          opens its own store, records, trains, finishes
    proc.range_test(run_id, config,    the same for an LR range test (issue 12): the child runs
                    options, url, ...) ``execute_range_test`` instead of ``execute_run``
    proc.stop()                        a multiprocessing Event the child polls between steps
    proc.close(timeout_s)              ask the idle child to quit, join, then terminate / kill

The child is reused for the next run (:func:`take_spare` / :func:`give_back`): spawning one and
importing torch costs ~1.5-4 s (``bench/bench_gui.py`` prints it), more than a short run. An idle
spare ends after :data:`CHILD_IDLE_S`, or at once by :func:`close_spare` (the GUI opened another
database); the parent decides, under the lock that hands spares out, so a child is never ended
while a run is being given to it.

Failure policy: the service's (policy steps 1-3 of :mod:`~lrstudio.services.training_run`); in
addition, a child that dies during a run (``kill -9``, out of memory, a segfault in a native
library) ends the run ``failed`` with the points it committed so far and a message naming the exit
code (:func:`record_lost_run`, from the parent), and :meth:`TrainingProcess.train` returns that
summary. A child whose parent dies sees its pipe close: a run then stops, an idle child exits.

Only file databases can be shared with a child: an in-memory SQLite database lives in the
process that opened it (callers fall back to a thread, see :func:`can_share`).
Nothing here imports Qt or torch (the child imports torch).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Connection, wait
from typing import Any

from lrstudio.core.config import RunConfig
from lrstudio.core.events import FAILED, EpochLogged, Event, RunFinished, RunStarted, RunSummary, StepLogged
from lrstudio.paths import is_sqlite_memory
from lrstudio.services.runtime import HEADLESS

__all__ = ["CHILD_OPTIONS", "ChildLost", "TrainingProcess", "can_share", "give_back", "record_lost_run",
           "take_spare"]

#: What the child trains with: nothing shares its interpreter, so no paint gate and no switch
#: interval; one intra-op thread leaves the other core to the GUI (as the CLI); data sets cached
#: between the runs of one child; its heap is frozen for good after the warm-up (prewarm), so a run
#: leaves that freeze alone.
CHILD_OPTIONS = replace(HEADLESS, dataset_cache=True, freeze_heap_per_run=False)

#: The child's niceness. 0: the same CPU share as ``lrstudio train``, so a run from the window is
#: not slower than the CLI's on a busy machine (issue 11's goal: >= 0.95x the CLI's steps/s). At
#: nice 10 the GUI won a core at once, but while other programs kept every core busy the child got
#: a small share (``bench/bench_gui.py``: 0.84x the CLI, p99 lateness 8-12 ms; ``--modes
#: process@0,process@10`` compares both side by side). The GUI's preference comes from
#: :data:`CHILD_SCHED_BATCH` instead.
CHILD_NICE = 0
#: Linux's ``SCHED_BATCH`` for the child ("noninteractive, but do not want to lower their nice
#: value", sched(7)): a normal process's share of the CPU, and a waking GUI thread (the 5 ms timer,
#: input) is preferred over it.
CHILD_SCHED_BATCH = True

#: The warm spare child is ended after this many seconds idle: it holds torch, the trainer and a
#: cached data set (hundreds of MB) for a GUI that may train nothing more. The next run then starts a
#: new child (a cold start: ~1.5-4 s, ``bench/bench_gui.py``).
CHILD_IDLE_S = 600.0

_CTX = multiprocessing.get_context("spawn")
_POLL_S = 0.5  # how often the parent looks at its own stop request while waiting (seconds)


def can_share(db_url: str) -> bool:
    """Whether a child process can open ``db_url`` (not an in-memory SQLite database)."""
    return not is_sqlite_memory(db_url)


class ChildLost(RuntimeError):
    """The training process ended during a run without reporting how the run ended."""


def exit_text(code: int | None) -> str:
    """How a process ended, in words: ``exit code 3`` or ``killed by SIGKILL``."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


# -- the child --------------------------------------------------------------------------------------
class _ChildStop:
    """The child's stop signal: the parent's event, or the parent gone (its pipe closed)."""

    def __init__(self, event: Any) -> None:
        self.event = event
        self.parent_gone = False

    def is_set(self) -> bool:
        return self.parent_gone or self.event.is_set()


def _child_main(conn: Connection, stop_event: Any, warm: dict[str, Any] | None, nice: int = 0) -> None:
    """The child's whole life: warm up, then train the runs it is sent until told to quit."""
    from lrstudio.core.allocator import tune_allocator
    from lrstudio.services import runtime

    tune_allocator()

    if nice and hasattr(os, "nice"):
        os.nice(nice)
    if CHILD_SCHED_BATCH and hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_BATCH"):
        try:
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        except OSError:  # not allowed here: the normal policy
            pass
    try:
        runtime.prewarm(RunConfig.from_dict(warm) if warm else None)
    except Exception:  # a broken torch or data set: the run reports it when it trains
        pass
    try:
        conn.send(("ready",))  # read by wait_ready(); train() skips it
    except OSError:
        return
    stop = _ChildStop(stop_event)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if msg[0] == "run":
            _, run_id, cfg_dict, db_url = msg
            range_options = None
        elif msg[0] == "range_test":  # issue 12
            _, run_id, cfg_dict, range_options, db_url = msg
        else:
            return
        stop.parent_gone = False
        _child_run(conn, stop, run_id, RunConfig.from_dict(cfg_dict), db_url, range_options)
        if stop.parent_gone:
            return


def _child_run(conn: Connection, stop: _ChildStop, run_id: int, config: RunConfig, db_url: str,
               range_options: dict[str, Any] | None = None) -> None:
    from lrstudio.services.training_run import execute_run
    from lrstudio.storage import open_store

    def send(msg: tuple[Any, ...]) -> None:
        if stop.parent_gone:
            return
        try:
            conn.send(msg)
        except (OSError, EOFError):  # BrokenPipeError: nobody listens any more; the run stops
            stop.parent_gone = True

    try:
        with open_store(db_url, upgrade=False, backup=False, recover=False) as store:
            if range_options is not None:
                summary = _child_range_test(store, run_id, config, range_options, stop, send)
            else:
                summary = execute_run(store, run_id, config, stop=stop,
                                      on_events=lambda batch: send(("events", batch)), options=CHILD_OPTIONS)
        send(("done", summary))
    except Exception as exc:  # reported to the parent as the thread mode raises it
        send(("error", _picklable(exc)))


#: A range test's batches at most every 50 ms: a test is short, the dialog's curve should move smoothly.
RANGE_TEST_OPTIONS = replace(CHILD_OPTIONS, emit_interval_s=0.05)


def _child_range_test(store: Any, run_id: int, config: RunConfig, options: dict[str, Any], stop: _ChildStop,
                      send: Callable[[tuple[Any, ...]], None]) -> RunSummary:
    """An LR range test (issue 12) in the child: the GUI's Find LR, through the same pipe as a run."""
    from lrstudio.core.lr_finder import RangeTestOptions
    from lrstudio.services.range_test_run import execute_range_test

    return execute_range_test(store, run_id, config, RangeTestOptions.from_dict(options), stop=stop,
                              on_events=lambda batch: send(("events", batch)), runtime=RANGE_TEST_OPTIONS)


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        from lrstudio.services.training_run import failure_message

        return RuntimeError(failure_message(exc))


# -- the parent's handle ----------------------------------------------------------------------------
class TrainingProcess:
    """A spawned training process: started (and warming up) at construction, one run at a time.

    ``warm``: a config whose data set the child loads while it waits (the form's). The methods are
    called from one worker thread (``train``) and the GUI thread (``stop``, ``terminate``).
    """

    def __init__(self, warm: RunConfig | None = None, nice: int | None = None) -> None:
        self.created_at = time.monotonic()
        self.nice = CHILD_NICE if nice is None else int(nice)  # the child's niceness (CHILD_NICE)
        self._conn, child_conn = _CTX.Pipe(duplex=True)
        self._stop = _CTX.Event()
        self.process = _CTX.Process(target=_child_main, name="lrstudio-train",
                                    args=(child_conn, self._stop, warm.to_dict() if warm else None, self.nice),
                                    daemon=True)
        self.process.start()
        child_conn.close()
        self.busy = False
        self.runs = 0  # runs trained by this child (1 for the first; >1 means it was reused)
        self.spare_turn = 0  # counts the times it became the spare (an idle timer ends only its own turn)
        self.idle_timer: threading.Timer | None = None  # ends it after CHILD_IDLE_S as the spare
        _ALL.add(self)

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def is_alive(self) -> bool:
        return self.process.is_alive()

    def wait_ready(self, timeout_s: float = 120.0) -> bool:
        """Wait until the idle child has imported torch (benchmarks); False on timeout or death.
        Call it only before the child's first run."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            if not wait([self._conn, self.process.sentinel], timeout=left):
                return False
            if not self._conn.poll():
                return False  # the child died
            if self._conn.recv()[0] == "ready":
                return True
        return False

    def stop(self) -> None:
        """Ask the run in progress to stop after the current step (returns at once)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def train(self, run_id: int, config: RunConfig, db_url: str, on_events: Callable[[list[Event]], None],
              db_for_loss: Callable[[], Any] | None = None, stop: Any = None) -> RunSummary:
        """Train the existing run ``run_id`` in the child; relay its batches to ``on_events``.

        Returns the summary (the child's, or :func:`record_lost_run`'s when the child died: the
        run is then stored ``failed``); raises what the child's ``execute_run`` raised (policy
        step 3). ``db_for_loss`` opens a store to record a lost run (default: ``db_url``).
        ``stop``: the caller's own stop request (``is_set()``), set before this run reached the
        child (a stop left over from the previous run is cleared here).
        """
        return self._serve(("run", run_id, config.to_dict(), db_url), run_id, db_url, on_events, db_for_loss,
                           stop)

    def range_test(self, run_id: int, config: RunConfig, options: Any, db_url: str,
                   on_events: Callable[[list[Event]], None], stop: Any = None) -> RunSummary:
        """Run the LR range test ``run_id`` (issue 12; ``options``: resolved
        :class:`~lrstudio.core.lr_finder.RangeTestOptions`) in the child, as :meth:`train` does a run."""
        return self._serve(("range_test", run_id, config.to_dict(), options.to_dict(), db_url), run_id, db_url,
                           on_events, None, stop)

    def _serve(self, job: tuple[Any, ...], run_id: int, db_url: str, on_events: Callable[[list[Event]], None],
               db_for_loss: Callable[[], Any] | None, stop: Any) -> RunSummary:
        if self.busy:
            raise RuntimeError("this training process is busy")
        self.busy = True
        self.runs += 1
        self._stop.clear()
        if stop is not None and stop.is_set():
            self._stop.set()
        last: list[Event] = []
        try:
            try:
                self._conn.send(job)
            except OSError:
                pass  # the child is gone: found below
            while True:
                ready = wait([self._conn, self.process.sentinel], timeout=_POLL_S)
                if self._conn in ready:
                    try:
                        msg = self._conn.recv()
                    except (EOFError, OSError):
                        self.process.join(5)
                        break
                    kind = msg[0]
                    if kind == "events":
                        batch = msg[1]
                        _remember_last(last, batch)
                        on_events(batch)
                    elif kind == "done":
                        return msg[1]
                    elif kind == "error":
                        raise msg[1]
                elif self.process.sentinel in ready:
                    break
            # The child died without a result.
            self.process.join(5)
            summary = lost_summary(last, self.process.exitcode, self.created_at)
            record_lost_run(db_url, run_id, summary, opener=db_for_loss)
            on_events([RunFinished(summary)])
            return summary
        finally:
            self.busy = False

    def close(self, timeout_s: float = 5.0) -> None:
        """End the child: ask it to quit (and stop a run), join, then terminate, then kill."""
        self._stop.set()
        if self.process.is_alive():
            try:
                self._conn.send(("quit",))
            except OSError:
                pass
            self.process.join(timeout_s)
        self.terminate()
        self._conn.close()
        _ALL.discard(self)

    def terminate(self, grace_s: float = 2.0) -> None:
        """SIGTERM, then SIGKILL after ``grace_s``; the run (if any) then ends lost."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(grace_s)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(grace_s)


def _remember_last(last: list[Event], batch: list[Event]) -> None:
    """Keep the last RunStarted and StepLogged/EpochLogged seen (for a lost run's summary)."""
    for ev in batch:
        if isinstance(ev, (StepLogged, EpochLogged, RunStarted)):
            last[:] = [e for e in last if type(e) is not type(ev)] + [ev]


def lost_summary(last: list[Event], exitcode: int | None, since: float) -> RunSummary:
    """The summary of a run whose process died: the last step seen, and why it ended."""
    step = next((e for e in reversed(last) if isinstance(e, StepLogged)), None)
    epochs = max((e.epoch + 1 for e in last if isinstance(e, (StepLogged, EpochLogged))), default=0)
    return RunSummary(status=FAILED, steps=step.step if step else 0, epochs=epochs,
                      duration_s=step.wall_time if step else 0.0,
                      final_loss=step.values.get("train/loss") if step else None,
                      error=f"the training process ended unexpectedly ({exit_text(exitcode)}); "
                            "the points it had saved are kept")


def record_lost_run(db_url: str, run_id: int, summary: RunSummary, opener: Callable[[], Any] | None = None) -> None:
    """Store ``summary`` as the end of ``run_id`` (its child died); what was committed stays."""
    from lrstudio.storage import open_store

    store = opener() if opener is not None else open_store(db_url, upgrade=False, backup=False, recover=False)
    try:
        recorder = store.recorder(run_id)
        recorder.handle([RunFinished(summary)])
        recorder.close()
    finally:
        if opener is None:
            store.close()


# -- the warm spare (one per GUI process) ------------------------------------------------------------
_ALL: set[TrainingProcess] = set()
_SPARE: list[TrainingProcess] = []
_LOCK = threading.Lock()


def _keep_as_spare(proc: TrainingProcess) -> None:
    """Make ``proc`` the spare (caller holds _LOCK) and end it after CHILD_IDLE_S if still idle then."""
    proc.spare_turn += 1
    _cancel_idle_timer(proc)
    proc.idle_timer = threading.Timer(CHILD_IDLE_S, _end_if_still_idle, args=(proc, proc.spare_turn))
    proc.idle_timer.daemon = True
    proc.idle_timer.start()


def _cancel_idle_timer(proc: TrainingProcess) -> None:
    if proc.idle_timer is not None:
        proc.idle_timer.cancel()
        proc.idle_timer = None


def _end_if_still_idle(proc: TrainingProcess, turn: int) -> None:
    with _LOCK:
        if proc not in _SPARE or proc.spare_turn != turn or proc.busy:
            return  # taken for a run since (and perhaps given back: a newer turn)
        _SPARE.remove(proc)
    proc.close(1.0)


def close_spare() -> None:
    """End the idle spare child now (the GUI opened another database); in the background, so the
    caller (the GUI thread) never waits for it. A run in progress is not affected."""
    with _LOCK:
        idle = list(_SPARE)
        _SPARE.clear()
    for proc in idle:
        _cancel_idle_timer(proc)
        threading.Thread(target=proc.close, args=(1.0,), name="lrstudio-close-spare", daemon=True).start()


def take_spare(warm: RunConfig | None = None) -> TrainingProcess:
    """The idle warm child if there is a live one, else a new one (cold: it imports torch first)."""
    with _LOCK:
        while _SPARE:
            proc = _SPARE.pop()
            _cancel_idle_timer(proc)
            if proc.is_alive() and not proc.busy and proc.nice == CHILD_NICE:
                return proc
            proc.close(0)
    return TrainingProcess(warm)


def start_spare(warm: RunConfig | None = None) -> TrainingProcess:
    """Make sure a warm idle child exists (spawned now if none); it is reused by :func:`take_spare`."""
    with _LOCK:
        for proc in _SPARE:
            if proc.is_alive() and proc.nice == CHILD_NICE:
                return proc
        proc = TrainingProcess(warm)
        _SPARE.append(proc)
        _keep_as_spare(proc)
        return proc


def give_back(proc: TrainingProcess) -> None:
    """Keep a child whose run ended normally as the spare (the older spare, if any, is closed)."""
    if not proc.is_alive() or proc.busy:
        proc.close(0)
        return
    with _LOCK:
        old = list(_SPARE)
        _SPARE[:] = [proc]
        _keep_as_spare(proc)
    for p in old:
        if p is not proc:
            p.close(1.0)


def spare() -> TrainingProcess | None:
    """The idle child kept for the next run, if any (tests and benchmarks look at it)."""
    with _LOCK:
        return _SPARE[0] if _SPARE else None


def close_all(timeout_s: float = 2.0) -> None:
    """End every child this process started (interpreter exit)."""
    with _LOCK:
        _SPARE.clear()
    for proc in list(_ALL):
        _cancel_idle_timer(proc)
        proc.close(timeout_s)


def alive_children() -> list[int]:
    """Pids of training processes of this process that are still alive."""
    return [p.pid for p in list(_ALL) if p.pid is not None and p.is_alive()]


atexit.register(close_all)
