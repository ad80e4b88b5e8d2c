"""The window's Open database path: a file name typed in the dialog that looks like URL syntax
('runs?.db', '100%25.sqlite') opens that very file, shown by its path; a PostgreSQL URL is kept."""

from __future__ import annotations

import pytest

from lrstudio.gui.database import DatabaseDialog


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

