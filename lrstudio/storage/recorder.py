"""Write a run's events to the store in a few, large transactions.

Life cycle: ``Store.create_run`` -> ``store.recorder(run_id)`` -> ``handle(events)`` many times
(from the training worker, with lists from :class:`~lrstudio.core.events.BatchingReporter`) ->
``close()``.

* Points are buffered and committed in transactions of at most ``max_rows`` points (1,000), or
  sooner when ``max_delay_s`` (0.5 s) has passed since the last commit: never one commit per step.
  A crash therefore loses at most the last half second or so of points, and every point up to the
  last commit survives (SQLite WAL with ``synchronous=NORMAL`` keeps committed transactions across
  a process crash).
* Each commit also refreshes the run's heartbeat; :meth:`Store.recover_interrupted` uses it (and
  the owner pid) to find runs whose process is gone.
* Each commit writes the new points of each series as one (partial) chunk row of
  ``metric_chunks`` (:mod:`lrstudio.storage.chunks`): a few rows per commit instead of one row per
  point. Once a series has :data:`~lrstudio.storage.chunks.TAIL_CHUNKS` small chunks (under a
  quarter of ``CHUNK_POINTS``), the same transaction replaces them by one merged chunk (the recorder still holds their arrays: nothing is
  read back); the final commit merges what is left. A crash between commits leaves partial
  chunks, which read like any others.
* ``RunStarted`` is written at once (status ``running``, start time, owner, ``info``).
  ``RunFinished`` writes the summary and the final status in the same transaction as the last
  points, so a finished run is never missing its tail.
* ``close()`` without a ``RunFinished`` marks the run ``interrupted`` (or the status given).

A recorder belongs to one thread at a time and checks out its own connection for each
transaction; it never shares a Session or Connection with the GUI thread. Its transactions are
plain DB-API transactions on the pool's connection (``BEGIN IMMEDIATE`` ... ``COMMIT`` on SQLite),
with statements prepared once per recorder: SQLAlchemy's per-transaction setup (``engine.begin()``,
the begin event, compiling the ``UPDATE runs``) cost ~110 us of a ~130 us commit here, which
dominated short runs (issue 11, bench/bench_store.py at 10k points). Driver errors still become
:class:`~lrstudio.storage.engine.StoreError` through :func:`~lrstudio.storage.engine.translate`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from lrstudio.core.events import EpochLogged, Event, RunFinished, RunStarted, RunSummary, StepLogged
from lrstudio.core.runs import FINAL_STATUSES
from lrstudio.storage.chunks import CHUNK_COLUMNS, CHUNK_POINTS, TAIL_CHUNKS, Arrays, concat, encode, split
from lrstudio.storage.engine import StoreError, translate
from lrstudio.storage.models import (
    MetricChunkRow,
    MetricSeriesRow,
    RunRow,
    table,
    utcnow,
)

# The host a recording process runs on: a run's owner is (host, pid); Store.recover_interrupted
# checks the pid only for runs owned on this host.
HOSTNAME = socket.gethostname()

_runs = table(RunRow)
_series = table(MetricSeriesRow)
_chunks = table(MetricChunkRow)

MAX_ROWS = 1000
MAX_DELAY_S = 0.5
HEARTBEAT_S = 5.0


def _json_default(obj: Any) -> Any:
    tolist = getattr(obj, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return tolist()
    return str(obj)


class RunRecorder:
    """Buffers events of one run and writes them in batched transactions (see module doc)."""

    def __init__(
        self,
        engine: Engine,
        run_id: int,
        *,
        max_rows: int = MAX_ROWS,
        max_delay_s: float = MAX_DELAY_S,
        heartbeat_s: float = HEARTBEAT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be >= 1, got {max_rows=}")
        self.run_id = run_id
        self.max_rows = max_rows
        self.max_delay_s = max_delay_s
        self.heartbeat_s = heartbeat_s
        self._clock = clock
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        # Step/epoch events in arrival order, as (step, epoch, wall_time, values); the points are
        # turned into arrays per series only when committed (one pass per column, in C).
        self._pending: list[tuple[Any, Any, Any, dict[str, Any]]] = []
        self._pending_points = 0
        self._run_update: dict[str, Any] = {}
        self._summary: RunSummary | None = None
        self._series_ids: dict[str, int] = {}
        self._next_seq: dict[int, int] = {}  # series id -> seq of its next chunk
        # series id -> its partial chunks written since its last full chunk: (seq, arrays).
        self._tails: dict[int, list[tuple[int, Arrays]]] = {}
        self._last_commit = clock()
        self._last_beat = -float("inf")  # the first commit refreshes the heartbeat
        self._lock = threading.Lock()
        self.finished = False
        self.closed = False
        self.commits = 0  # transactions committed (tests check the batching)
        self.rows_written = 0
        ph = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._ph = ph
        self._insert_sql = (f"INSERT INTO {_chunks.name} ({', '.join(CHUNK_COLUMNS)}) "
                            f"VALUES ({', '.join([ph] * len(CHUNK_COLUMNS))})")
        self._delete_sql = f"DELETE FROM {_chunks.name} WHERE series_id = {ph} AND seq >= {ph} AND seq <= {ph}"
        dialect = engine.dialect
        # Column -> the dialect's bind processor (UTCDateTime -> SQLite text, ...), or None.
        self._bind = {c.name: c.type.bind_processor(dialect) for c in _runs.columns}
        dbapi = dialect.loaded_dbapi
        self._dbapi_error: type[Exception] = dbapi.Error

    # -- public API ----------------------------------------------------------------------------
    def handle(self, events: Iterable[Event]) -> None:
        """Take a list of events; commit whatever the batching rules say is due."""
        with self._lock:
            if self.closed:
                raise StoreError(f"the recorder of run {self.run_id} is closed")
            append = self._pending.append
            ids = self._series_ids.keys()
            points = 0
            urgent = False
            for ev in events:
                if isinstance(ev, (StepLogged, EpochLogged)):
                    if self.finished:
                        continue
                    values = dict(ev.values)  # a copy: the caller may reuse its dict
                    if not values.keys() <= ids:
                        for key in values:
                            if key not in ids:
                                self._create_series(key)
                    append((ev.step, ev.epoch, ev.wall_time, values))
                    points += len(values)
                elif isinstance(ev, RunStarted):
                    self._run_update.update(self._started_values(ev))
                    urgent = True
                elif isinstance(ev, RunFinished):
                    if not self.finished:
                        self._summary = ev.summary
                        self.finished = True
            self._pending_points += points
            self._write_due(final=self._summary is not None, urgent=urgent)

    def flush(self) -> None:
        """Commit everything buffered now."""
        with self._lock:
            self._write_due(final=self._summary is not None, urgent=True)

    def close(self, status: str | None = None, error: str | None = None) -> None:
        """Write what is buffered; a run that got no ``RunFinished`` ends as ``status``
        (default ``interrupted``), with ``error`` as its message."""
        with self._lock:
            if self.closed:
                return
            final = status or "interrupted"
            if final not in FINAL_STATUSES:
                raise StoreError(f"a run cannot end as {final!r}; allowed: {', '.join(FINAL_STATUSES)}")
            self._write_due(final=self._summary is not None, urgent=True)
            if not self.finished:
                # The end of the run: its partial chunks are merged in the same transaction.
                deletes, inserts, tails = self._chunk_plan([], last=True)
                now = utcnow()
                with self._transaction() as cur:
                    if deletes or inserts:
                        self._write_chunks(cur, deletes, inserts)
                    self._update_run(cur, {"status": final, "ended_at": now, "error": error,
                                           "heartbeat_at": now})
                self._apply(tails)
                self.commits += 1
                self.finished = True
            self.closed = True

    def __enter__(self) -> RunRecorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is not None and not self.finished:
            self.close(status="failed", error=f"{type(exc).__name__}: {exc}")
        else:
            self.close()

    # -- internals -----------------------------------------------------------------------------
    def _started_values(self, ev: RunStarted) -> dict[str, Any]:
        now = utcnow()
        return {
            "status": "running",
            "started_at": now,
            "owner_host": HOSTNAME,
            "owner_pid": os.getpid(),
            "heartbeat_at": now,
            "info_json": json.dumps(dict(ev.info), default=_json_default, allow_nan=True),
        }

    def _write_due(self, *, final: bool, urgent: bool) -> None:
        pending = self._pending
        left = self._pending_points
        start = 0
        # Full batches first: each its own transaction of at most max_rows points (whole events;
        # one event with more points than max_rows is a transaction of its own).
        while left > self.max_rows or (left == self.max_rows and not final):
            end, n = start, 0
            while end < len(pending) and (n + len(pending[end][3]) <= self.max_rows or end == start):
                n += len(pending[end][3])
                end += 1
            try:
                self._commit(pending[start:end], last=False)
            except BaseException:
                self._pending = pending[start:]  # what is committed is not sent again
                raise
            self._pending_points = left = left - n
            start = end
        rest = pending[start:]
        now = self._clock()
        if final and not self._summary_written:
            self._commit(rest, last=True)
            rest = []
            self._pending_points = 0
        elif rest or self._run_update:
            if urgent or now - self._last_commit >= self.max_delay_s:
                self._commit(rest, last=False)
                rest = []
                self._pending_points = 0
        elif now - self._last_beat >= self.heartbeat_s:
            self._commit([], last=False)
        self._pending = rest

    _summary_written = False

    def _commit(self, rows: list[tuple[Any, Any, Any, dict[str, Any]]], *, last: bool) -> None:
        values: dict[str, Any] = dict(self._run_update)
        beat_due = self._clock() - self._last_beat >= self.heartbeat_s
        if last and self._summary is not None:
            values.update(self._summary_values(self._summary, utcnow()))
        if values or beat_due:
            values["heartbeat_at"] = utcnow()
        deletes, inserts, tails = self._chunk_plan(rows, last=last)
        with self._transaction() as cur:
            if deletes or inserts:
                self._write_chunks(cur, deletes, inserts)
            if values and self._update_run(cur, values) == 0:
                raise StoreError(f"run {self.run_id} was deleted while it was being recorded")
        self._apply(tails)
        # Only after the commit: a rolled-back transaction must not leave state behind.
        self._run_update = {}
        self._last_commit = self._clock()
        if "heartbeat_at" in values:
            self._last_beat = self._last_commit
        self.commits += 1
        self.rows_written += sum(len(r[3]) for r in rows)
        if last and self._summary is not None:
            self._summary_written = True

    def _create_series(self, key: str) -> int:
        """Create the series row of a new key in its own short transaction (a series without
        points is harmless); later point rows carry its id directly."""
        if len(key) > 100:
            raise StoreError(f"a metric key has at most 100 characters: {key[:40]!r}...")
        if "\x00" in key:
            raise StoreError(f"a metric key cannot contain a NUL character (\\x00): {key[:40]!r}")
        ph = self._ph
        with self._transaction() as cur:
            cur.execute(f"SELECT id FROM {_series.name} WHERE run_id = {ph} AND key = {ph}", (self.run_id, key))
            row = cur.fetchone()
            if row is None:
                cur.execute(f"INSERT INTO {_series.name} (run_id, key) VALUES ({ph}, {ph}) RETURNING id",
                            (self.run_id, key))
                sid = cur.fetchone()[0]
                last_seq = None
            else:  # a series an earlier recorder of this run began: append after its chunks
                sid = row[0]
                cur.execute(f"SELECT max(seq) FROM {_chunks.name} WHERE series_id = {ph}", (sid,))
                last_seq = cur.fetchone()[0]
        self._series_ids[key] = int(sid)
        self._next_seq[int(sid)] = 0 if last_seq is None else int(last_seq) + 1
        self._tails[int(sid)] = []
        return int(sid)

    def _chunk_plan(self, rows: list[tuple[Any, Any, Any, dict[str, Any]]], *, last: bool
                    ) -> tuple[list[tuple[int, int, int]], list[tuple[Any, ...]],
                               dict[int, tuple[list[tuple[int, Arrays]], int]]]:
        """The chunk rows one commit writes: ``(deletes, inserts, new state per series)``.

        The new points of each series become one chunk (several if more than CHUNK_POINTS); once a
        series has TAIL_CHUNKS partial chunks, or at the last commit, its partial chunks are
        merged: their rows are deleted and the merged arrays inserted under the first one's seq.
        The recorder's state changes only after the commit (see :meth:`_commit`).
        """
        new: dict[int, Arrays] = {}
        if rows:
            try:
                step = np.array([r[0] for r in rows], dtype=np.int64)
                epoch = np.array([r[1] for r in rows], dtype=np.int64)
            except OverflowError as exc:
                raise StoreError(f"a step or epoch beyond 64-bit integers cannot be stored: {exc}") from None
            try:
                wall = np.array([r[2] for r in rows], dtype=np.float64)
                new = self._columns(rows, step, wall, epoch)
            except (TypeError, ValueError) as exc:
                raise StoreError(f"a metric value or wall time is not a number: {exc}") from None
        return self._plan(new, last=last)

    def _columns(self, rows: list[tuple[Any, Any, Any, dict[str, Any]]], step: npt.NDArray[np.int64],
                 wall: npt.NDArray[np.float64], epoch: npt.NDArray[np.int64]) -> dict[int, Arrays]:
        """The batch's points per series id, in arrival order."""
        new: dict[int, Arrays] = {}
        for key, sid in self._series_ids.items():
            try:  # the usual case: every event of the batch has this key
                val = np.array([r[3][key] for r in rows], dtype=np.float64)
                new[sid] = (step, val, wall, epoch)
            except KeyError:
                idx = [i for i, r in enumerate(rows) if key in r[3]]
                if idx:
                    val = np.array([rows[i][3][key] for i in idx], dtype=np.float64)
                    new[sid] = (step[idx], val, wall[idx], epoch[idx])
        return new

    def _plan(self, new: dict[int, Arrays], *, last: bool
              ) -> tuple[list[tuple[int, int, int]], list[tuple[Any, ...]],
                         dict[int, tuple[list[tuple[int, Arrays]], int]]]:
        deletes: list[tuple[int, int, int]] = []
        inserts: list[tuple[Any, ...]] = []
        state: dict[int, tuple[list[tuple[int, Arrays]], int]] = {}
        for sid in (self._tails if last else new):
            tail = list(self._tails.get(sid, []))
            next_seq = self._next_seq.get(sid, 0)
            fresh: list[tuple[int, Arrays]] = []
            for piece in split(new[sid]) if sid in new else []:
                fresh.append((next_seq, piece))
                next_seq += 1
            merge = len(tail) + len(fresh) >= TAIL_CHUNKS or (last and len(tail) + len(fresh) > 1)
            if merge:
                written = [seq for seq, _ in tail]
                if written:
                    deletes.append((sid, written[0], written[-1]))
                first = (tail or fresh)[0][0]
                pieces = split(concat([a for _, a in tail + fresh]))
                merged = [(first + i, p) for i, p in enumerate(pieces)]
                for seq, p in merged:
                    inserts.append((sid, seq, *encode(*p)))
                # A chunk of a quarter of CHUNK_POINTS or more is done with (each point is written
                # twice: partial, then merged); a smaller last piece starts the next tail.
                tail = [merged[-1]] if merged[-1][1][0].shape[0] < CHUNK_POINTS // 4 else []
            else:
                for seq, p in fresh:
                    inserts.append((sid, seq, *encode(*p)))
                tail += fresh
                # The tail starts at the first small chunk: it is merged as one seq range.
                while tail and tail[0][1][0].shape[0] >= CHUNK_POINTS // 4:
                    tail.pop(0)
            state[sid] = (tail, next_seq)
        return deletes, inserts, state

    def _apply(self, tails: dict[int, tuple[list[tuple[int, Arrays]], int]]) -> None:
        for sid, (tail, next_seq) in tails.items():
            self._tails[sid] = tail
            self._next_seq[sid] = next_seq

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        """One DB-API transaction on a pooled connection (module doc): yields a cursor, commits
        on success, rolls back on any error; driver errors leave as :class:`StoreError`."""
        try:
            raw = self._engine.raw_connection()
        except SQLAlchemyError as exc:
            raise translate(exc, self._engine) from exc
        try:
            cur = raw.cursor()
            try:
                if self._sqlite:
                    # The engine's connections are in driver autocommit; writers begin IMMEDIATE
                    # (lrstudio.storage.engine: they queue on the busy timeout instead of failing).
                    cur.execute("BEGIN IMMEDIATE")
                yield cur
                raw.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    raw.rollback()
                raise
            finally:
                with contextlib.suppress(Exception):
                    cur.close()
        except self._dbapi_error as exc:
            # The SQLAlchemy error the same failure would have raised (OperationalError, ...).
            wrapped = DBAPIError.instance(None, None, exc, self._dbapi_error)
            if not isinstance(wrapped, SQLAlchemyError):  # pragma: no cover - instance() wraps DB-API errors
                raise
            raise translate(wrapped, self._engine) from exc
        finally:
            raw.close()  # back to the pool

    def _update_run(self, cur: Any, values: dict[str, Any]) -> int:
        """``UPDATE runs SET ... WHERE id = run_id`` with the columns' bind processing; rowcount."""
        ph, bind = self._ph, self._bind
        names = sorted(values)
        params = [v if (proc := bind[k]) is None or v is None else proc(v) for k, v in
                  ((k, values[k]) for k in names)]
        cur.execute(f"UPDATE {_runs.name} SET {', '.join(f'{k} = {ph}' for k in names)} WHERE id = {ph}",
                    (*params, self.run_id))
        return int(cur.rowcount)

    def _write_chunks(self, cur: Any, deletes: list[tuple[int, int, int]],
                      inserts: list[tuple[Any, ...]]) -> None:
        if deletes:
            cur.executemany(self._delete_sql, deletes)
        if inserts:
            cur.executemany(self._insert_sql, inserts)

    @staticmethod
    def _summary_values(s: RunSummary, now: dt.datetime) -> dict[str, Any]:
        if s.status not in FINAL_STATUSES:
            raise StoreError(f"a run cannot end as {s.status!r}; allowed: {', '.join(FINAL_STATUSES)}")

        def num(v: float | None) -> float | None:
            return None if v is None else float(v)

        return {
            "status": s.status,
            "ended_at": now,
            "steps": int(s.steps),
            "epochs": int(s.epochs),
            "duration_s": num(s.duration_s),
            "final_loss": num(s.final_loss),
            "best_loss": num(s.best_loss),
            "final_val_loss": num(s.final_val_loss),
            "best_val_loss": num(s.best_val_loss),
            "best_accuracy": num(s.best_accuracy),
            "diverged_step": s.diverged_step,
            "error": s.error,
            "summary_json": json.dumps(s.to_dict(), default=_json_default, allow_nan=True),
        }
