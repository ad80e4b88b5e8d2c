"""Issue 9: switching optimizer offers that optimizer's default LR unless the user typed one."""

from __future__ import annotations

from lrstudio.core.config import RUN_FIELDS, starter_config
from lrstudio.core.optimizers import OPTIMIZERS
from lrstudio.gui.configure.panel import ConfigPanel


def _panel(qtbot) -> ConfigPanel:
    p = ConfigPanel(config=starter_config())
    qtbot.addWidget(p)
    p.show()
    return p


def _choose(panel: ConfigPanel, name: str) -> None:
    combo = panel.optimizer_combo
    combo.setCurrentIndex(combo.findData(name))


def _offered(name: str) -> float:
    declared = OPTIMIZERS[name].default_lr
    return declared if declared is not None else next(p.default for p in RUN_FIELDS if p.name == "lr")


def test_choosing_adadelta_offers_its_default_lr(qtbot):
    panel = _panel(qtbot)
    assert panel.config().lr == 0.01
    _choose(panel, "adadelta")
    assert OPTIMIZERS["adadelta"].default_lr == 1.0
    assert panel.config().lr == 1.0
    assert panel.lr_form.field("lr").text() == "1"
    assert "Adadelta" in panel.lr_note.text() and panel.lr_note.isVisibleTo(panel)
    # and back: the other optimizer's default (not Adadelta's 1.0)
    _choose(panel, "sgd")
    assert panel.config().lr == _offered("sgd") != 1.0
    assert panel.is_valid()


def test_a_typed_lr_is_kept_across_optimizers(qtbot):
    panel = _panel(qtbot)
    lr = panel.lr_form.field("lr")
    lr.selectAll()
    qtbot.keyClicks(lr, "0.3")
    _choose(panel, "adadelta")
    assert panel.config().lr == 0.3
    _choose(panel, "rmsprop")
    assert panel.config().lr == 0.3
    assert not panel.lr_note.isVisibleTo(panel)


def test_a_loaded_config_keeps_its_lr_until_the_optimizer_changes(qtbot):
    panel = _panel(qtbot)
    lr = panel.lr_form.field("lr")
    lr.selectAll()
    qtbot.keyClicks(lr, "0.3")
    cfg = starter_config()
    cfg.lr = 0.002
    panel.set_config(cfg)  # the typed value belonged to the form before: forgotten
    assert panel.config().lr == 0.002
    _choose(panel, "adadelta")
    assert panel.config().lr == 1.0
