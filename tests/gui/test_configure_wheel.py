"""Issue 9: the mouse wheel over the Configure panel scrolls it; it changes a value only with focus."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QSpinBox


def _wheel(widget, notches: int = -1) -> None:
    """Send one real wheel event (``notches`` < 0: towards the user, i.e. scroll down) to ``widget``."""
    local = QPointF(widget.rect().center())
    ev = QWheelEvent(local, QPointF(widget.mapToGlobal(local.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def _editors(window) -> dict[str, object]:
    panel = window.config_panel
    return {
        "schedule combo": panel.schedule_editor.combo,
        "optimizer combo": panel.optimizer_combo,
        "choice combo": panel.training_form.field("clip_mode"),
        "spin box": panel.training_form.field("epochs"),
        "nested spin box": panel.schedule_editor.form.field("warmup_steps"),
    }


def _value(w) -> object:
    return w.currentIndex() if isinstance(w, QComboBox) else w.value()


@pytest.mark.parametrize("which", ["schedule combo", "optimizer combo", "choice combo", "spin box",
                                   "nested spin box"])
def test_wheel_over_an_unfocused_field_scrolls_the_panel(qtbot, window, which):
    w = _editors(window)[which]
    bar = window.config_scroll.verticalScrollBar()
    assert bar.maximum() > 0, "the panel must be taller than its dock for this test"
    window.config_scroll.ensureWidgetVisible(w)
    bar.setValue(min(bar.value(), bar.maximum() - 40))
    window.start_button.setFocus()
    assert not w.hasFocus()
    before_value, before_scroll = _value(w), bar.value()
    before_cfg = window.config_panel.config()
    for _ in range(3):
        _wheel(w)
    assert _value(w) == before_value
    assert window.config_panel.config() == before_cfg
    assert bar.value() > before_scroll  # the scroll area scrolled instead


def test_wheel_changes_a_focused_field(qtbot, window):
    combo = window.config_panel.optimizer_combo
    spin = window.config_panel.training_form.field("epochs")
    assert isinstance(combo, QComboBox) and isinstance(spin, QSpinBox)
    assert combo.focusPolicy() == Qt.FocusPolicy.StrongFocus and spin.focusPolicy() == Qt.FocusPolicy.StrongFocus
    window.activateWindow()
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    index = combo.currentIndex()
    _wheel(combo, notches=-1)
    assert combo.currentIndex() == index + 1
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    epochs = spin.value()
    _wheel(spin, notches=1)
    assert spin.value() == epochs + 1
    assert window.config_panel.config().epochs == epochs + 1
