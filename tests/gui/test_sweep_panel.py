"""The Sweeps tab (issue 13) in the real main window: a grid sweep of 1-epoch Windsor runs created
from the Configure form trains in worker processes; every trial is stored with its experiment; the
trial list, the parameter-against-metric view and ``lrstudio sweep show --json`` agree with the
stored summaries; "apply this config" fills the form; bad input stores nothing."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PySide6.QtCore import Qt

from lrstudio.cli import main
from lrstudio.core.compare import format_number
from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.smoothing import debiased_ema
from lrstudio.gui.sweeps.panel import LIVE_SMOOTHING

LRS = [0.003, 0.03, 0.3]


def _windsor(**kw) -> RunConfig:
    base = dict(model="linear", dataset=DatasetConfig(name="windsor"), optimizer={"name": "sgd", "params": {}},
                lr=0.01, epochs=1, batch_size=32, seed=0)
    base.update(kw)
    return RunConfig(**base)


def _open_panel(window, qtbot):
    window.config_panel.set_config(_windsor())
    window.tabs.setCurrentWidget(window.sweeps_page)
    qtbot.waitUntil(lambda: window.sweeps_page.built)
    return window.sweeps_page.panel


def test_grid_sweep_from_the_panel_stores_every_trial_and_the_views_agree(window, qtbot, store, db_url, capsys,
                                                                          monkeypatch):
    panel = _open_panel(window, qtbot)
    editor = panel.editor
    assert editor.paths() == ["lr"]  # the form's LR is offered first, log-uniform around it
    assert editor.space() == {"lr": {"log_uniform": [0.001, 0.1]}}
    editor.set_dimension("lr", {"choice": LRS})
    editor.set_method("grid", seeds=(0,), parallel=2)
    with qtbot.waitSignal(window.sweeps_page.controller.finished, timeout=180_000):
        qtbot.mouseClick(panel.create_button, Qt.MouseButton.LeftButton)
        assert window.sweeps_page.is_running() and not panel.create_button.isEnabled()
    eid = panel.experiment.id
    info = store.get_experiment(eid)
    assert info.status == "completed" and info.method == "grid"
    runs = sorted(store.list_trials(eid), key=lambda r: r.trial)
    assert [(r.trial, r.base_lr, r.status, r.experiment_id) for r in runs] == [
        (i, lr, "completed", eid) for i, lr in enumerate(LRS)]
    assert {r.config_dict["epochs"] for r in runs} == {1} and {r.config_dict["dataset"]["name"] for r in runs} == {
        "windsor"}
    assert {r.owner_pid for r in runs}.isdisjoint({os.getpid()})  # trained in worker processes
    # The trial list: every trial done, its metric the stored summary.
    panel.refresh()
    assert [r.status for r in panel.rows] == ["completed"] * 3
    col = {panel.table.horizontalHeaderItem(c).text(): c for c in range(panel.table.columnCount())}
    for i, r in enumerate(runs):
        assert panel.rows[i].mean == r.best_val_loss and panel.rows[i].run_ids == (r.id,)
        assert panel.table.item(i, col["Metric (mean)"]).text() == format_number(r.best_val_loss)
        assert panel.table.item(i, col["lr"]).text() == format_number(r.base_lr)
    assert panel.progress_bar.value() == 3 and panel.progress_bar.maximum() == 3
    assert "3 of 3 runs done" in panel.status_label.text()
    # The parameter-against-metric view: one point per trial (log x), the best one highlighted.
    panel.views.setCurrentIndex(1)
    pts = panel.metric_view.points
    assert pts.log_x and panel.metric_view.plot.getPlotItem().ctrl.logXCheck.isChecked()
    np.testing.assert_array_equal(pts.x, LRS)
    np.testing.assert_array_equal(pts.mean, [r.best_val_loss for r in runs])
    best = int(np.argmin([r.best_val_loss for r in runs]))
    assert pts.best == best
    bx, by = panel.metric_view.best_item.getData()
    np.testing.assert_allclose(bx, [np.log10(LRS[best])])
    assert by[0] == runs[best].best_val_loss
    # The CLI's show --json says the same.
    path = db_url.removeprefix("sqlite:///")
    assert main(["--db", path, "sweep", "show", str(eid), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {t["trial"]: t["mean"] for t in shown["trials"]} == {r.trial: r.mean for r in panel.rows}
    # Live curves: one per run, from the stored training loss.
    panel.views.setCurrentIndex(0)
    qtbot.waitUntil(lambda: not panel.live_loading() and len(panel.live.items[runs[0].id].getData()[0]) > 0)
    assert set(panel.live.items) == {r.id for r in runs}
    loss = store.load_series(runs[0].id, ["train/loss"])["train/loss"]
    smoothed = debiased_ema(loss.value, LIVE_SMOOTHING)  # the training loss smoothed as Compare does
    np.testing.assert_allclose(panel.live.items[runs[0].id].getData()[1], np.log10(smoothed), rtol=1e-12)
    # Live curves are drawn with the cosmetic 1-px pen: a wider pen stroked every noisy segment and
    # one repaint of two long curves stalled the GUI 0.5-1.9 s (bench/bench_sweep_gui.py).
    assert {item.opts["pen"].widthF() for item in panel.live.items.values()} == {1.0}
    # A refresh that finds nothing new rebuilds neither the trial list nor the results views.
    rebuilt = []
    monkeypatch.setattr(panel, "_fill_table", lambda: rebuilt.append(1))
    panel.refresh()
    panel.refresh()
    assert rebuilt == []
    monkeypatch.undo()
    # Apply this config: the trial's config is in the form.
    panel.select_trial(2)
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    cfg = window.config_panel.config()
    assert cfg.lr == LRS[2] and cfg.epochs == 1 and cfg.dataset.name == "windsor" and cfg.batch_size == 32


def test_bad_input_is_one_line_and_stores_nothing(window, qtbot, store):
    panel = _open_panel(window, qtbot)
    editor = panel.editor
    editor.set_dimension("lr", {"log_uniform": [0.0, 1.0]})
    assert panel.create_and_start() is None
    assert "0 < low < high" in panel.message.text() and panel.message.isVisibleTo(panel)
    editor.set_dimension("lr", {"choice": [0.1]})
    editor.seeds_edit.setText("0, x")
    assert panel.create_and_start() is None and "whole numbers separated by commas" in panel.message.text()
    editor.seeds_edit.setText("0")
    editor.set_method("random", trials=0)
    assert panel.create_and_start() is None and "number of trials" in panel.message.text()
    assert store.list_experiments() == [] and store.list_runs() == []
    assert not window.sweeps_page.is_running()


@pytest.mark.parametrize("method", ["random"])
def test_cancel_from_the_panel_stops_running_trials_and_resume_completes(window, qtbot, store, method):
    panel = _open_panel(window, qtbot)
    # Long enough that a trial still runs when Cancel is clicked (workers fork warm now: with 300
    # epochs the trial had once finished first and read 'completed').
    window.config_panel.set_config(_windsor(epochs=1500, batch_size=8))
    editor = panel.editor
    editor.set_dimension("lr", {"log_uniform": [1e-3, 1e-2]})
    editor.set_method(method, trials=3, seeds=(0,), parallel=1)
    eid = panel.create_and_start()
    assert eid is not None and panel.cancel_button.isEnabled()
    # The app's once-a-second database poll brings the running trial into the list (read in the
    # panel's background thread), with its live curve.
    qtbot.waitUntil(lambda: any(r.status == "running" for r in panel.rows), timeout=60_000)
    assert any(r.status == "queued" for r in panel.rows)
    running = next(r for r in panel.rows if r.status == "running").run_ids[0]
    def has_points():  # getData() gives (None, None) before the first points, arrays after
        x = panel.live.items[running].getData()[0] if running in panel.live.items else None
        return x is not None and len(x) > 0

    qtbot.waitUntil(has_points, timeout=30_000)
    with qtbot.waitSignal(window.sweeps_page.controller.finished, timeout=60_000):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert store.get_experiment(eid).status == "cancelled"
    assert [r.status for r in store.list_trials(eid)] == ["stopped"]
    panel.refresh()
    assert panel.resume_button.isEnabled()
    assert [r.status for r in panel.rows] == ["stopped", "queued", "queued"]
    # Resume runs the stopped trial again and the two that never started, with the same points.
    points = {r.trial: dict(r.params) for r in panel.rows}
    panel.editor.parallel_spin.setValue(2)
    with qtbot.waitSignal(window.sweeps_page.controller.finished, timeout=300_000) as blocker:
        qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0].status == "completed" and store.get_experiment(eid).status == "completed"
    panel.refresh()
    assert [r.status for r in panel.rows] == ["completed"] * 3 and {r.trial: dict(r.params) for r in panel.rows} == points
    runs = store.list_trials(eid)
    assert sorted(r.status for r in runs) == ["completed"] * 3 + ["stopped"]  # the stopped run is kept
    assert not panel.resume_button.isEnabled()


def test_optuna_sweep_with_two_seeds_from_the_panel_draws_the_seed_band(window, qtbot, store):
    panel = _open_panel(window, qtbot)
    editor = panel.editor
    editor.set_dimension("lr", {"log_uniform": [1e-3, 0.3]})
    editor.set_method("optuna", trials=2, seeds=(0, 1), parallel=2)
    with qtbot.waitSignal(window.sweeps_page.controller.finished, timeout=180_000) as blocker:
        eid = panel.create_and_start()
    assert blocker.args[0].status == "completed" and blocker.args[0].study_trials == 2
    info = store.get_experiment(eid)
    runs = store.list_trials(eid)
    assert info.method == "optuna" and len(runs) == 4 and {r.experiment_id for r in runs} == {eid}
    assert sorted((r.trial, r.config_dict["seed"]) for r in runs) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    panel.views.setCurrentIndex(1)
    panel.band_combo.setCurrentIndex(panel.band_combo.findData("minmax"))
    pts = panel.metric_view.points
    by_lr = {}
    for r in runs:
        by_lr.setdefault(r.base_lr, []).append(r.best_val_loss)
    lrs = sorted(by_lr)
    np.testing.assert_array_equal(pts.x, lrs)
    np.testing.assert_allclose(pts.mean, [np.mean(by_lr[x]) for x in lrs], rtol=1e-15)
    np.testing.assert_array_equal(pts.lo, [min(by_lr[x]) for x in lrs])
    np.testing.assert_array_equal(pts.hi, [max(by_lr[x]) for x in lrs])
    assert panel.metric_view.band_item is not None
    panel.views.setCurrentIndex(2)
    assert len(panel.parallel.lines) == 2 and "three or more" in panel.parallel_hint.text()


def test_closing_the_window_during_a_sweep_stops_its_trials(window, qtbot, store):
    from lrstudio.gui.controller import live_threads

    panel = _open_panel(window, qtbot)
    window.config_panel.set_config(_windsor(epochs=300, batch_size=8))
    panel.editor.set_dimension("lr", {"choice": [0.01, 0.02, 0.03]})
    panel.editor.set_method("grid", seeds=(0,), parallel=2)
    eid = panel.create_and_start()
    qtbot.waitUntil(lambda: any(r.status == "running" for r in store.list_trials(eid)), timeout=60_000)
    window.tabs.setCurrentWidget(window.train_page)  # hidden while it runs: shown again, it re-reads
    window.tabs.setCurrentWidget(window.sweeps_page)
    assert any(r.status == "running" for r in panel.rows)
    window.close()
    assert not window.sweeps_page.is_running() and live_threads() == []
    assert store.get_experiment(eid).status == "cancelled"
    assert {r.status for r in store.list_trials(eid)} == {"stopped"}  # running ones stopped, queued never ran


def test_an_in_memory_database_is_refused_with_a_reason(qtbot):
    from lrstudio.core.errors import LrstudioError
    from lrstudio.gui.sweeps.runner import SweepController

    with pytest.raises(LrstudioError, match="in-memory database"):
        SweepController("sqlite://").start(1, 2)


def test_random_sweep_from_the_panel_agrees_with_sweep_show_json(window, qtbot, store, db_url, capsys):
    panel = _open_panel(window, qtbot)
    panel.editor.add_parameter("optimizer.params.momentum", {"uniform": [0.0, 0.9]})
    panel.editor.set_method("random", trials=2, seeds=(0, 1), parallel=2)
    with qtbot.waitSignal(window.sweeps_page.controller.finished, timeout=180_000):
        eid = panel.create_and_start()
    runs = store.list_trials(eid)
    spec = store.get_experiment(eid).spec()
    assert len(runs) == 4 and {r.experiment_id for r in runs} == {eid} and {r.status for r in runs} == {"completed"}
    for r in runs:  # the stored configs are the spec's points, seeds applied
        point = spec.random_point(r.trial)
        assert r.config_dict["lr"] == point["lr"] and r.config_dict["seed"] in (0, 1)
        assert r.config_dict["optimizer"]["params"]["momentum"] == point["optimizer.params.momentum"]
    assert main(["--db", db_url.removeprefix("sqlite:///"), "sweep", "show", str(eid), "--json"]) == 0
    shown = {t["trial"]: t for t in json.loads(capsys.readouterr().out)["trials"]}
    panel.refresh()
    assert {r.trial: (r.mean, r.std, r.run_ids) for r in panel.rows} == {
        t: (d["mean"], d["std"], tuple(d["run_ids"])) for t, d in shown.items()}
    for row in panel.rows:
        vals = [next(r.best_val_loss for r in runs if r.id == i) for i in row.run_ids]
        assert row.mean == pytest.approx(np.mean(vals), rel=1e-15) and row.std == pytest.approx(np.std(vals), rel=1e-12)


def test_a_trial_with_a_pruned_seed_reads_not_ranked_in_the_trial_list(window, qtbot):
    # A pruned seed's partial metric is not averaged (core.sweep.summarise_trials): the cell says
    # why it is empty instead of a blank that reads like 'not finished yet'.
    from lrstudio.core.sweep import ExperimentSpec
    from lrstudio.gui.sweeps.space import TrialRow

    panel = _open_panel(window, qtbot)
    panel.spec = ExperimentSpec(base=_windsor(), space={"lr": [0.1, 0.01]}, method="grid").validated()
    panel.rows = [TrialRow(0, {"lr": 0.1}, "done", 1, 1, 0.5, 0.0, 0.5, 0.5, (1,)),
                  TrialRow(1, {"lr": 0.01}, "pruned", 1, 1, None, None, None, None, (2,)),
                  TrialRow(2, {"lr": 0.01}, "running", 0, 1, None, None, None, None, (3,))]
    panel._fill_table()
    col = {panel.table.horizontalHeaderItem(c).text(): c for c in range(panel.table.columnCount())}
    metric = col["Metric (mean)"]
    assert panel.table.horizontalHeaderItem(metric).toolTip() == "Mean of the seeds' best validation loss"
    assert panel.table.item(0, metric).text() == format_number(0.5)
    assert panel.table.item(1, metric).text() == "not ranked"
    assert "pruned" in panel.table.item(1, metric).toolTip()
    assert panel.table.item(2, metric).text() == ""  # still training: nothing to say yet


def test_an_incomplete_trial_shows_its_partial_mean_as_n_of_n_seeds_in_the_trial_list(window, qtbot):
    # A cancelled sweep: trial 2 completed 1 of its 3 seeds. Its one value is not the trial's
    # mean: the cell says so, and sorting by the metric does not put it among the ranked trials.
    from lrstudio.core.sweep import ExperimentSpec
    from lrstudio.gui.sweeps.space import TrialRow

    panel = _open_panel(window, qtbot)
    panel.spec = ExperimentSpec(base=_windsor(), space={"lr": [0.1, 0.01]}, method="grid",
                                seeds=(0, 1, 2)).validated()
    panel.rows = [TrialRow(0, {"lr": 0.1}, "completed", 3, 3, 0.5, 0.1, 0.4, 0.6, (1, 2, 3)),
                  TrialRow(1, {"lr": 0.01}, "stopped", 1, 3, None, None, None, None, (4, 5), partial_mean=0.25)]
    panel._fill_table()
    col = {panel.table.horizontalHeaderItem(c).text(): c for c in range(panel.table.columnCount())}
    cell = panel.table.item(1, col["Metric (mean)"])
    assert cell.text() == f"({format_number(0.25)}) 1 of 3 seeds"
    assert "incomplete" in cell.toolTip() and "not ranked" in cell.toolTip()
    assert cell.data(Qt.ItemDataRole.UserRole) is None  # no number to sort among the ranked trials
    assert panel.table.item(1, col["Seeds"]).text() == "1/3"


def test_the_space_table_offers_a_log_scale_integer_range(window, qtbot):
    # core.sweep takes {"int": [lo, hi], "log": true} (batch sizes, T_max); the editor had no way
    # to ask for it, and a stored log int range came back as a plain one.
    panel = _open_panel(window, qtbot)
    editor = panel.editor
    editor.add_parameter("batch_size", {"int": [8, 256], "log": True})
    r = editor.paths().index("batch_size")
    combo = editor.table.cellWidget(r, 1)
    assert combo.currentText() == "integer (log)"
    assert editor.space()["batch_size"] == {"int": [8, 256], "log": True}
    combo.setCurrentIndex(combo.findData("int"))  # the user picks the plain range
    assert editor.space()["batch_size"] == {"int": [8, 256]}
    combo.setCurrentIndex(combo.findText("integer (log)"))
    editor.set_method("random", trials=3)
    spec = editor.spec(_windsor())
    assert spec.dimensions()[-1].is_log and spec.space["batch_size"] == {"int": [8, 256], "log": True}


def test_opening_the_sweeps_tab_starts_the_workers_forkserver(window, qtbot, monkeypatch):
    # The forkserver imports torch and warms up (2-4 s) in its own process; started when the tab
    # opens, the first sweep's workers fork from it at once instead of waiting for it.
    import lrstudio.services.sweep as sweep_service

    calls = []
    monkeypatch.setattr(sweep_service, "start_forkserver", lambda: calls.append(1))
    assert not window.sweeps_page.built
    window.tabs.setCurrentWidget(window.sweeps_page)
    qtbot.waitUntil(lambda: window.sweeps_page.built)
    qtbot.waitUntil(lambda: calls == [1], timeout=2000)
    window.tabs.setCurrentIndex(0)
    window.tabs.setCurrentWidget(window.sweeps_page)
    qtbot.wait(50)
    assert calls == [1]  # once per window


def test_the_live_curves_title_fits_the_plot_at_1366x768(window, qtbot):
    # The title read "Training loss (smoothed 0.6) of every run (1 running, in fro" at 1366x768:
    # the plot there is ~490 px wide (docs/img/sweeps-panel-1366x768.png), the title needed 524.
    import re

    from PySide6.QtGui import QFont, QFontMetrics

    panel = _open_panel(window, qtbot)

    class Run:
        def __init__(self, rid, status):
            self.id, self.trial, self.status = rid, rid, status

    panel._runs = [Run(1, "running"), Run(2, "running"), Run(3, "completed")]
    panel.live_key_combo.setCurrentIndex(panel.live_key_combo.findData("train/loss"))
    panel._draw_live()
    text = re.sub(r"<[^>]+>", "", panel.live.plot.getPlotItem().titleLabel.text)
    assert "2 running" in text and "smoothed 0.6" in text and text.startswith("Training loss")
    font = QFont(panel.live.plot.font())
    font.setPointSizeF(11)
    font.setWeight(QFont.Weight.DemiBold)
    assert QFontMetrics(font).horizontalAdvance(text) <= 460, text


def _shown_sweep(panel, n_trials=8):
    """A finished random sweep of lr and momentum with ``n_trials`` trials, put in the panel as a
    read would (no training)."""
    from lrstudio.core.sweep import ExperimentSpec
    from lrstudio.gui.sweeps.space import TrialRow

    panel.spec = ExperimentSpec(base=_windsor(), space={"lr": {"log_uniform": [1e-4, 0.3]},
                                                        "optimizer.params.momentum": {"uniform": [0.0, 0.95]}},
                                method="random", trials=n_trials).validated()
    panel.rows = [TrialRow(t, {"lr": 10.0 ** (-3 + t / 4), "optimizer.params.momentum": t / 10}, "completed", 1, 1,
                           0.3 + t / 10, 0.0, 0.3 + t / 10, 0.3 + t / 10, (10 + t,)) for t in range(n_trials)]
    panel._fill_table()


@pytest.mark.parametrize("size", [(1400, 900), (1366, 768)])
def test_the_trial_list_shows_several_trials_at_the_tour_sizes(window, qtbot, size):
    # At 1400x900 the trial list showed 3-4 rows above the plots (docs: tour 06-sweeps-*).
    panel = _open_panel(window, qtbot)
    window.resize(*size)
    _shown_sweep(panel, 10)
    qtbot.wait(50)
    table = panel.table
    visible = table.viewport().height() // table.verticalHeader().defaultSectionSize()
    assert visible >= (6 if size[1] >= 900 else 5), (visible, table.viewport().height())


def test_trials_count_from_one_and_finished_ones_read_completed(window, qtbot):
    # The trial list said 0, 1, 2 and "done" where the runs table says "completed"; the stored
    # number (0-based, as lrstudio sweep show prints it) is in the header's tooltip.
    panel = _open_panel(window, qtbot)
    _shown_sweep(panel, 3)
    col = {panel.table.horizontalHeaderItem(c).text(): c for c in range(panel.table.columnCount())}
    assert [panel.table.item(r, col["Trial"]).text() for r in range(3)] == ["1", "2", "3"]
    assert [panel.table.item(r, col["Status"]).text() for r in range(3)] == ["completed"] * 3
    assert "from 0" in panel.table.horizontalHeaderItem(col["Trial"]).toolTip()
    panel.table.selectRow(1)
    assert panel.selected_row().trial == 1  # the stored number: the second trial


def test_the_sweep_combo_shows_its_whole_text(window, qtbot, store):
    # "#1 windsor sgd: lr, momentum · random · completec": the combo in the 360 px column cut it.
    from lrstudio.core.sweep import ExperimentSpec

    panel = _open_panel(window, qtbot)
    window.resize(1366, 768)
    spec = ExperimentSpec(base=_windsor(), space={"lr": [0.1, 0.01]}, method="grid").validated()
    store.create_experiment(spec, "windsor sgd: lr, momentum", status="completed")
    panel.refresh()
    qtbot.wait(50)
    combo = panel.experiment_combo
    text = combo.currentText()
    assert text.startswith("#") and "windsor sgd: lr, momentum" in text
    room = combo.width() - 40  # the frame and the arrow
    assert combo.fontMetrics().horizontalAdvance(text) <= room, (text, room)
    assert "grid" in combo.itemData(combo.currentIndex(), Qt.ItemDataRole.ToolTipRole)


def test_the_metric_view_titles_are_the_parameter_s_and_the_metric_s(window, qtbot):
    # The title read "lr against best_val_loss" in grey: raw keys.
    import re

    panel = _open_panel(window, qtbot)
    _shown_sweep(panel, 3)
    panel.results = []
    panel.views.setCurrentIndex(1)
    panel.show_metric_view()
    pi = panel.metric_view.plot.getPlotItem()
    title = re.sub(r"<[^>]+>", "", pi.titleLabel.text)
    assert title == "Learning rate against best validation loss", title
    assert "color:#222" in pi.titleLabel.text.replace(" ", "")
    assert pi.getAxis("left").labelText == "best validation loss"


def test_the_metric_is_named_as_the_rest_of_the_app_names_it(window, qtbot):
    # The metric combo read "best_val_loss (min)" and the parallel hint "its rank by best_val_loss".
    from lrstudio.core.sweep import METRICS

    panel = _open_panel(window, qtbot)
    combo = panel.editor.metric_combo
    items = [combo.itemText(i) for i in range(combo.count())]
    assert [combo.itemData(i) for i in range(combo.count())] == list(METRICS)
    assert items[0] == "best validation loss (lower is better)"
    assert items[-1] == "best validation accuracy (higher is better)"
    assert all("_" not in t for t in items), items
    assert "best_val_loss" in combo.itemData(0, Qt.ItemDataRole.ToolTipRole)  # the spec's key, for the CLI
    _shown_sweep(panel, 4)
    panel.views.setCurrentIndex(2)
    panel.show_parallel()
    hint = panel.parallel_hint.text()
    assert "best validation loss" in hint and "best_val_loss" not in hint, hint
    ticks = panel.parallel.plot.getPlotItem().getAxis("bottom")._tickLevels[0]
    assert ticks[-1][1] == "best validation loss"


@pytest.mark.parametrize(("size", "least"), [((1400, 900), 280), ((1366, 768), 190)])
def test_the_sweep_plots_use_the_height_at_the_tour_sizes(window, qtbot, size, least):
    # At 1366x768 the plots were 144 px high (1400x900: 217) under a trial list of 166 px, a
    # progress bar and a status line each on its own row.
    from pyqtgraph import PlotWidget

    panel = _open_panel(window, qtbot)
    window.resize(*size)
    _shown_sweep(panel, 10)
    for i, name in enumerate(("sweepLivePlot", "sweepMetricPlot", "sweepParallelPlot")):
        panel.views.setCurrentIndex(i)
        qtbot.wait(50)
        plot = panel.findChild(PlotWidget, name)
        assert plot.height() >= least, (name, plot.height())
    table = panel.table
    assert table.viewport().height() // table.verticalHeader().defaultSectionSize() >= 5
