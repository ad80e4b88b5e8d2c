"""Schedule preview: debounced redraw, exact curve, pins, log-y, errors shown in words."""

from __future__ import annotations

import numpy as np

from lrstudio.core.schedules import lr_curve
from lrstudio.gui.configure.preview import DEBOUNCE_MS, SchedulePreview

COSINE = {"name": "cosine", "params": {}}


def _preview(qtbot) -> SchedulePreview:
    w = SchedulePreview()
    qtbot.addWidget(w)
    w.resize(500, 300)
    w.show()
    return w


def test_rapid_edits_compute_once(qtbot, qapp):
    w = _preview(qtbot)
    for i in range(25):  # a burst of keystrokes, the event loop running in between
        w.set_schedule({"name": "step", "params": {"step_size": 10 + i}}, 0.1, 200)
        qapp.processEvents()
    assert w.computations == 0 and w.pending
    qtbot.waitUntil(lambda: w.computations == 1, timeout=DEBOUNCE_MS * 20)
    qtbot.wait(DEBOUNCE_MS * 2)
    assert w.computations == 1
    expected = lr_curve({"name": "step", "params": {"step_size": 34}}, 200, 0.1)
    assert np.array_equal(w.current_lr, expected)
    assert np.array_equal(w.curve.getOriginalDataset()[1], expected)
    assert w.curve.getOriginalDataset()[0][0] == 1  # element i is the LR of update i+1
    assert "200 steps" in w.info_label.text()


def test_pins_overlay_and_clear(qtbot):
    w = _preview(qtbot)
    w.set_schedule(COSINE, 0.1, 300)
    w.flush()
    assert w.pin_button.isEnabled() and not w.clear_button.isEnabled()
    w.pin_button.click()
    w.set_schedule({"name": "exponential", "params": {}}, 0.05, 300)
    w.flush()
    w.pin_button.click()
    assert len(w.pins) == 2 and w.clear_button.isEnabled()
    assert np.array_equal(w.pins[0].lr, lr_curve(COSINE, 300, 0.1))
    assert w.pins[0].item in w.plot.getPlotItem().items
    labels = [label.text for _, label in w.legend.items]
    assert len(labels) == 3 and labels[1].startswith("cosine") and "lr=0.1" in labels[1]
    w.clear_button.click()
    assert w.pins == [] and not w.clear_button.isEnabled()
    assert len(w.legend.items) == 1


def test_log_y_applies_to_current_and_pins(qtbot):
    w = _preview(qtbot)
    w.set_schedule({"name": "linear", "params": {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 10}},
                   1.0, 20)
    w.flush()
    w.pin_current()
    w.log_check.setChecked(True)
    assert w.plot.getPlotItem().ctrl.logYCheck.isChecked()
    y = w.curve.getOriginalDataset()[1]
    assert np.isnan(y[-1])  # LR 0 has no log: a gap, not a crash
    assert np.isnan(w.pins[0].item.getOriginalDataset()[1][-1])


def test_invalid_spec_is_explained_not_raised(qtbot):
    w = _preview(qtbot)
    w.set_schedule({"name": "step", "params": {"gamma": -1}}, 0.1, 100)
    w.flush()
    assert w.error and "gamma" in w.info_label.text()
    assert not w.pin_button.isEnabled()
    w.set_schedule(None, 0.1, 100)
    w.flush()
    assert "Fix the schedule" in w.info_label.text()


# -- "Copy as PyTorch code" (issue 14) -----------------------------------------------------------------
def test_copy_as_pytorch_code_puts_the_snippet_on_the_clipboard(qtbot, qapp):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QPushButton

    from lrstudio.core.schedules.pytorch_code import to_pytorch_code

    w = _preview(qtbot)
    button = w.findChild(QPushButton, "copy_pytorch_code")
    assert button is not None and button.text() == "Copy as PyTorch code"
    QApplication.clipboard().setText("before")
    spec = {"name": "linear_warmup", "params": {"warmup_steps": 10,
                                                 "inner": {"name": "cosine", "params": {"T_max": 90}}}}
    w.set_schedule(COSINE, 0.1, 100)
    w.flush()
    w.set_schedule(spec, 0.3, 100)  # still pending: the click copies this latest schedule
    assert w.pending
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == to_pytorch_code(spec, 0.3)
    assert "scheduler = " in QApplication.clipboard().text()
    assert "copied" in w.info_label.text().lower()


def test_copy_as_pytorch_code_says_why_it_cannot(qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QPushButton

    w = _preview(qtbot)
    button = w.findChild(QPushButton, "copy_pytorch_code")
    w.set_schedule(None, 0.1, 100)
    w.flush()
    assert not button.isEnabled()  # no valid schedule: nothing to copy
    QApplication.clipboard().setText("before")
    w.set_schedule({"name": "reduce_on_plateau", "params": {"cooldown": 2, "cooldown_convention": "paddle"}},
                   0.1, 100)
    w.flush()
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == "before"
    assert "cannot be copied as PyTorch code" in w.info_label.text() and w.info_label.property("role") == "problem"


def test_a_schedule_that_cycles_momentum_shows_its_momentum_under_the_lr(qtbot, window):
    """Issue 15: the Configure preview of the real window draws the momentum curve (momentum_curve,
    SGD momentum / Adam's beta1) under the LR, x linked, when the schedule cycles momentum; hidden for
    a schedule that does not, or with cycle_momentum off."""
    from lrstudio.core.config import starter_config
    from lrstudio.core.schedules.momentum import momentum_curve

    panel, preview = window.config_panel, window.preview
    cfg = starter_config()  # 420 steps
    cfg.optimizer = {"name": "momentum", "params": {"momentum": 0.9}}
    cfg.schedule = {"name": "one_cycle", "params": {"total_steps": "auto", "base_momentum": 0.8}}
    panel.set_config(cfg)
    assert panel.is_valid(), panel.errors()
    preview.flush()
    assert preview.momentum_plot.isVisibleTo(window)
    expected = momentum_curve(cfg.schedule, 420)
    np.testing.assert_array_equal(preview.current_momentum, expected)
    x, y = preview.momentum_item.getOriginalDataset()
    np.testing.assert_array_equal(y, expected)
    assert x[0] == 1 and len(x) == 420  # element i is update i + 1, as the LR's
    assert expected[0] == 0.95 and expected.min() == 0.8  # torch's max_momentum, then down to base
    assert preview.momentum_plot.getPlotItem().getViewBox().linkedView(0) is preview.plot.getPlotItem().getViewBox()
    assert "momentum 0.95 → 0.8 → 0.95" in preview.info_label.text()
    # the LR plot keeps most of the height
    assert preview.plot.height() > 1.5 * preview.momentum_plot.height() >= 1.5 * 60
    # switched off, or a schedule that does not cycle: hidden
    cfg.schedule = {"name": "one_cycle", "params": {"total_steps": "auto", "cycle_momentum": False}}
    panel.set_config(cfg)
    preview.flush()
    assert not preview.momentum_plot.isVisibleTo(window) and preview.current_momentum is None
    cfg.schedule = {"name": "cosine", "params": {"T_max": "auto"}}
    panel.set_config(cfg)
    preview.flush()
    assert not preview.momentum_plot.isVisibleTo(window)
    assert "momentum" not in preview.info_label.text()
