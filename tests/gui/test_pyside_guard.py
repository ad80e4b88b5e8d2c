"""Guard against the PySide6 6.12.0 trap (shared/QT-NOTES.md).

On Python 3.11, PySide6 6.12.0 drops a reference to ``None`` on every Qt call that returns
nothing; after a few thousand calls the interpreter aborts ("Fatal Python error: none_dealloc").
pyproject excludes 6.12.0; this test fails fast if such a build is installed anyway.
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QWidget


def test_void_qt_calls_do_not_leak_none_references(qapp):
    w = QWidget()
    before = sys.getrefcount(None)
    for _ in range(1000):
        w.update()
    after = sys.getrefcount(None)
    w.deleteLater()
    assert after >= before - 10, f"None refcount fell by {before - after} over 1,000 QWidget.update() calls"
