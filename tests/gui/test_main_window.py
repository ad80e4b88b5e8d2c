"""Acceptance tests against the real main window (offscreen): configure, train, stop, compare, export."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from gui_configs import long_config, tiny_config
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QInputDialog

from lrstudio.core.config import RunConfig
from lrstudio.core.events import StepLogged
from lrstudio.gui.controller import live_threads
from lrstudio.gui.main_window import MainWindow


def _status_in_table(window: MainWindow, run_id: int) -> str:
    model = window.runs_panel.model
    return model.run_at(model.row_of(run_id)).status


def _set_spin(qtbot, spin, value: int) -> None:
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin, str(value))
    assert spin.value() == value


def _set_text(qtbot, edit, text: str) -> None:
    edit.selectAll()
    qtbot.keyClicks(edit, text)


def _train(qtbot, window: MainWindow, cfg: RunConfig) -> int:
    window.config_panel.set_config(cfg)
    assert window.start_button.isEnabled(), window.config_panel.errors()
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        run_id = window.start_training()
    return run_id


def test_fill_form_start_and_finish(qtbot, window, store):
    panel = window.config_panel
    _set_text(qtbot, panel.name_form.field("name"), "acceptance run")
    panel.model_form.field("model").setCurrentText("linear")
    panel.dataset_form.field("name").setCurrentText("synthetic")
    _set_spin(qtbot, panel.dataset_form.field("n_samples"), 80)
    opt = panel.optimizer_combo
    opt.setCurrentIndex(opt.findData("momentum"))
    _set_text(qtbot, panel.lr_form.field("lr"), "5e-2")
    sched = panel.schedule_editor.combo
    sched.setCurrentIndex(sched.findData("cosine"))
    _set_spin(qtbot, panel.training_form.field("epochs"), 5)
    _set_spin(qtbot, panel.training_form.field("batch_size"), 16)
    assert panel.is_valid(), panel.errors()

    seen_running: list[str] = []
    window.controller.started.connect(lambda rid: seen_running.append(_status_in_table(window, rid)))
    with qtbot.waitSignal(window.controller.finished, timeout=60_000) as blocker:
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    summary = blocker.args[0]
    run_id = window.controller.run_id
    assert summary.status == "completed" and summary.steps == 20  # 64 train rows / 16 × 5
    assert seen_running == ["running"]  # in the table at once, as running
    info = store.get_run(run_id)
    assert info.name == "acceptance run" and info.status == "completed"
    assert info.config().optimizer["name"] == "momentum" and info.config().schedule["name"] == "cosine"
    assert _status_in_table(window, run_id) == "completed"
    series = store.load_series(run_id)
    assert len(series["train/loss"]) == 20 and len(series["lr"]) == 20
    # Default validation cadence (trainer/loop.py, issue 11): the first epoch, then at most every
    # 200 steps, and the last epoch.
    assert list(series["val/loss"].step) == [4, 20]
    # both plots have the data, as drawn
    window.live_plots.redraw_now()
    x, y = window.live_plots.curves["train/loss"].getOriginalDataset()
    assert np.array_equal(x, series["train/loss"].step)
    assert np.allclose(y, series["train/loss"].value)
    x, y = window.live_plots.curves["lr"].getOriginalDataset()
    assert np.allclose(y, series["lr"].value)
    assert len(window.live_plots.plan_curve.getOriginalDataset()[0]) == 20
    assert window.progress.value() == 100 and "Step 20 / 20" in window.step_label.text()
    assert not window.stop_button.isEnabled() and window.start_button.isEnabled()


def test_stop_mid_run_saves_the_points(qtbot, window, store):
    window.config_panel.set_config(long_config())
    steps: list[int] = []
    window.controller.progressed.connect(
        lambda batch: steps.extend(e.step for e in batch if isinstance(e, StepLogged)))
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Start
    assert window.controller.is_running() and window.start_button.text() == "Queue"  # issue 13: Start queues
    qtbot.waitUntil(lambda: len(steps) > 50, timeout=60_000)
    assert _status_in_table(window, window.controller.run_id) == "running"
    with qtbot.waitSignal(window.controller.finished, timeout=30_000) as blocker:
        qtbot.keyClick(window, Qt.Key.Key_Escape)  # Stop
    summary = blocker.args[0]
    run_id = window.controller.run_id
    assert summary.status == "stopped" and summary.steps == len(steps)
    assert store.get_run(run_id).status == "stopped"
    assert _status_in_table(window, run_id) == "stopped"
    assert list(store.load_series(run_id, ["train/loss"])["train/loss"].step) == steps
    assert live_threads() == []


def test_close_during_a_run_stops_and_waits(qtbot, window, db_url):
    window.config_panel.set_config(long_config())
    run_id = window.start_training()
    qtbot.waitUntil(lambda: window.live_plots.series_length("train/loss") > 10, timeout=60_000)
    assert live_threads()
    window.close()
    assert live_threads() == [] and not window.controller.is_running()
    from lrstudio.storage import open_store

    with open_store(db_url) as other:
        info = other.get_run(run_id)
        assert info.status == "stopped"
        assert len(other.load_series(run_id, ["train/loss"])["train/loss"]) == info.steps > 0


def test_invalid_parameter_disables_start_until_fixed(qtbot, window):
    panel = window.config_panel
    lr = panel.lr_form.field("lr")
    _set_text(qtbot, lr, "fast")
    label = panel.lr_form.error_label("lr")
    assert label.isVisible() and label.text() == "Learning rate: expected a number in [1e-30, 1000000]"
    assert lr.property("invalid") is True and label.text() in lr.toolTip()
    assert not window.start_button.isEnabled() and not window.action_start.isEnabled()
    assert window.start_hint.isVisible() and "Learning rate" in window.start_hint.text()
    assert window.start_training() is None and window.store.list_runs() == []
    _set_text(qtbot, lr, "0.02")
    assert not label.isVisible() and lr.property("invalid") is False
    assert window.start_button.isEnabled() and window.action_start.isEnabled()
    assert not window.start_hint.isVisible()


def test_two_runs_that_differ_in_lr_and_schedule_are_compared(qtbot, window, store):
    a = _train(qtbot, window, tiny_config(name="a", lr=0.05))
    b = _train(qtbot, window, tiny_config(name="b", lr=0.02, schedule={"name": "step", "params": {"step_size": 5}}))
    window.runs_panel.select_runs([a, b])
    assert window.compare.run_ids() == [b, a] or window.compare.run_ids() == [a, b]
    for run_id in (a, b):
        items = window.compare.curve_items(run_id)
        n = len(store.load_series(run_id, ["train/loss"])["train/loss"])
        assert n > 0
        assert len(items["loss_raw"].getOriginalDataset()[0]) == n
        assert len(items["lr_raw"].getOriginalDataset()[0]) == n
    # Independently of the compare code: flatten both stored configs and diff them.
    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            if isinstance(v, dict):
                out.update(flat(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = v
        return out
    fa, fb = (flat(store.get_run(i).config().to_dict()) for i in (a, b))
    expected = {k for k in set(fa) | set(fb) if fa.get(k, object()) != fb.get(k, object())} - {"name"}
    assert expected >= {"lr", "schedule.name"}
    assert set(window.compare.settings_rows()) == expected
    assert window.tabs.currentWidget() is window.compare_page


def test_export_history_csv_matches_the_database(qtbot, window, store, tmp_path, monkeypatch):
    from lrstudio.gui.dialogs import export

    run_id = _train(qtbot, window, tiny_config())
    window.runs_panel.select_runs([run_id])
    dest = tmp_path / "history.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(dest), export.LONG_FILTER)))
    window.action_export_history.trigger()
    with dest.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    series = store.load_series(run_id)
    assert len(rows) == sum(len(s) for s in series.values())
    for key, s in series.items():
        got = [r for r in rows if r["metric"] == key]
        assert [int(r["step"]) for r in got] == list(s.step)
        assert np.allclose([float(r["value"]) for r in got], s.value, equal_nan=True)
        assert {int(r["run_id"]) for r in got} == {run_id}


def test_export_plot_png(qtbot, window, tmp_path, monkeypatch):
    from lrstudio.gui.dialogs import export

    _train(qtbot, window, tiny_config())
    dest = tmp_path / "loss.png"
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: ("Loss", True)))
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(dest), export.PNG_FILTER)))
    window.action_export_plot.trigger()
    assert dest.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = QImage(str(dest))
    assert img.width() > 200 and img.height() > 100


def test_config_json_save_load_and_preferences(qtbot, window, store, db_url, qsettings, tmp_path):
    cfg = tiny_config(name="saved", lr=0.003, schedule={"name": "cosine", "params": {"T_max": 20}})
    window.config_panel.set_config(cfg)
    path = tmp_path / "cfg.json"
    assert window.save_config(path)
    assert json.loads(path.read_text())["lr"] == 0.003
    window.config_panel.set_config(RunConfig())
    assert window.load_config(path)
    assert window.config_panel.config().validated() == cfg.validated()
    window.live_plots.lr_log.setChecked(True)
    window.live_plots.set_smoothing(0.85)
    window.close()
    # A new window restores the last form, the toggles and the database.
    from lrstudio.storage import open_store

    store2 = open_store(db_url)
    w2 = MainWindow(store2, db_url, settings=qsettings)
    qtbot.addWidget(w2)
    # ... except the run name, which names one run only (issue 9)
    assert w2.config_panel.config().validated() == RunConfig(**{**cfg.__dict__, "name": ""}).validated()
    assert w2.live_plots.lr_log.isChecked()
    assert w2.live_plots.smoothing == 0.85
    assert w2.prefs.last_database == db_url
    w2.close()


def test_open_database_shows_the_path_and_refuses_garbage(qtbot, window, tmp_path, no_dialogs):
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_text("this is not a database\n" * 100)
    old = window.store
    assert not window.open_database(f"sqlite:///{bad}")
    assert window.store is old and no_dialogs and "Cannot open" in no_dialogs[0]
    good = tmp_path / "other.sqlite"
    assert window.open_database(f"sqlite:///{good}")
    assert str(good) in window.windowTitle()
    assert window.runs_panel.store() is window.store


def test_torch_is_not_imported_before_the_window_shows(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from PySide6.QtCore import QSettings, QTimer
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        def check():
            shown = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w.objectName() == "MainWindow"]
            import gc
            print("SHOWN", len(shown), "TORCH", "torch" in sys.modules, "AUTOGC", gc.isenabled(), flush=True)
            for w in shown:
                w.close()
            app.quit()
        QTimer.singleShot(0, check)
        from lrstudio.gui.app import main
        settings = QSettings({str(tmp_path / 's.ini')!r}, QSettings.Format.IniFormat)
        sys.exit(main({f"sqlite:///{tmp_path / 'start.sqlite'}"!r}, settings=settings))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert "SHOWN 1 TORCH False" in out.stdout, out.stdout + out.stderr
    # the app collects garbage in the GUI thread only (lrstudio/gui/gc_thread.py)
    assert "AUTOGC False" in out.stdout, out.stdout


def test_the_window_module_imports_no_plotting_library():
    """pyqtgraph (and the compare view, ~180 ms of imports) load after the window shows
    (``deferred_plots``, the lazily built Compare tab): bench/bench_gui.py's start-up time."""
    code = ("import sys; import lrstudio.gui.app, lrstudio.gui.main_window; "
            "print(sorted(m for m in ('pyqtgraph', 'lrstudio.gui.compare.widget', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("kind", ["user", "bug"])
def test_error_dialog_text(qapp, kind):
    from lrstudio.core.errors import LrstudioError
    from lrstudio.gui.dialogs.errors import build_error_box

    try:
        if kind == "user":
            raise LrstudioError("the database was written by a newer lrstudio; update lrstudio")
        raise ZeroDivisionError("division by zero")
    except Exception as exc:
        box = build_error_box(None, exc)
    if kind == "user":
        assert box.text() == "the database was written by a newer lrstudio; update lrstudio"
        assert box.detailedText() == ""
    else:
        assert "Something went wrong" in box.text() and "Traceback" not in box.text()
        assert "Traceback" in box.detailedText() and "ZeroDivisionError" in box.detailedText()
    box.deleteLater()


def test_start_up_refuses_a_bad_database_in_plain_words(qapp, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from lrstudio.gui.app import open_store_interactive

    bad = tmp_path / "garbage.sqlite"
    bad.write_bytes(b"not sqlite at all" * 100)
    shown: list[str] = []

    def fake_exec(box):
        shown.append(box.text())
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    assert open_store_interactive(f"sqlite:///{bad}") is None  # the user chose Quit
    assert len(shown) == 1 and str(bad) in shown[0]
    assert "Traceback" not in shown[0]


def test_start_up_offers_the_recent_databases_of_the_window_s_settings(qapp, tmp_path, monkeypatch, qsettings):
    from PySide6.QtWidgets import QMessageBox

    import lrstudio.gui.database as database
    from lrstudio.gui.app import open_store_interactive
    from lrstudio.gui.settings import Preferences

    prefs = Preferences.load(qsettings)
    prefs.recent_databases = [str(tmp_path / "mine.sqlite")]
    prefs.save(qsettings)
    bad = tmp_path / "garbage.sqlite"
    bad.write_bytes(b"not sqlite at all" * 100)

    def choose_other(box):  # the user clicks "Open another database…"
        box.clickedButton = lambda: next(b for b in box.buttons() if b.text().startswith("Open another"))
        return 0

    offered: list[list[str]] = []

    def ask(_parent, recent, _current):
        offered.append(list(recent))
        return ""  # then gives up

    monkeypatch.setattr(QMessageBox, "exec", choose_other)
    monkeypatch.setattr(database, "ask_database", ask)
    assert open_store_interactive(f"sqlite:///{bad}", None, qsettings) is None
    assert offered == [[str(tmp_path / "mine.sqlite")]]


def test_deferred_plots_are_built_on_the_first_event_loop_turn(qtbot, store, db_url, qsettings):
    w = MainWindow(store, db_url, settings=qsettings, deferred_plots=True)
    qtbot.addWidget(w)
    assert w.live_plots is None and w.preview is None
    assert not w.start_button.isEnabled()  # nothing to plot into yet
    assert w.current_plot_widgets() == []
    with qtbot.waitSignal(w.plots_ready, timeout=10_000):
        w.show()
    assert w.live_plots is not None and w.preview is not None
    assert w.start_button.isEnabled()
    w.preview.flush()
    assert len(w.preview.current_lr) > 0  # the preview shows the form's schedule
    w.close()
