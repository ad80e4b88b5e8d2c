"""Where lrstudio finds its shipped files and keeps its data.

Shipped files live at the top level of the source tree (``resources/``, ``alembic/``); a built
wheel carries them inside the package as ``lrstudio/_resources`` and ``lrstudio/_alembic``
(``[tool.setuptools.package-dir]`` in ``pyproject.toml``). Both layouts are looked up here, so the
rest of the code never guesses.

The default database is one SQLite file in the user's data directory (platformdirs). The
``--db PATH_OR_URL`` option and the ``LRSTUDIO_DB`` environment variable override it; either may
be a file path or any SQLAlchemy URL. Only the default location's folder is ever created (by
:func:`resolve_db`); a path given by the user must be in a folder that exists, and the store
refuses it otherwise (a typo must not start an empty database somewhere else).

Whether a database URL names an SQLite file, and which, is answered here and nowhere else
(:func:`sqlite_path`, :func:`is_sqlite_memory`, :func:`display_db_url`; issue 10): the store, the
CLI and the GUI all ask, and the GUI must not import SQLAlchemy to do it. The parsing follows
SQLAlchemy's ``make_url`` (``tests/test_paths.py`` compares the two).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote

APP_NAME = "lrstudio"
DB_ENV = "LRSTUDIO_DB"
_PKG = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError(
        "lrstudio's shipped files are missing (looked in " + ", ".join(str(c) for c in candidates) + "); "
        "reinstall lrstudio"
    )


def resources_dir() -> Path:
    """Folder holding ``data/``, ``icons/`` and styles."""
    return _first_existing(_PKG / "_resources", _PKG.parent / "resources")


def data_file(name: str) -> Path:
    """A shipped data set, e.g. ``data_file("windsor_housing.csv")``."""
    return resources_dir() / "data" / name


def alembic_dir() -> Path:
    """The Alembic script folder (``env.py`` + ``versions/``)."""
    return _first_existing(_PKG / "_alembic", _PKG.parent / "alembic")


def user_data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def default_db_path() -> Path:
    return user_data_dir() / "lrstudio.sqlite"


def resolve_db(arg: str | os.PathLike[str] | None = None) -> str:
    """Turn ``--db`` / ``LRSTUDIO_DB`` / the default into an SQLAlchemy URL (see :func:`db_url`).

    For the default, the data folder is created when missing (a first launch).
    """
    value = str(arg) if arg else os.environ.get(DB_ENV, "")
    if not value:
        path = default_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)  # the one folder lrstudio creates
        return sqlite_url(path)
    return db_url(value)


def db_url(text: str) -> str:
    """A database given by the user (``--db``, ``LRSTUDIO_DB``, the GUI's Open database) as an
    SQLAlchemy URL: text containing ``://`` is a URL, taken as it is (a PostgreSQL URL, or an
    SQLite URL already quoted); anything else is a file path, made absolute (``~`` expanded).
    """
    text = text.strip()
    if "://" in text:
        return text
    return sqlite_url(Path(text).expanduser().resolve())


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The SQLAlchemy URL of an SQLite file. The path is quoted as SQLAlchemy's
    ``URL.create("sqlite", database=path).render_as_string()`` quotes it, so that a file named
    ``runs?.db`` or ``100%25.sqlite`` is that file: unquoted, ``?`` would start the URL's query and
    ``%25`` would read as ``%`` (``tests/test_paths.py`` compares the two).
    """
    return "sqlite:///" + quote(str(path), safe=" +/")


# SQLAlchemy's URL pattern (sqlalchemy/engine/url.py, ``_parse_url``), so that both read a URL alike.
_URL = re.compile(
    r"""
        (?P<name>[\w\+]+)://
        (?:
            (?P<username>[^:/]*)
            (?::(?P<password>[^@]*))?
        @)?
        (?:
            (?:
                \[(?P<ipv6host>[^/\?]+)\] |
                (?P<ipv4host>[^/:\?]+)
            )?
            (?::(?P<port>[^/\?]*))?
        )?
        (?:/(?P<database>[^\?]*))?
        (?:\?(?P<query>.*))?
    """,
    re.X,
)


def _sqlite_database(url: str) -> str | None:
    """The database part of an SQLite URL as SQLite opens it ("" for a memory database), or
    None when ``url`` is not an SQLite URL."""
    m = _URL.match(str(url))
    if m is None or m["name"].split("+")[0].lower() != "sqlite":
        return None
    db = unquote(m["database"] or "")
    query = dict(parse_qsl(m["query"] or ""))
    if query.get("uri", "").lower() in ("true", "1") and db.startswith("file:"):
        # ?uri=true: the database is an SQLite URI, file:name or file:///abs/name
        db = db[len("file:"):]
        db = db[2:] if db.startswith("///") else db
    if db in ("", ":memory:") or db.startswith((":memory:", "file::memory:")) or query.get("mode") == "memory":
        return ""
    return db


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLite URL (``sqlite:///runs.sqlite`` -> ``runs.sqlite``), or None for
    an in-memory SQLite database and for every other backend."""
    db = _sqlite_database(url)
    return Path(db) if db else None


def is_sqlite_memory(url: str) -> bool:
    """True for an in-memory SQLite database (``sqlite://``, ``sqlite:///:memory:``, ``mode=memory``):
    it exists only inside the process (and the engine) that opened it."""
    return _sqlite_database(url) == ""


def display_db_url(url: str) -> str:
    """What a window shows for a database: the SQLite file's path, or the URL without its password
    (``postgresql+psycopg://me:***@host/db``, as SQLAlchemy's ``render_as_string`` hides it)."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    m = _URL.match(str(url))
    if m is None:
        # not a URL SQLAlchemy can read (it is being refused): still hide what looks like a password
        return _ANY_PASSWORD.sub(r"\1***@", str(url))
    if m["password"] is None:
        return str(url)
    start, end = m.span("password")
    return url[:start] + "***" + url[end:]


_ANY_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
