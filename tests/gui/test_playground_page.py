"""The Playground tab (issue 16) in the real main window, driven with pytest-qt."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from lrstudio.core.playground import PRESETS
from lrstudio.trainer.playground import compute_trajectories


@pytest.fixture
def page(window, qtbot):
    window.tabs.setCurrentWidget(window.playground_page)
    qtbot.waitUntil(lambda: window.playground_page.built and bool(window.playground_page.view.trajectories))
    return window.playground_page.view


def _click_preset(qtbot, page, name):
    lst = page.preset_list
    row = list(PRESETS).index(name)
    item = lst.item(row)
    lst.scrollToItem(item)
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=lst.visualItemRect(item).center())


def test_the_tab_is_beside_train_and_compare_and_built_when_shown(window, qtbot):
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())][:3] == ["Train", "Compare", "Playground"]
    assert not window.playground_page.built  # the window's start-up does not pay for it
    window.tabs.setCurrentWidget(window.playground_page)
    qtbot.waitUntil(lambda: window.playground_page.built)


def test_choosing_a_preset_draws_its_trajectories(page, qtbot):
    _click_preset(qtbot, page, "adagrad")
    preset = PRESETS["adagrad"]
    assert page.preset is preset and preset.text in page.preset_text.text()
    expected = compute_trajectories(preset.function, preset.trajectories)
    assert len(page._items) == page.trajectory_list.count() == 2
    for (path, _, loss, lr), traj in zip(page._items, expected):
        x, y = path.getData()
        np.testing.assert_allclose(x, traj.xs[:, 0], rtol=1e-12)
        np.testing.assert_allclose(y, traj.xs[:, 1], rtol=1e-12)
        assert len(loss.getData()[0]) == traj.steps_done + 1 and len(lr.getData()[0]) == traj.steps_done
    assert page.surface_plot.getPlotItem().legend is not None
    assert len(page.contour.getData()[0]) > 100  # contour lines drawn


def test_clicking_on_the_contour_sets_the_start_point(page, qtbot):
    _click_preset(qtbot, page, "gd_2d")
    vb = page.surface_plot.getPlotItem().getViewBox()
    target = QPointF(-3.0, 1.5)
    scene = vb.mapViewToScene(target)
    pos = page.surface_plot.mapFromScene(scene)
    qtbot.mouseClick(page.surface_plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(pos.x(), pos.y()))
    qtbot.waitUntil(lambda: abs(page.trajectories[0].xs[0, 0] + 3.0) < 0.1)
    start = page.trajectories[0].xs[0]
    assert start == pytest.approx([-3.0, 1.5], abs=0.1)
    assert page.start_edit.text().startswith(f"{start[0]:.4g}")
    assert page.trajectories[0].spec.start == tuple(start)


def test_a_diverging_setting_is_shown_as_diverged(page, qtbot):
    _click_preset(qtbot, page, "gd_lr_large")
    (traj,) = page.trajectories
    assert traj.diverged
    assert "diverged at step 22" in page.trajectory_list.item(0).text()
    path, cross, _, _ = page._items[0]
    cx, _ = cross.getData()
    assert len(cx) == 1  # marked where it stops being drawn
    x, _ = path.getData()
    lo, hi = page.function.domain[0]
    assert np.all(np.abs(x) <= 2.5 * hi) and x[-1] == cx[0]  # not drawn off to infinity
    # a trajectory added from the editor that diverges is marked too
    page.lr_edit.setText("1.5")
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert page.trajectory_list.count() == 2 and "diverged" in page.trajectory_list.item(1).text()


def test_bad_editor_input_says_what_is_wrong_and_keeps_the_picture(page, qtbot):
    before = len(page.specs)
    page.params_edit.setText("beta1=2")
    page.optimizer_box.setCurrentIndex(page.optimizer_box.findData("adam"))
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert "beta1" in page.message.text() and len(page.specs) == before
    page.set_function("expr2d")
    page.expression.setText("__import__('os')")
    page.expression.editingFinished.emit()
    assert "not an allowed function" in page.message.text()


def test_the_run_is_stored(page, qtbot, store, window):
    _click_preset(qtbot, page, "momentum")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    runs = store.list_runs(kind="playground")
    assert len(runs) == 4 and sorted(r.status for r in runs).count("diverged") == 1
    assert "Saved as runs" in page.message.text()
    model = window.runs_panel.model
    qtbot.waitUntil(lambda: all(model.row_of(r.id) >= 0 for r in runs))
    series = store.load_series(runs[-1].id)
    assert {"x1", "x2", "train/loss", "lr"} == set(series)


def test_play_animates_the_step_slider_and_measures_timer_lateness(page, qtbot):
    _click_preset(qtbot, page, "gd_2d")
    qtbot.mouseClick(page.play_button, Qt.MouseButton.LeftButton)
    assert page.slider.value() < page.slider.maximum()
    qtbot.waitUntil(lambda: not page.play_button.isChecked(), timeout=10_000)
    assert page.slider.value() == page.slider.maximum() and len(page.timer_lateness_ms) >= 5
    page.slider.setValue(3)
    x, _ = page._items[0][0].getData()
    assert len(x) == 4


@pytest.mark.parametrize("size", [(1400, 900), (1366, 768)])
def test_the_controls_column_fits_its_viewport(window, qtbot, size):
    # the wrapped preset text was laid out 299 px wide in a 284 px viewport and cut at the right
    window.resize(*size)
    window.tabs.setCurrentWidget(window.playground_page)
    view = window.playground_page.view
    qtbot.waitUntil(lambda: bool(view.trajectories))
    qtbot.wait(50)
    content = view.preset_text.parentWidget()
    viewport = content.parentWidget()
    for w in (view.preset_text, view.preset_list, view.function_box, view.save_button):
        assert w.geometry().right() < viewport.width(), (w, w.geometry(), viewport.width())


def test_saved_runs_are_compared_with_their_loss_and_lr(page, qtbot, store, window):
    _click_preset(qtbot, page, "adagrad")
    ids = page.save_runs()
    compare = window.compare
    compare.show_runs(ids)
    qtbot.waitUntil(lambda: compare.run_ids() == ids and not compare.is_loading(), timeout=10_000)
    for run_id, traj in zip(ids, page.trajectories):
        data = compare.curve_data(run_id)
        x, y = data["loss_raw"]
        np.testing.assert_array_equal(y, traj.loss)
        _, lr = data["lr"]
        np.testing.assert_array_equal(lr, traj.lr)
