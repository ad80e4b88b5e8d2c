"""Fixtures for the GUI tests: a temp database, private QSettings, tiny fast run configs."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.gui)


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'gui-test.sqlite'}"


@pytest.fixture
def store(db_url):
    from lrstudio.storage import open_store

    s = open_store(db_url)
    yield s
    s.close()


@pytest.fixture
def qsettings(tmp_path, qapp):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, store, db_url, qsettings):
    from lrstudio.gui.main_window import MainWindow

    w = MainWindow(store, db_url, settings=qsettings)
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    qtbot.waitExposed(w)
    yield w
    if w.controller.is_running():
        w.controller.shutdown()
    w.close()


@pytest.fixture
def no_dialogs(monkeypatch):
    """Record error dialogs instead of showing them (a modal dialog would hang the test)."""
    shown: list[str] = []
    from lrstudio.gui.dialogs import errors

    def fake_show_error(parent, exc, title="lrstudio", context=""):
        shown.append(f"{context} {errors.describe(exc)[0]}".strip())

    monkeypatch.setattr(errors, "show_error", fake_show_error)
    return shown
