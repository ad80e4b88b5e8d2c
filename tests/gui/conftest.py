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


@pytest.fixture(autouse=True)
def _modal_dialogs_fail_instead_of_hanging(monkeypatch):
    """A modal dialog that nobody closes hangs the whole test run (no screen, nobody to click).
    Every GUI test runs with modal ``exec()`` and the static QMessageBox/QInputDialog/QFileDialog
    helpers replaced by a function that raises: pytest-qt reports the exception raised inside the
    Qt call as the test's failure, with the dialog's title and text. A test that expects a dialog
    patches it itself (``no_dialogs``, or its own ``monkeypatch.setattr``), which wins over this."""
    from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QMessageBox

    def refuse(what):
        def raiser(*args, **kwargs):
            texts = []
            for a in args:
                if isinstance(a, QDialog):
                    texts += [a.windowTitle(), getattr(a, "text", lambda: "")()]
                elif isinstance(a, str):
                    texts.append(a)
            raise AssertionError(f"a modal {what} opened during a GUI test and would block it: "
                                 + " | ".join(t for t in texts if t)[:500])
        return raiser

    monkeypatch.setattr(QDialog, "exec", refuse("dialog"))
    monkeypatch.setattr(QMessageBox, "exec", refuse("message box"))
    for name in ("question", "warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, name, refuse(f"QMessageBox.{name}"))
    for name in ("getText", "getMultiLineText", "getItem", "getInt", "getDouble"):
        monkeypatch.setattr(QInputDialog, name, refuse(f"QInputDialog.{name}"))
    for name in ("getOpenFileName", "getSaveFileName", "getExistingDirectory", "getOpenFileNames"):
        monkeypatch.setattr(QFileDialog, name, refuse(f"QFileDialog.{name}"))


@pytest.fixture(autouse=True)
def _collect_qt_garbage_in_the_gui_thread():
    """Collect reference cycles (windows, dialogs and menus of the test that just ended) here, in
    the GUI thread. Left to chance, Python's cyclic GC runs in whatever thread allocates next (a
    training relay thread unpickling events) and destroys those QObjects there: shiboken then
    waits for the GIL inside ~QObject while the GUI thread waits for the same Qt mutex, and the
    run hangs (seen in .ci/run: test_process_run after test_process_idle_gui)."""
    import gc

    gc.collect()
    yield
    gc.collect()
