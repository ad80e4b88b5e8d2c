"""The run store: every run and its metric series in one database.

:func:`lrstudio.storage.open_store` probes, backs up and upgrades the database, then returns a
:class:`Store`. Methods return :class:`RunInfo` / :class:`Series` dataclasses and numpy arrays,
never ORM rows (MLflow's ``to_mlflow_entity()``).

Threads: one :class:`Store` may be used from the GUI thread while worker threads write through
their own :class:`~lrstudio.storage.recorder.RunRecorder`. The engine's pool is shared; every
method and every recorder transaction checks out its own connection or session, and none is
ever shared between threads.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import socket
import sys
import uuid as uuid_mod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import sessionmaker

from lrstudio import __version__
from lrstudio.core.config import RunConfig
from lrstudio.storage.engine import (
    RunNotFoundError,
    StoreError,
    session_scope,
    transaction,
    translated,
    writer,
)
from lrstudio.storage.migrate import UpgradeResult
from lrstudio.storage.models import (
    NAN,
    NEG_INF,
    POS_INF,
    RUN_STATUSES,
    MetricPointRow,
    MetricSeriesRow,
    RunRow,
    RunTagRow,
)

# A running run whose heartbeat is older than this is considered gone, whatever its pid says
# (pid reuse on the same host; any owner on another host sharing a PostgreSQL database).
HEARTBEAT_STALE_S = 600.0

HOSTNAME = socket.gethostname()

_runs = RunRow.__table__
_series = MetricSeriesRow.__table__
_points = MetricPointRow.__table__
_tags = RunTagRow.__table__

SUMMARY_FLOATS = ("final_loss", "best_loss", "final_val_loss", "best_val_loss", "best_accuracy")

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


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class RunInfo:
    """One run as the GUI and the CLI see it (a snapshot; never an ORM row)."""

    id: int
    uuid: str
    name: str
    status: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    config_json: str
    config_schema_version: int
    model: str | None
    dataset: str | None
    optimizer: str | None
    schedule: str | None
    base_lr: float | None
    final_loss: float | None = None
    best_loss: float | None = None
    final_val_loss: float | None = None
    best_val_loss: float | None = None
    best_accuracy: float | None = None
    steps: int | None = None
    epochs: int | None = None
    duration_s: float | None = None
    diverged_step: int | None = None
    tags: tuple[str, ...] = ()
    notes: str = ""
    error: str | None = None
    lrstudio_version: str = ""
    owner_host: str | None = None
    owner_pid: int | None = None
    heartbeat_at: dt.datetime | None = None
    summary_extra: Mapping[str, Any] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)  # RunStarted.info

    @property
    def config_dict(self) -> dict[str, Any]:
        return json.loads(self.config_json)

    def config(self) -> RunConfig:
        """The run's configuration (upgraded to the current schema)."""
        return RunConfig.from_dict(self.config_dict)

    @property
    def is_finished(self) -> bool:
        return self.status not in ("queued", "running")


@dataclass(frozen=True, eq=False)
class Series:
    """One metric of one run: parallel numpy arrays, sorted by step.

    ``value`` holds NaN/+inf/-inf exactly as recorded. ``epoch`` is -1 where none was recorded.
    """

    step: np.ndarray  # int64
    value: np.ndarray  # float64
    wall_time: np.ndarray  # float64
    epoch: np.ndarray  # int64

    def __len__(self) -> int:
        return int(self.step.shape[0])

    @classmethod
    def empty(cls) -> Series:
        return cls(np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0, np.int64))


def _loads(text: str | None) -> Any:
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return {}


def _info_from_row(row: Mapping[str, Any], tags: Sequence[str]) -> RunInfo:
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


def series_from_rows(rows: Sequence[Sequence[Any]]) -> Series:
    """(step, value, value_kind, wall_time, epoch) rows -> :class:`Series`."""
    if not rows:
        return Series.empty()
    # None -> NaN in one C pass; NULL values are the non-finite ones, restored from value_kind.
    arr = np.array(rows, dtype=np.float64)
    kind = arr[:, 2]
    value = arr[:, 1].copy()
    if np.any(kind != 0):
        value[kind == NAN] = np.nan
        value[kind == POS_INF] = np.inf
        value[kind == NEG_INF] = -np.inf
    epoch_f = arr[:, 4]
    epoch = np.where(np.isnan(epoch_f), -1, epoch_f).astype(np.int64)
    return Series(arr[:, 0].astype(np.int64), value, arr[:, 3].copy(), epoch)


class Store:
    """Runs and metrics in one database. Create with :func:`lrstudio.storage.open_store`."""

    def __init__(self, url: str, engine: Engine, migration: UpgradeResult | None = None) -> None:
        self.url = url
        self.engine = engine
        self.write_engine = writer(engine)
        self.migration = migration
        self._read_sessions = sessionmaker(bind=engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(bind=self.write_engine, expire_on_commit=False)
        self._closed = False
        ph = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._points_sql = (
            "SELECT step, value, value_kind, wall_time, epoch FROM metric_points "
            f"WHERE series_id = {ph} ORDER BY step"
        )

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def read_session(self) -> Any:
        """Context manager: a read session (commit/rollback/close, errors translated)."""
        return session_scope(self._read_sessions)

    def write_session(self) -> Any:
        return session_scope(self._write_sessions)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    # -- runs ----------------------------------------------------------------------------------
    def create_run(self, config: RunConfig | Mapping[str, Any], name: str | None = None,
                   status: str = "running") -> int:
        """Insert a run and return its id. ``status="running"`` makes this process its owner."""
        if not isinstance(config, RunConfig):
            config = RunConfig.from_dict(config)
        if status not in RUN_STATUSES:
            raise StoreError(f"unknown run status {status!r}; allowed: {', '.join(RUN_STATUSES)}")
        now = utcnow()
        run_name = (name or config.name or "").strip() or _generated_name(config)
        running = status == "running"
        with self.write_session() as s:
            row = RunRow(
                uuid=str(uuid_mod.uuid4()),
                name=run_name[:200],
                status=status,
                created_at=now,
                started_at=now if running else None,
                config_json=config.to_json(indent=None),
                config_schema_version=config.schema_version,
                model=config.model,
                dataset=config.dataset.name,
                optimizer=str(config.optimizer.get("name", "")) or None,
                schedule=str(config.schedule.get("name", "")) or None,
                base_lr=float(config.lr),
                notes="",
                lrstudio_version=__version__,
                owner_host=HOSTNAME if running else None,
                owner_pid=os.getpid() if running else None,
                heartbeat_at=now if running else None,
            )
            s.add(row)
            s.flush()
            return int(row.id)

    def recorder(self, run_id: int, **kwargs: Any) -> Any:
        """A :class:`~lrstudio.storage.recorder.RunRecorder` writing this run's events."""
        from lrstudio.storage.recorder import RunRecorder

        self.get_run(run_id)
        return RunRecorder(self, run_id, **kwargs)

    def _tags_for(self, conn: Any, run_ids: Iterable[int]) -> dict[int, list[str]]:
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
    ) -> list[RunInfo]:
        """Runs matching every given filter; ``text`` searches names (case-insensitive)."""
        if order_by not in ORDER_COLUMNS:
            raise StoreError(f"cannot sort runs by {order_by!r}; choose one of: {', '.join(ORDER_COLUMNS)}")
        q = select(_runs)
        if status:
            statuses = [status] if isinstance(status, str) else list(status)
            unknown = [s for s in statuses if s not in RUN_STATUSES]
            if unknown:
                raise StoreError(f"unknown run status {unknown[0]!r}; allowed: {', '.join(RUN_STATUSES)}")
            q = q.where(_runs.c.status.in_(statuses))
        for col, value in (("model", model), ("optimizer", optimizer), ("schedule", schedule),
                           ("dataset", dataset)):
            if value:
                q = q.where(_runs.c[col] == value)
        if tag:
            q = q.where(_runs.c.id.in_(select(_tags.c.run_id).where(_tags.c.tag == tag)))
        if text:
            q = q.where(func.lower(_runs.c.name).contains(text.lower(), autoescape=True))
        if run_ids is not None:
            q = q.where(_runs.c.id.in_(list(run_ids)))
        col = ORDER_COLUMNS[order_by]
        key = col.desc() if descending else col.asc()
        q = q.order_by(key.nulls_last(), _runs.c.id.desc() if descending else _runs.c.id.asc())
        if limit is not None:
            q = q.limit(limit)
        with translated(), self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
            tags = self._tags_for(conn, (r["id"] for r in rows))
        return [_info_from_row(r, tags[r["id"]]) for r in rows]

    def get_run(self, run_id: int) -> RunInfo:
        with translated(), self.engine.connect() as conn:
            row = conn.execute(select(_runs).where(_runs.c.id == run_id)).mappings().first()
            if row is None:
                raise RunNotFoundError(f"no run with id {run_id} in this database")
            tags = self._tags_for(conn, [run_id])
        return _info_from_row(row, tags[run_id])

    def rename_run(self, run_id: int, name: str) -> None:
        name = name.strip()
        if not name:
            raise StoreError("a run name cannot be empty")
        if len(name) > 200:
            raise StoreError(f"a run name has at most 200 characters (got {len(name)})")
        self._update(run_id, name=name)

    def set_notes(self, run_id: int, notes: str) -> None:
        self._update(run_id, notes=notes)

    def set_tags(self, run_id: int, tags: Iterable[str]) -> None:
        clean = sorted({t.strip() for t in tags if t and t.strip()})
        too_long = [t for t in clean if len(t) > 100]
        if too_long:
            raise StoreError(f"a tag has at most 100 characters: {too_long[0][:40]!r}...")
        with transaction(self.write_engine) as conn:
            self._require(conn, run_id)
            conn.execute(delete(_tags).where(_tags.c.run_id == run_id))
            if clean:
                conn.execute(insert(_tags), [{"run_id": run_id, "tag": t} for t in clean])

    def _require(self, conn: Any, run_id: int) -> None:
        if conn.execute(select(_runs.c.id).where(_runs.c.id == run_id)).first() is None:
            raise RunNotFoundError(f"no run with id {run_id} in this database")

    def _update(self, run_id: int, **values: Any) -> None:
        with transaction(self.write_engine) as conn:
            n = conn.execute(update(_runs).where(_runs.c.id == run_id).values(**values)).rowcount
            if n == 0:
                raise RunNotFoundError(f"no run with id {run_id} in this database")

    def delete_run(self, run_id: int) -> None:
        """Delete a run with its tags, series and points (foreign keys cascade)."""
        with transaction(self.write_engine) as conn:
            self._require(conn, run_id)
            # Explicit deletes, children first: correct even where foreign keys are off.
            sids = select(_series.c.id).where(_series.c.run_id == run_id).scalar_subquery()
            conn.execute(delete(_points).where(_points.c.series_id.in_(sids)))
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
        with translated(), self.engine.connect() as conn:
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
    def series_keys(self, run_id: int) -> list[str]:
        with translated(), self.engine.connect() as conn:
            return sorted(conn.execute(select(_series.c.key).where(_series.c.run_id == run_id)).scalars())

    def _series_ids(self, conn: Any, run_id: int, keys: Iterable[str] | None) -> list[tuple[str, int]]:
        q = select(_series.c.key, _series.c.id).where(_series.c.run_id == run_id)
        if keys is not None:
            q = q.where(_series.c.key.in_(list(keys)))
        return sorted((k, i) for k, i in conn.execute(q))

    def _fetch_points(self, conn: Any, series_id: int) -> list[tuple[Any, ...]]:
        # Straight through the driver cursor: SQLAlchemy's Row objects would cost more than the
        # query itself for 100,000 points (STYLE.md section 6; mlflow/mlflow#20928).
        cur = conn.connection.driver_connection.cursor()
        try:
            cur.execute(self._points_sql, (series_id,))
            return cur.fetchall()
        finally:
            cur.close()

    def load_series(self, run_id: int, keys: Iterable[str] | None = None) -> dict[str, Series]:
        """The run's metric series as numpy arrays, keyed by metric key (sorted)."""
        with translated(), self.engine.connect() as conn, conn.begin():
            self._require(conn, run_id)
            return {key: series_from_rows(self._fetch_points(conn, sid))
                    for key, sid in self._series_ids(conn, run_id, keys)}

    def load_many(self, run_ids: Iterable[int], keys: Iterable[str] | None = None) -> dict[int, dict[str, Series]]:
        """:meth:`load_series` for several runs (one consistent snapshot)."""
        wanted = None if keys is None else list(keys)
        out: dict[int, dict[str, Series]] = {}
        with translated(), self.engine.connect() as conn, conn.begin():
            for rid in run_ids:
                self._require(conn, rid)
                out[rid] = {key: series_from_rows(self._fetch_points(conn, sid))
                            for key, sid in self._series_ids(conn, rid, wanted)}
        return out

    def iter_points(self, run_ids: Sequence[int], keys: Iterable[str] | None = None,
                    chunk: int = 10_000) -> Any:
        """Yield ``(run_id, key, step, value, wall_time, epoch)`` tuples, streaming (NaN/inf restored)."""
        from lrstudio.storage.export import iter_points

        return iter_points(self, run_ids, keys, chunk)

    # -- export --------------------------------------------------------------------------------
    def export_history_csv(self, run_ids: Sequence[int], dest: str | Path, wide: bool = False,
                           progress: Callable[[int, int], None] | None = None) -> int:
        """Write the runs' histories to one CSV file; return the number of data rows."""
        from lrstudio.storage.export import export_history_csv

        return export_history_csv(self, run_ids, dest, wide=wide, progress=progress)

    def export_runs_csv(self, dest: str | Path, run_ids: Sequence[int] | None = None) -> int:
        """Write one row per run (config flattened into columns + summary); return the row count."""
        from lrstudio.storage.export import export_runs_csv

        return export_runs_csv(self, dest, run_ids=run_ids)


def _generated_name(config: RunConfig) -> str:
    opt = config.optimizer.get("name", "?")
    sched = config.schedule.get("name", "?")
    lr = config.lr
    lr_text = f"{lr:g}" if isinstance(lr, float) and math.isfinite(lr) else str(lr)
    return f"{config.model} {opt} {sched} lr={lr_text}"


__all__ = ["HEARTBEAT_STALE_S", "RunInfo", "Series", "Store", "pid_alive", "series_from_rows", "utcnow"]
