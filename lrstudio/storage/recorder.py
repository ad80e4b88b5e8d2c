"""Write a run's events to the store in a few, large transactions.

Life cycle: ``Store.create_run`` -> ``store.recorder(run_id)`` -> ``handle(events)`` many times
(from the training worker, with lists from :class:`~lrstudio.core.events.BatchingReporter`) ->
``close()``.

* Points are buffered and committed in transactions of at most ``max_rows`` rows (1,000), or
  sooner when ``max_delay_s`` (0.5 s) has passed since the last commit: never one commit per step.
  A crash therefore loses at most the last half second or so of points, and every point up to the
  last commit survives (SQLite WAL with ``synchronous=NORMAL`` keeps committed transactions across
  a process crash).
* Each commit also refreshes the run's heartbeat; :meth:`Store.recover_interrupted` uses it (and
  the owner pid) to find runs whose process is gone.
* ``RunStarted`` is written at once (status ``running``, start time, owner, ``info``).
  ``RunFinished`` writes the summary and the final status in the same transaction as the last
  points, so a finished run is never missing its tail.
* ``close()`` without a ``RunFinished`` marks the run ``interrupted`` (or the status given).

A recorder belongs to one thread at a time and checks out its own connection for each
transaction; it never shares a Session or Connection with the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from math import copysign
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from lrstudio.core.events import EpochLogged, Event, RunFinished, RunStarted, RunSummary, StepLogged
from lrstudio.core.runs import FINAL_STATUSES
from lrstudio.storage.engine import StoreError, driver_connection, transaction
from lrstudio.storage.models import (
    FINITE,
    NAN,
    NEG_INF,
    NEG_ZERO,
    POS_INF,
    MetricPointRow,
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
_points = table(MetricPointRow)

_POINT_COLUMNS = ("series_id", "step", "value", "value_kind", "wall_time", "epoch")
_COPY_SQL = f"COPY metric_points ({', '.join(_POINT_COLUMNS)}) FROM STDIN"

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
        # Rows ready for executemany: (series_id, step, value, value_kind, wall_time, epoch).
        self._pending: list[tuple[Any, ...]] = []
        self._run_update: dict[str, Any] = {}
        self._summary: RunSummary | None = None
        self._series_ids: dict[str, int] = {}
        self._last_commit = clock()
        self._last_beat = -float("inf")  # the first commit refreshes the heartbeat
        self._lock = threading.Lock()
        self.finished = False
        self.closed = False
        self.commits = 0  # transactions committed (tests check the batching)
        self.rows_written = 0
        self._insert_sql = self._make_insert_sql()

    def _make_insert_sql(self) -> str | None:
        if not self._sqlite:
            return None
        # INSERT OR REPLACE: a repeated (series, step) replaces the point instead of failing the batch.
        return ("INSERT OR REPLACE INTO metric_points (series_id, step, value, value_kind, wall_time, epoch) "
                "VALUES (?, ?, ?, ?, ?, ?)")

    # -- public API ----------------------------------------------------------------------------
    def handle(self, events: Iterable[Event]) -> None:
        """Take a list of events; commit whatever the batching rules say is due."""
        with self._lock:
            if self.closed:
                raise StoreError(f"the recorder of run {self.run_id} is closed")
            pending = self._pending
            append = pending.append
            ids = self._series_ids
            urgent = False
            for ev in events:
                if isinstance(ev, (StepLogged, EpochLogged)):
                    if self.finished:
                        continue
                    step, epoch, wall = int(ev.step), int(ev.epoch), float(ev.wall_time)
                    for key, raw in ev.values.items():
                        sid = ids.get(key)
                        if sid is None:
                            sid = self._create_series(key)
                        v = float(raw)
                        if v - v == 0.0:  # finite (NaN and +-inf give NaN)
                            # -0.0 has its own kind: SQLite would read it back as 0.0.
                            append((sid, step, v, FINITE if v or copysign(1.0, v) > 0 else NEG_ZERO,
                                    wall, epoch))
                        else:
                            append((sid, step, None, NAN if v != v else (POS_INF if v > 0 else NEG_INF),
                                    wall, epoch))
                elif isinstance(ev, RunStarted):
                    self._run_update.update(self._started_values(ev))
                    urgent = True
                elif isinstance(ev, RunFinished):
                    if not self.finished:
                        self._summary = ev.summary
                        self.finished = True
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
                with transaction(self._engine) as conn:
                    conn.execute(update(_runs).where(_runs.c.id == self.run_id).values(
                        status=final, ended_at=utcnow(), error=error, heartbeat_at=utcnow()))
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
        n = len(pending)
        start = 0
        # Full batches first: each its own transaction of max_rows rows.
        while n - start > self.max_rows or (n - start == self.max_rows and not final):
            self._commit(pending[start:start + self.max_rows], last=False)
            start += self.max_rows
        rest = pending[start:]
        now = self._clock()
        if final and not self._summary_written:
            self._commit(rest, last=True)
            rest = []
        elif rest or self._run_update:
            if urgent or now - self._last_commit >= self.max_delay_s:
                self._commit(rest, last=False)
                rest = []
        elif now - self._last_beat >= self.heartbeat_s:
            self._commit([], last=False)
        self._pending = rest

    _summary_written = False

    def _commit(self, rows: list[tuple[Any, ...]], *, last: bool) -> None:
        values: dict[str, Any] = dict(self._run_update)
        beat_due = self._clock() - self._last_beat >= self.heartbeat_s
        if last and self._summary is not None:
            values.update(self._summary_values(self._summary, utcnow()))
        if values or beat_due:
            values["heartbeat_at"] = utcnow()
        with transaction(self._engine) as conn:
            if rows:
                self._insert(conn, rows)
            if values:
                n = conn.execute(update(_runs).where(_runs.c.id == self.run_id).values(**values)).rowcount
                if n == 0:
                    raise StoreError(f"run {self.run_id} was deleted while it was being recorded")
        # Only after the commit: a rolled-back transaction must not leave state behind.
        self._run_update = {}
        self._last_commit = self._clock()
        if "heartbeat_at" in values:
            self._last_beat = self._last_commit
        self.commits += 1
        self.rows_written += len(rows)
        if last and self._summary is not None:
            self._summary_written = True

    def _create_series(self, key: str) -> int:
        """Create the series row of a new key in its own short transaction (a series without
        points is harmless); later point rows carry its id directly."""
        if len(key) > 100:
            raise StoreError(f"a metric key has at most 100 characters: {key[:40]!r}...")
        if "\x00" in key:
            raise StoreError(f"a metric key cannot contain a NUL character (\\x00): {key[:40]!r}")
        with transaction(self._engine) as conn:
            sid = conn.execute(select(_series.c.id).where(_series.c.run_id == self.run_id,
                                                         _series.c.key == key)).scalar()
            if sid is None:
                sid = conn.execute(insert(_series).values(run_id=self.run_id, key=key)
                                   .returning(_series.c.id)).scalar_one()
        self._series_ids[key] = int(sid)
        return int(sid)

    def _insert(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if self._insert_sql is not None:
            # SQLite: the driver's executemany under our SQLAlchemy transaction. Core's insert
            # costs a dict and a bind-processing pass per row; this path is the measured limit
            # (bench/bench_store.py).
            cur = driver_connection(conn).cursor()
            try:
                cur.executemany(self._insert_sql, rows)
            finally:
                cur.close()
            return
        if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
            self._insert_pg(conn, rows)
            return
        conn.execute(insert(_points), [dict(zip(_POINT_COLUMNS, r)) for r in rows])

    def _insert_pg(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """PostgreSQL: COPY (measured ~5x faster than executemany here); a repeated
        (series, step) makes COPY fail, and then the batch is upserted instead."""
        import psycopg

        dbapi = driver_connection(conn)
        try:
            with conn.begin_nested(), dbapi.cursor() as cur, cur.copy(_COPY_SQL) as copy:
                for r in rows:
                    copy.write_row(r)
            return
        except psycopg.errors.UniqueViolation:
            pass
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(_points)
        stmt = stmt.on_conflict_do_update(
            index_elements=["series_id", "step"],
            set_={c: stmt.excluded[c] for c in _POINT_COLUMNS[2:]},
        )
        # The last value of a repeated step wins, as with SQLite's INSERT OR REPLACE.
        unique = {(r[0], r[1]): r for r in rows}
        conn.execute(stmt, [dict(zip(_POINT_COLUMNS, r)) for r in unique.values()])

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
