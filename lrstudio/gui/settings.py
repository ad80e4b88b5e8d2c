"""The app's preferences: one typed dataclass, persisted with ``QSettings``.

Widgets never call ``QSettings.value("some/key")`` themselves; they read and change a
:class:`Preferences` and the main window saves it on close. The organisation and application
names (set in :func:`lrstudio.gui.app.main`) decide where ``QSettings`` keeps the file; tests pass
their own ``QSettings`` (an INI file in a temp folder).

Database URLs are saved without their passwords (:func:`without_password`): the settings file is
plain text. A server that needs one asks for it when it is opened (``gui/database.py``), unless
libpq finds it itself (``PGPASSWORD``, ``~/.pgpass``); the password typed stays in memory for the
session. Settings files written by lrstudio before this are cleaned when they are read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

from lrstudio.paths import _URL, sqlite_path

_GROUP = "preferences"
_URL_FIELDS = ("last_database", "recent_databases")  # saved without passwords


@dataclass
class Preferences:
    geometry: bytes = b""  # QMainWindow.saveGeometry()
    window_state: bytes = b""  # QMainWindow.saveState() (docks, toolbars)
    last_config_json: str = ""  # the form's config when the window closed, without its run name
    last_database: str = ""  # URL of the last database opened
    recent_databases: list[str] = field(default_factory=list)
    loss_log_y: bool = True
    lr_log_y: bool = False
    x_axis: str = "step"  # step | epoch | wall
    live_smoothing: float = 0.6  # EMA weight of the Train tab's training loss (0 = off)
    # Runs train in a child process beside the GUI (issue 11); False: in a thread of the GUI
    # (debugging). An in-memory database always trains in a thread.
    train_in_process: bool = True

    @classmethod
    def load(cls, settings: QSettings | None = None) -> Preferences:
        s = settings if settings is not None else QSettings()
        prefs = cls()
        s.beginGroup(_GROUP)
        try:
            for f in fields(cls):
                if not s.contains(f.name):
                    continue
                raw = s.value(f.name)
                default = getattr(prefs, f.name)
                try:
                    setattr(prefs, f.name, _convert(raw, default))
                except (TypeError, ValueError):
                    continue  # a corrupt entry falls back to the default
        finally:
            s.endGroup()
        prefs.last_config_json = without_run_name(prefs.last_config_json)
        prefs._forget_saved_passwords(s)
        return prefs

    def _forget_saved_passwords(self, s: QSettings) -> None:
        """Drop the passwords that an older lrstudio saved with the database URLs, in memory and
        in the settings file (only those entries are rewritten)."""
        saved = {name: getattr(self, name) for name in _URL_FIELDS}
        self.last_database = without_password(self.last_database)
        self.recent_databases = _unique(without_password(u) for u in self.recent_databases)
        changed = [name for name in _URL_FIELDS if getattr(self, name) != saved[name]]
        if not changed:
            return
        s.beginGroup(_GROUP)
        try:
            for name in changed:
                s.setValue(name, _stored(getattr(self, name)))
        finally:
            s.endGroup()
        s.sync()

    def save(self, settings: QSettings | None = None) -> None:
        s = settings if settings is not None else QSettings()
        s.beginGroup(_GROUP)
        try:
            for f in fields(self):
                v = getattr(self, f.name)
                if f.name == "last_config_json":
                    v = without_run_name(v)
                elif f.name == "last_database":
                    v = without_password(v)
                elif f.name == "recent_databases":
                    v = _unique(without_password(u) for u in v)
                s.setValue(f.name, _stored(v))
        finally:
            s.endGroup()
        s.sync()

    def restore_window(self, window: QMainWindow, default_size: tuple[int, int]) -> None:
        """Give ``window`` its saved geometry (else ``default_size``) and dock layout."""
        if self.geometry:
            window.restoreGeometry(self.geometry)
        else:
            window.resize(*default_size)
        if self.window_state:
            window.restoreState(self.window_state)

    def remember_window(self, window: QMainWindow) -> None:
        self.geometry = bytes(window.saveGeometry().data())
        self.window_state = bytes(window.saveState().data())

    def remember_database(self, url: str, keep: int = 8) -> None:
        """Put ``url`` first in the recent databases; an entry for the same database (with or
        without a password) is replaced. ``url`` may carry the password the user typed this
        session: it stays in memory, :meth:`save` writes the URL without it."""
        bare = without_password(url)
        self.last_database = url
        self.recent_databases = [url] + [u for u in self.recent_databases if without_password(u) != bare][: keep - 1]


def without_password(url: str) -> str:
    """``url`` without a password: ``postgresql+psycopg://me:pw@host/db`` -> ``postgresql+psycopg://me@host/db``.

    A ``password=`` query parameter goes too (libpq takes one there); SQLite URLs (file paths,
    which may hold ``:`` and ``@``) and text that is not a URL are returned unchanged. The URL is
    read as SQLAlchemy reads it (``lrstudio.paths``).
    """
    if not url or sqlite_path(url) is not None or url.lower().startswith("sqlite"):
        return url
    m = _URL.match(url)
    if m is None:
        return url
    if m["password"] is not None:
        start, end = m.span("password")
        url = url[: start - 1] + url[end:]  # the ':' before the password goes with it
    if m["query"] is not None and _QUERY_PASSWORD.search(url.split("?", 1)[1]):
        base, query = url.split("?", 1)
        query = "&".join(p for p in query.split("&") if not _QUERY_PASSWORD.match(p))
        url = f"{base}?{query}" if query else base
    return url


_QUERY_PASSWORD = re.compile(r"(?:^|&)password=", re.IGNORECASE)


def _unique(urls: Iterable[str]) -> list[str]:
    out: list[str] = []
    for u in urls:
        if u not in out:
            out.append(u)
    return out


def _stored(v: object) -> object:
    """A preference value as QSettings stores it."""
    if isinstance(v, bytes):
        return QByteArray(v)
    if isinstance(v, list):
        return list(v) if v else ""
    return v


def without_run_name(config_json: str) -> str:
    """``config_json`` with its run name emptied.

    A typed run name names one run (issue 9): it is not restored at the next launch, where every
    later run would have reused it. Text that is not a JSON object is returned unchanged (the
    window then refuses it as it refuses any unreadable saved form).
    """
    if not config_json:
        return config_json
    try:
        data = json.loads(config_json)
    except (ValueError, RecursionError):
        return config_json
    if not isinstance(data, dict) or not data.get("name"):
        return config_json
    data["name"] = ""
    return json.dumps(data, allow_nan=False)


def _convert(raw: object, default: object) -> object:
    if isinstance(default, bool):
        if isinstance(raw, str):
            return raw.lower() in ("true", "1", "yes")
        return bool(raw)
    if isinstance(default, bytes):
        if isinstance(raw, QByteArray):
            return bytes(raw.data())
        if isinstance(raw, (bytes, bytearray)):
            return bytes(raw)
        raise TypeError(type(raw))
    if isinstance(default, list):
        if raw in (None, ""):
            return []
        if isinstance(raw, str):
            return [raw]
        return [str(x) for x in raw]  # type: ignore[union-attr]
    if isinstance(default, str):
        return "" if raw is None else str(raw)
    return type(default)(raw)  # type: ignore[call-arg]
