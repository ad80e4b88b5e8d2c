"""The window's Open database path: a file name typed in the dialog that looks like URL syntax
('runs?.db', '100%25.sqlite') opens that very file, shown by its path; a PostgreSQL URL is kept."""

from __future__ import annotations

import pytest

from lrstudio.gui.database import DatabaseDialog
from lrstudio.paths import db_url


def _typed(qtbot, text: str) -> str:
    dlg = DatabaseDialog(None, recent=[])
    qtbot.addWidget(dlg)
    dlg.combo.lineEdit().clear()
    qtbot.keyClicks(dlg.combo.lineEdit(), text)
    return dlg.url()


@pytest.mark.parametrize("name", ["runs?.db", "100%.sqlite", "100%25.sqlite"])
def test_open_database_with_url_characters_in_the_name(qtbot, window, tmp_path, monkeypatch, no_dialogs, name):
    path = tmp_path / name

    def ask(parent, recent, current=""):
        return _typed(qtbot, str(path))

    monkeypatch.setattr("lrstudio.gui.main_window.ask_database", ask)
    window._on_open_database()
    assert not no_dialogs
    assert path.is_file()  # that file, not 'runs' or '100%.sqlite'
    files = {p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm", "-journal", ".ini"))}
    assert files == {"gui-test.sqlite", name}
    assert str(path) in window.windowTitle()
    assert window.prefs.last_database == window.db_url
    # the recent list shows the path; choosing it again opens the same file
    again = DatabaseDialog(None, recent=window.prefs.recent_databases, current=window.db_url)
    qtbot.addWidget(again)
    assert again.combo.currentText() == str(path)
    assert again.url() == window.db_url


def test_a_postgresql_url_is_kept_as_typed(qtbot):
    url = "postgresql+psycopg://me:p%40ss@host:5432/runs?sslmode=require"
    assert _typed(qtbot, url) == url



SECRET = "s3cret-L1"


def test_a_recent_server_url_is_shown_without_its_password_and_opens_with_it(qtbot, tmp_path):
    pg = f"postgresql+psycopg://me:{SECRET}@host:5432/runs?sslmode=require"
    lite = db_url(str(tmp_path / "runs?.db"))
    dlg = DatabaseDialog(None, recent=[pg, lite], current=pg)
    qtbot.addWidget(dlg)
    shown = [dlg.combo.itemText(i) for i in range(dlg.combo.count())]
    assert shown == ["postgresql+psycopg://me:***@host:5432/runs?sslmode=require", str(tmp_path / "runs?.db")]
    assert SECRET not in dlg.combo.currentText()
    assert dlg.url() == pg  # the masked entry stands for the stored URL, password included
    dlg.combo.setCurrentIndex(1)
    assert dlg.url() == lite
    dlg.combo.setCurrentIndex(0)
    assert dlg.url() == pg
    # a URL typed over it is taken as typed
    dlg.combo.lineEdit().clear()
    qtbot.keyClicks(dlg.combo.lineEdit(), "postgresql+psycopg://me:other@host/runs")
    assert dlg.url() == "postgresql+psycopg://me:other@host/runs"


def test_a_server_that_cannot_be_reached_is_named_without_its_password(window, no_dialogs):
    url = f"postgresql+psycopg://me:{SECRET}@127.0.0.1:1/runs"  # nothing listens on port 1
    assert not window.open_database(url)
    assert no_dialogs and "127.0.0.1:1" in no_dialogs[0]
    assert "me:***@127.0.0.1:1/runs" in no_dialogs[0]
    assert all(SECRET not in text for text in no_dialogs)
    assert SECRET not in window.windowTitle() and SECRET not in window.statusBar().currentMessage()


@pytest.mark.postgres
def test_an_opened_server_is_named_without_its_password(window, no_dialogs):
    import os
    import uuid

    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    base = os.environ.get("LRSTUDIO_TEST_PG_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    try:
        admin = sa.create_engine(base, connect_args={"connect_timeout": 3})
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # no server (tests/storage/conftest.py skips the same way)
        if os.environ.get("CI"):
            pytest.fail(f"CI must test PostgreSQL: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL not reachable at {base}: {type(exc).__name__}")
    url = (make_url(base).set(password=SECRET).update_query_dict({"options": f"-csearch_path={schema}"})
           .render_as_string(hide_password=False))
    before = window.db_url
    try:
        assert window.open_database(url)
        masked = make_url(url).render_as_string(hide_password=True)
        assert masked in window.windowTitle() and SECRET not in window.windowTitle()
        assert masked in window.statusBar().currentMessage()
        assert not no_dialogs
        # the recent list keeps the URL (to open it again) but shows it masked
        dlg = DatabaseDialog(None, recent=window.prefs.recent_databases, current=window.db_url)
        assert dlg.combo.currentText() == masked and dlg.url() == url
        dlg.deleteLater()
    finally:
        window.open_database(before)  # off the server before its schema goes
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
