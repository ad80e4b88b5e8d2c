"""Issue 9: a schedule that does not fit the run is said in words under the preview; "Fit to run" fits it."""

from __future__ import annotations

from PySide6.QtCore import Qt

from lrstudio.core.config import DatasetConfig, RunConfig, starter_config
from lrstudio.core.schedules.fit import schedule_fit
from lrstudio.gui.configure.panel import ConfigPanel


def _warning(window) -> str:
    window.preview.flush()
    label = window.preview.fit_label
    return label.text() if label.isVisibleTo(window) else ""


def test_switching_the_starter_to_the_cnn_warns_and_fit_to_run_fits(qtbot, window):
    panel = window.config_panel
    panel.set_config(starter_config())
    assert _warning(window) == ""
    assert not window.preview.fit_button.isVisibleTo(window)
    panel.model_form.field("model").setCurrentText("cnn")  # digits: 45 steps an epoch × 30 = 1,350 steps
    assert panel.is_valid(), panel.errors()
    text = _warning(window)
    assert "schedule ends at step 420 of 1,350" in text and "LR is 0 afterwards" in text
    assert window.preview.fit_label.property("role") == "warning"
    button = window.preview.fit_button
    assert button.isVisibleTo(window) and button.isEnabled() and button.text() == "Fit to run"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    cfg = panel.config()
    assert cfg.schedule["name"] == "linear_warmup" and cfg.schedule["params"]["warmup_steps"] == 40
    assert cfg.schedule["params"]["inner"]["params"]["T_max"] == 1350 - 40
    assert schedule_fit(cfg.schedule, 1350).warnings == ()
    assert panel.is_valid()
    assert _warning(window) == "" and not button.isVisibleTo(window)
    # the preview draws the fitted curve: the LR reaches 0 only at the run's end
    lr = window.preview.current_lr
    assert len(lr) == 1350 and lr[-2] > 0


def test_one_cycle_longer_than_the_run_is_cut_off_and_fitted(qtbot, window):
    panel = window.config_panel
    cfg = starter_config()
    cfg.schedule = {"name": "one_cycle", "params": {"total_steps": 5000}}
    panel.set_config(cfg)  # 420 steps
    assert panel.is_valid(), panel.errors()
    assert "cut off at 8 % of its length" in _warning(window)
    window.preview.fit_button.click()
    assert panel.config().schedule["params"]["total_steps"] == 420
    assert _warning(window) == ""


def test_picking_a_schedule_starts_it_at_the_run_length(qtbot, window):
    panel = window.config_panel
    panel.set_config(starter_config())
    combo = panel.schedule_editor.combo
    combo.setCurrentIndex(combo.findData("cosine"))  # was: T_max=100, 4 cycles in a 420-step run
    assert panel.config().schedule["params"]["T_max"] == 420
    assert _warning(window) == ""
    combo.setCurrentIndex(combo.findData("one_cycle"))
    assert panel.config().schedule["params"]["total_steps"] == 420


def test_epoch_unit_fits_in_epochs(qtbot):
    cfg = RunConfig(dataset=DatasetConfig(name="synthetic", n_samples=100, val_fraction=0.2), batch_size=10,
                    epochs=12, schedule_unit="epoch", schedule={"name": "cosine", "params": {"T_max": 3}})
    panel = ConfigPanel(config=cfg)
    qtbot.addWidget(panel)
    assert panel.fit_warnings() and "epoch 3 of 12" in panel.fit_warnings()[0]
    assert panel.can_fit()
    panel.fit_schedule_to_run()
    assert panel.config().schedule["params"]["T_max"] == 12
    assert panel.fit_warnings() == () and not panel.can_fit()


def test_a_warning_that_fit_cannot_fix_has_no_button(qtbot, window):
    panel = window.config_panel
    cfg = starter_config()
    cfg.schedule = {"name": "step", "params": {"step_size": 1000}}
    panel.set_config(cfg)
    assert "never decays" in _warning(window)
    assert not window.preview.fit_button.isVisibleTo(window)


def test_no_fit_warning_while_the_run_length_is_unknown(qtbot, tmp_path):
    """A CSV file that cannot be read yet has no known length: no sentence about a guessed one."""
    cfg = RunConfig(dataset=DatasetConfig(name="csv", path=str(tmp_path / "not-yet.csv")), batch_size=10,
                    epochs=3, schedule={"name": "cosine", "params": {"T_max": 100}})
    panel = ConfigPanel(config=cfg)
    qtbot.addWidget(panel)
    assert panel.fit_warnings() == () and not panel.can_fit()
    csv = tmp_path / "not-yet.csv"
    csv.write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(50)), encoding="utf-8")
    panel.dataset_form.field("path").setText(str(csv) + " ")
    panel.dataset_form.field("path").setText(str(csv))  # 40 train rows / 10 × 3 epochs = 12 steps
    assert panel.fit_warnings() and "cut off" in panel.fit_warnings()[0]
