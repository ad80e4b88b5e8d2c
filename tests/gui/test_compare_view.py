"""Compare at the default window size: tables with room, hover readout, outliers, loss kinds, axes."""

from __future__ import annotations

import numpy as np
import pytest
from _fixtures_data import add_run
from PySide6.QtCore import QPointF

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.events import RunFinished, RunStarted, RunSummary, StepLogged
from lrstudio.gui.compare.widget import CompareWidget

pytestmark = pytest.mark.gui


@pytest.fixture
def widget(qtbot, store):
    w = CompareWidget(store)
    qtbot.addWidget(w)
    w.resize(1000, 560)
    w.show()
    qtbot.waitExposed(w)
    return w


def _record(store, name: str, values, config: RunConfig | None = None, status: str = "completed",
            lr: float = 0.1) -> int:
    """A run whose training loss is exactly ``values`` (steps 1..n)."""
    run_id = store.create_run(config or RunConfig(lr=0.1), name=name)
    rec = store.recorder(run_id)
    try:
        n = len(values)
        events = [RunStarted(total_steps=n, steps_per_epoch=n, epochs=1, wall_time=0.0)]
        events += [StepLogged(step=i + 1, epoch=0, wall_time=0.01 * (i + 1),
                              values={"train/loss": float(v), "lr": lr}) for i, v in enumerate(values)]
        events.append(RunFinished(RunSummary(status=status, steps=n, epochs=1, duration_s=0.01 * n,
                                             final_loss=float(values[-1]))))
        rec.handle(events)
    finally:
        rec.close()
    return run_id


def _loss(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(1, n + 1)
    return 2.0 * np.exp(-t / (n / 5)) + 0.05 + 0.02 * rng.random(n)


def _y_range(widget) -> tuple[float, float]:
    return tuple(widget.loss_plot.getPlotItem().vb.viewRange()[1])


def test_settings_table_has_room_for_18_rows_at_the_default_window_size(qtbot, store, db_url, qsettings):
    from lrstudio.gui.main_window import MainWindow

    a = add_run(store, RunConfig(), "baseline", steps=40)
    b = add_run(store, RunConfig(
        lr=0.05, optimizer={"name": "adam", "params": {"beta1": 0.8}},
        schedule={"name": "cosine", "params": {"T_max": 50, "eta_min": 1e-4}}, epochs=7, batch_size=16, seed=3,
        clip_mode="norm", clip_value=2.0, weight_decay=1e-4, divergence_factor=1e3, init="zeros",
        dataset=DatasetConfig(name="synthetic", n_samples=90, noise=0.3, val_fraction=0.3)),
        "adam cosine with a rather long name", steps=40, seed=1)
    w = MainWindow(store, db_url, settings=qsettings)
    qtbot.addWidget(w)
    w.resize(1400, 900)  # the default size (no saved geometry)
    w.show()
    qtbot.waitExposed(w)
    w.runs_panel.select_runs([a, b])
    qtbot.waitUntil(lambda: w.compare.run_ids() == [a, b] or w.compare.run_ids() == [b, a], timeout=5000)
    compare = w.compare
    w.tabs.setCurrentWidget(w.compare_page)
    compare.views.setCurrentIndex(1)
    qtbot.wait(50)
    table = compare.settings_table
    assert table.rowCount() == 18
    # every row is in view, none cut off at the bottom
    last = table.rowViewportPosition(17) + table.rowHeight(17)
    assert table.rowViewportPosition(0) >= 0 and last <= table.viewport().height()
    # headers are not clipped: run names across, parameter names down
    header = table.horizontalHeader()
    for col in range(table.columnCount()):
        assert header.sectionSize(col) >= header.sectionSizeHint(col), table.horizontalHeaderItem(col).text()
    vheader = table.verticalHeader()
    widest = max(vheader.fontMetrics().horizontalAdvance(table.verticalHeaderItem(r).text()) for r in range(18))
    assert vheader.width() >= widest
    assert compare.views.tabText(1) == "Settings (18 differ)"
    # the summary has a tab of its own too
    compare.views.setCurrentIndex(2)
    qtbot.wait(20)
    summary = compare.summary_table
    assert summary.rowViewportPosition(1) + summary.rowHeight(1) <= summary.viewport().height()
    w.close()


def test_hover_readout_names_each_run_and_its_value(widget, store, qtbot):
    a = _record(store, "first", np.linspace(2.0, 1.0, 100))
    b = _record(store, "second", np.linspace(4.0, 3.0, 60))
    widget.show_runs([a, b])
    widget.set_smoothing(0.0)
    text = widget.readouts["loss"].show_at(50.2)
    assert "step 50" in text
    assert f"first: {np.linspace(2.0, 1.0, 100)[49]:.4g}" in text
    assert f"second: {np.linspace(4.0, 3.0, 60)[49]:.4g}" in text
    # past the end of the shorter run only the longer one is read
    text = widget.readouts["loss"].show_at(90)
    assert "first" in text and "second" not in text
    assert "first: 0.1" in widget.readouts["lr"].show_at(90)
    # the mouse drives it, as on the Train tab
    widget.readouts["loss"].hide()
    vb = widget.loss_plot.getPlotItem().vb
    (x0, x1), (y0, y1) = vb.viewRange()
    scene_pos = vb.mapViewToScene(QPointF(20.0, (y0 + y1) / 2))
    widget.loss_plot.scene().sigMouseMoved.emit(scene_pos)
    qtbot.waitUntil(lambda: "step 20" in widget.readouts["loss"].text(), timeout=2000)
    assert widget.readouts["loss"].vline.isVisible()


def test_ignore_outliers_keeps_a_diverged_run_from_flattening_the_others(widget, store):
    ordinary = [_record(store, f"run {i}", _loss(400, i)) for i in range(3)]
    boom = _record(store, "boom", np.concatenate([_loss(400, 9)[:20], np.geomspace(3.0, 1e12, 10)]),
                   status="diverged", lr=1.5)
    widget.show_runs([*ordinary, boom])
    assert widget.outliers_check.isChecked()  # on by default
    low, high = _y_range(widget)  # log10 units: the loss plot is logarithmic by default
    values = np.concatenate([_loss(400, i) for i in range(3)])
    assert high < np.log10(10.0)  # not up to 1e12
    assert low <= np.log10(values.min()) and high >= np.log10(values.max())  # the others are whole
    assert (high - low) < 3 * (np.log10(values.max()) - np.log10(values.min()))  # and fill the plot
    assert widget.note_label.isVisible() and "diverged" in widget.note_label.text()
    assert "boom" in widget.note_label.text()
    tree = widget.run_list
    statuses = {tree.topLevelItem(r).text(0): tree.topLevelItem(r).text(2) for r in range(4)}
    assert statuses["boom"] == "diverged" and statuses["run 0"] == "" and not tree.isColumnHidden(2)
    lr_low, lr_high = widget.lr_plot.getPlotItem().vb.viewRange()[1]
    assert lr_low <= 0.0 and 0.1 <= lr_high < 0.2  # the diverged run's LR of 1.5 does not flatten the others
    widget.outliers_check.setChecked(False)
    widget.lr_plot.grab()
    assert widget.lr_plot.getPlotItem().vb.viewRange()[1][1] >= 1.5
    low, high = _y_range(widget)
    assert high >= 12.0  # every point in view
    assert "diverged" not in widget.note_label.text()
    widget.outliers_check.setChecked(True)
    widget.log_loss_check.setChecked(False)
    low, high = _y_range(widget)
    assert high < 10.0 and low <= values.min()


def test_a_diverged_run_alone_is_shown_whole_without_si_prefix(widget, store, qtbot):
    boom = _record(store, "boom", [1.0, 1e12], status="diverged")
    widget.show_runs([boom])
    for log in (True, False):
        widget.log_loss_check.setChecked(log)
        widget.loss_plot.grab()  # as painted
        low, high = _y_range(widget)
        top = 12.0 if log else 1e12
        bottom = 0.0 if log else 1.0
        assert low <= bottom and high >= top
        for plot in widget.plot_widgets():
            for name in ("left", "bottom"):
                label = plot.getPlotItem().getAxis(name).labelString()
                assert "x1e" not in label and "(x0" not in label, label
    assert widget.loss_plot.getPlotItem().getAxis("left").autoSIPrefix is False


def test_loss_kind_is_named_and_mixed_kinds_are_not_overlaid_silently(widget, store):
    mse = add_run(store, RunConfig(lr=0.1), "linear", steps=30)
    ce = add_run(store, RunConfig(model="cnn", dataset=DatasetConfig(name="digits"), lr=0.01), "cnn", steps=30)
    widget.show_runs([ce])
    axis = widget.loss_plot.getPlotItem().getAxis("left")
    assert "cross-entropy" in axis.labelText
    assert not widget.note_label.isVisible()
    widget.show_runs([mse])
    assert "MSE" in axis.labelText and "standardised" in axis.labelText
    widget.show_runs([mse, ce])
    assert axis.labelText == "loss"  # no kind named when they differ (the note above says which)
    note = widget.note_label.text()
    assert widget.note_label.isVisible()
    assert "cross-entropy: 1 run" in note and "MSE, standardised target: 1 run" in note
    kinds = {widget.run_list.topLevelItem(r).text(0): widget.run_list.topLevelItem(r).text(1) for r in range(2)}
    assert kinds == {"linear": "MSE (std.)", "cnn": "CE"}
    widget.set_run_visible(ce, False)  # one kind left in view: no more note
    assert "cross-entropy" not in widget.note_label.text() and "MSE" in axis.labelText


def test_smoothing_default_and_its_tooltip_tell_the_truth(widget, store):
    a = add_run(store, RunConfig(lr=0.1), "a", steps=50, lr_fn=lambda t: 0.1 / t)
    widget.show_runs([a])
    assert widget.smoothing() == pytest.approx(0.6) and widget.smoothing_slider.value() == 600
    tip = widget.smoothing_slider.toolTip().lower()
    assert "training loss" in tip and "never smoothed" in tip and "learning rate" in tip
    series = store.load_series(a)
    np.testing.assert_allclose(widget.curve_data(a)["lr"][1], series["lr"].value)  # the LR stays raw
    assert not np.allclose(widget.curve_data(a)["loss"][1], series["train/loss"].value)


def test_log_axis_labels_do_not_overprint(widget, store, qtbot):
    widget.show_runs([_record(store, "a", _loss(200, 1))])
    widget.resize(1000, 420)
    qtbot.wait(20)
    axis = widget.loss_plot.getPlotItem().getAxis("left")
    widget.outliers_check.setChecked(False)
    widget.loss_plot.setYRange(-2, 1, padding=0)  # three decades on ~300 px: ~100 px a decade
    widget.loss_plot.grab()
    size = axis.geometry().height()
    labelled = {}
    for spacing, values in axis.tickValues(-2, 1, size):
        for v, text in zip(values, axis.tickStrings(values, 1.0, spacing), strict=True):
            if text:
                labelled[round(10 ** v, 6)] = (v + 2) / 3 * size
    # pyqtgraph labelled all nine a decade; they overprinted. Now 1, 2, (3,) 5 and not 7.
    assert {0.1, 0.2, 0.5, 1.0} <= set(labelled) and 0.7 not in labelled
    pos = sorted(labelled.values())
    from PySide6.QtGui import QFontMetricsF

    assert min(b - a for a, b in zip(pos, pos[1:])) >= QFontMetricsF(axis.font()).height() * 0.8
