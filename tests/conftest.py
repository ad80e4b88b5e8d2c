"""Test-wide set-up: headless Qt, an isolated user data dir, and a guard against leaked threads."""

from __future__ import annotations

import os
import threading

import pytest

# Before anything imports Qt: never try to open a real window in tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_db(tmp_path, monkeypatch):
    """No test may touch the user's real database: point the default at a temp file."""
    monkeypatch.setenv("LRSTUDIO_DB", str(tmp_path / "lrstudio-test.sqlite"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


@pytest.fixture(autouse=True)
def _no_dangling_threads(request):
    """Fail a test that leaves a Python thread or a running QThread behind (napari's habit)."""
    before = set(threading.enumerate())
    yield
    leaked = [
        t for t in threading.enumerate()
        if t not in before and t.is_alive() and not t.daemon and t is not threading.current_thread()
    ]
    for t in leaked:
        t.join(timeout=5.0)
    leaked = [t for t in leaked if t.is_alive()]
    if leaked:
        pytest.fail(f"test left threads running: {[t.name for t in leaked]}", pytrace=False)
    qt = _running_qthreads()
    if qt:
        pytest.fail(f"test left QThreads running: {qt}", pytrace=False)


def _running_qthreads() -> list[str]:
    import sys

    if "PySide6.QtCore" not in sys.modules:
        return []
    from PySide6.QtCore import QThread
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return []
    threads = [t for t in app.findChildren(QThread) if t.isRunning()]
    # Training threads have no QObject parent; the controller keeps a registry of them.
    controller = sys.modules.get("lrstudio.gui.controller")
    if controller is not None:
        threads += [t for t in controller.live_threads() if t not in threads]
    return [f"{type(t).__name__}({t.objectName()!r})" for t in threads]


@pytest.fixture
def disk_fills_after(monkeypatch):
    """``disk_fills_after(n)``: the CSV export's writer raises ENOSPC after ``n`` rows, as a file
    system that fills up during an export would (shared by the storage and CLI export tests)."""
    import errno

    from lrstudio.storage import export as export_mod

    real_writer = export_mod.csv.writer

    def fill_after(n: int) -> None:
        class FullDiskWriter:
            def __init__(self, f, *args, **kwargs):
                self.w, self.rows = real_writer(f, *args, **kwargs), 0

            def writerow(self, row):
                self.rows += 1
                if self.rows > n:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return self.w.writerow(row)

            def writerows(self, rows):
                for row in rows:
                    self.writerow(row)

        monkeypatch.setattr(export_mod.csv, "writer", FullDiskWriter)

    return fill_after

