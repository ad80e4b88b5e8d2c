"""Issue 9: a typed run name names one run; it is cleared when the run starts and never persisted."""

from __future__ import annotations

from gui_configs import tiny_config

from lrstudio.core.config import RunConfig
from lrstudio.gui.main_window import MainWindow
from lrstudio.gui.settings import Preferences


def _type(qtbot, edit, text: str) -> None:
    edit.selectAll()
    qtbot.keyClicks(edit, text)


def test_a_typed_name_names_one_run(qtbot, window, store):
    panel = window.config_panel
    panel.set_config(tiny_config(name=""))
    name = panel.name_form.field("name")
    _type(qtbot, name, "my run")
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        first = window.start_training()
    assert first is not None
    assert name.text() == "" and panel.config().name == ""
    assert panel.is_valid()
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        second = window.start_training()
    assert store.get_run(first).name == "my run"
    assert not store.get_run(second).name.startswith("my run")


def test_a_typed_name_is_not_restored_at_the_next_launch(qtbot, store, db_url, qsettings):
    first = MainWindow(store, db_url, settings=qsettings)
    qtbot.addWidget(first)
    panel = first.config_panel
    panel.set_config(tiny_config(name=""))
    _type(qtbot, panel.name_form.field("name"), "only this run")
    _type(qtbot, panel.lr_form.field("lr"), "0.3")
    first.save_preferences()
    saved = RunConfig.from_json(Preferences.load(qsettings).last_config_json)
    assert saved.name == "" and saved.lr == 0.3

    second = MainWindow(store, db_url, settings=qsettings)
    qtbot.addWidget(second)
    assert second.config_panel.config().lr == 0.3  # the rest of the form is restored
    assert second.config_panel.name_form.field("name").text() == ""


def test_a_name_saved_by_an_older_version_is_not_restored(qtbot, store, db_url, qsettings):
    qsettings.setValue("preferences/last_config_json", tiny_config(name="stale name", lr=0.2).to_json(indent=None))
    qsettings.sync()
    w = MainWindow(store, db_url, settings=qsettings)
    qtbot.addWidget(w)
    assert w.config_panel.config().lr == 0.2
    assert w.config_panel.config().name == ""
