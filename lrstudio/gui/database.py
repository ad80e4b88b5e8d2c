"""The database the window works on: choosing one (a file or a URL) and watching it for changes
made by other processes or windows."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lrstudio.core.errors import LrstudioError
from lrstudio.core.runs import RunStore
from lrstudio.gui.dialogs import errors
from lrstudio.paths import db_url, display_db_url

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


def open_store_or_say_why(parent: QWidget | None, url: str) -> RunStore | None:
    """Open the store at ``url``; None (after saying why, in the one error dialog) when it cannot."""
    from lrstudio.storage import open_store

    try:
        return open_store(url)
    except LrstudioError as exc:
        errors.show_error(parent, exc, context=f"Cannot open {display_url(url)}.")
        return None
