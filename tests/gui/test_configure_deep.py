"""Issue 9: a legitimately deep schedule (a warm-up chain of 500) loads into the form quickly and intact.

Before: one nested editor per level, 500 levels of frames and forms, about 3,000 widgets deep; the
form took 64 s to load it (8.5 s for 200), freezing the window. Now the form's editors stop at
``FORM_MAX_DEPTH`` and the rest of the chain is edited as JSON text.
"""

from __future__ import annotations

from gui_configs import tiny_config

from lrstudio.gui.configure.panel import ConfigPanel
from lrstudio.gui.configure.schedule_editor import FORM_MAX_DEPTH, ScheduleEditor, SpecTextEditor


def _chain(n: int) -> dict:
    spec: dict = {"name": "constant", "params": {}}
    for _ in range(n):
        spec = {"name": "linear_warmup", "params": {"warmup_steps": 1, "inner": spec}}
    return spec


def test_a_warmup_chain_of_500_loads_quickly_and_round_trips(qtbot):
    panel = ConfigPanel(config=tiny_config())
    qtbot.addWidget(panel)
    cfg = tiny_config(epochs=200, schedule=_chain(500))  # 1,200 steps: every warm-up fits
    panel.set_config(cfg)
    assert panel.is_valid(), panel.errors()
    assert panel.config().validated() == cfg.validated()
    editors = panel.findChildren(ScheduleEditor)
    assert len(editors) <= FORM_MAX_DEPTH + 1
    texts = panel.findChildren(SpecTextEditor)
    assert len(texts) == 1  # the rest is one JSON editor, not 500 nested forms (64 s before)


def test_the_json_part_is_edited_and_checked(qtbot):
    panel = ConfigPanel(config=tiny_config(epochs=200, schedule=_chain(FORM_MAX_DEPTH + 3)))
    qtbot.addWidget(panel)
    text = panel.findChildren(SpecTextEditor)[0]
    good = text.edit.toPlainText()
    text.edit.setPlainText(good.replace('"constant"', '"no_such_schedule"'))
    assert not panel.is_valid()
    assert "no_such_schedule" in " ".join(panel.errors().values())
    text.edit.setPlainText("{not json")
    assert not panel.is_valid() and "JSON" in text.error_label.text()
    text.edit.setPlainText(good.replace('"warmup_steps": 1', '"warmup_steps": 2', 1))
    assert panel.is_valid(), panel.errors()
    assert '"warmup_steps": 2' in panel.config().to_json(indent=None)
