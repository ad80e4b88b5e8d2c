"""The GUI tests' guard against modal dialogs (tests/gui/conftest.py): a dialog nobody closes
must fail its test, not hang the whole run (seen once: an error box from a range test's close)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_a_modal_error_box_fails_the_test_with_its_text(qtbot):
    from lrstudio.gui.dialogs import errors

    with pytest.raises(AssertionError, match="modal message box.*T.*boom"):
        errors.show_error(None, "boom", title="T")


def test_static_helpers_are_refused_too(qtbot):
    from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

    with pytest.raises(AssertionError, match=r"QMessageBox.question.*Delete\?"):
        QMessageBox.question(None, "Delete?", "Really?")
    with pytest.raises(AssertionError, match="QInputDialog.getText"):
        QInputDialog.getText(None, "Name", "Run name")
    with pytest.raises(AssertionError, match="QFileDialog.getSaveFileName"):
        QFileDialog.getSaveFileName(None, "Export")


def test_the_no_dialogs_fixture_still_records_instead(no_dialogs):
    from lrstudio.gui.dialogs import errors

    errors.show_error(None, "recorded", context="while testing")
    assert no_dialogs == ["while testing recorded"]
