"""ORM models of the run store (SQLAlchemy 2 declarative).

Four tables carry everything (see ``docs/ARCHITECTURE.md`` and STYLE.md section 6):

``runs``
    One row per training run: identity, status, times, the full config as JSON with its schema
    version, denormalised config columns for filtering and sorting, summary values, notes, the
    error of a failed run, the lrstudio version that wrote it, and the owner process (host, pid,
    heartbeat) while it runs.
``experiments``
    One row per sweep (revision 0004); its trials are runs with ``experiment_id`` set.
``metric_series``
    One row per (run, metric key). The key string is stored once per series, never per point.
``metric_chunks``
    The points of each series as typed array chunks (issue 11, revision 0003): one row per
    (series, seq) holding up to 16,384 points as little-endian numpy arrays in BLOBs (``bytea``
    on PostgreSQL), ``WITHOUT ROWID`` on SQLite. Float values are stored as their 8 bytes, so NaN,
    +-inf and -0.0 come back bit-exact by construction (the row-per-point ``metric_points`` table
    of revisions 0001-0002 needed a ``value_kind`` column for that). The codec and the layout are
    in :mod:`lrstudio.storage.chunks`. No float is part of a key.

Code outside ``lrstudio.storage`` never sees these classes: the repository returns the dataclasses
of :mod:`lrstudio.core.runs` (``RunRow`` -> ``RunInfo``, points -> ``Series``).
Migrations must not import this module (they declare the columns they touch).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lrstudio.core.runs import EXPERIMENT_STATUSES, RUN_STATUSES

# Named constraints: Alembic batch mode on SQLite needs names to drop or alter a constraint.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Now, timezone-aware in UTC: the only kind of time the run store takes (:class:`UTCDateTime`)."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone: stored as naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the run store; use datetime.now(timezone.utc)")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in RUN_STATUSES) + ")", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    config_json: Mapped[str] = mapped_column(Text)
    config_schema_version: Mapped[int] = mapped_column(Integer)
    # Denormalised from config_json for filtering and sorting in the runs table.
    model: Mapped[str | None] = mapped_column(String(64))
    dataset: Mapped[str | None] = mapped_column(String(64))
    optimizer: Mapped[str | None] = mapped_column(String(64))
    schedule: Mapped[str | None] = mapped_column(String(64))
    base_lr: Mapped[float | None] = mapped_column(Float)

    # Summary (RunSummary). summary_json keeps the whole summary, NaN/inf included.
    final_loss: Mapped[float | None] = mapped_column(Float)
    best_loss: Mapped[float | None] = mapped_column(Float)
    final_val_loss: Mapped[float | None] = mapped_column(Float)
    best_val_loss: Mapped[float | None] = mapped_column(Float)
    best_accuracy: Mapped[float | None] = mapped_column(Float)
    steps: Mapped[int | None] = mapped_column(Integer)
    epochs: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    diverged_step: Mapped[int | None] = mapped_column(Integer)
    summary_json: Mapped[str | None] = mapped_column(Text)
    info_json: Mapped[str | None] = mapped_column(Text)  # RunStarted.info

    notes: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    lrstudio_version: Mapped[str] = mapped_column(String(32))

    owner_host: Mapped[str | None] = mapped_column(String(255))
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    # Revision 0004: what made the run (lrstudio.core.runs.RUN_KINDS; not a CHECK, so that a new
    # kind needs no migration) and the sweep trial it is, if any.
    kind: Mapped[str] = mapped_column(String(32), index=True, server_default="training")
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="SET NULL"), index=True)
    trial: Mapped[int | None] = mapped_column(Integer)


class ExperimentRow(Base):
    """One sweep (revision 0004): its spec as JSON (base config, search space, method, seeds ...),
    sampler state, status, and the owner process while it runs. Its trials are runs with
    ``experiment_id`` set."""

    __tablename__ = "experiments"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in EXPERIMENT_STATUSES) + ")", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    method: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    spec_json: Mapped[str] = mapped_column(Text)
    spec_version: Mapped[int] = mapped_column(Integer)
    state_json: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    lrstudio_version: Mapped[str] = mapped_column(String(32))
    owner_host: Mapped[str | None] = mapped_column(String(255))
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RunTagRow(Base):
    __tablename__ = "run_tags"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class MetricSeriesRow(Base):
    __tablename__ = "metric_series"
    __table_args__ = (UniqueConstraint("run_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))


class MetricChunkRow(Base):
    __tablename__ = "metric_chunks"
    __table_args__ = ({"sqlite_with_rowid": False},)

    # No foreign key to metric_series (as for the old metric_points): the recorder creates a series
    # before its chunks, and Store.delete_run deletes chunks first. Layout: lrstudio.storage.chunks.
    series_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_step: Mapped[int] = mapped_column(BigInteger)
    last_step: Mapped[int] = mapped_column(BigInteger)
    n: Mapped[int] = mapped_column(Integer)
    steps: Mapped[bytes] = mapped_column(LargeBinary)
    vals: Mapped[bytes] = mapped_column(LargeBinary)
    wall: Mapped[bytes] = mapped_column(LargeBinary)
    epoch: Mapped[bytes] = mapped_column(LargeBinary)


def table(row: type[Base]) -> Table:
    """The Core :class:`~sqlalchemy.Table` of an ORM row class, for Core statements (SQLAlchemy
    types ``__table__`` as a plain ``FromClause``)."""
    t = row.__table__
    if not isinstance(t, Table):  # pragma: no cover - every row class here maps one table
        raise TypeError(f"{row.__name__} does not map a single table")
    return t
