"""Schema migrations: check, back up, upgrade.

Life cycle of opening a database (the app, and ``lrstudio db upgrade`` from the CLI):

1. *Probe* without changing anything. For an SQLite file that means a read-only ``sqlite3``
   connection (``mode=ro``): no pragma is set yet, because even ``journal_mode=WAL`` rewrites the
   file header. The file is never opened outside SQLite, not even to read its header: this
   process may already hold connections to it (the GUI's training worker opens a second store on
   the app's file for every run), and closing a plain descriptor of the file would drop all of the
   process's locks on it, after which another process that exits deletes our WAL (issue 9).
   SQLite's result code tells the cases apart: not an SQLite file, corrupt (restore a backup),
   locked by another process (:class:`DatabaseLockedError`, naming it), or read-only
   (:class:`ReadOnlyDatabaseError`; the file is fine). A database that holds tables but no
   lrstudio schema raises :class:`NotAnLrstudioDatabase`.
2. *Refuse* a revision this lrstudio does not know (a newer lrstudio wrote it) with
   :class:`NewerDatabaseError`, naming both revisions and versions (Optuna's
   ``check_table_schema_compatibility``). The file is left byte-identical.
3. *Back up* an SQLite file that holds data and is behind head: the ``sqlite3`` backup API copies
   it (WAL content included) to a hidden temporary file beside it, which is renamed to
   ``<file>.bak-<from>-to-<to>-<UTC time>`` once complete (Vorta's
   ``src/vorta/store/connection.py``). A backup killed midway therefore never leaves a truncated
   file named like a valid backup; its temporary file is removed by the next backup. Other
   backends are the server admin's to back up.
4. *Upgrade* to head with Alembic, the ``Config`` built in code, ``script_location`` pointing at the
   shipped ``alembic/`` folder, and our connection handed over in ``config.attributes``.

Alembic is imported only when it has work to do (an upgrade, a revision the shipped scripts do not
name plainly): the probe learns the head and the known revisions from the ``revision = ...`` lines
of ``alembic/versions/*.py`` (:func:`shipped_revisions`), so opening a database that is at head
costs no Alembic import (issue 11: ~0.2-0.4 s of a 1-second ``lrstudio train``).

A new (missing or empty) database is created by the same migrations, so the path that every
user's database takes is the one the tests run.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from lrstudio import __version__
from lrstudio.paths import alembic_dir, display_db_url, sqlite_path
from lrstudio.storage import engine as _engine
from lrstudio.storage.engine import (
    SQLITE_NOTADB,
    NewerDatabaseError,
    NotAnLrstudioDatabase,
    StoreError,
    driver_connection,
    make_engine,
    sqlite_code,
    sqlite_error,
    translate,
    writer,
)

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

_OUR_TABLES = {"runs", "metric_series", "metric_points", "metric_chunks"}
_MIN_SQLITE_SIZE = 512  # the smallest page size; an SQLite database is at least one page


@dataclass(frozen=True)
class DbState:
    """What a probe found. ``revision`` is None for a new (empty) database."""

    revision: str | None
    head: str
    known: bool  # the revision is one this lrstudio ships
    writer_version: str | None  # lrstudio version of the newest run, when readable

    @property
    def is_new(self) -> bool:
        return self.revision is None

    @property
    def needs_upgrade(self) -> bool:
        return self.revision != self.head


def alembic_config(connection: object | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(alembic_dir()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_directory() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    heads = script_directory().get_heads()
    if len(heads) != 1:  # pragma: no cover - a packaging bug
        raise StoreError(f"lrstudio ships {len(heads)} migration heads ({heads}); reinstall lrstudio")
    return heads[0]


# ``revision: str = "0004"`` / ``down_revision: str | None = None`` at the start of a line.
_REVISION_LINE = re.compile(r"""^(down_revision|revision)\s*(?::[^=\n]*)?=\s*(?:None|"([\w.-]+)"|'([\w.-]+)')\s*$""",
                            re.MULTILINE)


def shipped_revisions() -> tuple[str, frozenset[str]] | None:
    """``(head, every revision)`` of the shipped migration scripts, read from their text without
    importing Alembic; None when that text is not plain (a script with no or two ``revision``
    lines, a branch, only compiled files): the caller then asks Alembic.
    ``tests/storage/test_migrate_fast.py`` checks it against Alembic's own answer."""
    versions = alembic_dir() / "versions"
    try:
        changed = versions.stat().st_mtime_ns  # a script added or removed: read them again
    except OSError:
        return None
    return _read_revisions(versions, changed)


@functools.lru_cache(maxsize=4)
def _read_revisions(versions: Path, changed: int) -> tuple[str, frozenset[str]] | None:
    down_of: dict[str, str | None] = {}
    try:
        scripts = sorted(versions.glob("*.py"))
        for script in scripts:
            found: dict[str, list[str | None]] = {"revision": [], "down_revision": []}
            for m in _REVISION_LINE.finditer(script.read_text(encoding="utf-8")):
                found[m.group(1)].append(m.group(2) or m.group(3))
            if len(found["revision"]) != 1 or len(found["down_revision"]) != 1:
                return None
            rev = found["revision"][0]
            if rev is None or rev in down_of:
                return None
            down_of[rev] = found["down_revision"][0]
    except (OSError, UnicodeDecodeError):
        return None
    downs = set(down_of.values())
    heads = [r for r in down_of if r not in downs]
    if len(heads) != 1 or len(downs) != len(down_of) or not downs <= {None, *down_of}:
        return None  # a branch, a merge or a dangling revision: Alembic's to judge
    return heads[0], frozenset(down_of)


def _describe(url: str) -> str:
    return display_db_url(url)


def _state(url: str, revision: str | None, writer_version: str | None) -> DbState:
    shipped = shipped_revisions()
    if shipped is not None and (revision is None or revision in shipped[1]):
        return DbState(revision, shipped[0], True, writer_version)
    scripts = script_directory()
    head = head_revision()
    known = revision is None
    if revision is not None:
        try:
            known = scripts.get_revision(revision) is not None
        except Exception:  # alembic raises several kinds for an unknown id
            known = False
    return DbState(revision, head, known, writer_version)


def _classify(url: str, tables: set[str], revision: str | None, writer_version: str | None) -> DbState:
    where = _describe(url)
    if revision is None:
        if tables:
            shown = ", ".join(sorted(tables)[:5]) + (" ..." if len(tables) > 5 else "")
            raise NotAnLrstudioDatabase(
                f"{where} is not an lrstudio database: it holds other tables ({shown}) and no lrstudio "
                f"schema. Choose another file with --db or $LRSTUDIO_DB."
            )
        return _state(url, None, None)
    state = _state(url, revision, writer_version)
    if not state.known:
        if not (tables & _OUR_TABLES):
            raise NotAnLrstudioDatabase(
                f"{where} is not an lrstudio database (Alembic revision {revision!r} is not one of "
                f"lrstudio's, and it has no runs table)."
            )
        written_by = f"lrstudio {writer_version}" if writer_version else "a newer lrstudio"
        raise NewerDatabaseError(
            f"{where} has schema revision {revision!r}, written by {written_by}; this lrstudio "
            f"{__version__} knows revisions up to {state.head!r}. Update lrstudio to open it "
            f"(the file was not changed)."
        )
    return state


def _probe_sqlite_file(url: str, path: Path) -> DbState:
    # stat() only: no descriptor of the file is opened outside SQLite (module docstring).
    if path.is_dir():
        raise NotAnLrstudioDatabase(f"{path} is a folder, not an lrstudio database file")
    size = path.stat().st_size if path.exists() else 0
    if size == 0:
        return _state(url, None, None)
    if size < _MIN_SQLITE_SIZE:  # SQLite would take it for an empty database and write over it
        raise _not_sqlite(path, f"{size} bytes")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                              timeout=_engine.BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise _file_error(path, exc) from None
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        tables.discard("sqlite_sequence")
        revision = None
        if "alembic_version" in tables:
            rows = con.execute("SELECT version_num FROM alembic_version").fetchall()
            revision = rows[0][0] if rows else None
            tables.discard("alembic_version")
        writer_version = None
        if "runs" in tables:
            cols = {r[1] for r in con.execute("PRAGMA table_info(runs)")}
            if "lrstudio_version" in cols:
                row = con.execute("SELECT lrstudio_version FROM runs ORDER BY id DESC LIMIT 1").fetchone()
                writer_version = row[0] if row else None
    except sqlite3.Error as exc:
        raise _file_error(path, exc) from None
    finally:
        con.close()
    return _classify(url, tables, revision, writer_version)


def _not_sqlite(path: Path, detail: str) -> NotAnLrstudioDatabase:
    return NotAnLrstudioDatabase(
        f"{path} is not an lrstudio database (not an SQLite file: {detail}). Choose another file "
        f"with --db or $LRSTUDIO_DB, or move it away to start a new database there."
    )


def _file_error(path: Path, exc: sqlite3.Error) -> StoreError:
    """Locked and read-only files are healthy: only a damaged one is told to restore a backup."""
    known = sqlite_error(path, exc)
    if known is not None:
        return known
    if sqlite_code(exc) == SQLITE_NOTADB:
        return _not_sqlite(path, str(exc))
    return NotAnLrstudioDatabase(
        f"{path} is corrupt or not an lrstudio database ({exc}). Restore a backup "
        f"({path.name}.bak-*) or choose another file."
    )


def _probe_engine(url: str, engine: Engine) -> DbState:
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            revision = None
            if "alembic_version" in tables:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                tables.discard("alembic_version")
            writer_version = None
            if "runs" in tables:
                cols = {c["name"] for c in inspect(conn).get_columns("runs")}
                if "lrstudio_version" in cols:
                    writer_version = conn.execute(
                        text("SELECT lrstudio_version FROM runs ORDER BY id DESC LIMIT 1")
                    ).scalar()
    except SQLAlchemyError as exc:
        raise translate(exc, engine) from exc
    return _classify(url, tables, revision, writer_version)


def probe(url: str, engine: Engine | None = None) -> DbState:
    """Find the database's revision without changing it; raise for foreign or newer databases."""
    path = sqlite_path(url)
    if path is not None:
        return _probe_sqlite_file(url, path)
    if engine is None:
        engine = make_engine(url)
        try:
            return _probe_engine(url, engine)
        finally:
            engine.dispose()
    return _probe_engine(url, engine)


def current_revision(url: str) -> str | None:
    return probe(url).revision


_PARTIAL = ".backup-in-progress-"


def _remove_abandoned_backups(path: Path) -> None:
    """Temporary files of backups whose process is gone (killed midway)."""
    for p in path.parent.glob(f".{path.name}{_PARTIAL}*"):
        pid_text = p.name[len(f".{path.name}{_PARTIAL}"):].split(".", 1)[0]
        try:
            os.kill(int(pid_text), 0)
            continue  # its process still runs: not abandoned
        except ProcessLookupError:
            pass
        except (ValueError, PermissionError):
            continue
        p.unlink(missing_ok=True)


def backup_sqlite(path: Path, from_rev: str | None, to_rev: str) -> Path:
    """Copy an SQLite database aside with the backup API (consistent, WAL included).

    The copy is written to a hidden temporary name and renamed when complete, so that no file
    named ``*.bak-*`` is ever a partial copy.
    """
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    dest = path.with_name(f"{path.name}.bak-{from_rev or 'none'}-to-{to_rev}-{stamp}")
    tmp = path.with_name(f".{path.name}{_PARTIAL}{os.getpid()}.tmp")
    _remove_abandoned_backups(path)
    try:
        src = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                              timeout=_engine.BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot back up {path} to {dest} before upgrading it: {exc}") from None
    try:
        tmp.unlink(missing_ok=True)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
        finally:
            dst.close()
        os.replace(tmp, dest)
    except (sqlite3.Error, OSError) as exc:
        tmp.unlink(missing_ok=True)
        known = sqlite_error(path, exc) if isinstance(exc, sqlite3.Error) else None
        if known is not None:
            raise known from None
        raise StoreError(f"cannot back up {path} to {dest} before upgrading it: {exc}") from None
    finally:
        src.close()
    return dest


def run_upgrade(engine: Engine, target: str = "head") -> None:
    """Run Alembic's upgrade on one of our connections, in one transaction."""
    sqlite = engine.dialect.name == "sqlite"
    try:
        with writer(engine).connect() as conn:
            if sqlite:
                # Batch mode copies and drops tables; with foreign keys on, dropping a parent
                # would cascade-delete its children. The pragma is a no-op inside a transaction,
                # so it is set on the driver connection before ours begins.
                driver_connection(conn).execute("PRAGMA foreign_keys = OFF")
            try:
                from alembic import command

                with conn.begin():
                    command.upgrade(alembic_config(conn), target)
            finally:
                if sqlite:
                    driver_connection(conn).execute("PRAGMA foreign_keys = ON")
    except SQLAlchemyError as exc:
        raise translate(exc, engine) from exc


@dataclass(frozen=True)
class UpgradeResult:
    from_revision: str | None
    to_revision: str
    backup: Path | None


def prepare(url: str, engine: Engine, *, upgrade: bool = True, backup: bool = True) -> UpgradeResult:
    """Probe, refuse, back up and upgrade as described in the module docstring.

    Must run before ``engine`` opens its first connection on an SQLite file (the connect hook
    switches the file to WAL, which changes its header).
    """
    state = probe(url, engine if sqlite_path(url) is None else None)
    if not state.needs_upgrade:
        return UpgradeResult(state.revision, state.head, None)
    if not upgrade:
        if state.is_new:
            raise StoreError(f"{_describe(url)} is not an lrstudio database yet (no schema); "
                             f"run `lrstudio db upgrade` to create it")
        raise StoreError(
            f"{_describe(url)} has schema revision {state.revision!r}; this lrstudio needs "
            f"{state.head!r}. Run `lrstudio db upgrade` (it backs the file up first)."
        )
    saved = None
    path = sqlite_path(url)
    if backup and path is not None and not state.is_new:
        saved = backup_sqlite(path, state.revision, state.head)
    run_upgrade(engine)
    return UpgradeResult(state.revision, state.head, saved)
