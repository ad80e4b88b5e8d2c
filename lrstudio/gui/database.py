"""The database the window works on: choosing one (a file or a URL) and watching it for changes
made by other processes or windows.

Server passwords are not saved (``gui/settings.py``): a recent server whose URL has no password
is opened as it is, and libpq may find the password itself (``PGPASSWORD``, ``~/.pgpass``); when
the server still asks for one, the window asks the user (:func:`open_store_asking_password`) and
keeps what was typed in memory for the session."""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable
from urllib.parse import quote

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lrstudio.core.errors import LrstudioError
from lrstudio.core.runs import RunStore
from lrstudio.gui.dialogs import errors
from lrstudio.gui.settings import without_password
from lrstudio.paths import _URL, db_url, display_db_url, sqlite_path

# The database is polled for changes made by other processes or windows, as TensorBoard polls its
# logdir (issue 9). A poll that finds nothing new is one cheap query (Store.data_version()); one
# that finds a change re-lists the runs. Polls are spaced so that they take at most DB_POLL_BUDGET
# of the GUI thread's time: a big database (or a slow server) is polled less often, never blocking.
DB_POLL_MS = 1000
DB_POLL_BUDGET = 0.05
# A change re-reads only the unfinished and the newest runs (RunsPanel.sync(full=False)); the whole
# list (renames, tags, deletions of finished runs elsewhere) at most this often, and this long after
# the last change at the latest.
DB_FULL_SYNC_S = 10.0


def display_url(url: str) -> str:
    """What the title bar shows for a database: a file path, or the URL without its password."""
    return display_db_url(url)


class DatabaseDialog(QDialog):
    """Ask for a database: a file (browse) or a URL (``postgresql+psycopg://...``)."""

    def __init__(self, parent: QWidget | None, recent: list[str], current: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Open database")
        self.combo = QComboBox()
        self.combo.setEditable(True)
        # Entries are shown without passwords; each shown text stands for the URL it came from, so
        # choosing a recent server opens it with its password (typed text is read as typed).
        self._known = {display_url(u): u for u in [current, *recent] if u}
        self.combo.addItems([display_url(u) for u in recent])
        self.combo.setEditText(display_url(current))
        self.combo.setMinimumWidth(460)
        self.combo.lineEdit().setPlaceholderText("a .sqlite file, or a URL such as postgresql+psycopg://user@host/db")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        row = QHBoxLayout()
        row.addWidget(self.combo, 1)
        row.addWidget(browse)
        hint = QLabel("A new file is created if it does not exist. Older lrstudio databases are upgraded "
                      "(a backup copy is kept next to the file).")
        hint.setWordWrap(True)
        hint.setProperty("role", "note")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Database file or URL:"))
        lay.addLayout(row)
        lay.addWidget(hint)
        lay.addWidget(buttons)

    def url(self) -> str:
        text = self.combo.currentText().strip()
        return self._known.get(text) or db_url(text)

    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Database file", self.combo.currentText(), "lrstudio databases (*.sqlite *.db);;All files (*)",
            options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.combo.setEditText(path)


def ask_database(parent: QWidget | None, recent: list[str], current: str = "") -> str | None:
    """Modal database chooser; None when cancelled. (Tests replace this function.)"""
    dlg = DatabaseDialog(parent, recent, current)
    if dlg.exec() != QDialog.DialogCode.Accepted or not dlg.combo.currentText().strip():
        return None
    return dlg.url()


class DatabaseWatcher(QObject):
    """Polls the open store for changes made elsewhere, as TensorBoard polls its logdir.

    ``sync(full)`` re-reads the runs (all of them when ``full``) and returns the ids that changed,
    or None when nothing could be read; ``changed(ids)`` is called after a sync that read
    something. A poll that finds nothing new is one cheap query (``Store.data_version()``).
    """

    def __init__(self, sync: Callable[[bool], set[int] | None], changed: Callable[[set[int]], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sync = sync
        self._changed = changed
        self.store: RunStore | None = None
        self._version: int | None = None
        self.poll_after = 0.0  # monotonic time before which a poll does nothing (the time budget)
        self._full_at = 0.0  # when the runs were last listed in full
        self._full_due = False  # a partial sync ran since then
        self.cost_s = 0.0  # what the last poll that found a change cost the GUI thread
        self._timer = QTimer(self)
        self._timer.setInterval(DB_POLL_MS)
        self._timer.timeout.connect(self.poll)

    def watch(self, store: RunStore) -> None:
        """Start polling ``store``; what is listed now is the baseline."""
        self.store = store
        self._version = self._read_version()
        self.poll_after = 0.0
        self._full_at = time.monotonic()  # the runs panel has just listed every run
        self._full_due = False
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self.store = None

    def _read_version(self) -> int | None:
        version = getattr(self.store, "data_version", None)
        if version is None:
            return None
        try:
            return version()
        except LrstudioError:
            return None  # not readable right now (locked, server gone): try again next time

    def poll(self) -> bool:
        """Take in what other processes wrote since the last poll; True if something changed."""
        if self.store is None:
            return False
        now = time.monotonic()
        if now < self.poll_after:
            return False
        version = self._read_version()
        full = now - self._full_at >= DB_FULL_SYNC_S
        if version is None or version == self._version:
            if not (self._full_due and full):
                return False
        else:
            self._version = version
        t0 = time.perf_counter()
        changed = self._sync(full)
        if changed is not None:
            if full:
                self._full_at, self._full_due = now, False
            else:
                self._full_due = True
            self._changed(changed)
        cost = time.perf_counter() - t0
        self.cost_s = cost
        self.poll_after = now + cost / DB_POLL_BUDGET - DB_POLL_MS / 1000
        return True


def open_store_or_say_why(parent: QWidget | None, url: str) -> tuple[RunStore, str] | None:
    """Open the store at ``url``: ``(store, url)``, the URL with the password the user typed if
    the server asked for one; None when it cannot be opened (after saying why, in the one error
    dialog) or when the user cancelled the password."""
    try:
        return open_store_asking_password(parent, url)
    except LrstudioError as exc:
        errors.show_error(parent, exc, context=f"Cannot open {display_url(url)}.")
        return None


def open_store_asking_password(parent: QWidget | None, url: str) -> tuple[RunStore, str] | None:
    """Open the store at ``url``; when the server wants a password the URL does not carry (or
    refuses the one it carries), ask the user for it, again after a refused one.

    Returns ``(store, url)`` with the URL that opened it, or None when the user cancels the
    password; any other failure raises :class:`LrstudioError`.
    """
    from lrstudio import storage

    refused = False
    while True:
        try:
            return storage.open_store(url), url
        except LrstudioError as exc:
            if sqlite_path(url) is not None or url.lower().startswith("sqlite") or not password_refused(exc):
                raise
            password = ask_password(parent, url, refused=refused)
            if password is None:
                return None
            url = with_password(url, password)
            refused = True


def password_refused(exc: BaseException) -> bool:
    """True when a server refused to connect for want of a (right) password (libpq's words)."""
    text = str(exc)
    return "no password supplied" in text or "password authentication failed" in text


def with_password(url: str, password: str) -> str:
    """``url`` (a server URL) with ``password`` in place of any it had (quoted as SQLAlchemy
    unquotes it); a URL without a user name gets the one libpq uses by default, the login name."""
    bare = without_password(url)
    m = _URL.match(bare)
    if m is None:
        return url
    secret = quote(password, safe="")
    if m["username"] is not None:
        end = m.end("username")
        return f"{bare[:end]}:{secret}{bare[end:]}"
    scheme_end = bare.index("://") + 3
    return f"{bare[:scheme_end]}{quote(getpass.getuser(), safe='')}:{secret}@{bare[scheme_end:]}"


class PasswordDialog(QDialog):
    """Ask for the password of a database server (typed text is masked)."""

    def __init__(self, parent: QWidget | None, url: str, refused: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("lrstudio: database password")
        first = "The server refused that password.\n" if refused else ""
        self.label = QLabel(
            f"{first}Password for {display_url(without_password(url))}\n\n"
            "It is kept until lrstudio closes, not saved. libpq can supply it instead: "
            "the PGPASSWORD environment variable or a ~/.pgpass file.")
        self.label.setWordWrap(True)
        self.edit = QLineEdit()
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setMinimumWidth(420)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label)
        lay.addWidget(self.edit)
        lay.addWidget(buttons)

    def password(self) -> str:
        return self.edit.text()


def ask_password(parent: QWidget | None, url: str, refused: bool = False) -> str | None:
    """Modal password prompt for the server at ``url``; None when cancelled. (Tests replace this.)"""
    dlg = PasswordDialog(parent, url, refused)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    return dlg.password()
