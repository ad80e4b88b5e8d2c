"""Configure panel: forms generated from the declarations, live validation at the field."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.params import Param
from lrstudio.core.schedules import SCHEDULES
from lrstudio.gui.configure.panel import ConfigPanel
from lrstudio.gui.configure.param_form import ParamForm
from lrstudio.gui.configure.schedule_editor import ScheduleListEditor


def _panel(qtbot, cfg: RunConfig | None = None) -> ConfigPanel:
    p = ConfigPanel(config=cfg)
    qtbot.addWidget(p)
    p.show()
    return p


def test_param_form_widget_per_kind(qtbot):
    decls = (
        Param("lr", "float", 0.01, "learning rate", low=0.0, low_open=True),
        Param("n", "int", 3, "count", low=1, high=10),
        Param("cap", "int", None, "optional cap", low=1, optional=True),
        Param("on", "bool", True, "switch"),
        Param("mode", "choice", "a", "mode", choices=("a", "b")),
        Param("ms", "int_list", [30, 60], "milestones"),
        Param("f", "expr", "0.95 ** epoch", "factor"),
    )
    form = ParamForm(decls, owner="test")
    qtbot.addWidget(form)
    kinds = {n: type(form.field(n)) for n in ("lr", "n", "cap", "on", "mode", "ms", "f")}
    assert kinds == {"lr": QLineEdit, "n": QSpinBox, "cap": QLineEdit, "on": QCheckBox, "mode": QComboBox,
                     "ms": QLineEdit, "f": QLineEdit}
    assert form.field("ms").text() == "30, 60"
    assert "Allowed: a number > 0" in form.field("lr").toolTip()
    form.field("lr").setText("3e-4")  # scientific notation is typeable
    form.field("ms").setText("10, 20, 40")
    form.field("cap").setText("")
    assert form.values() == {"lr": 3e-4, "n": 3, "cap": None, "on": True, "mode": "a", "ms": [10, 20, 40],
                             "f": "0.95 ** epoch"}
    assert form.is_valid()


def test_invalid_value_is_marked_at_the_field_and_fixed(qtbot):
    panel = _panel(qtbot)
    assert panel.is_valid()
    lr = panel.lr_form.field("lr")
    with qtbot.waitSignal(panel.validity_changed) as blocker:
        lr.clear()
        qtbot.keyClicks(lr, "-0.5")
    assert blocker.args == [False]
    label = panel.lr_form.error_label("lr")
    assert label.isVisible() and "Learning rate: expected a number in [1e-30, 1000000]" == label.text()
    assert lr.property("invalid") is True and label.text() in lr.toolTip()  # red border: style.qss
    with qtbot.waitSignal(panel.validity_changed) as blocker:
        lr.clear()
        qtbot.keyClicks(lr, "1e-3")
    assert blocker.args == [True]
    assert not label.isVisible() and lr.property("invalid") is False
    assert panel.config().lr == 1e-3


def test_schedule_form_follows_the_declarations(qtbot):
    panel = _panel(qtbot)
    ed = panel.schedule_editor
    ed.set_schedule_name("cosine")
    names = [p.name for p in SCHEDULES["cosine"].params]
    assert [ed.form.field(n).objectName() for n in names] == [f"param_{n}" for n in names]
    assert SCHEDULES["cosine"].formula.strip().splitlines()[0].strip()[:20] in ed.combo.toolTip()
    ed.form.field("T_max").setValue(50)
    assert panel.config().schedule == {"name": "cosine", "params": {**panel.config().schedule["params"],
                                                                     "T_max": 50}}
    assert panel.config().schedule["params"]["T_max"] == 50


def test_cross_field_schedule_error_is_shown_at_its_field(qtbot):
    panel = _panel(qtbot)
    ed = panel.schedule_editor
    ed.set_schedule_name("multistep")
    ms = ed.form.field("milestones")
    ms.clear()
    qtbot.keyClicks(ms, "80, 30")  # not increasing
    assert not panel.is_valid()
    assert "milestones" in ed.form.error_label("milestones").text()
    ms.clear()
    qtbot.keyClicks(ms, "3, 6")
    assert panel.is_valid()


def test_warmup_longer_than_the_run_is_refused(qtbot):
    cfg = RunConfig(schedule={"name": "linear_warmup", "params": {"warmup_steps": 5}}, epochs=10)
    panel = _panel(qtbot, cfg)  # windsor, full batch: 10 steps
    assert panel.is_valid()
    warm = panel.schedule_editor.form.field("warmup_steps")
    warm.setValue(500)
    assert not panel.is_valid()
    assert "warmup_steps" in panel.schedule_editor.form.error_label("warmup_steps").text()
    panel.training_form.field("epochs").setValue(600)
    assert panel.is_valid()


def test_nested_schedules_round_trip(qtbot):
    warm = {"name": "linear_warmup", "params": {"warmup_steps": 20, "start_lr": 0.0,
                                                  "inner": {"name": "cosine", "params": {"T_max": 180}}}}
    cfg = RunConfig(name="nested", model="linear", dataset=DatasetConfig(name="synthetic", n_samples=100),
                    optimizer={"name": "adam", "params": {"beta1": 0.8, "beta2": 0.99}}, lr=3e-3, schedule=warm,
                    epochs=200, batch_size=0, seed=7, clip_mode="norm", clip_value=2.0, weight_decay=1e-4)
    panel = _panel(qtbot, cfg)
    assert panel.is_valid(), panel.errors()
    assert panel.config().validated() == cfg.validated()
    seq = {"name": "sequential", "params": {"schedules": [
        {"name": "linear", "params": {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 10}},
        {"name": "exponential", "params": {"gamma": 0.9}}], "milestones": [10]}}
    panel.set_config(RunConfig(schedule=seq, epochs=50))
    assert panel.is_valid(), panel.errors()
    lst = panel.schedule_editor.form.field("schedules")
    assert isinstance(lst, ScheduleListEditor) and len(lst.editors()) == 2
    assert panel.config().validated().schedule == RunConfig(schedule=seq).validated().schedule
    lst.add_button.click()  # a third part needs a second milestone
    assert not panel.is_valid()
    panel.schedule_editor.form.field("milestones").setText("10, 30")
    assert panel.is_valid(), panel.errors()


def test_data_options_follow_the_data_set_and_model(qtbot):
    panel = _panel(qtbot)
    ds = panel.dataset_form
    ds.field("name").setCurrentText("synthetic")
    assert ds.is_field_visible("n_samples") and ds.is_field_visible("unscaled")
    assert not ds.is_field_visible("path") and not ds.is_field_visible("variant")
    ds.field("name").setCurrentText("csv")
    assert ds.is_field_visible("path") and not ds.is_field_visible("n_samples")
    assert not panel.is_valid()  # csv needs a path
    assert "path" in ds.error_label("path").text()
    panel.model_form.field("model").setCurrentText("cnn")
    combo = ds.field("name")
    assert [combo.itemText(i) for i in range(combo.count())] == ["digits", "mnist"]
    assert combo.currentText() == "digits" and panel.is_valid()


def test_clip_value_only_editable_when_clipping(qtbot):
    panel = _panel(qtbot)
    assert not panel.training_form.field("clip_value").isEnabled()
    panel.training_form.field("clip_mode").setCurrentText("norm")
    assert panel.training_form.field("clip_value").isEnabled()


def test_optimizer_form_is_rebuilt(qtbot):
    panel = _panel(qtbot)
    combo = panel.optimizer_combo
    combo.setCurrentIndex(combo.findData("adam"))
    beta2 = panel.optimizer_form.field("beta2")
    beta2.setText("1.5")
    assert not panel.is_valid()
    assert "beta2" in panel.errors()
    beta2.setText("0.98")
    assert panel.is_valid()
    assert panel.config().optimizer["params"]["beta2"] == 0.98


def test_preview_args_use_the_run_length(qtbot):
    cfg = RunConfig(dataset=DatasetConfig(name="synthetic", n_samples=100, val_fraction=0.2), batch_size=10,
                    epochs=3, schedule={"name": "cosine", "params": {}})
    panel = _panel(qtbot, cfg)
    spec, lr, steps, _note = panel.preview_args()
    assert spec["name"] == "cosine" and lr == 0.01 and steps == 24  # 80 rows / 10 × 3 epochs
    panel.training_form.field("max_steps").setText("10")
    assert panel.preview_args()[2] == 10
    panel.lr_form.field("schedule_unit").setCurrentText("epoch")
    assert panel.preview_args()[2] == 2
    assert "steps" in panel.run_length_label.text()


def test_a_new_panel_starts_from_the_starter_config(qtbot):
    from lrstudio.core.config import starter_config

    panel = ConfigPanel()
    qtbot.addWidget(panel)
    assert panel.config().validated() == starter_config().validated()


def test_a_schedule_problem_is_said_once_where_the_schedule_is(qtbot):
    from lrstudio.core.config import starter_config

    cfg = starter_config()
    cfg.schedule = {"name": "lambda", "params": {"lr_lambda": "1 - epoch / 100"}}  # < 0 from step 101 of 420
    panel = _panel(qtbot, cfg)
    assert not panel.is_valid()
    messages = list(panel.errors().values())
    assert len(messages) == 1 and "step 101" in messages[0], messages
    assert panel.schedule_editor.error_label.isVisibleTo(panel)
    assert not panel.message_label.isVisibleTo(panel)
