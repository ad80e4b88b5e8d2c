"""Running a sweep (issue 13): trials in worker processes, N at a time, here or on a Ray cluster.

API for the front ends (the CLI's ``lrstudio sweep``, the GUI's sweep panel)::

    eid = store.create_experiment(spec)                 # a validated core.sweep.ExperimentSpec
    runner = SweepRunner(store, eid, LocalExecutor(parallel=2), on_progress=callback)
    result = runner.run()          # blocks; call from a worker thread in the GUI
    runner.cancel()                # from any thread or a signal handler: running trials end
                                   # "stopped", queued ones never start, the sweep "cancelled"
    SweepRunner(store, eid, RayExecutor(address="ray://head:10001")).run()   # same code path

``run()`` also resumes: it claims the experiment (refused while another live process runs it),
marks runs whose process is gone ``interrupted``, and runs every (trial, seed) that has no
finished run (:data:`~lrstudio.core.sweep.TRIAL_DONE_STATUSES`: completed, diverged, pruned,
failed); ``stopped`` and ``interrupted`` runs run again. ``on_progress`` receives a
:class:`SweepProgress` after every finished run (from the thread that called ``run``).

How a trial runs
----------------
The parent never trains. It sends a :class:`TrialJob` (plain data: the run config as a dict, the
database URL, the experiment id, trial number and seed, the pruning snapshot) to an
:class:`Executor`; the job runs :func:`run_trial` in another process, which creates the run
(kind ``training``, ``experiment_id``, ``trial``) and trains it through the one orchestration,
:func:`lrstudio.services.training_run.execute_run`, writing to the shared store itself. The
:class:`TrialOutcome` (run id, status, metric, validation loss per epoch) comes back to the
parent. Two executors satisfy :class:`Executor`:

* :class:`LocalExecutor`: ``parallel`` spawned worker processes (default: the number of cores),
  each started once (torch imported, one intra-op thread) and reused for the next trial; a
  worker that dies mid-trial is replaced (its run is then ``interrupted``: resume reruns it).
* :class:`RayExecutor`: each trial a Ray task (``num_cpus=1``) on a local Ray or an existing
  cluster (``address``); every node writes to the same database (a shared PostgreSQL).

Stopping a trial: :func:`run_trial`'s stop signal is set by the local executor's event, by the
parent process going away (local workers: the run then ends ``interrupted``), by the pruner, or by
the experiment's status turning ``cancelled`` in the database (polled every second: how a Ray task
on another machine learns of a cancel).

Optuna: decisions and storage
-----------------------------
The study lives in the parent, in memory (no Optuna RDB storage: the runs table already has every
trial, and one database schema is enough). Each Optuna trial is one point of the space; its value
is the mean over the seeds of the metric. The parameters of every asked trial are written to the
experiment's ``state`` (``state["trials"][n] = point``) *before* its runs start, so a resume
rebuilds the study: finished points are added back with ``optuna.trial.create_trial`` +
``study.add_trial`` (value, intermediate validation losses; ``PRUNED``/``FAIL`` states kept), and
unfinished points are enqueued again (``study.enqueue_trial``) under their old trial number, so
the study's trial count grows from where it stopped (``state["study_trials"]``).

Pruning happens in the worker, at the end of each epoch, against a snapshot of the validation
curves of the runs finished when the trial was started: the worker builds a throw-away study with
the spec's pruner (median by default) from the snapshot and asks ``should_prune()`` after every
reported epoch. A pruned run stops and is stored ``pruned``. With pruning on, events leave the
loop at every step (``emit_interval_s=0``) so the decision lands before the next step.

Crash safety: every write is a run's own transaction (the recorder's) or one experiment update; a
``kill -9`` of the parent leaves finished runs finished, running ones end ``interrupted`` (their
worker sees the parent gone) or are marked so by the next ``open_store``/resume.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import STOPPED, EpochLogged, Event, RunFinished, RunStarted, RunSummary
from lrstudio.core.sweep import PRUNERS, SAMPLERS, TRIAL_DONE_STATUSES, Dimension, ExperimentSpec
from lrstudio.services.runtime import HEADLESS

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "SweepProgress", "SweepResult", "SweepRunner",
           "TrialJob", "TrialOutcome", "check_reachable", "check_shareable", "make_executor", "run_trial",
           "start_forkserver"]

#: Workers fork from a forkserver that imported torch and the trainer once (Linux, macOS), instead
#: of each importing torch while the others do: a worker's start-up 2.65 s (1.09-3.30) against
#: 3.16 s (1.83-7.31) spawned, on the loaded 2-core machine (``bench/bench_sweep.py
#: --start-method spawn``; docs/sweeps.md). Spawn elsewhere. The forkserver also runs the warm-up
#: (:mod:`lrstudio.services.sweep_preload`), which each worker ran itself (0.6-0.9 s each, both at
#: once on 2 cores); forked from a warm forkserver a worker is ready in 0.05-0.1 s.
_PRELOAD = ["torch", "lrstudio.trainer.loop", "lrstudio.services.training_run", "lrstudio.storage",
            "lrstudio.services.sweep_preload"]
_CTX: Any
if "forkserver" in multiprocessing.get_all_start_methods():
    _CTX = multiprocessing.get_context("forkserver")
    _CTX.set_forkserver_preload(_PRELOAD)
else:  # pragma: no cover - Windows
    _CTX = multiprocessing.get_context("spawn")
#: How often a trial looks at its experiment's status in the database (a cancel from elsewhere).
CANCEL_POLL_S = 1.0
HEARTBEAT_S = 5.0
PIPE_POLL_S = 0.05  # how often a local trial looks whether the sweep's process is still there


@dataclass(frozen=True)
class TrialJob:
    """One run of a sweep, as plain data (pickled to a worker process or a Ray task)."""

    db_url: str
    experiment_id: int
    trial: int
    seed: int
    config: dict[str, Any]  # the RunConfig's dict (the point and the seed applied)
    pruner: str | None = None  # a PRUNERS name when the sweep prunes
    history: tuple[dict[int, float], ...] = ()  # validation loss per epoch of finished runs


@dataclass(frozen=True)
class TrialOutcome:
    trial: int
    seed: int
    run_id: int | None
    status: str  # a run status, or "error" when no run could be made
    summary: dict[str, Any] = field(default_factory=dict)  # RunSummary.to_dict()
    intermediate: dict[int, float] = field(default_factory=dict)  # epoch -> val/loss
    error: str | None = None
    worker_pid: int | None = None
    seconds: float = 0.0  # wall time of run_trial in the worker, training included


# -- one trial, in whatever process runs it ------------------------------------------------------------
class _TrialStop:
    """A trial's stop signal: the executor's event, the parent gone, the pruner, or a cancel in
    the database. ``is_set`` is called between steps: it checks the database at most every
    :data:`CANCEL_POLL_S` seconds."""

    def __init__(self, store: Any, experiment_id: int, event: Any = None, parent: Connection | None = None) -> None:
        self.store = store
        self.experiment_id = experiment_id
        self.event = event
        self.parent = parent
        self.pruned = False
        self.parent_gone = False
        self.cancelled = False
        self._next_poll = time.monotonic() + CANCEL_POLL_S
        self._next_pipe = 0.0

    def is_set(self) -> bool:
        if self.pruned or self.parent_gone or self.cancelled:
            return True
        if self.event is not None and self.event.is_set():
            return True
        now = time.monotonic()
        if self.parent is not None and now >= self._next_pipe:
            # The parent sends nothing during a job: anything readable is its end of the pipe
            # closing (the sweep's process died) or a "quit" (it closes the executor).
            self._next_pipe = now + PIPE_POLL_S
            try:
                if self.parent.poll():
                    self.parent.recv()
                    return True
            except (EOFError, OSError):
                self.parent_gone = True
                return True
        if now >= self._next_poll:
            self._next_poll = now + CANCEL_POLL_S
            try:
                self.cancelled = self.store.get_experiment(self.experiment_id).status == "cancelled"
            except LrstudioError:  # the experiment deleted, the database away: keep training
                pass
        return self.cancelled


class _FinalStatus:
    """The recorder of a trial: a run that the pruner stopped ends ``pruned``, one whose parent
    went away ``interrupted`` (resume runs it again), in the same transaction as its summary."""

    def __init__(self, recorder: Any, stop: _TrialStop) -> None:
        self._recorder = recorder
        self._stop = stop

    def handle(self, events: Iterable[Event]) -> None:
        out = []
        for ev in events:
            if isinstance(ev, RunFinished) and ev.summary.status == STOPPED:
                if self._stop.pruned:
                    ev = RunFinished(replace(ev.summary, status="pruned"))
                elif self._stop.parent_gone:
                    ev = RunFinished(replace(ev.summary, status="interrupted",
                                             error="interrupted: the sweep's process ended"))
            out.append(ev)
        self._recorder.handle(out)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._recorder, name)


class _TrialStore:
    """The store as :func:`execute_run` sees it: its recorder wrapped in :class:`_FinalStatus`."""

    def __init__(self, store: Any, stop: _TrialStop) -> None:
        self._store = store
        self._stop = stop

    def recorder(self, run_id: int) -> _FinalStatus:
        return _FinalStatus(self._store.recorder(run_id), self._stop)


class _LocalPruner:
    """An Optuna pruner deciding against a snapshot of finished runs' validation curves."""

    def __init__(self, name: str, history: Sequence[Mapping[int, float]]) -> None:
        optuna = import_optuna()
        study = optuna.create_study(direction="minimize", pruner=make_pruner(name),
                                    sampler=optuna.samplers.RandomSampler(seed=0))
        for curve in history:
            finite = {int(k): float(v) for k, v in curve.items() if math.isfinite(v)}
            if finite:
                study.add_trial(optuna.trial.create_trial(
                    state=optuna.trial.TrialState.COMPLETE, value=min(finite.values()), params={},
                    distributions={}, intermediate_values=finite))
        self.trial = study.ask()

    def should_prune(self, epoch: int, value: float) -> bool:
        if not math.isfinite(value):
            return False  # divergence stops the run on its own
        self.trial.report(value, epoch)
        return bool(self.trial.should_prune())


def import_optuna() -> Any:
    """Optuna, or a one-line error saying how to install it (an optional extra)."""
    try:
        import optuna
    except ImportError:
        raise LrstudioError("the optuna method needs Optuna: pip install 'lrstudio[optuna]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def make_pruner(name: str) -> Any:
    optuna = import_optuna()

    if name not in PRUNERS:
        raise LrstudioError(f"unknown pruner {name!r}; allowed: {', '.join(PRUNERS)}")
    return getattr(optuna.pruners, PRUNERS[name])()


def make_sampler(name: str, seed: int) -> Any:
    optuna = import_optuna()

    if name not in SAMPLERS:
        raise LrstudioError(f"unknown sampler {name!r}; allowed: {', '.join(SAMPLERS)}")
    cls = getattr(optuna.samplers, SAMPLERS[name])
    try:
        return cls(seed=seed)
    except TypeError:  # a sampler without a seed argument
        return cls()


_STORES: dict[str, Any] = {}  # one open store per database URL in a worker process


def _open(db_url: str) -> Any:
    store = _STORES.get(db_url)
    if store is None:
        from lrstudio.storage import open_store

        store = _STORES[db_url] = open_store(db_url, upgrade=False, backup=False, recover=False)
    return store


def run_trial(job: TrialJob, event: Any = None, parent: Connection | None = None) -> TrialOutcome:
    """Create and train one run of a sweep in this process; how it ended (never raises for a run
    that fails: its status says so). ``event``: a stop event (the local executor's);
    ``parent``: the local worker's pipe to the sweep's process: stop (and end the run
    ``interrupted``) when it closes."""
    from lrstudio.services.training_run import check_before_run, execute_run, failure_message

    t0 = time.monotonic()
    store = _open(job.db_url)
    cfg = RunConfig.from_dict(job.config)
    try:
        cfg = check_before_run(cfg)
    except LrstudioError as exc:  # e.g. a sampled warm-up longer than the sampled run
        run_id = store.create_run(cfg, name=cfg.name or None, kind="training", experiment_id=job.experiment_id,
                                  trial=job.trial)
        summary = RunSummary(status="failed", steps=0, epochs=0, duration_s=0.0, error=failure_message(exc))
        with store.recorder(run_id) as rec:
            rec.handle([RunStarted(total_steps=0, steps_per_epoch=0, epochs=0, wall_time=0.0), RunFinished(summary)])
        return TrialOutcome(job.trial, job.seed, run_id, "failed", summary.to_dict(), error=summary.error,
                            worker_pid=os.getpid(), seconds=time.monotonic() - t0)
    run_id = store.create_run(cfg, name=cfg.name or None, kind="training", experiment_id=job.experiment_id,
                              trial=job.trial)
    stop = _TrialStop(store, job.experiment_id, event, parent)
    pruner = _LocalPruner(job.pruner, job.history) if job.pruner else None
    intermediate: dict[int, float] = {}

    def on_events(batch: list[Event]) -> None:
        for ev in batch:
            if isinstance(ev, EpochLogged) and "val/loss" in ev.values:
                v = float(ev.values["val/loss"])
                intermediate[ev.epoch] = v
                if pruner is not None and not stop.pruned and pruner.should_prune(ev.epoch, v):
                    stop.pruned = True

    # a local worker (parent set) froze its heap for good after its warm-up (_worker_main: prewarm)
    options = replace(HEADLESS, dataset_cache=True, emit_interval_s=0.0 if pruner else HEADLESS.emit_interval_s,
                      freeze_heap_per_run=parent is None)
    summary = execute_run(_TrialStore(store, stop), run_id, cfg, stop=stop, on_events=on_events, options=options)
    status = summary.status
    if status == STOPPED and stop.pruned:
        status = "pruned"
    elif status == STOPPED and stop.parent_gone:
        status = "interrupted"
    return TrialOutcome(job.trial, job.seed, run_id, status, summary.to_dict(), intermediate, summary.error,
                        os.getpid(), time.monotonic() - t0)


# -- executors -----------------------------------------------------------------------------------------
class Executor(Protocol):
    """Runs :class:`TrialJob`s somewhere, ``capacity`` at a time (the parent never exceeds it)."""

    capacity: int

    def start(self, job: TrialJob) -> None: ...

    def poll(self, timeout_s: float) -> list[TrialOutcome]:
        """Outcomes of the jobs that ended (waits up to ``timeout_s`` for the first)."""
        ...

    def in_flight(self) -> int: ...

    def stop_all(self) -> None:
        """Ask every running job to stop after its current step."""
        ...

    def close(self) -> None: ...


def _worker_main(conn: Connection, event: Any, nice: int) -> None:
    """A local worker: import torch once, then run the jobs it is sent until its pipe closes
    (the pipe, not the parent pid, tells it the sweep's process is gone: a forkserver's children
    keep the forkserver alive)."""
    from lrstudio.core.allocator import tune_allocator
    from lrstudio.services import runtime

    tune_allocator()

    if nice and hasattr(os, "nice"):
        os.nice(nice)
    preload = sys.modules.get("lrstudio.services.sweep_preload")
    warm = bool(getattr(preload, "WARMED", False))  # inherited from the forkserver
    threads = 0
    try:
        runtime.prewarm(None)  # ~7 ms when inherited warm
        import torch

        threads = torch.get_num_threads()
    except Exception:  # a broken torch: the run reports it
        pass
    try:
        conn.send(("ready", os.getpid(), warm, threads))
    except OSError:
        return
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] != "job":
            return
        job: TrialJob = msg[1]
        try:
            outcome = run_trial(job, event, conn)
        except Exception as exc:  # the database itself failed (policy step 3)
            from lrstudio.services.training_run import failure_message

            outcome = TrialOutcome(job.trial, job.seed, None, "error", error=failure_message(exc),
                                   worker_pid=os.getpid())
        try:
            conn.send(("done", outcome))
        except OSError:
            return
        if outcome.status == "interrupted":
            return


class _Worker:
    def __init__(self, ctx: Any, event: Any, nice: int) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, name="lrstudio-sweep", daemon=True,
                                    args=(child, event, nice))
        self.started_at = time.monotonic()
        self.process.start()
        child.close()
        self.ready = False
        self.job: TrialJob | None = None


class LocalExecutor:
    """``parallel`` spawned worker processes on this machine (default: one per core).

    All workers start together at the first job (each imports torch once: ``startup_s``) and are
    reused for every later trial. A job goes to the first worker that is ready and idle, so a
    worker still importing torch never holds a trial another one could run now; jobs wait in
    this executor meanwhile (``stop_all`` drops them: queued trials never start). ``nice``: the
    workers' niceness (the GUI passes 10 so its own thread wins a core at once, as
    ``services/process_run.py`` does).
    """

    def __init__(self, parallel: int | None = None, nice: int = 0, start_method: str | None = None) -> None:
        n = parallel if parallel is not None else (os.cpu_count() or 1)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1024:
            raise LrstudioError(f"parallel = {n!r} is not allowed; expected a whole number of worker processes "
                                "from 1 to 1024")
        self.capacity = n
        self.nice = nice
        # start_method "spawn": each worker imports torch itself (bench_sweep.py --start-method spawn).
        self._ctx = _CTX if start_method is None else multiprocessing.get_context(start_method)
        self._event = self._ctx.Event()
        self._workers: list[_Worker] = []
        self._queue: deque[TrialJob] = deque()
        self.startup_s: list[float] = []  # spawn -> torch imported, per worker (bench_sweep.py)
        #: per worker that got ready: (warm-up inherited from the forkserver, torch's intra-op threads)
        self.workers_ready: list[tuple[bool, int]] = []

    def start(self, job: TrialJob) -> None:
        if not self._workers:
            self._workers = [_Worker(self._ctx, self._event, self.nice) for _ in range(self.capacity)]
        self._queue.append(job)
        self._dispatch()

    def _dispatch(self) -> None:
        for w in self._workers:
            if not self._queue:
                return
            if w.ready and w.job is None and w.process.is_alive():
                job = self._queue.popleft()
                w.job = job
                try:
                    w.conn.send(("job", job))
                except OSError:
                    pass  # found dead in poll()

    def in_flight(self) -> int:
        return len(self._queue) + sum(1 for w in self._workers if w.job is not None)

    def poll(self, timeout_s: float) -> list[TrialOutcome]:
        if not self.in_flight():
            return []
        live = [w for w in self._workers if w.process.is_alive() or w.job is not None]
        waitables: list[Any] = [w.conn for w in live] + [w.process.sentinel for w in live]
        ready = wait(waitables, timeout=timeout_s)
        out = []
        for w in live:
            while w.conn in ready and w.conn.poll():
                try:
                    msg = w.conn.recv()
                except (EOFError, OSError):
                    break
                if msg[0] == "ready":
                    w.ready = True
                    self.startup_s.append(time.monotonic() - w.started_at)
                    self.workers_ready.append((bool(msg[2]), int(msg[3])))
                elif msg[0] == "done":
                    out.append(msg[1])
                    w.job = None
            if not w.process.is_alive() and not w.conn.poll():
                if w.job is not None:
                    from lrstudio.services.process_run import exit_text

                    job, w.job = w.job, None
                    out.append(TrialOutcome(job.trial, job.seed, None, "error", worker_pid=w.process.pid,
                                            error=f"the worker process ended during the trial "
                                                  f"({exit_text(w.process.exitcode)})"))
                w.conn.close()
                self._workers.remove(w)
                if self._queue and not self._event.is_set():
                    self._workers.append(_Worker(self._ctx, self._event, self.nice))  # a replacement
        self._dispatch()
        return out

    def stop_all(self) -> None:
        self._queue.clear()
        self._event.set()

    def close(self) -> None:
        self._queue.clear()
        self._event.set()
        for w in self._workers:
            try:
                w.conn.send(("quit",))
            except OSError:
                pass
        deadline = time.monotonic() + 10
        for w in self._workers:
            if w.ready or w.job is not None:  # one still importing torch has nothing to finish
                w.process.join(max(0.1, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.terminate()
                w.process.join(2)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(2)
            w.conn.close()
        self._workers = []


class RayExecutor:
    """Each trial a Ray task (one CPU) on a local Ray instance or an existing cluster.

    ``address``: a cluster's address (``ray://head:10001``, ``auto``); None starts a local Ray
    unless one is initialised in this process already. ``parallel``: at most this many tasks at a
    time (default: the cluster's CPUs). lrstudio (``pip install lrstudio[ray]``) must be installed on
    every node, and the database must be one every node reaches (PostgreSQL).
    """

    def __init__(self, parallel: int | None = None, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise LrstudioError("the Ray executor needs Ray: pip install 'lrstudio[ray]'") from None
        self._ray = ray
        self._own = False
        if not ray.is_initialized():
            if address and address != "auto":
                check_reachable(address)  # ray.init retries a wrong address for minutes
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise LrstudioError(f"cannot start or reach Ray at {address or 'a new local instance'}: "
                                    f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
            self._own = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.capacity = parallel if parallel is not None else max(1, cpus)
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_trial)
        self._refs: dict[Any, TrialJob] = {}

    def start(self, job: TrialJob) -> None:
        self._refs[self._remote.remote(job)] = job

    def in_flight(self) -> int:
        return len(self._refs)

    def poll(self, timeout_s: float) -> list[TrialOutcome]:
        if not self._refs:
            return []
        ray = self._ray
        ready, _ = ray.wait(list(self._refs), num_returns=len(self._refs), timeout=timeout_s)
        if not ready:
            ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=0)
        out = []
        for ref in ready:
            job = self._refs.pop(ref)
            try:
                out.append(ray.get(ref))
            except Exception as exc:  # the task or its worker died
                out.append(TrialOutcome(job.trial, job.seed, None, "error",
                                        error=f"the Ray task ended with {type(exc).__name__}: "
                                              f"{str(exc).splitlines()[0] if str(exc) else ''}"))
        return out

    def stop_all(self) -> None:
        pass  # the experiment's status "cancelled" in the database stops every task (CANCEL_POLL_S)

    def close(self) -> None:
        for ref in list(self._refs):
            self._ray.cancel(ref, force=True)
        self._refs.clear()
        if self._own:
            self._ray.shutdown()


def check_shareable(db_url: str) -> None:
    """Refuse a database that the trials' processes cannot open (an in-memory SQLite database)."""
    from lrstudio.services.process_run import can_share

    if not can_share(db_url):
        raise LrstudioError("a sweep's trials run in other processes, which cannot open an in-memory database; "
                            "use a database file or a server (--db runs.sqlite, --db postgresql+psycopg://...)")


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Raise a one-line :class:`LrstudioError` unless a TCP connection to a Ray address
    (``host:port`` or ``ray://host:port``) opens within ``timeout_s``."""
    import socket

    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise LrstudioError(f"cannot reach the Ray cluster at {address}: expected host:port, ray://host:port "
                            "or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise LrstudioError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}; start one with "
                            "`ray start --head` or check the address") from None


def start_forkserver() -> None:
    """Start the forkserver local workers fork from, if it is not running: it imports torch and
    warms up (2-4 s) in its own process, so a sweep started a little later finds its workers
    ready at once. Returns at once (a fork and an exec); the GUI calls it when the Sweeps tab
    opens, the CLI before it stores the sweep. Nothing happens where workers are spawned."""
    if _CTX.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    try:
        forkserver.ensure_running()
    except (OSError, RuntimeError):  # no more processes, a main module without its guard: the sweep says so
        pass


def make_executor(kind: str = "local", parallel: int | None = None, address: str | None = None,
                  nice: int = 0) -> Executor:
    """``local`` or ``ray`` (the CLI's ``--executor``); a one-line error for anything else."""
    if kind == "local":
        if address:
            raise LrstudioError("--ray-address needs --executor ray")
        return LocalExecutor(parallel, nice=nice)
    if kind == "ray":
        return RayExecutor(parallel, address)
    raise LrstudioError(f"unknown executor {kind!r}; allowed: local, ray")


# -- the parent ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepProgress:
    """Counts for a progress line or the GUI's sweep panel (runs = trials x seeds)."""

    total: int
    done: int
    running: int
    statuses: Mapping[str, int]  # finished runs by status (this session and before)
    elapsed_s: float
    eta_s: float | None
    last: TrialOutcome | None = None


@dataclass(frozen=True)
class SweepResult:
    experiment_id: int
    status: str  # the experiment's final status
    outcomes: tuple[TrialOutcome, ...]  # the runs of this session
    study_trials: int | None = None  # Optuna: trials in the study at the end


@dataclass
class _Point:
    trial: int
    point: dict[str, Any]
    seeds_left: list[int]
    optuna_trial: Any = None
    results: dict[int, TrialOutcome] = field(default_factory=dict)


class SweepRunner:
    """Runs (or resumes) one stored experiment with an :class:`Executor`; see the module docstring."""

    def __init__(self, store: Any, experiment_id: int, executor: Executor, *,
                 on_progress: Callable[[SweepProgress], None] | None = None, poll_s: float = 0.25) -> None:
        self.store = store
        self.experiment_id = experiment_id
        self.executor = executor
        self.on_progress = on_progress
        self.poll_s = poll_s
        self._cancel = threading.Event()
        self.study: Any = None

    def cancel(self) -> None:
        """Stop the sweep: no new run starts, running ones end ``stopped`` (safe from a signal handler)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # -- planning --------------------------------------------------------------------------------
    def _done_runs(self) -> dict[tuple[int, int], Any]:
        from lrstudio.core.sweep import latest_runs_per_seed

        return {k: r for k, r in latest_runs_per_seed(self.store.list_trials(self.experiment_id)).items()
                if r.status in TRIAL_DONE_STATUSES}

    def _wait_for_orphans(self, timeout_s: float = 30.0) -> None:
        """Workers of a parent that was killed stop at their next step; let them finish writing."""
        from lrstudio.storage.recorder import HOSTNAME
        from lrstudio.storage.repository import pid_alive

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            live = [r for r in self.store.list_trials(self.experiment_id) if r.status == "running"
                    and r.owner_host == HOSTNAME and r.owner_pid and r.owner_pid != os.getpid()
                    and pid_alive(r.owner_pid)]
            if not live:
                return
            time.sleep(0.2)

    def run(self) -> SweepResult:
        check_shareable(self.store.url)
        if self.store.get_experiment(self.experiment_id).spec().method == "optuna":
            import_optuna()  # its one-line install hint before anything is claimed
        self._wait_for_orphans()
        self.store.recover_interrupted()
        info = self.store.claim_experiment(self.experiment_id)
        spec = info.spec().validated()
        state = dict(info.state)
        state.pop("error", None)
        t0 = time.monotonic()
        outcomes: list[TrialOutcome] = []
        status = "interrupted"  # until decided below; an abort (a second Ctrl-C) leaves it resumable
        try:
            done = self._done_runs()
            history = self._history(spec, done) if spec.prune else []
            if spec.method == "optuna":
                points, asked = self._optuna_plan(spec, state, done)
            else:
                points = deque(_Point(t, p, [s for s in spec.seeds if (t, s) not in done])
                               for t, p in enumerate(spec.points()))
                asked = len(points)
            points = deque(p for p in points if p.seeds_left)
            total = spec.n_trials() * len(spec.seeds)
            statuses: dict[str, int] = {}
            for r in done.values():
                statuses[r.status] = statuses.get(r.status, 0) + 1
            n_done = len(done)
            queue: deque[tuple[_Point, int]] = deque()
            by_trial: dict[int, _Point] = {p.trial: p for p in points}
            last_beat = time.monotonic()
            session_done = 0
            while True:
                if self._cancel.is_set():
                    break
                # Fill the executor: jobs of points already asked, then (Optuna) new points.
                while self.executor.in_flight() < self.executor.capacity:
                    if not queue and points:
                        pt = points.popleft()
                        queue.extend((pt, s) for s in pt.seeds_left)
                    if not queue and spec.method == "optuna" and asked < spec.n_trials():
                        pt = self._ask(spec, state, asked)
                        asked += 1
                        by_trial[pt.trial] = pt
                        queue.extend((pt, s) for s in pt.seeds_left)
                    if not queue:
                        break
                    pt, seed = queue.popleft()
                    self.executor.start(self._job(info.id, spec, pt, seed, history))
                if self.executor.in_flight() == 0:
                    break
                for out in self.executor.poll(self.poll_s):
                    outcomes.append(out)
                    pt = by_trial[out.trial]
                    pt.results[out.seed] = out
                    if out.status in TRIAL_DONE_STATUSES:
                        n_done += 1
                        session_done += 1
                        statuses[out.status] = statuses.get(out.status, 0) + 1
                        if spec.prune and out.intermediate and out.status in ("completed", "pruned"):
                            history.append(dict(out.intermediate))
                    if spec.method == "optuna" and all(s in pt.results for s in spec.seeds):
                        self._tell(spec, state, pt)
                    if self.on_progress is not None:
                        elapsed = time.monotonic() - t0
                        left = total - n_done
                        eta = elapsed / session_done * left if session_done else None
                        self.on_progress(SweepProgress(total, n_done, self.executor.in_flight(), dict(statuses),
                                                       elapsed, eta, out))
                if time.monotonic() - last_beat >= HEARTBEAT_S:
                    self.store.experiment_heartbeat(self.experiment_id)
                    last_beat = time.monotonic()
            if self._cancel.is_set():
                self.store.update_experiment(self.experiment_id, status="cancelled")
                self.executor.stop_all()
                while self.executor.in_flight():
                    outcomes.extend(self.executor.poll(self.poll_s))
                status = "cancelled"
            else:
                left = total - len(self._done_runs())
                status = "completed" if left <= 0 else "failed"
                if status == "failed":
                    state["error"] = f"{left} run(s) did not finish (see the runs' errors); resume runs them again"
            return SweepResult(self.experiment_id, status, tuple(outcomes),
                               len(self.study.trials) if self.study is not None else None)
        except Exception as exc:  # the database, the executor: stored as the sweep's error
            status = "failed"
            state["error"] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            if self.study is not None:
                state["study_trials"] = len(self.study.trials)
            self.store.update_experiment(self.experiment_id, status=status, state=state, release=True)
            self.executor.close()

    def _job(self, eid: int, spec: ExperimentSpec, pt: _Point, seed: int,
             history: list[dict[int, float]]) -> TrialJob:
        cfg = spec.config_for(pt.point, seed, pt.trial)
        return TrialJob(self.store.url, eid, pt.trial, seed, cfg.to_dict(),
                        pruner=spec.pruner if spec.prune else None,
                        history=tuple(history) if spec.prune else ())

    def _history(self, spec: ExperimentSpec, done: Mapping[tuple[int, int], Any]) -> list[dict[int, float]]:
        ids = [r.id for r in done.values() if r.status in ("completed", "pruned")]
        if not ids:
            return []
        loaded = self.store.load_many(ids, keys=["val/loss"])
        out = []
        for rid in ids:
            s = loaded.get(rid, {}).get("val/loss")
            if s is not None and len(s):
                out.append({int(e): float(v) for e, v in zip(s.epoch, s.value, strict=True)})
        return out

    # -- Optuna ---------------------------------------------------------------------------------------
    def _optuna_plan(self, spec: ExperimentSpec, state: dict[str, Any],
                     done: Mapping[tuple[int, int], Any]) -> tuple[deque[_Point], int]:
        optuna = import_optuna()
        self.study = optuna.create_study(direction=spec.direction,
                                         sampler=make_sampler(spec.sampler, spec.sweep_seed))
        dists = _distributions(spec.dimensions())
        trials: dict[str, Any] = dict(state.get("trials", {}))
        state["trials"] = trials
        again: deque[_Point] = deque()
        for key in sorted(trials, key=int):
            t, point = int(key), trials[key]
            missing = [s for s in spec.seeds if (t, s) not in done]
            if missing:
                again.append(_Point(t, point, missing))
                continue
            pt = _Point(t, point, [])
            runs = [done[(t, s)] for s in spec.seeds]
            value, tstate = _trial_value(spec, [r.status for r in runs], [getattr(r, spec.metric) for r in runs])
            self.study.add_trial(optuna.trial.create_trial(
                params=_encode(spec.dimensions(), pt.point), distributions=dists, value=value, state=tstate,
                user_attrs={"lrstudio_trial": t}))
        state["study_trials_at_start"] = len(self.study.trials)
        for pt in again:  # asked before, not finished: the same trial number and parameters
            self.study.enqueue_trial(_encode(spec.dimensions(), pt.point))
            pt.optuna_trial = self.study.ask(dists)
            pt.seeds_left = [s for s in spec.seeds if (pt.trial, s) not in done]
            pt.results = {s: _done_outcome(done[(pt.trial, s)]) for s in spec.seeds if (pt.trial, s) in done}
        asked = max((int(k) + 1 for k in trials), default=0)
        return again, asked

    def _ask(self, spec: ExperimentSpec, state: dict[str, Any], number: int) -> _Point:
        dims = spec.dimensions()
        trial = self.study.ask(_distributions(dims))
        point = _decode(dims, trial.params)
        state.setdefault("trials", {})[str(number)] = point
        # Written before any of its runs starts: a resume finds the parameters of every asked trial.
        self.store.update_experiment(self.experiment_id, state=state)
        return _Point(number, point, list(spec.seeds), trial)

    def _tell(self, spec: ExperimentSpec, state: dict[str, Any], pt: _Point) -> None:
        if pt.optuna_trial is None:
            return
        outs = [pt.results[s] for s in spec.seeds if s in pt.results]
        statuses = [o.status for o in outs]
        if any(s not in TRIAL_DONE_STATUSES for s in statuses):
            return  # stopped/interrupted/error: the point runs again at resume; not told
        value, tstate = _trial_value(spec, statuses, [o.summary.get(spec.metric) for o in outs])
        import optuna

        if tstate == optuna.trial.TrialState.COMPLETE:
            self.study.tell(pt.optuna_trial, value)
        else:
            self.study.tell(pt.optuna_trial, state=tstate)
        pt.optuna_trial = None
        state["study_trials"] = len(self.study.trials)


def _done_outcome(run: Any) -> TrialOutcome:
    summary = {k: getattr(run, k) for k in ("final_loss", "best_loss", "final_val_loss", "best_val_loss",
                                             "best_accuracy")}
    return TrialOutcome(int(run.trial), int(run.config_dict.get("seed", 0)), run.id, run.status, summary)


def _trial_value(spec: ExperimentSpec, statuses: Sequence[str], values: Sequence[Any]) -> tuple[float | None, Any]:
    """An Optuna trial's value and state from its runs: PRUNED if a seed was pruned; FAIL if a
    seed diverged or failed, or has no finite metric; else COMPLETE with the mean.

    A diverged run's stored metric is finite (the best before it blew up) and often the best
    looking one: told as a value it would steer the sampler towards the diverging region. Its
    objective is really NaN/inf, and Optuna's FAQ ("How are NaNs returned by trials handled?")
    treats a trial that returns NaN as a FAIL: so is it told here.
    """
    import optuna

    S = optuna.trial.TrialState
    if "pruned" in statuses:
        return None, S.PRUNED
    if any(s in ("diverged", "failed") for s in statuses):
        return None, S.FAIL
    nums = [float(v) for v in values if v is not None]
    if len(nums) != len(values) or not all(math.isfinite(v) for v in nums):
        return None, S.FAIL
    return sum(nums) / len(nums), S.COMPLETE


def _distributions(dims: Sequence[Dimension]) -> dict[str, Any]:
    import optuna.distributions as od

    out: dict[str, Any] = {}
    for d in dims:
        if d.kind == "choice":
            out[d.path] = od.CategoricalDistribution(list(range(len(d.choices))))  # by index: any JSON value
        elif d.kind == "int":
            out[d.path] = od.IntDistribution(int(d.low or 0), int(d.high or 0), log=d.log)
        else:
            out[d.path] = od.FloatDistribution(float(d.low or 0), float(d.high or 0), log=d.kind == "log_uniform")
    return out


def _encode(dims: Sequence[Dimension], point: Mapping[str, Any]) -> dict[str, Any]:
    return {d.path: (d.choices.index(point[d.path]) if d.kind == "choice" else point[d.path]) for d in dims}


def _decode(dims: Sequence[Dimension], params: Mapping[str, Any]) -> dict[str, Any]:
    return {d.path: (d.choices[int(params[d.path])] if d.kind == "choice" else params[d.path]) for d in dims}
