"""The run options of issue 11 (val_every, grad_norm_every) are in the Configure form, in an
"Advanced" group: typed values reach the config, a loaded config shows them, 0 reads "auto"."""

from __future__ import annotations

from dataclasses import replace

from gui_configs import tiny_config
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox

from lrstudio.gui.configure.panel import ConfigPanel


def _panel(qtbot, cfg=None) -> ConfigPanel:
    panel = ConfigPanel(config=cfg or tiny_config())
    qtbot.addWidget(panel)
    return panel


def _advanced(panel: ConfigPanel) -> QGroupBox:
    (box,) = [b for b in panel.findChildren(QGroupBox) if b.title() == "Advanced"]
    return box


def _type(qtbot, spin, text: str) -> None:
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Tab)


def test_typed_run_options_reach_the_config(qtbot):
    panel = _panel(qtbot)
    box = _advanced(panel)
    val = box.findChild(object, "param_val_every")
    norm = box.findChild(object, "param_grad_norm_every")
    assert val is not None and norm is not None
    assert panel.config().val_every == 0 and panel.config().grad_norm_every == 10  # the defaults
    _type(qtbot, val, "3")
    _type(qtbot, norm, "25")
    cfg = panel.config()
    assert (cfg.val_every, cfg.grad_norm_every) == (3, 25)
    assert panel.is_valid()
    assert cfg.validated() == replace(tiny_config(), val_every=3, grad_norm_every=25).validated()


def test_a_loaded_config_shows_its_run_options_and_round_trips(qtbot):
    cfg = replace(tiny_config(), val_every=5, grad_norm_every=1)
    panel = _panel(qtbot, cfg)
    box = _advanced(panel)
    assert box.findChild(object, "param_val_every").value() == 5
    assert box.findChild(object, "param_grad_norm_every").value() == 1
    assert panel.config().validated() == cfg.validated()
    panel.set_config(tiny_config())
    assert (panel.config().val_every, panel.config().grad_norm_every) == (0, 10)


def test_auto_is_shown_as_auto_and_its_tooltip_says_what_it_does(qtbot):
    panel = _panel(qtbot)
    val = _advanced(panel).findChild(object, "param_val_every")
    assert val.text() == "auto" and val.value() == 0
    tip = val.toolTip()
    assert "0 = auto" in tip and "at most once per 200 steps" in tip and "after the last epoch" in tip
    norm = _advanced(panel).findChild(object, "param_grad_norm_every")
    assert "every step when clipping by norm" in norm.toolTip()
    _type(qtbot, val, "2")
    assert val.text() == "2"
    _type(qtbot, val, "0")
    assert panel.config().val_every == 0
    panel.set_config(panel.config())
    assert val.text() == "auto"


def test_a_value_out_of_range_is_refused_at_the_field(qtbot):
    panel = _panel(qtbot)
    norm = _advanced(panel).findChild(object, "param_grad_norm_every")
    _type(qtbot, norm, "0")  # at least 1: the spin box keeps the last valid value
    assert panel.config().grad_norm_every >= 1 and panel.is_valid()
