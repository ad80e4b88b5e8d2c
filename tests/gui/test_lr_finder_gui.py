"""Find LR in the real main window (issue 12): the button and the Run menu open the dialog, the
test runs off the GUI thread with progress and Stop, the curve and every suggestion are shown,
and clicking one puts its LR into the form (and a cyclic schedule's max LR)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.lr_finder import SUGGESTERS
from lrstudio.gui.lr_finder.dialog import RULE_TITLES


def _cfg(**kw) -> RunConfig:
    base = dict(model="linear", dataset=DatasetConfig(name="windsor"), optimizer={"name": "sgd", "params": {}},
                lr=0.01, batch_size=32, epochs=2)
    base.update(kw)
    return RunConfig(**base)


def _open_by_button(window, qtbot):
    button = window.config_panel.find_lr_button
    assert button.isEnabled() and button.isVisible()
    # Beside the LR field: same row, to its right.
    lr_edit = window.config_panel.lr_form.field("lr")
    assert button.parentWidget() is lr_edit.parentWidget()
    assert abs(button.mapToGlobal(button.rect().center()).y() - lr_edit.mapToGlobal(lr_edit.rect().center()).y()) < 4
    assert button.mapToGlobal(button.rect().topLeft()).x() > lr_edit.mapToGlobal(lr_edit.rect().topLeft()).x()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dlg = window.lr_finder
    assert dlg is not None and dlg.isVisible()
    return dlg


def _finish(dlg, qtbot, timeout=60_000):
    with qtbot.waitSignal(dlg.test_finished, timeout=timeout) as blocker:
        pass
    return blocker.args[0]


def test_find_lr_shows_the_curve_and_suggestions_and_a_click_sets_the_lr_field(window, qtbot, store, no_dialogs):
    window.config_panel.set_config(_cfg())
    dlg = _open_by_button(window, qtbot)
    dlg.num_it_spin.setValue(60)
    dlg.seeds_spin.setValue(2)
    with qtbot.waitSignal(dlg.test_finished, timeout=60_000) as blocker:
        qtbot.mouseClick(dlg.run_button, Qt.MouseButton.LeftButton)
        assert dlg.is_running() and dlg.stop_button.isEnabled() and not dlg.run_button.isEnabled()
    summary = blocker.args[0]
    assert summary.status == "completed", no_dialogs
    assert not no_dialogs
    # The curve: each seed live, then the median, drawn against the LR on a log-x axis.
    assert set(dlg.seed_curves) == {0, 1}
    x, y = dlg.median_curve.getData()  # in log10 LR (the plot's log mode)
    lrs, median, _lo, _hi = dlg.live.band
    ok = np.isfinite(median)
    np.testing.assert_allclose(x, np.log10(lrs[ok]))
    np.testing.assert_allclose(y, median[ok])
    assert dlg.plot.getPlotItem().ctrl.logXCheck.isChecked()
    # The min-max band is drawn, in the same log-x coordinates (it was an empty path once).
    rect = dlg.band_fill.boundingRect()
    assert dlg.band_fill.scene() is not None and rect.width() > 0
    assert rect.left() == pytest.approx(x.min()) and rect.right() == pytest.approx(x.max())
    assert dlg.progress.value() == dlg.live.done > 0
    # Every suggestion: a table row, and a labelled marker where the rule made one.
    assert dlg.table.rowCount() == len(SUGGESTERS)
    names = [r.name for r in dlg.suggestions]
    assert names == list(SUGGESTERS)
    for r in dlg.suggestions:
        if r.lr is not None:
            assert r.name in dlg.use_buttons
            assert f"{r.lr:.3g}" in dlg.use_buttons[r.name].text()
            if r.loss is not None and math.isfinite(r.loss):
                text = dlg.marker_labels[r.name].textItem.toPlainText()
                # The rule's title as the table writes it (not its id, "lightning_steepest").
                assert RULE_TITLES[r.name].split(" (")[0] in text and "_" not in text
                assert text.endswith(f" {r.lr:.3g}")
    # The run is stored as an LR range test and listed in the runs table.
    runs = store.list_runs(kind="lr_range_test")
    assert [r.id for r in runs] == [dlg.runner.run_id]
    assert window.runs_panel.model.row_of(dlg.runner.run_id) >= 0
    # Clicking Use sets the LR field.
    valley = next(r for r in dlg.suggestions if r.name == "valley")
    qtbot.mouseClick(dlg.use_buttons["valley"], Qt.MouseButton.LeftButton)
    assert window.config_panel.config().lr == pytest.approx(valley.lr, rel=1e-6)
    assert "valley" in window.statusBar().currentMessage()
    # Clicking a marker on the plot does the same.
    other = next(r for r in dlg.suggestions if r.name != "valley" and r.name in dlg.markers)
    dlg.markers[other.name].sigPointsClicked.emit(dlg.markers[other.name], [], None)
    assert window.config_panel.config().lr == pytest.approx(other.lr, rel=1e-6)
    dlg.close()


@pytest.mark.parametrize("mode", ["process", "thread"])
def test_stop_works_and_the_run_ends_stopped(window, qtbot, store, no_dialogs, mode):
    import os

    window.controller.set_separate_process(mode == "process")  # the "train in a thread" preference
    window.config_panel.set_config(_cfg(model="cnn", dataset=DatasetConfig(name="digits"),
                                        optimizer={"name": "adam", "params": {}}))
    window.action_find_lr.trigger()  # the Run menu's action
    dlg = window.lr_finder
    assert dlg is not None and dlg.isVisible()
    assert window.action_find_lr in window.menuBar().actions()[1].menu().actions()
    dlg.num_it_spin.setValue(2000)
    dlg.seeds_spin.setValue(3)
    qtbot.mouseClick(dlg.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.live.done >= 5, timeout=60_000)
    with qtbot.waitSignal(dlg.test_finished, timeout=60_000) as blocker:
        qtbot.mouseClick(dlg.stop_button, Qt.MouseButton.LeftButton)
    summary = blocker.args[0]
    assert summary.status == "stopped"
    assert summary.steps < 2000 and not dlg.is_running() and dlg.run_button.isEnabled()
    info = store.get_run(dlg.runner.run_id)
    assert info.status == "stopped" and info.kind == "lr_range_test"
    assert (info.owner_pid == os.getpid()) == (mode == "thread")
    assert (dlg.runner.process is None) == (mode == "thread")
    assert "Stopped" in dlg.status.text()
    dlg.close()


def test_cyclic_schedule_gets_the_lr_as_its_max_lr(window, qtbot):
    cfg = _cfg(schedule={"name": "cyclic", "params": {"max_lr": 0.1, "step_size_up": 20}})
    window.config_panel.set_config(cfg)
    where = window.config_panel.use_lr(0.04)
    got = window.config_panel.config()
    assert got.schedule["params"]["max_lr"] == pytest.approx(0.04)
    assert got.lr == pytest.approx(0.01)
    assert "max LR" in where


def test_find_lr_is_refused_while_training_and_with_a_bad_form(window, qtbot):
    window.config_panel.lr_form.field("lr").setText("-1")
    window.config_panel.lr_form.field("lr").textEdited.emit("-1")
    qtbot.waitUntil(lambda: not window.config_panel.is_valid(), timeout=5000)
    assert not window.config_panel.find_lr_button.isEnabled() and not window.action_find_lr.isEnabled()
    assert window.find_lr() is None
    assert window.lr_finder is None


def test_closing_the_window_stops_a_range_test(window, qtbot, db_url):
    window.config_panel.set_config(_cfg(model="cnn", dataset=DatasetConfig(name="digits"),
                                        optimizer={"name": "adam", "params": {}}))
    dlg = window.find_lr()
    dlg.num_it_spin.setValue(5000)
    dlg.start_test()
    qtbot.waitUntil(lambda: dlg.live.done >= 3, timeout=60_000)
    thread = dlg.runner._thread
    window.close()
    assert not dlg.is_running() and thread.isFinished()
    from lrstudio.storage import open_store

    with open_store(db_url) as store:
        assert store.get_run(dlg.runner.run_id).status == "stopped"


def test_close_button_during_a_test_stops_it(window, qtbot):
    window.config_panel.set_config(_cfg(model="cnn", dataset=DatasetConfig(name="digits"),
                                        optimizer={"name": "adam", "params": {}}))
    dlg = window.find_lr()
    dlg.num_it_spin.setValue(5000)
    dlg.start_test()
    qtbot.waitUntil(lambda: dlg.live.done >= 3, timeout=60_000)
    dlg.reject()  # the Close button
    assert not dlg.isVisible() and not dlg.is_running()


# -- issue 12: "it runs in the worker like training": the training child process ----------------------


def test_find_lr_runs_in_the_training_child_which_is_kept_for_training(window, qtbot, store, no_dialogs):
    import os

    from lrstudio.services import process_run

    assert window.controller.uses_process()
    window.config_panel.set_config(_cfg())
    dlg = _open_by_button(window, qtbot)
    dlg.num_it_spin.setValue(30)
    dlg.seeds_spin.setValue(1)
    with qtbot.waitSignal(dlg.test_finished, timeout=120_000) as blocker:
        run_id = dlg.start_test()
        child = dlg.runner.process
        assert child is not None and child.pid != os.getpid()
    assert blocker.args[0].status == "completed", no_dialogs
    info = store.get_run(run_id)
    assert info.status == "completed" and info.kind == "lr_range_test"
    assert info.owner_pid == child.pid  # the child recorded the test itself
    assert len(dlg.suggestions) == len(SUGGESTERS) and dlg.live.done == 30
    # The warm child is given back and trains the next run.
    assert process_run.spare() is child and child.is_alive()
    with qtbot.waitSignal(window.controller.finished, timeout=120_000):
        window.controller.start(_cfg(epochs=1))
        assert window.controller.process is child
    dlg.close()


_NO_TORCH_SCRIPT = r"""
import json, sys
from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.gui.main_window import MainWindow
from lrstudio.storage import open_store
url = sys.argv[1]
store = open_store(url)
w = MainWindow(store, url, settings=QSettings(sys.argv[2], QSettings.Format.IniFormat))
w.show()
w.config_panel.set_config(RunConfig(model="linear", dataset=DatasetConfig(name="windsor"),
                                    optimizer={"name": "sgd", "params": {}}, lr=0.01, batch_size=32))
dlg = w.find_lr()
dlg.num_it_spin.setValue(20)
dlg.seeds_spin.setValue(1)
got = {}
loop = QEventLoop()
dlg.test_finished.connect(lambda s: (got.update(status=getattr(s, "status", None)), loop.quit()))
QTimer.singleShot(120_000, loop.quit)
dlg.start_test()
loop.exec()
got["torch"] = "torch" in sys.modules
got["suggestions"] = len(dlg.suggestions)
dlg.close()
w.close()
print(json.dumps(got))
"""


def test_the_first_find_lr_does_not_import_torch_in_the_gui_process(tmp_path):
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", _NO_TORCH_SCRIPT, f"sqlite:///{tmp_path / 'db.sqlite'}",
                          str(tmp_path / "settings.ini")], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"status": "completed", "torch": False, "suggestions": len(SUGGESTERS)}, out.stderr[-3000:]


def test_a_range_test_whose_child_is_killed_ends_failed_with_its_points(window, qtbot, store, no_dialogs):
    import os
    import signal

    window.config_panel.set_config(_cfg(model="cnn", dataset=DatasetConfig(name="digits"),
                                        optimizer={"name": "adam", "params": {}}))
    dlg = window.find_lr()
    dlg.num_it_spin.setValue(5000)
    dlg.seeds_spin.setValue(1)
    run_id = dlg.start_test()
    # The recorder commits in batches: wait for a committed point, as the training test does.
    qtbot.waitUntil(lambda: len(store.load_series(run_id, ["seed0/lr"]).get("seed0/lr", ())) > 0,
                    timeout=120_000)
    child = dlg.runner.process
    with qtbot.waitSignal(dlg.test_finished, timeout=60_000) as blocker:
        os.kill(child.pid, signal.SIGKILL)
    summary = blocker.args[0]
    assert summary.status == "failed" and "SIGKILL" in summary.error
    info = store.get_run(run_id)
    assert info.status == "failed" and "SIGKILL" in (info.error or "")
    assert len(store.load_series(run_id, ["seed0/lr"])["seed0/lr"]) > 0  # what the child committed is kept
    assert "failed" in dlg.status.text() and dlg.run_button.isEnabled()
    dlg.close()


CYCLIC = {"name": "cyclic", "params": {"max_lr": 0.1, "step_size_up": 20}}
OPTAX_PEAK = {"name": "optax_warmup_cosine_decay", "params": {"warmup_steps": 5, "decay_steps": 80, "peak_value": 0.5}}


@pytest.mark.parametrize(
    "schedule",
    [
        {"name": "one_cycle", "params": {"total_steps": 200}},
        {"name": "cyclic", "params": {"max_lr": 0.1, "step_size_up": 20}},
        {"name": "optax_warmup_cosine_decay", "params": {"warmup_steps": 10, "decay_steps": 200,
                                                          "peak_value": 0.5}},
        {"name": "optax_warmup_cosine_decay", "params": {"warmup_steps": 10, "decay_steps": 200}},
        {"name": "cosine", "params": {}},
        # Nested: the schedule that holds the peak sits inside a warm-up or a sequential.
        {"name": "linear_warmup", "params": {"warmup_steps": 10, "inner": CYCLIC}},
        {"name": "sequential", "params": {"schedules": [{"name": "constant", "params": {}},
                                                        {"name": "linear_warmup", "params": {
                                                            "warmup_steps": 10, "inner": CYCLIC}}],
                                          "milestones": [30]}},
        {"name": "sequential", "params": {"schedules": [{"name": "linear_warmup", "params": {"warmup_steps": 10}},
                                                        OPTAX_PEAK], "milestones": [10]}},
        {"name": "linear_warmup", "params": {"warmup_steps": 10, "inner": {"name": "one_cycle",
                                                                           "params": {"total_steps": 150}}}},
        {"name": "optax_sgdr", "params": {"cycles": [OPTAX_PEAK, {**OPTAX_PEAK, "params": {
            **OPTAX_PEAK["params"], "peak_value": 0.2}}]}},
    ],
    ids=lambda s: s["name"] + ("_peak" if "peak_value" in s["params"] else "") + "".join(
        f"_{c['name']}" for c in ([s["params"]["inner"]] if "inner" in s["params"] else [])
        + s["params"].get("schedules", []) + s["params"].get("cycles", [])[:1]),
)
def test_a_chosen_lr_becomes_the_schedules_peak(window, schedule):
    """Use puts the suggestion where the schedule takes its largest LR from: the LR field (one_cycle's
    max_lr is the run's LR), cyclic's max_lr, optax warm-up cosine's absolute peak_value."""
    from lrstudio.core.schedules.base import lr_curve

    window.config_panel.set_config(_cfg(schedule=schedule))
    window.config_panel.use_lr(0.04)
    cfg = window.config_panel.config()
    curve = lr_curve(cfg.schedule, 200, cfg.lr)
    assert float(np.max(curve)) == pytest.approx(0.04, rel=1e-9)
    assert window.config_panel.is_valid()


@pytest.mark.parametrize(("start", "end", "words"), [("1", "0.1", "greater than start_lr"),
                                                     ("abc", "10", "start_lr"), ("1e-7", "inf", "end_lr")])
def test_bad_options_in_the_dialog_are_said_and_store_nothing(window, qtbot, store, no_dialogs, start, end, words):
    window.config_panel.set_config(_cfg())
    dlg = window.find_lr()
    dlg.start_edit.setText(start)
    dlg.end_edit.setText(end)
    qtbot.mouseClick(dlg.run_button, Qt.MouseButton.LeftButton)
    assert len(no_dialogs) == 1 and words in no_dialogs[0] and "Traceback" not in no_dialogs[0]
    assert not dlg.is_running() and dlg.run_button.isEnabled() and dlg.runner.process is None
    assert store.list_runs() == []
    dlg.close()


def test_an_in_memory_database_runs_the_test_in_a_thread(qtbot, qapp):
    from lrstudio.gui.lr_finder.worker import RangeTestRunner
    from lrstudio.storage import open_store

    mem = open_store("sqlite://")
    try:
        runner = RangeTestRunner(mem, "sqlite://", use_process=True)
        assert not runner.use_process
        with qtbot.waitSignal(runner.finished, timeout=60_000) as blocker:
            from lrstudio.core.lr_finder import RangeTestOptions

            run_id = runner.start(_cfg(), RangeTestOptions(seeds=1, num_it=20))
            assert runner.process is None
        assert blocker.args[0].status == "completed" and mem.get_run(run_id).kind == "lr_range_test"
    finally:
        mem.close()


def test_marker_labels_use_the_rules_titles_and_do_not_overlap(window, qtbot, monkeypatch):
    # valley/minimum and steep/slide sat on one another, and the plot said "lightning_steepest"
    # where the table says "steepest (Lightning)".
    from lrstudio.core.events import RunSummary
    from lrstudio.core.lr_finder import RuleResult
    from lrstudio.gui.lr_finder import dialog as dialog_module
    from lrstudio.gui.lr_finder.dialog import LrFinderDialog

    rules = [("valley", 1.0e-2, 0.80), ("minimum", 1.1e-2, 0.79), ("steep", 3.0e-3, 1.10), ("slide", 3.2e-3, 1.09),
             ("torch_lr_finder_steepest", 2.0e-3, 1.2), ("lightning_steepest", 2.1e-3, 1.19)]
    results = tuple(RuleResult(n, lr, 5, loss, (lr,), 1.0, True) for n, lr, loss in rules)
    monkeypatch.setattr(dialog_module, "suggestions_of", lambda _s: results)
    dlg = LrFinderDialog(_cfg(), window.store, window.db_url, window)
    qtbot.addWidget(dlg)
    dlg.resize(900, 680)
    dlg.show()
    qtbot.waitExposed(dlg)
    pi = dlg.plot.getPlotItem()
    pi.setXRange(-4, 0, padding=0)
    pi.setYRange(0.5, 1.5, padding=0)
    dlg._draw_result(RunSummary(status="completed", steps=10, epochs=0, duration_s=1.0))
    qtbot.wait(50)
    labels = {n: dlg.marker_labels[n] for n, _lr, _l in rules}
    texts = {n: lab.textItem.toPlainText() for n, lab in labels.items()}
    assert texts["lightning_steepest"].startswith(RULE_TITLES["lightning_steepest"])
    assert "steepest (torch-lr-finder)" in texts["torch_lr_finder_steepest"]
    assert texts["valley"].startswith("valley ") and "_" not in "".join(texts.values())
    rects = [lab.sceneBoundingRect() for lab in {id(x): x for x in labels.values()}.values()]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not a.intersects(b), (a, b, texts)
    dlg.close()


@pytest.mark.parametrize(("schedule", "words"), [
    ({"name": "linear_warmup", "params": {"warmup_steps": 10, "inner": CYCLIC}},
     "Cyclic (CLR)'s max LR inside Linear warm-up + schedule: 0.04, and learning rate (the cycle's base LR) 0.01"),
    ({"name": "sequential", "params": {"schedules": [{"name": "linear_warmup", "params": {"warmup_steps": 10}},
                                                     OPTAX_PEAK], "milestones": [10]}},
     "learning rate and optax warm-up cosine decay's peak_value in schedule 2 of Sequential: 0.04"),
    ({"name": "linear_warmup", "params": {"warmup_steps": 10, "inner": {"name": "one_cycle", "params": {}}}},
     "learning rate 0.04 (the max LR of the One cycle inside Linear warm-up + schedule)"),
    ({"name": "cosine", "params": {}}, "learning rate 0.04"),
])
def test_use_says_which_schedule_got_the_suggestion_in_the_dialog_and_the_status_bar(window, qtbot, schedule,
                                                                                        words):
    window.config_panel.set_config(_cfg(schedule=schedule))
    dlg = window.find_lr()
    dlg.choose(0.04, "valley")
    assert words in dlg.status.text()
    assert words in window.statusBar().currentMessage()
    dlg.close()

