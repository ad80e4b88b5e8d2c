"""The run store: every run and its metric series in one database.

:func:`lrstudio.storage.open_store` probes, backs up and upgrades the database, then returns a
:class:`Store`. Methods return the domain records of :mod:`lrstudio.core.runs` (:class:`RunInfo`,
:class:`Series`) and numpy arrays, never ORM rows (MLflow's ``to_mlflow_entity()``); the store
satisfies :class:`lrstudio.core.runs.RunStore`, the seam the GUI and the CLI are typed against.

Modules of this package import one way (an import-linter contract in ``pyproject.toml``):
``repository`` -> ``recorder`` | ``export`` | ``migrate`` -> ``models`` | ``engine``.

Threads: one :class:`Store` may be used from the GUI thread while worker threads write through
their own :class:`~lrstudio.storage.recorder.RunRecorder`. The engine's pool is shared; every
method and every recorder transaction checks out its own connection or session, and none is
ever shared between threads (the one exception, :meth:`Store.data_version`'s SQLite connection,
is used under a lock and only for that pragma).

What is stored is checked the same way on every backend (issue 9): a config must pass
``RunConfig.validated()``; names, notes and tags may hold any text except the NUL character
(PostgreSQL cannot store it, SQLite could); run names are unique in a database (``create_run``
adds " (2)", " (3)" ...; ``rename_run`` refuses a name another run has); run ids outside
1 .. 2**63-1 are simply not found.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sqlite3
import sys
import threading
import time
import uuid as uuid_mod
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
from sqlalchemy import Connection, Engine, RowMapping, delete, event, func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from lrstudio import __version__
from lrstudio.core.config import RunConfig
from lrstudio.core.runs import (
    CONFIG_KINDS,
    RUN_KINDS,
    RUN_STATUSES,
    SUMMARY_FLOATS,
    RunInfo,
    RunStore,
    Series,
)
from lrstudio.core.sweep import ExperimentInfo, ExperimentSpec
from lrstudio.paths import sqlite_path
from lrstudio.storage.chunks import decode, ordered, series_of
from lrstudio.storage.engine import (
    BUSY_TIMEOUT_MS,
    RunNotFoundError,
    StoreError,
    driver_connection,
    session_scope,
    transaction,
    translated,
    writer,
)
from lrstudio.storage.export import export_history_csv, export_runs_csv
from lrstudio.storage.migrate import UpgradeResult
from lrstudio.storage.models import (
    MetricChunkRow,
    MetricSeriesRow,
    RunRow,
    RunTagRow,
    table,
    utcnow,
)
from lrstudio.storage.recorder import HEARTBEAT_S, HOSTNAME, MAX_DELAY_S, MAX_ROWS, RunRecorder

# A running run whose heartbeat is older than this is considered gone, whatever its pid says
# (pid reuse on the same host; any owner on another host sharing a PostgreSQL database).
HEARTBEAT_STALE_S = 600.0

_runs = table(RunRow)
_series = table(MetricSeriesRow)
_chunks = table(MetricChunkRow)
_tags = table(RunTagRow)

MAX_RUN_ID = 2**63 - 1  # SQLite's INTEGER; PostgreSQL's bigint
MAX_NAME = 200
# Serialises create_run/rename_run on PostgreSQL so that two processes never pick the same name
# (SQLite's BEGIN IMMEDIATE already does). An arbitrary constant: "lrstudio" in ASCII.
_NAMES_LOCK = 0x6C7273747564696F

ORDER_COLUMNS = {
    "id": _runs.c.id,
    "name": _runs.c.name,
    "status": _runs.c.status,
    "created": _runs.c.created_at,
    "created_at": _runs.c.created_at,
    "started": _runs.c.started_at,
    "ended": _runs.c.ended_at,
    "model": _runs.c.model,
    "dataset": _runs.c.dataset,
    "optimizer": _runs.c.optimizer,
    "schedule": _runs.c.schedule,
    "lr": _runs.c.base_lr,
    "base_lr": _runs.c.base_lr,
    "final_loss": _runs.c.final_loss,
    "best_loss": _runs.c.best_loss,
    "final_val_loss": _runs.c.final_val_loss,
    "best_val_loss": _runs.c.best_val_loss,
    "best_accuracy": _runs.c.best_accuracy,
    "steps": _runs.c.steps,
    "duration": _runs.c.duration_s,
    "duration_s": _runs.c.duration_s,
}


def _loads(text: str | None) -> Any:
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return {}


def _info_from_row(row: RowMapping, tags: Sequence[str]) -> RunInfo:
    summary = _loads(row["summary_json"])
    values = {}
    for name in SUMMARY_FLOATS:
        v = row[name]
        # SQLite stores NaN as NULL: the JSON copy of the summary keeps it.
        if v is None and isinstance(summary.get(name), float):
            v = summary[name]
        values[name] = v
    return RunInfo(
        id=row["id"],
        uuid=row["uuid"],
        name=row["name"],
        status=row["status"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        config_json=row["config_json"],
        config_schema_version=row["config_schema_version"],
        model=row["model"],
        dataset=row["dataset"],
        optimizer=row["optimizer"],
        schedule=row["schedule"],
        base_lr=row["base_lr"],
        steps=row["steps"],
        epochs=row["epochs"],
        duration_s=row["duration_s"],
        diverged_step=row["diverged_step"],
        tags=tuple(sorted(tags)),
        notes=row["notes"] or "",
        error=row["error"],
        lrstudio_version=row["lrstudio_version"],
        owner_host=row["owner_host"],
        owner_pid=row["owner_pid"],
        heartbeat_at=row["heartbeat_at"],
        summary_extra=summary.get("extra", {}) if isinstance(summary, dict) else {},
        info=_loads(row["info_json"]),
        kind=row["kind"],
        experiment_id=row["experiment_id"],
        trial=row["trial"],
        **values,
    )


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists on this host (a zombie counts as gone)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - os.kill(pid, 0) would terminate it there
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state != b"Z"
    except OSError:
        return True


def _as_aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


class Store:
    """Runs and metrics in one database. Create with :func:`lrstudio.storage.open_store`."""

    def __init__(self, url: str, engine: Engine, migration: UpgradeResult | None = None) -> None:
        self.url = url
        self.engine = engine
        self.write_engine = writer(engine)
        self.migration = migration
        self._write_sessions = sessionmaker(bind=self.write_engine, expire_on_commit=False)
        self._closed = False
        # The largest id the runs.id column can hold: SQLite's INTEGER, PostgreSQL's integer.
        self._max_id = 2**31 - 1 if engine.dialect.name == "postgresql" else MAX_RUN_ID
        self._commits = 0  # transactions this store's connections committed (data_version)
        self._version_con: sqlite3.Connection | None = None
        self._version_lock = threading.Lock()
        event.listen(engine, "commit", self._count_commit)
        self._ph = "?" if engine.dialect.paramstyle == "qmark" else "%s"

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def _id(self, run_id: Any) -> int:
        rid = _run_id(run_id)
        if rid > self._max_id:  # valid, but more than this database's column holds: not there
            raise RunNotFoundError(f"no run with id {rid} in this database")
        return rid

    def write_session(self) -> AbstractContextManager[Session]:
        """A session on the writer engine: commits, rolls back, closes, translates errors."""
        return session_scope(self._write_sessions)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with self._version_lock:
                if self._version_con is not None:
                    self._version_con.close()
                    self._version_con = None
            self.engine.dispose()

    def _count_commit(self, conn: Connection) -> None:
        self._commits += 1

    def data_version(self) -> int:
        """A number that changes whenever anyone commits to the database; cheap enough to poll.

        Compare it with the previous value (equality means: nothing was committed since); it has
        no other meaning and is only comparable within this process. Changes made by this store's
        own connections, by other stores and by other processes all count.

        SQLite: ``PRAGMA data_version`` on one connection kept only for this (a connection does
        not see its own commits in it, and this one never writes), plus this store's own commit
        count; a few microseconds. PostgreSQL: the server's current snapshot (``xmin:xmax:xip``),
        which moves with every committed write in the whole cluster, so it may also change when
        another database of the same server is written; one round trip.
        """
        if self._closed:
            raise StoreError("the run store is closed")
        path = sqlite_path(self.url) if self.is_sqlite else None
        if self.is_sqlite and path is None:  # in-memory: only this process writes
            return self._commits
        if path is not None:
            with self._version_lock:
                try:
                    if self._version_con is None:
                        self._version_con = sqlite3.connect(
                            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                            check_same_thread=False)
                    (version,) = self._version_con.execute("PRAGMA data_version").fetchone()
                except sqlite3.Error as exc:
                    raise StoreError(f"cannot read the database's version: {exc}") from None
            return (int(version) << 32) + self._commits
        with translated(self.engine), self.engine.connect() as conn:
            # pg_current_snapshot() is PostgreSQL 13+; txid_current_snapshot() is its older name.
            old = (conn.dialect.server_version_info or (13,)) < (13,)
            fn = "txid_current_snapshot" if old else "pg_current_snapshot"
            snapshot = conn.execute(text(f"SELECT {fn}()::text")).scalar_one()
        return hash((snapshot, self._commits))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    # -- runs ----------------------------------------------------------------------------------
    def create_run(self, config: RunConfig | Mapping[str, Any], name: str | None = None,
                   status: str = "running", *, kind: str = "training", experiment_id: int | None = None,
                   trial: int | None = None) -> int:
        """Insert a run and return its id. ``status="running"`` makes this process its owner.

        ``kind`` is one of :data:`~lrstudio.core.runs.RUN_KINDS`. For ``training`` and
        ``lr_range_test`` runs the config must pass ``RunConfig.validated()`` (its error is
        raised and no row is created); it is stored as given. ``external`` and ``playground`` runs
        take any JSON object (finite numbers or not, nested): its ``model``, ``dataset``,
        ``optimizer`` (a name or a dict with ``name``), ``schedule`` and ``lr`` keys, where present,
        fill the columns the runs table sorts by. The name (``name``, else the config's, else one
        made from the config) gets a " (2)", " (3)" ... suffix when another run already has it.
        ``experiment_id`` and ``trial`` link a sweep's trial to its experiment.
        """
        if kind not in RUN_KINDS:
            raise StoreError(f"unknown run kind {kind!r}; allowed: {', '.join(RUN_KINDS)}")
        if status not in RUN_STATUSES:
            raise StoreError(f"unknown run status {status!r}; allowed: {', '.join(RUN_STATUSES)}")
        if kind in CONFIG_KINDS:
            if not isinstance(config, RunConfig):
                config = RunConfig.from_dict(config)
            config.validated()
            columns = {
                "config_json": config.to_json(indent=None),
                "config_schema_version": config.schema_version,
                "model": config.model,
                "dataset": config.dataset.name,
                "optimizer": str(config.optimizer.get("name", "")) or None,
                "schedule": str(config.schedule.get("name", "")) or None,
                "base_lr": float(config.lr),
            }
            default_name = config.name or ""
            generated = _generated_name(config) if not (name or default_name).strip() else ""
        else:
            columns, default_name = _free_config_columns(config, kind)
            generated = kind.replace("_", " ") + " run"
        now = utcnow()
        wanted = (name or default_name or "").strip() or generated
        _check_text("name", wanted)
        running = status == "running"
        with self.write_session() as s:
            self._lock_names(s)
            row = RunRow(
                uuid=str(uuid_mod.uuid4()),
                name=_unique_name(s, wanted[:MAX_NAME]),
                status=status,
                created_at=now,
                started_at=now if running else None,
                notes="",
                lrstudio_version=__version__,
                owner_host=HOSTNAME if running else None,
                owner_pid=os.getpid() if running else None,
                heartbeat_at=now if running else None,
                kind=kind,
                experiment_id=experiment_id,
                trial=trial,
                **columns,
            )
            s.add(row)
            s.flush()
            return int(row.id)

    def _lock_names(self, conn: Connection | Session) -> None:
        if self.engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _NAMES_LOCK})

    def recorder(self, run_id: int, *, max_rows: int = MAX_ROWS, max_delay_s: float = MAX_DELAY_S,
                 heartbeat_s: float = HEARTBEAT_S, clock: Callable[[], float] = time.monotonic) -> RunRecorder:
        """A :class:`~lrstudio.storage.recorder.RunRecorder` writing this run's events."""
        run_id = self._id(run_id)
        self.get_run(run_id)
        return RunRecorder(self.write_engine, run_id, max_rows=max_rows, max_delay_s=max_delay_s,
                           heartbeat_s=heartbeat_s, clock=clock)

    def _tags_for(self, conn: Connection, run_ids: Iterable[int]) -> dict[int, list[str]]:
        ids = list(run_ids)
        out: dict[int, list[str]] = {i: [] for i in ids}
        if not ids:
            return out
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            for rid, tag in conn.execute(select(_tags.c.run_id, _tags.c.tag).where(_tags.c.run_id.in_(chunk))):
                out[rid].append(tag)
        return out

    def list_runs(
        self,
        status: str | Iterable[str] | None = None,
        model: str | None = None,
        optimizer: str | None = None,
        schedule: str | None = None,
        tag: str | None = None,
        text: str | None = None,
        order_by: str = "created",
        descending: bool = True,
        dataset: str | None = None,
        run_ids: Iterable[int] | None = None,
        limit: int | None = None,
        kind: str | Iterable[str] | None = None,
        experiment_id: int | None = None,
    ) -> list[RunInfo]:
        """Runs matching every given filter; ``text`` searches names (case-insensitive);
        ``kind`` is one kind or several (:data:`~lrstudio.core.runs.RUN_KINDS`)."""
        if order_by not in ORDER_COLUMNS:
            raise StoreError(f"cannot sort runs by {order_by!r}; choose one of: {', '.join(ORDER_COLUMNS)}")
        q = select(_runs)
        if status:
            statuses = [status] if isinstance(status, str) else list(status)
            unknown = [s for s in statuses if s not in RUN_STATUSES]
            if unknown:
                raise StoreError(f"unknown run status {unknown[0]!r}; allowed: {', '.join(RUN_STATUSES)}")
            q = q.where(_runs.c.status.in_(statuses))
        for name, value in (("model", model), ("optimizer", optimizer), ("schedule", schedule),
                            ("dataset", dataset)):
            if value:
                q = q.where(_runs.c[name] == value)
        if kind:
            kinds = [kind] if isinstance(kind, str) else list(kind)
            unknown = [k for k in kinds if k not in RUN_KINDS]
            if unknown:
                raise StoreError(f"unknown run kind {unknown[0]!r}; allowed: {', '.join(RUN_KINDS)}")
            q = q.where(_runs.c.kind.in_(kinds))
        if experiment_id is not None:
            q = q.where(_runs.c.experiment_id == int(experiment_id))
        if tag:
            q = q.where(_runs.c.id.in_(select(_tags.c.run_id).where(_tags.c.tag == tag)))
        if text:
            q = q.where(func.lower(_runs.c.name).contains(text.lower(), autoescape=True))
        if run_ids is not None:  # ids the database cannot hold match no run
            ids = [int(r) for r in run_ids]
            q = q.where(_runs.c.id.in_([r for r in ids if 1 <= r <= self._max_id]))
        col = ORDER_COLUMNS[order_by]
        key = col.desc() if descending else col.asc()
        q = q.order_by(key.nulls_last(), _runs.c.id.desc() if descending else _runs.c.id.asc())
        if limit is not None:
            q = q.limit(limit)
        with translated(self.engine), self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
            tags = self._tags_for(conn, (r["id"] for r in rows))
        return [_info_from_row(r, tags[r["id"]]) for r in rows]

    def get_run(self, run_id: int) -> RunInfo:
        run_id = self._id(run_id)
        with translated(self.engine), self.engine.connect() as conn:
            row = conn.execute(select(_runs).where(_runs.c.id == run_id)).mappings().first()
            if row is None:
                raise RunNotFoundError(f"no run with id {run_id} in this database")
            tags = self._tags_for(conn, [run_id])
        return _info_from_row(row, tags[run_id])

    def rename_run(self, run_id: int, name: str) -> None:
        """Rename a run; a name that another run has is refused (names are unique)."""
        run_id = self._id(run_id)
        name = name.strip()
        if not name:
            raise StoreError("a run name cannot be empty")
        if len(name) > MAX_NAME:
            raise StoreError(f"a run name has at most {MAX_NAME} characters (got {len(name)})")
        _check_text("name", name)
        with transaction(self.write_engine) as conn:
            self._lock_names(conn)
            other = conn.execute(select(_runs.c.id).where(_runs.c.name == name, _runs.c.id != run_id)
                                 .limit(1)).scalar()
            if other is not None:
                raise StoreError(f"run {other} is already named {name!r}; run names are unique in a "
                                 f"database, choose another name")
            n = conn.execute(update(_runs).where(_runs.c.id == run_id).values(name=name)).rowcount
            if n == 0:
                raise RunNotFoundError(f"no run with id {run_id} in this database")

    def set_notes(self, run_id: int, notes: str) -> None:
        run_id = self._id(run_id)
        _check_text("notes", notes)
        self._update(run_id, notes=notes)

    def set_tags(self, run_id: int, tags: Iterable[str]) -> None:
        run_id = self._id(run_id)
        clean = sorted({t.strip() for t in tags if t and t.strip()})
        too_long = [t for t in clean if len(t) > 100]
        if too_long:
            raise StoreError(f"a tag has at most 100 characters: {too_long[0][:40]!r}...")
        for t in clean:
            _check_text("tag", t)
        with transaction(self.write_engine) as conn:
            self._require(conn, run_id)
            conn.execute(delete(_tags).where(_tags.c.run_id == run_id))
            if clean:
                conn.execute(insert(_tags), [{"run_id": run_id, "tag": t} for t in clean])

    def _require(self, conn: Connection, run_id: int) -> None:
        if conn.execute(select(_runs.c.id).where(_runs.c.id == run_id)).first() is None:
            raise RunNotFoundError(f"no run with id {run_id} in this database")

    def _update(self, run_id: int, **values: Any) -> None:
        with transaction(self.write_engine) as conn:
            n = conn.execute(update(_runs).where(_runs.c.id == run_id).values(**values)).rowcount
            if n == 0:
                raise RunNotFoundError(f"no run with id {run_id} in this database")

    def delete_run(self, run_id: int) -> None:
        """Delete a run with its tags, series and points (foreign keys cascade)."""
        run_id = self._id(run_id)
        with transaction(self.write_engine) as conn:
            self._require(conn, run_id)
            # Explicit deletes, children first: correct even where foreign keys are off.
            sids = select(_series.c.id).where(_series.c.run_id == run_id).scalar_subquery()
            conn.execute(delete(_chunks).where(_chunks.c.series_id.in_(sids)))
            conn.execute(delete(_series).where(_series.c.run_id == run_id))
            conn.execute(delete(_tags).where(_tags.c.run_id == run_id))
            conn.execute(delete(_runs).where(_runs.c.id == run_id))

    def duplicate_config(self, run_id: int) -> RunConfig:
        """The configuration of a run, exactly as it was stored, to start a new run from."""
        return self.get_run(run_id).config()

    def recover_interrupted(self, stale_after_s: float = HEARTBEAT_STALE_S) -> list[int]:
        """Mark running runs whose owner is gone as ``interrupted``; return their ids.

        Gone means: on this host, the owner pid is not alive; anywhere, the heartbeat is older
        than ``stale_after_s``. Runs owned by this very process are never touched. Points are kept.
        """
        now = utcnow()
        me = os.getpid()
        gone: list[tuple[int, str]] = []
        with translated(self.engine), self.engine.connect() as conn:
            rows = conn.execute(
                select(_runs.c.id, _runs.c.owner_host, _runs.c.owner_pid, _runs.c.heartbeat_at,
                       _runs.c.created_at).where(_runs.c.status == "running")
            ).all()
        for rid, host, pid, beat, created in rows:
            if host == HOSTNAME and pid == me:
                continue
            last = _as_aware(beat or created)
            age = (now - last).total_seconds()
            if host == HOSTNAME and pid is not None and not pid_alive(pid):
                gone.append((rid, f"the process that ran it (pid {pid}) ended without finishing it"))
            elif age > stale_after_s:
                gone.append((rid, f"no heartbeat from {host or 'its owner'} (pid {pid}) for {age:.0f} s"))
        done = []
        for rid, reason in gone:
            with transaction(self.write_engine) as conn:
                beat = conn.execute(select(_runs.c.heartbeat_at).where(_runs.c.id == rid)).scalar()
                n = conn.execute(
                    update(_runs)
                    .where(_runs.c.id == rid, _runs.c.status == "running")
                    .values(status="interrupted", ended_at=beat or now, error=f"interrupted: {reason}")
                ).rowcount
            if n:
                done.append(rid)
        return done

    # -- metrics -------------------------------------------------------------------------------
    def _series_ids(self, conn: Connection, run_id: int, keys: Iterable[str] | None) -> list[tuple[str, int]]:
        q = select(_series.c.key, _series.c.id).where(_series.c.run_id == run_id)
        if keys is not None:
            q = q.where(_series.c.key.in_(list(keys)))
        return sorted((k, i) for k, i in conn.execute(q))

    def _fetch_series(self, conn: Connection, series_ids: Sequence[int], full: bool = True) -> dict[int, Series]:
        """The series of ``series_ids`` from their chunks: one query per 500 series, straight
        through the driver cursor, ``np.frombuffer`` over each chunk's BLOBs, then concatenated.
        ``full=False`` reads steps and values only (wall times and epochs come back empty)."""
        parts: dict[int, list[Any]] = {sid: [] for sid in series_ids}
        cols = "n, steps, vals, wall, epoch" if full else "steps, vals"
        cur = driver_connection(conn).cursor()
        try:
            for i in range(0, len(series_ids), 500):
                group = list(series_ids[i:i + 500])
                cur.execute(f"SELECT series_id, {cols} FROM metric_chunks "
                            f"WHERE series_id IN ({', '.join([self._ph] * len(group))}) ORDER BY series_id, seq",
                            group)
                if full:
                    for sid, n, steps, vals, wall, epoch in cur.fetchall():
                        parts[sid].append(decode(n, steps, vals, wall, epoch))
                else:
                    for sid, steps, vals in cur.fetchall():
                        parts[sid].append((np.frombuffer(steps, "<i8"), np.frombuffer(vals, "<f8")))
        finally:
            cur.close()
        if full:
            return {sid: series_of(p) for sid, p in parts.items()}
        out = {}
        for sid, p in parts.items():
            if not p:
                out[sid] = Series.empty()
                continue
            step, value = ordered(np.concatenate([a for a, _ in p]), np.concatenate([v for _, v in p]))
            out[sid] = Series(step, value, np.empty(0), np.empty(0, np.int64))
        return out

    def load_series(self, run_id: int, keys: Iterable[str] | None = None, *,
                    columns: Iterable[str] | None = None) -> dict[str, Series]:
        """The run's metric series as numpy arrays, keyed by metric key (sorted); ``columns`` as
        in :meth:`load_many`."""
        return self.load_many([run_id], keys, columns=columns)[self._id(run_id)]

    def load_many(self, run_ids: Iterable[int], keys: Iterable[str] | None = None, *,
                  columns: Iterable[str] | None = None) -> dict[int, dict[str, Series]]:
        """:meth:`load_series` for several runs (one consistent snapshot, one query per 500 series).

        ``columns=("step", "value")`` reads only those two arrays of every chunk (what a plot
        needs, half the bytes): ``wall_time`` and ``epoch`` then come back empty. Default: all."""
        full = columns is None or not set(columns) <= {"step", "value"}
        wanted = None if keys is None else list(keys)
        run_ids = [self._id(r) for r in run_ids]
        with translated(self.engine), self.engine.connect() as conn, conn.begin():
            per_run = {}
            for rid in run_ids:
                self._require(conn, rid)
                per_run[rid] = self._series_ids(conn, rid, wanted)
            loaded = self._fetch_series(conn, [sid for pairs in per_run.values() for _, sid in pairs], full)
        return {rid: {key: loaded[sid] for key, sid in pairs} for rid, pairs in per_run.items()}

    # -- export --------------------------------------------------------------------------------
    def export_history_csv(self, run_ids: Sequence[int], dest: str | os.PathLike[str] | TextIO,
                           wide: bool = False, progress: Callable[[int, int], None] | None = None) -> int:
        """Write the runs' histories to one CSV file; return the number of data rows."""
        run_ids = [self._id(r) for r in run_ids]
        return export_history_csv(self, run_ids, dest, wide=wide, progress=progress)

    def export_runs_csv(self, dest: str | os.PathLike[str] | TextIO,
                        run_ids: Sequence[int] | None = None) -> int:
        """Write one row per run (config flattened into columns + summary); return the row count."""
        if run_ids is not None:
            run_ids = [self._id(r) for r in run_ids]
        return export_runs_csv(self, dest, run_ids=run_ids)

    # -- experiments (sweeps, issue 13): lrstudio/storage/experiments.py ---------------------------
    def create_experiment(self, spec: ExperimentSpec, name: str | None = None, status: str = "pending") -> int:
        from lrstudio.storage import experiments

        return experiments.create_experiment(self.write_engine, spec, name, status)

    def get_experiment(self, experiment_id: int) -> ExperimentInfo:
        from lrstudio.storage import experiments

        return experiments.get_experiment(self.engine, experiment_id)

    def list_experiments(self, status: str | None = None) -> list[ExperimentInfo]:
        from lrstudio.storage import experiments

        return experiments.list_experiments(self.engine, status)

    def update_experiment(self, experiment_id: int, **values: Any) -> None:
        from lrstudio.storage import experiments

        experiments.update_experiment(self.write_engine, experiment_id, **values)

    def experiment_heartbeat(self, experiment_id: int) -> None:
        from lrstudio.storage import experiments

        experiments.heartbeat(self.write_engine, experiment_id)

    def claim_experiment(self, experiment_id: int) -> ExperimentInfo:
        from lrstudio.storage import experiments

        return experiments.claim_experiment(self.write_engine, experiment_id)

    def recover_experiments(self) -> list[int]:
        from lrstudio.storage import experiments

        return experiments.recover_experiments(self.write_engine)

    def delete_experiment(self, experiment_id: int) -> None:
        from lrstudio.storage import experiments

        experiments.delete_experiment(self.write_engine, experiment_id)

    def list_trials(self, experiment_id: int) -> list[RunInfo]:
        """The experiment's runs, oldest first (``RunInfo.trial`` is the trial number)."""
        self.get_experiment(experiment_id)
        return self.list_runs(experiment_id=experiment_id, order_by="id", descending=False)


def _run_id(run_id: Any) -> int:
    """A run id the database can hold; anything else is a run that is not there."""
    if isinstance(run_id, bool) or not isinstance(run_id, (int, np.integer)):
        raise StoreError(f"a run id is a whole number between 1 and {MAX_RUN_ID}, got {str(run_id)[:40]!r}")
    rid = int(run_id)
    if not 1 <= rid <= MAX_RUN_ID:
        digits = str(rid)
        shown = digits if len(digits) <= 25 else f"{digits[:12]}... (a number of {len(digits.lstrip('-'))} digits)"
        raise RunNotFoundError(f"no run with id {shown} in this database (run ids are between 1 and {MAX_RUN_ID})")
    return rid


def _free_config_columns(config: Any, kind: str) -> tuple[dict[str, Any], str]:
    """Columns of an ``external`` or ``playground`` run from its own JSON object, and its name."""
    if isinstance(config, RunConfig):
        config = config.to_dict()
    if not isinstance(config, Mapping):
        raise StoreError(f"the config of a {kind} run must be a JSON object (a dict), not {type(config).__name__}")
    try:
        text_ = json.dumps(dict(config), separators=(",", ":"))  # NaN/inf as JSON5 tokens, like summaries
    except (TypeError, ValueError, RecursionError) as exc:
        raise StoreError(f"the config of a {kind} run must be JSON-able (dicts, lists, strings, numbers, "
                         f"booleans, None): {exc}") from None

    def short(key: str) -> str | None:
        v = config.get(key)
        if isinstance(v, Mapping):
            v = v.get("name")
        return str(v)[:64] if isinstance(v, str) and v else None

    lr = config.get("lr")
    base_lr = float(lr) if isinstance(lr, (int, float)) and not isinstance(lr, bool) and math.isfinite(lr) else None
    name = config.get("name")
    return ({"config_json": text_, "config_schema_version": 0, "model": short("model"),
             "dataset": short("dataset"), "optimizer": short("optimizer"), "schedule": short("schedule"),
             "base_lr": base_lr}, name if isinstance(name, str) else "")


def _check_text(what: str, value: str) -> None:
    """Refuse NUL: PostgreSQL cannot store it in text, and SQLite must behave the same."""
    at = value.find("\x00")
    if at >= 0:
        raise StoreError(f"a run {what} cannot contain a NUL character (\\x00, at position {at + 1}); "
                         f"any text without NUL characters is allowed")


def _unique_name(conn: Connection | Session, name: str) -> str:
    """``name``, or ``name (N)`` with the smallest N >= 2 that no run has (within MAX_NAME)."""
    # Every candidate starts with the first MAX_NAME - 10 characters of the name: one query.
    head = name[:MAX_NAME - 10]
    taken = set(conn.execute(select(_runs.c.name).where(
        func.substr(_runs.c.name, 1, len(head)) == head)).scalars())
    if name not in taken:
        return name
    n = 2
    while True:
        suffix = f" ({n})"
        candidate = name[:MAX_NAME - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def _number(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) and math.isfinite(v) else str(v)


def _spec_text(spec: Any) -> str:
    """``cosine(T_max=100)``; nested schedules (warm-up around an inner one) joined by ``>``."""
    if not isinstance(spec, Mapping):
        return "?"
    params = spec.get("params") or {}
    nums = [f"{k}={_number(v)}" for k, v in params.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)]
    text = str(spec.get("name", "?")) + (f"({','.join(nums)})" if nums else "")
    inner = [v for v in params.values() if isinstance(v, Mapping) and "name" in v]
    for v in params.values():
        if isinstance(v, (list, tuple)):
            inner += [x for x in v if isinstance(x, Mapping) and "name" in x]
    return ">".join([text, *(_spec_text(x) for x in inner)])


def _generated_name(config: RunConfig) -> str:
    """What usually differs between runs, short: model, optimizer, schedule with its numbers,
    LR, batch size (``full`` for 0), epochs or steps."""
    opt = config.optimizer.get("name", "?")
    sched = _spec_text(config.schedule)
    if len(sched) > 80:
        sched = sched[:77] + "..."
    bs = config.batch_size or "full"
    length = f"{config.max_steps}steps" if config.max_steps else f"{config.epochs}ep"
    return f"{config.model} {opt} {sched} lr={_number(config.lr)} bs={bs} {length}"


__all__ = ["HEARTBEAT_STALE_S", "Store", "pid_alive"]

if TYPE_CHECKING:
    def _is_a_run_store(store: Store) -> RunStore:
        """mypy checks here that the store is the seam the GUI and the CLI are typed against."""
        return store
