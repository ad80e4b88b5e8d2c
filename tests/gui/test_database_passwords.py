"""Server passwords never reach the settings file (brief Q1, item 1).

The recent databases are saved without their passwords; a settings file written by an older
lrstudio (with passwords) is cleaned when it is read; a recent server that needs a password asks
for it when it is opened (or libpq finds it: PGPASSWORD, ~/.pgpass), and the password typed stays
in memory for the session only.
"""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QSettings

from lrstudio.core.errors import LrstudioError
from lrstudio.gui import database
from lrstudio.gui.settings import Preferences, without_password
from lrstudio.storage.engine import StoreError

SECRET = "s3cret-L1"
PG = f"postgresql+psycopg://me:{SECRET}@db.example:5432/runs?sslmode=require"
PG_BARE = "postgresql+psycopg://me@db.example:5432/runs?sslmode=require"


def _file_text(qsettings: QSettings) -> str:
    qsettings.sync()
    with open(qsettings.fileName(), encoding="utf-8") as f:
        return f.read()


@pytest.mark.parametrize(("url", "bare"), [
    (PG, PG_BARE),
    (PG_BARE, PG_BARE),
    ("postgresql://me:p%40ss:w@h/db", "postgresql://me@h/db"),
    ("postgresql+psycopg://me:@h/db", "postgresql+psycopg://me@h/db"),
    ("postgresql://me@h/db?password=x1&sslmode=require", "postgresql://me@h/db?sslmode=require"),
    ("postgresql://me@h/db?sslmode=require&password=x1", "postgresql://me@h/db?sslmode=require"),
    ("sqlite:////tmp/a:b@c/runs.sqlite", "sqlite:////tmp/a:b@c/runs.sqlite"),
])
def test_without_password(url, bare):
    assert without_password(url) == bare


def test_the_settings_file_holds_no_password(qapp, qsettings):
    prefs = Preferences.load(qsettings)
    prefs.remember_database("sqlite:////tmp/runs.sqlite")
    prefs.remember_database(PG)
    prefs.save(qsettings)
    text = _file_text(qsettings)
    assert SECRET not in text
    assert "me@db.example:5432/runs" in text  # the server is remembered, without its password
    # in memory, for this session, the URL keeps the password the user typed
    assert prefs.recent_databases[0] == PG and prefs.last_database == PG
    again = Preferences.load(qsettings)
    assert again.recent_databases == [PG_BARE, "sqlite:////tmp/runs.sqlite"]
    assert again.last_database == PG_BARE
    # the same server opened again with its password is one entry, not two
    again.remember_database(PG)
    assert again.recent_databases == [PG, "sqlite:////tmp/runs.sqlite"]


def test_an_old_settings_file_with_passwords_is_cleaned_when_read(qapp, qsettings):
    # what lrstudio up to session 3 wrote
    qsettings.beginGroup("preferences")
    qsettings.setValue("recent_databases", [PG, "sqlite:////tmp/runs.sqlite", "postgresql://u:pw2@h/x"])
    qsettings.setValue("last_database", PG)
    qsettings.setValue("loss_log_y", False)
    qsettings.endGroup()
    assert SECRET in _file_text(qsettings)
    prefs = Preferences.load(qsettings)
    assert prefs.recent_databases == [PG_BARE, "sqlite:////tmp/runs.sqlite", "postgresql://u@h/x"]
    assert prefs.last_database == PG_BARE
    assert prefs.loss_log_y is False
    text = _file_text(qsettings)
    assert SECRET not in text and "pw2" not in text
    assert "loss_log_y=false" in text  # the other entries are left as they were


def test_the_window_saves_no_password(window, qsettings, monkeypatch):
    # the window remembers the server it opened with a password; closing it saves the preferences
    window.prefs.remember_database(PG)
    window.close()
    assert SECRET not in _file_text(qsettings)
    assert Preferences.load(qsettings).recent_databases[0] == PG_BARE


class _FakeServer:
    """open_store for a server that wants ``SECRET`` (psycopg's messages, as StoreError words them)."""

    def __init__(self, real_open):
        self.real_open = real_open
        self.opened: list[str] = []

    def __call__(self, url, **kw):
        if url.startswith("sqlite"):
            return self.real_open(url, **kw)
        where = 'connection to server at "db.example", port 5432 failed: '
        if f":{SECRET}@" in url:
            self.opened.append(url)
            return self.real_open(self.sqlite_url, **kw)
        if ":" in url.split("://", 1)[1].split("@", 1)[0]:
            raise StoreError(f"cannot connect: {where}FATAL:  password authentication failed for user \"me\"")
        raise StoreError(f"cannot connect: {where}fe_sendauth: no password supplied")


@pytest.fixture
def fake_server(monkeypatch, tmp_path):
    import lrstudio.storage as storage

    server = _FakeServer(storage.open_store)
    server.sqlite_url = f"sqlite:///{tmp_path / 'server.sqlite'}"
    monkeypatch.setattr(storage, "open_store", server)
    return server


def test_a_recent_server_that_needs_a_password_asks_for_it(window, qsettings, monkeypatch, no_dialogs, fake_server):
    asked: list[tuple[str, bool]] = []
    answers = ["wrong", SECRET]

    def ask_password(parent, url, refused=False):
        asked.append((url, refused))
        return answers.pop(0)

    monkeypatch.setattr(database, "ask_password", ask_password)
    assert window.open_database(PG_BARE)  # a recent entry, as the settings file keeps it
    assert asked == [(PG_BARE, False), ("postgresql+psycopg://me:wrong@db.example:5432/runs?sslmode=require", True)]
    assert fake_server.opened == [PG]
    assert not no_dialogs
    assert window.db_url == PG  # the session keeps the password (child processes open the same URL)
    assert SECRET not in window.windowTitle()
    window.close()
    assert SECRET not in _file_text(qsettings)


def test_cancelling_the_password_keeps_the_open_database(window, monkeypatch, no_dialogs, fake_server):
    before = window.db_url
    monkeypatch.setattr(database, "ask_password", lambda parent, url, refused=False: None)
    assert not window.open_database(PG_BARE)
    assert window.db_url == before and not no_dialogs and not fake_server.opened


def test_the_password_dialog_masks_what_is_typed(qtbot):
    from PySide6.QtWidgets import QLineEdit

    dlg = database.PasswordDialog(None, PG_BARE, refused=True)
    qtbot.addWidget(dlg)
    assert dlg.edit.echoMode() == QLineEdit.EchoMode.Password
    assert "me@db.example:5432/runs" in dlg.label.text()
    assert "refused" in dlg.label.text()
    assert "~/.pgpass" in dlg.label.text() and "not saved" in dlg.label.text()
    qtbot.keyClicks(dlg.edit, "p@ss:w/rd")
    assert dlg.password() == "p@ss:w/rd"
    assert database.with_password(PG_BARE, "p@ss:w/rd") == (
        "postgresql+psycopg://me:p%40ss%3Aw%2Frd@db.example:5432/runs?sslmode=require")


def test_with_password_on_a_url_without_user(monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "osuser")
    assert database.with_password("postgresql://h:5/db", "x") == "postgresql://osuser:x@h:5/db"


@pytest.mark.postgres
def test_a_url_without_password_opens_with_pgpass(tmp_path, monkeypatch):
    """LRSTUDIO_TEST_PG_PASSWORD_URL: a server URL whose user needs a password, password included
    (``postgresql+psycopg://u:pw@host:port/db``); psycopg (libpq) reads ~/.pgpass by itself."""
    from sqlalchemy.engine import make_url

    from lrstudio.storage import open_store

    full = os.environ.get("LRSTUDIO_TEST_PG_PASSWORD_URL")
    if not full:
        pytest.skip("LRSTUDIO_TEST_PG_PASSWORD_URL is not set (a server that asks for a password)")
    u = make_url(full)
    bare = without_password(full)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(LrstudioError) as err:
        open_store(bare)
    assert database.password_refused(err.value)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"{u.host}:{u.port or 5432}:{u.database}:{u.username}:{u.password}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))  # what ~/.pgpass is when PGPASSFILE is unset
    store = open_store(bare)
    store.close()


@pytest.mark.postgres
def test_a_server_that_needs_a_password_opens_after_asking(window, qsettings, tmp_path, monkeypatch, no_dialogs):
    from sqlalchemy.engine import make_url

    full = os.environ.get("LRSTUDIO_TEST_PG_PASSWORD_URL")
    if not full:
        pytest.skip("LRSTUDIO_TEST_PG_PASSWORD_URL is not set (a server that asks for a password)")
    password = make_url(full).password
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    asked: list[bool] = []

    def ask_password(parent, url, refused=False):
        asked.append(refused)
        return password

    monkeypatch.setattr(database, "ask_password", ask_password)
    before = window.db_url
    assert window.open_database(without_password(full))
    try:
        assert asked == [False] and not no_dialogs
        assert make_url(window.db_url).password == password
        window.save_preferences()
        assert password not in _file_text(qsettings)
        assert without_password(full) in Preferences.load(qsettings).recent_databases
    finally:
        window.open_database(before)
