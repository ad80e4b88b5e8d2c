"""Issue 9: the form refuses a config it cannot show; no run row for a config that fails validation."""

from __future__ import annotations

import json

import pytest
from gui_configs import tiny_config
from sqlalchemy import text

from lrstudio.core.config import RunConfig
from lrstudio.gui.configure.panel import ConfigPanel


def _unknown_model_config() -> RunConfig:
    data = json.loads(tiny_config(name="from the future").to_json())
    data["model"] = "mlp"
    return RunConfig.from_dict(data)  # reads; validation is what refuses it


def test_the_panel_refuses_an_unknown_model_and_keeps_the_form(qtbot):
    panel = ConfigPanel(config=tiny_config(lr=0.07))
    qtbot.addWidget(panel)
    before = panel.config()
    with pytest.raises(Exception, match="mlp") as info:
        panel.set_config(_unknown_model_config())
    from lrstudio.core.errors import LrstudioError

    assert isinstance(info.value, LrstudioError)
    assert panel.config() == before and panel.is_valid()


def test_duplicate_config_with_an_unknown_model_says_so_and_keeps_the_form(qtbot, window, no_dialogs):
    window.config_panel.set_config(tiny_config(lr=0.07))
    before = window.config_panel.config()
    window.runs_panel.duplicate_requested.emit(_unknown_model_config())
    assert len(no_dialogs) == 1
    assert "mlp" in no_dialogs[0] and "linear" in no_dialogs[0]  # what is wrong and what is allowed
    assert "cannot be copied into the form" in no_dialogs[0]
    assert window.config_panel.config() == before


def test_duplicate_of_a_stored_run_with_an_unknown_model(qtbot, window, store, no_dialogs, monkeypatch):
    """End to end: a run whose stored config names an unknown model (written by hand or by a newer
    lrstudio). Whoever refuses it (the store or the form) says so, and the form is kept (the runs
    panel's error goes through the GUI's one error dialog, which no_dialogs records)."""
    run_id = store.create_run(tiny_config(name="stored"), status="completed")
    bad = json.loads(tiny_config(name="stored").to_json())
    bad["model"] = "mlp"
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE runs SET config_json = :c WHERE id = :i"), {"c": json.dumps(bad), "i": run_id})
    window.runs_panel.refresh()
    window.config_panel.set_config(tiny_config(lr=0.07))
    before = window.config_panel.config()
    # the row the user right-clicked (selecting it would also open Compare, which is not tested here)
    monkeypatch.setattr(window.runs_panel, "current_run_id", lambda: run_id)
    window.runs_panel.duplicate_current()
    assert len(no_dialogs) == 1 and "mlp" in no_dialogs[0]
    assert window.config_panel.config() == before


def test_loading_a_config_file_with_an_unknown_model_is_refused(qtbot, window, tmp_path, no_dialogs):
    path = tmp_path / "future.json"
    path.write_text(_unknown_model_config().to_json(), encoding="utf-8")
    window.config_panel.set_config(tiny_config(lr=0.07))
    before = window.config_panel.config()
    assert not window.load_config(path)
    assert len(no_dialogs) == 1 and "mlp" in no_dialogs[0] and "future.json" in no_dialogs[0]
    assert window.config_panel.config() == before


# -- no run row for a config that fails the checks that can run before data loads ------------------
NEGATIVE_LAMBDA = {"name": "lambda", "params": {"lr_lambda": "1 - epoch / 10"}}  # < 0 from step 11 of 24
LONG_WARMUP = {"name": "linear_warmup", "params": {"warmup_steps": 500}}  # the tiny run has 24 steps


def test_start_creates_no_run_for_a_lambda_that_turns_negative(qtbot, window, store, no_dialogs):
    window.config_panel.set_config(tiny_config(schedule=NEGATIVE_LAMBDA))
    before = len(store.list_runs())
    assert not window.config_panel.is_valid()
    assert not window.start_button.isEnabled()
    problem = " ".join(window.config_panel.errors().values())
    assert "negative" in problem or "< 0" in problem or ">= 0" in problem, problem
    assert window.start_training() is None
    assert len(store.list_runs()) == before and not window.controller.is_running()


@pytest.mark.parametrize("schedule", [NEGATIVE_LAMBDA, LONG_WARMUP], ids=["negative lambda", "long warm-up"])
def test_the_controller_creates_no_run_for_a_config_that_fails_validation(qtbot, window, store, schedule):
    """Whatever calls it (a script, a future button), the controller validates before the run row."""
    from lrstudio.core.errors import LrstudioError

    before = len(store.list_runs())
    with pytest.raises(LrstudioError):
        window.controller.start(tiny_config(schedule=schedule))
    assert len(store.list_runs()) == before and not window.controller.is_running()


def test_load_config_reads_like_the_cli(qtbot, window, tmp_path, no_dialogs):
    """A BOM is accepted; bytes that are not UTF-8 are named (offset and byte), not a codec error."""
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + tiny_config(lr=0.2).to_json().encode())
    assert window.load_config(bom) and window.config_panel.config().lr == 0.2
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"name": "caf\xe9"}')
    assert not window.load_config(latin)
    assert len(no_dialogs) == 1 and "not UTF-8 text (byte 0xe9 at offset 13)" in no_dialogs[0]
    assert window.config_panel.config().lr == 0.2
    assert not window.load_config(tmp_path / "missing.json")
    assert "does not exist" in no_dialogs[-1]
