"""Issue 15: the new schedule families appear in the schedule editor of the real main window, get a
form from their declared parameters, and preview the curve lr_curve gives."""

from __future__ import annotations

import numpy as np
import pytest

from lrstudio.core.config import starter_config
from lrstudio.core.schedules import SCHEDULES, lr_curve


@pytest.mark.parametrize("name", ["timm_cosine", "hf_cosine_with_min_lr", "optax_sgdr", "noise", "chained"])
def test_a_new_family_is_offered_formed_and_previewed(qtbot, window, name):
    panel = window.config_panel
    panel.set_config(starter_config())
    combo = panel.schedule_editor.combo
    idx = combo.findData(name)
    assert idx >= 0, f"{name} is not offered"
    combo.setCurrentIndex(idx)
    ed = panel.schedule_editor
    for p in SCHEDULES[name].params:
        assert ed.form.field(p.name).objectName() == f"param_{p.name}"
    assert panel.is_valid(), panel.errors()
    cfg = panel.config()
    assert cfg.schedule["name"] == name
    window.preview.flush()
    steps = len(window.preview.current_lr)
    assert steps > 100
    np.testing.assert_allclose(window.preview.current_lr, lr_curve(cfg.schedule, steps, cfg.lr), rtol=1e-12)


def test_editing_a_timm_field_changes_the_preview(qtbot, window):
    panel = window.config_panel
    panel.set_config(starter_config())
    combo = panel.schedule_editor.combo
    combo.setCurrentIndex(combo.findData("timm_cosine"))
    window.preview.flush()
    before = np.array(window.preview.current_lr)
    field = panel.schedule_editor.form.field("warmup_t")
    field.setValue(50)
    window.preview.flush()
    after = np.array(window.preview.current_lr)
    assert panel.config().schedule["params"]["warmup_t"] == 50
    assert after[0] == 0.0 and before[0] > 0 and not np.array_equal(before, after)
