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
reads through connections of its own; the recorder in a worker thread checks out its own
connection for each transaction.

The database file is only ever opened by SQLite (issue 9). Closing *any* descriptor of a file drops
every POSIX lock the process holds on it (SQLite's "How To Corrupt An SQLite Database File",
section 2.2): a plain ``open()``/``close()`` of the database while this process has connections
lets another process, when it exits, take the file for itself and delete the WAL under us. So
nothing here reads the file's bytes; who holds a lock is read from ``/proc/locks``, by inode.

A new SQLite file is created only in a folder that exists: the default location's folder is made
by :func:`lrstudio.paths.resolve_db`; a ``--db`` path into a missing folder is refused (a typo must
not silently start an empty database somewhere).

PostgreSQL connections wait at most :data:`PG_CONNECT_TIMEOUT_S` for the server (libpq's
``connect_timeout``; a ``?connect_timeout=N`` in the URL wins): a server that accepts the
connection and never answers otherwise blocked the app for minutes.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from lrstudio.core.errors import LrstudioError
from lrstudio.paths import display_db_url, sqlite_path

BUSY_TIMEOUT_MS = 20_000
PG_CONNECT_TIMEOUT_S = 10
_BEGIN_OPTION = "lrstudio_sqlite_begin"


class StoreError(LrstudioError):
    """Something went wrong in the run store; the message is meant for the user."""


class NewerDatabaseError(StoreError):
    """The database was written by a newer lrstudio (unknown Alembic revision)."""


class NotAnLrstudioDatabase(StoreError):
    """The file or database is not an lrstudio database, or it is corrupt."""


class DatabaseLockedError(StoreError):
    """Another process held the database longer than the busy timeout."""


class ReadOnlyDatabaseError(StoreError):
    """The database file, its folder or its file system cannot be written."""


class RunNotFoundError(StoreError, KeyError):
    """No run with this id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "run not found"


def make_engine(url: str) -> Engine:
    """Create the engine for ``url`` with lrstudio's connection settings."""
    try:
        u = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise StoreError(f"not a database URL: {display_db_url(url)!r} ({exc})") from None
    kwargs: dict[str, Any] = {}
    if u.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is None:
            # One in-memory database shared by every thread of this process.
            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            _check_folder(path)
            kwargs.update(connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    else:
        kwargs.update(pool_pre_ping=True)
        if u.get_backend_name() == "postgresql" and "connect_timeout" not in u.query:
            kwargs.update(connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S})
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ModuleNotFoundError) as exc:
        raise StoreError(f"cannot use database {u.render_as_string(hide_password=True)}: {exc}") from None
    if u.get_backend_name() == "sqlite":
        _install_sqlite_hooks(engine)
    return engine


def _check_folder(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise StoreError(
            f"cannot use {path}: the folder {folder} {what}. Create it first, or choose another "
            f"file with --db or $LRSTUDIO_DB (only the default location's folder is created)."
        )


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


def driver_connection(conn: Connection) -> Any:
    """The DB-API connection (``sqlite3``, ``psycopg``) under ``conn``, for the few measured fast
    paths that bypass SQLAlchemy's row objects (bench/bench_store.py)."""
    dbapi = conn.connection.driver_connection
    if dbapi is None:  # pragma: no cover - only a detached or invalidated connection has none
        raise StoreError("the database connection was closed")
    return dbapi


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions start as writers (``BEGIN IMMEDIATE``)."""
    return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})


# SQLite result codes (the primary code is the low byte of an extended one).
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 3, 5, 6, 8
SQLITE_CORRUPT, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 14, 26


def sqlite_code(exc: BaseException) -> int | None:
    """The primary SQLite result code of a ``sqlite3`` error, or None."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def lock_holders(path: Path) -> list[int]:
    """Ids of the other processes holding a write lock on the database or its ``-shm`` file.

    Read from ``/proc/locks`` by device and inode (Linux); never by opening the database, which
    would drop this process's own locks on it (module docstring). Empty where it cannot be told.
    """
    wanted = set()
    for p in (path, path.with_name(path.name + "-shm")):
        try:
            st = os.stat(p)
        except OSError:
            continue
        wanted.add((os.major(st.st_dev), os.minor(st.st_dev), st.st_ino))
    if not wanted:
        return []
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    me, pids = os.getpid(), []
    for line in lines:
        parts = line.split()
        if len(parts) < 6 or parts[1] == "->" or parts[3] != "WRITE":  # "->": a waiter, not a holder
            continue
        try:
            pid = int(parts[4])
            major, minor, ino = parts[5].split(":")
            key = (int(major, 16), int(minor, 16), int(ino))
        except ValueError:
            continue
        if key in wanted and pid > 0 and pid != me and pid not in pids:
            pids.append(pid)
    return pids


def _describe_process(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return f"pid {pid}"
    if args:
        args[0] = os.path.basename(args[0])
    text = " ".join(args)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return f"pid {pid}: {text[:80]}{'...' if len(text) > 80 else ''}" if text else f"pid {pid}"


def locked_error(path: Path | None, detail: str = "") -> DatabaseLockedError:
    """A :class:`DatabaseLockedError` that says who holds the lock, where that can be told."""
    waited = f"{BUSY_TIMEOUT_MS / 1000:g} s"
    if path is None:
        return DatabaseLockedError(
            f"the database is busy: another process held it for more than {waited}"
            + (f" ({detail})" if detail else ""))
    holders = lock_holders(path)
    who = ("by " + "; ".join(_describe_process(p) for p in holders)) if holders else \
        "by another process (which one cannot be told here)"
    return DatabaseLockedError(
        f"{path} is locked {who}; lrstudio waited {waited} for it. The file is fine: try again "
        f"when that process has finished, or stop it."
    )


def read_only_error(path: Path, detail: str = "") -> StoreError:
    """Say which of file, folder or file system is read-only; a plain error when none is."""
    folder = path.parent
    try:
        read_only_fs = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        read_only_fs = False
    if read_only_fs:
        where = f"{path} is on a read-only file system"
    elif path.exists() and not os.access(path, os.W_OK):
        where = f"the file {path} is read-only"
    elif not os.access(folder, os.W_OK | os.X_OK):
        where = (f"the folder {folder} is read-only (SQLite needs to create {path.name}-wal and "
                 f"{path.name}-shm beside the database)")
    else:
        return StoreError(f"cannot open {path}" + (f": {detail}" if detail else ""))
    return ReadOnlyDatabaseError(
        f"{where}: lrstudio cannot record runs in it. Make it writable, or copy the file to a "
        f"writable folder and use --db. The file itself is fine."
    )


def sqlite_error(path: Path, exc: BaseException) -> StoreError | None:
    """The user's error for a ``sqlite3`` error on ``path`` when its code says locked or
    read-only; None for the others (the caller decides)."""
    code = sqlite_code(exc)
    text = str(exc)
    if code in (SQLITE_BUSY, SQLITE_LOCKED) or (code is None and ("locked" in text or "busy" in text)):
        return locked_error(path, text)
    if code in (SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_PERM) or (code is None and "readonly" in text):
        return read_only_error(path, text)
    return None


def _engine_path(engine: Engine | None) -> Path | None:
    return None if engine is None else sqlite_path(engine.url.render_as_string(hide_password=False))


def _pg_where(engine: Engine) -> str:
    u = engine.url
    return f"{u.host or 'localhost'}:{u.port or 5432}"


def translate(exc: SQLAlchemyError, engine: Engine | None = None) -> StoreError:
    """Turn a SQLAlchemy error into the lrstudio error a user can read.

    ``engine`` (the engine the error came from) lets the message name the file and who locks it,
    or the PostgreSQL host that did not answer.
    """
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    path = _engine_path(engine)
    if isinstance(exc, OperationalError) and isinstance(orig, sqlite3.Error) and path is not None:
        known = sqlite_error(path, orig)
        if known is not None:
            return known
    if isinstance(exc, OperationalError) and ("locked" in text or "busy" in text):
        return locked_error(path, text)
    if isinstance(exc, OperationalError) and ("not a database" in text or "malformed" in text):
        return NotAnLrstudioDatabase(f"the database file is corrupt or not an lrstudio database: {text}")
    if isinstance(exc, OperationalError) and "readonly" in text:
        return StoreError(f"the database is read-only: {text}")
    if engine is not None and engine.dialect.name == "postgresql" and isinstance(exc, OperationalError):
        where = _pg_where(engine)
        if "timeout" in text.lower():
            timeout = engine.url.query.get("connect_timeout", PG_CONNECT_TIMEOUT_S)
            return StoreError(
                f"the PostgreSQL server at {where} did not answer within {float(str(timeout)):g} s "
                f"(connect_timeout); check the host and port, or add ?connect_timeout=N to the URL "
                f"to wait longer"
            )
        if "connection" in text.lower() or "connect" in text.lower():
            return StoreError(f"cannot connect to the PostgreSQL server at {where}: {text}")
    return StoreError(f"database error: {text}")


@contextlib.contextmanager
def translated(engine: Engine | None = None) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        raise translate(exc, engine) from exc


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
        bind = factory.kw.get("bind")
        raise translate(exc, bind if isinstance(bind, Engine) else None) from exc
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
        raise translate(exc, engine) from exc
