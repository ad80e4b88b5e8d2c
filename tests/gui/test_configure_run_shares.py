"""Issue 15: a length field of the schedule form takes a share of the run ("auto", "10%") as well as
steps; the preview draws the schedule resolved for the run and says what the shares became."""

from __future__ import annotations

import numpy as np

from lrstudio.core.config import starter_config
from lrstudio.core.params import Param
from lrstudio.core.schedules import lr_curve, resolve_lengths
from lrstudio.gui.configure.param_form import LengthSpinBox, ParamForm

T_MAX = Param("T_max", "int", 100, "Steps of the half cosine", low=1, high=10**9).as_schedule_param()
MS = Param("milestones", "int_list", [30, 80], "Steps", low=1, high=10**9).as_schedule_param()


def _type(qtbot, w, text):
    line = w.lineEdit() if isinstance(w, LengthSpinBox) else w
    line.selectAll()
    qtbot.keyClicks(line, text)


def test_a_length_field_takes_steps_auto_or_a_percentage(qtbot):
    form = ParamForm((T_MAX, MS), owner="schedule 'x'")
    qtbot.addWidget(form)
    field = form.field("T_max")
    assert isinstance(field, LengthSpinBox)
    for typed, value in [("auto", "auto"), ("10%", "10%"), ("250", 250), ("12.5 %", "12.5%")]:
        _type(qtbot, field, typed)
        assert form.is_valid(), form.errors()
        assert form.values()["T_max"] == value, typed
    _type(qtbot, field, "aut")  # on the way to "auto": not valid yet, no value taken
    assert form.values(strict=False)["T_max"] != "aut"
    _type(qtbot, form.field("milestones"), "25%, 75%")
    assert form.values()["milestones"] == ["25%", "75%"]
    # the spin box's API still holds steps
    field.setValue(40)
    assert form.values()["T_max"] == 40 and field.text() == "40"
    form.set_values({"T_max": "auto", "milestones": ["30%", 900]})
    assert field.text() == "auto" and form.values() == {"T_max": "auto", "milestones": ["30%", 900]}
    form.set_values({"T_max": 77})
    assert field.text() == "77" and form.values()["T_max"] == 77


def test_a_bad_share_is_marked_at_its_field(qtbot):
    form = ParamForm((T_MAX,), owner="schedule 'x'")
    qtbot.addWidget(form)
    _type(qtbot, form.field("T_max"), "2000%")
    assert not form.is_valid()
    assert "'auto'" in form.error_label("T_max").text()


def test_shares_in_the_main_window_preview_resolved_and_follow_the_epochs(qtbot, window):
    panel = window.config_panel
    cfg = starter_config()  # 14 steps an epoch, 30 epochs
    cfg.schedule = {"name": "linear_warmup", "params": {
        "warmup_steps": "10%", "inner": {"name": "cosine", "params": {"T_max": "auto", "after_end": "hold"}}}}
    panel.set_config(cfg)
    assert panel.is_valid(), panel.errors()
    assert panel.config().schedule["params"]["warmup_steps"] == "10%"  # kept as a share
    for epochs, total in [(30, 420), (60, 840)]:
        panel.training_form.field("epochs").setValue(epochs)
        window.preview.flush()
        lr = np.asarray(window.preview.current_lr)
        assert len(lr) == total
        np.testing.assert_allclose(lr, lr_curve(resolve_lengths(cfg.schedule, total), total, cfg.lr), rtol=1e-12)
        text = window.preview.info_label.text()
        assert f"warmup_steps 10% = {round(total / 10)}" in text, text
        assert f"inner.T_max auto = {total - round(total / 10)}" in text, text
        assert window.preview.fit_label.text() == "" or not window.preview.fit_label.isVisibleTo(window)


def test_copied_pytorch_code_is_written_for_the_previewed_run(qtbot, window):
    panel = window.config_panel
    cfg = starter_config()
    cfg.schedule = {"name": "cosine", "params": {"T_max": "auto"}}
    panel.set_config(cfg)
    code = window.preview.copy_pytorch_code()
    assert code is not None and "T_max=420" in code


def test_the_settings_diff_shows_shares_resolved_for_each_run(qtbot):
    from lrstudio.gui.compare.tables import RunColumn, SettingsPage

    page = SettingsPage()
    qtbot.addWidget(page)
    a, b = starter_config(), starter_config()
    for cfg, epochs in ((a, 30), (b, 60)):
        cfg.epochs = epochs
        cfg.schedule = {"name": "cosine", "params": {"T_max": "auto", "warmup_steps": "10%"}}
    from PySide6.QtGui import QColor

    cols = [RunColumn(run_id=i, label=f"run {i}", name=f"run {i}", color=QColor("#1f77b4")) for i in (1, 2)]
    page.fill(cols, [a.to_dict(), b.to_dict()])
    rows = {page.table.verticalHeaderItem(r).text(): r for r in range(page.table.rowCount())}
    r = rows["schedule.params.T_max"]
    assert [page.table.item(r, c).text() for c in (0, 1)] == ["auto → 420", "auto → 840"]
    r = rows["schedule.params.warmup_steps"]
    assert [page.table.item(r, c).text() for c in (0, 1)] == ["10% → 42", "10% → 84"]


def test_fit_to_run_keeps_the_shares_of_the_form(qtbot, window):
    """"Fit to run" in the real window: a warm-up typed as 10 % stays "10%" in the form and the
    config; the cosine's T_max typed as 50 % (ending at half the run) becomes "auto", so the
    fitted schedule still fits after the epochs change."""
    from PySide6.QtCore import Qt

    panel = window.config_panel
    cfg = starter_config()
    cfg.schedule = {"name": "linear_warmup", "params": {
        "warmup_steps": "10%", "inner": {"name": "cosine", "params": {"T_max": "50%", "after_end": "hold"}}}}
    panel.set_config(cfg)
    window.preview.flush()
    button = window.preview.fit_button
    assert button.isVisibleTo(window), window.preview.fit_label.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    window.preview.flush()
    got = panel.config().schedule
    assert got["params"]["warmup_steps"] == "10%"
    assert got["params"]["inner"]["params"]["T_max"] == "auto"
    assert not button.isVisibleTo(window)
    panel.training_form.field("epochs").setValue(60)
    window.preview.flush()
    assert not window.preview.fit_row.isVisibleTo(window)
    assert "inner.T_max auto = 756" in window.preview.info_label.text()
