"""CompareWidget against a real temporary store: curves, settings table, smoothing, legend."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from _fixtures_data import add_run
from PySide6.QtCore import Qt

from lrstudio.core.compare import all_params
from lrstudio.core.config import RunConfig
from lrstudio.core.series import DOWNSAMPLE_FACTOR
from lrstudio.core.smoothing import debiased_ema
from lrstudio.gui.compare.widget import CompareWidget

pytestmark = pytest.mark.gui

STEPS = 200


@pytest.fixture
def two_runs(store):
    """Two runs that differ in the LR and the schedule only (and their names)."""
    a = add_run(store, RunConfig(lr=0.1), "constant 0.1", steps=STEPS, steps_per_epoch=50)
    b = add_run(store, RunConfig(lr=0.05, schedule={"name": "cosine", "params": {"eta_min": 0.0}}),
                "cosine 0.05", steps=STEPS, steps_per_epoch=50, seed=1,
                lr_fn=lambda t: 0.05 * (1 + np.cos(np.pi * t / STEPS)) / 2)
    return a, b


@pytest.fixture
def widget(qtbot, store):
    w = CompareWidget(store)
    qtbot.addWidget(w)
    w.resize(1100, 750)
    w.show()
    qtbot.waitExposed(w)
    return w


def _data(item):
    """The data given to a curve (getData() is log-mapped and clipped to the view)."""
    return item.xData, item.yData


class _CountingStore:
    """Wraps a store and counts the point queries."""

    def __init__(self, store):
        self._store = store
        self.loads = []

    def load_many(self, run_ids, keys=None):
        self.loads.append(list(run_ids))
        return self._store.load_many(run_ids, keys=keys)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_both_curves_drawn_with_the_database_points(widget, store, two_runs):
    a, b = two_runs
    widget.show_runs([a, b])
    assert widget.run_ids() == [a, b]
    for run_id in (a, b):
        series = store.load_series(run_id)
        items = widget.curve_items(run_id)
        x, y = _data(items["loss_raw"])
        np.testing.assert_array_equal(x, series["train/loss"].step)
        np.testing.assert_allclose(y, series["train/loss"].value)
        x, y = _data(items["lr"])
        np.testing.assert_allclose(y, series["lr"].value)
        x, y = _data(items["val_loss"])
        np.testing.assert_array_equal(x, series["val/loss"].step)
        assert items["loss_raw"].isVisible()
    # one colour per run
    pen_a = widget.curve_items(a)["loss_raw"].opts["pen"].color().name()
    pen_b = widget.curve_items(b)["loss_raw"].opts["pen"].color().name()
    assert pen_a != pen_b
    # short curves are given whole (test_long_run_is_decimated_until_zoomed_in covers long ones)
    item = widget.curve_items(a)["loss_raw"]
    assert item.opts["downsampleMethod"] == "peak"
    np.testing.assert_array_equal(widget.curve_data(a)["loss_raw"][1], item.yData)
    assert len(widget.plot_widgets()) == 2 and all(isinstance(p, pg.PlotWidget) for p in widget.plot_widgets())


def test_settings_table_lists_exactly_the_differing_parameters(widget, two_runs):
    a, b = two_runs
    widget.show_runs([a, b])
    assert widget.settings_rows() == ["lr", "schedule.name", "schedule.params.eta_min"]
    table = widget.settings_table
    assert table.columnCount() == 2
    assert [table.horizontalHeaderItem(c).text() for c in range(2)] == ["constant 0.1", "cosine 0.05"]
    assert [table.item(0, c).text() for c in range(2)] == ["0.1", "0.05"]
    assert [table.item(1, c).text() for c in range(2)] == ["constant", "cosine"]
    assert table.item(2, 0).text() == "—"  # eta_min is not a parameter of the constant schedule


def test_show_all_toggle(widget, store, two_runs, qtbot):
    a, b = two_runs
    widget.show_runs([a, b])
    widget.views.setCurrentIndex(1)  # the "Settings & summary" tab
    qtbot.mouseClick(widget.show_all_check, Qt.MouseButton.LeftButton)
    configs = [store.get_run(i).config_dict for i in (a, b)]
    assert widget.settings_rows() == all_params(configs)
    assert "seed" in widget.settings_rows() and "dataset.name" in widget.settings_rows()
    assert widget.settings_title.text() == "All settings"
    widget.set_show_all_params(False)
    assert widget.settings_rows() == ["lr", "schedule.name", "schedule.params.eta_min"]


def test_summary_table(widget, store, two_runs):
    a, b = two_runs
    widget.show_runs([a, b])
    table = widget.summary_table
    assert table.rowCount() == 2
    assert table.item(0, 0).text() == "constant 0.1" and table.item(0, 1).text() == "completed"
    assert table.item(1, 7).text() == str(STEPS)
    assert float(table.item(0, 3).text()) == pytest.approx(store.get_run(a).best_loss, rel=1e-3)


def test_smoothing_keeps_the_raw_curve_faint(widget, store, two_runs):
    a, b = two_runs
    widget.show_runs([a, b])
    widget.set_smoothing(0.9)
    values = store.load_series(a)["train/loss"].value
    items = widget.curve_items(a)
    _, raw = _data(items["loss_raw"])
    _, smooth = _data(items["loss"])
    np.testing.assert_allclose(raw, values)  # raw data unchanged, still drawn
    np.testing.assert_allclose(smooth, debiased_ema(values, 0.9))
    assert items["loss_raw"].isVisible() and items["loss"].isVisible()
    assert items["loss_raw"].opts["pen"].color().alpha() < 128 <= items["loss"].opts["pen"].color().alpha()
    widget.set_smoothing(0.0)
    assert _data(items["loss"])[1] is None or len(_data(items["loss"])[1]) == 0
    assert items["loss_raw"].opts["pen"].color().alpha() == 255


def test_smoothing_slider_is_debounced(widget, two_runs, qtbot):
    a, b = two_runs
    widget.show_runs([a, b])
    assert widget.smoothing() == pytest.approx(0.6)  # TensorBoard's default
    for v in (100, 300, 450):
        widget.smoothing_slider.setValue(v)
    assert widget.smoothing() == pytest.approx(0.6)  # not yet: waits for the slider to rest
    qtbot.waitUntil(lambda: widget.smoothing() == pytest.approx(0.45), timeout=2000)
    assert len(_data(widget.curve_items(a)["loss"])[0]) == STEPS


def test_series_are_cached_per_run(qtbot, store, two_runs):
    a, b = two_runs
    counting = _CountingStore(store)
    w = CompareWidget(counting)
    qtbot.addWidget(w)
    w.show_runs([a])
    w.show_runs([a, b])
    w.set_smoothing(0.8)
    w.set_x_axis("wall_time")
    w.show_runs([b, a])
    assert counting.loads == [[a], [b]]  # each run's points read once
    w.invalidate([a])
    w.show_runs([a, b])
    assert counting.loads[-1] == [a]


def _run_list_item(widget, run_id):
    tree = widget.run_list
    return next(tree.topLevelItem(r) for r in range(tree.topLevelItemCount())
                if tree.topLevelItem(r).data(0, Qt.ItemDataRole.UserRole) == run_id)


def test_run_list_check_box_hides_and_shows_a_run(widget, two_runs):
    a, b = two_runs
    widget.show_runs([a, b])
    item = _run_list_item(widget, b)
    assert item.text(0) == "cosine 0.05"
    item.setCheckState(0, Qt.CheckState.Unchecked)  # what a click on the check box does
    assert not widget.is_run_visible(b) and widget.is_run_visible(a)
    assert not any(item.isVisible() for item in widget.curve_items(b).values())
    assert all(item.isVisible() for item in widget.curve_items(a).values())
    _run_list_item(widget, b).setCheckState(0, Qt.CheckState.Checked)
    assert widget.is_run_visible(b)
    assert widget.curve_items(b)["loss_raw"].isVisible() and widget.curve_items(b)["lr"].isVisible()


def test_x_axis_wall_time_and_log_toggles(widget, store, two_runs):
    a, b = two_runs
    widget.show_runs([a, b])
    widget.set_x_axis("wall_time")
    x, _ = _data(widget.curve_items(a)["loss_raw"])
    np.testing.assert_allclose(x, store.load_series(a)["train/loss"].wall_time)
    assert widget.loss_plot.getPlotItem().getAxis("bottom").labelText == "Wall time (s)"  # as Train says
    widget.set_x_axis("step")
    assert {p.getPlotItem().getAxis("bottom").labelText for p in widget.plot_widgets()} == {"Step"}
    widget.set_x_axis("wall_time")
    widget.log_lr_check.setChecked(True)
    widget.log_loss_check.setChecked(False)
    assert widget.lr_plot.getPlotItem().ctrl.logYCheck.isChecked()
    assert not widget.loss_plot.getPlotItem().ctrl.logYCheck.isChecked()
    with pytest.raises(ValueError):
        widget.set_x_axis("epoch")


def test_diverged_run_with_inf_and_nan_is_drawn(widget, store):
    run_id = add_run(store, RunConfig(lr=10.0), "diverged", steps=30, status="diverged")
    rec = store.recorder(run_id)
    from lrstudio.core.events import StepLogged

    rec.handle([StepLogged(step=31, epoch=3, wall_time=0.31, values={"train/loss": float("inf")}),
                StepLogged(step=32, epoch=3, wall_time=0.32, values={"train/loss": float("nan")})])
    rec.close()
    widget.show_runs([run_id])
    widget.set_smoothing(0.5)
    _, y = _data(widget.curve_items(run_id)["loss_raw"])
    assert len(y) == 32 and np.isnan(y[-2:]).all() and np.isfinite(y[:30]).all()
    _, s = _data(widget.curve_items(run_id)["loss"])
    assert np.isfinite(s[:30]).all()
    assert widget.settings_rows()[:2] == ["model", "init"]  # one run: all its settings


def test_set_store_and_empty(widget, two_runs, qtbot):
    widget.show_runs([])
    assert widget.empty_label.isVisible()
    widget.show_runs(list(two_runs))
    assert not widget.empty_label.isVisible()
    widget.set_store(None)
    assert widget.run_ids() == [] and widget.settings_table.rowCount() == 0


def test_long_run_is_decimated_until_zoomed_in(widget, store, qtbot):
    steps = 40_000
    run_id = add_run(store, RunConfig(lr=0.1), "long", steps=steps, steps_per_epoch=1000, batch=20_000)
    widget.show_runs([run_id])
    qtbot.waitUntil(lambda: widget.run_ids() == [run_id] and not widget.is_loading())  # read off-thread
    qtbot.wait(20)
    series = store.load_series(run_id)["train/loss"]
    item = widget.curve_items(run_id)["loss_raw"]
    x_full, y_full = widget.curve_data(run_id)["loss_raw"]
    np.testing.assert_array_equal(x_full, series.step)
    np.testing.assert_allclose(y_full, series.value)
    # Full view: a peak-decimated level, with at least DOWNSAMPLE_FACTOR buckets per pixel.
    pixels = widget.loss_plot.getPlotItem().vb.width()
    x, y = _data(item)
    assert 2 * pixels * DOWNSAMPLE_FACTOR <= len(x) < steps / 4
    assert y.min() == series.value.min() and y.max() == series.value.max()
    assert x[0] == series.step[0] and x[-1] == series.step[-1]
    # Zoomed in to a tenth: the full-resolution data, which pyqtgraph clips and thins itself.
    widget.loss_plot.setXRange(10_000, 14_000, padding=0)
    x, y = _data(item)
    np.testing.assert_array_equal(x, series.step)
    np.testing.assert_allclose(y, series.value)
    assert item.opts["autoDownsample"] and item.opts["downsampleMethod"] == "peak" and item.opts["clipToView"]
    widget.loss_plot.grab()  # draws
    shown = item.curve.xData
    assert shown.min() >= 9_000 and shown.max() <= 15_000  # clipped to the view
    # Back to the full view: decimated again; the LR plot was never zoomed.
    widget.loss_plot.getPlotItem().enableAutoRange()
    widget.loss_plot.grab()
    assert len(_data(item)[0]) < steps / 4
    assert len(_data(widget.curve_items(run_id)["lr"])[0]) < steps / 4


def test_run_list_follows_the_selection_and_no_legend_covers_the_plots(widget, two_runs):
    a, b = two_runs

    def rows():
        tree = widget.run_list
        return [tree.topLevelItem(r).text(0) for r in range(tree.topLevelItemCount())]

    widget.show_runs([a, b])
    widget.show_runs([b])
    assert rows() == ["cosine 0.05"]
    widget.show_runs([])
    assert rows() == []
    widget.show_runs([b, a])
    assert rows() == ["cosine 0.05", "constant 0.1"]
    for plot in widget.plot_widgets():
        assert plot.getPlotItem().legend is None  # the run list is beside the plots, not on them
    # each row shows its run's colour, the loss it records and its status
    for run_id in (a, b):
        item = _run_list_item(widget, run_id)
        color = item.icon(0).pixmap(8, 8).toImage().pixelColor(4, 4).name()
        assert color == widget.curve_items(run_id)["lr"].opts["pen"].color().name()
        assert item.text(1) == "MSE (std.)" and item.text(2) == ""  # only unusual statuses are named
    # columns that would say the same for every run leave the names the room
    assert widget.run_list.isColumnHidden(1) and widget.run_list.isColumnHidden(2)
    widget.set_run_visible(a, False)
    assert _run_list_item(widget, a).checkState(0) == Qt.CheckState.Unchecked
    assert _run_list_item(widget, b).checkState(0) == Qt.CheckState.Checked


def test_the_loss_axis_names_no_kind_when_a_run_of_the_user_s_code_is_shown(widget, store, two_runs):
    # With an external run beside lrstudio's runs the axis still said "MSE, standardised target":
    # the user's loop logs whatever loss it computes.
    from lrstudio.core.events import StepLogged

    a, _b = two_runs
    ext = store.create_run({"lr": 0.1, "model": "resnet18"}, name="my loop", kind="external")
    with store.recorder(ext) as rec:
        rec.handle([StepLogged(s, 0, 0.1, {"train/loss": 1.0 / s}) for s in range(1, 20)])
        rec.close(status="completed")
    widget.show_runs([a])
    axis = widget.loss_plot.getPlotItem().getAxis("left")
    assert axis.labelText == "loss (MSE, standardised target)"
    widget.show_runs([a, ext])
    assert axis.labelText == "loss"
    assert "kind unknown" in widget.note_label.text()
    widget.show_runs([ext])
    assert axis.labelText == "loss"
