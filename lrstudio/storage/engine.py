"""Engines, connections and the one place SQLAlchemy errors become lrstudio errors.

SQLite (the default) gets these pragmas on every new connection (MLflow ``mlflow/store/db/utils.py``):
``journal_mode=WAL`` (a reader never blocks the writer: a commit under a reading GUI took 2.4 ms
instead of 184 ms here), ``synchronous=NORMAL`` (no fsync per commit; a crash can lose the last
transactions but never corrupts the file), ``foreign_keys=ON`` and ``busy_timeout``.

Transactions on SQLite are begun by us, not by the ``sqlite3`` module (SQLAlchemy's documented
pysqlite recipe): writers use ``BEGIN IMMEDIATE`` so that two writers queue on the busy timeout
instead of failing with "database is locked" when a deferred read transaction tries to upgrade
to a write lock (SQLite answers that case with SQLITE_BUSY at once, without waiting).

Threads: the engine (and its pool) is shared; a Session or Connection is not. The GUI thread
reads through :func:`session_scope`/:func:`connect`; the recorder in a worker thread checks out
its own connection for each transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from lrstudio.core.errors import LrstudioError

BUSY_TIMEOUT_MS = 20_000
_BEGIN_OPTION = "lrstudio_sqlite_begin"


class StoreError(LrstudioError):
    """Something went wrong in the run store; the message is meant for the user."""


class NewerDatabaseError(StoreError):
    """The database was written by a newer lrstudio (unknown Alembic revision)."""


class NotAnLrstudioDatabase(StoreError):
    """The file or database is not an lrstudio database, or it is corrupt."""


class DatabaseLockedError(StoreError):
    """Another process held the database longer than the busy timeout."""


class RunNotFoundError(StoreError, KeyError):
    """No run with this id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "run not found"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLite URL, or None for memory databases and other backends."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    db = u.database
    if not db or db == ":memory:" or db.startswith("file::memory:"):
        return None
    return Path(db)


def make_engine(url: str) -> Engine:
    """Create the engine for ``url`` with lrstudio's connection settings."""
    try:
        u = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r} ({exc})") from None
    kwargs: dict[str, Any] = {}
    if u.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is None:
            # One in-memory database shared by every thread of this process.
            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            kwargs.update(connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    else:
        kwargs.update(pool_pre_ping=True)
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ModuleNotFoundError) as exc:
        raise StoreError(f"cannot use database {u.render_as_string(hide_password=True)}: {exc}") from None
    if u.get_backend_name() == "sqlite":
        _install_sqlite_hooks(engine)
    return engine


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        # Autocommit at the driver level; _on_begin below emits BEGIN itself.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions start as writers (``BEGIN IMMEDIATE``)."""
    return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})


def translate(exc: SQLAlchemyError) -> StoreError:
    """Turn a SQLAlchemy error into the lrstudio error a user can read."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if isinstance(exc, OperationalError) and ("locked" in text or "busy" in text):
        return DatabaseLockedError(
            f"the database is busy (another lrstudio process held it for more than "
            f"{BUSY_TIMEOUT_MS // 1000} s): {text}"
        )
    if isinstance(exc, OperationalError) and ("not a database" in text or "malformed" in text):
        return NotAnLrstudioDatabase(f"the database file is corrupt or not an lrstudio database: {text}")
    return StoreError(f"database error: {text}")


@contextlib.contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        raise translate(exc) from exc


@contextlib.contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success, rolls back on error, always closes.

    SQLAlchemy errors leave as :class:`StoreError` subclasses (Optuna's ``_create_scoped_session``).
    """
    session = factory()
    try:
        yield session
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        raise translate(exc) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextlib.contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """``engine.begin()`` with errors translated."""
    try:
        with engine.begin() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise translate(exc) from exc
