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
    assert len(page._slots) == page.trajectory_list.count() == 2
    for slot, traj in zip(page._slots, expected):
        path, loss, lr = slot.path, slot.loss, slot.lr
        x, y = path.getData()
        np.testing.assert_allclose(x, traj.xs[:, 0], rtol=1e-12)
        np.testing.assert_allclose(y, traj.xs[:, 1], rtol=1e-12)
        assert len(loss.getData()[0]) == traj.steps_done + 1 and len(lr.getData()[0]) == traj.steps_done
    legend = page.surface_plot.getPlotItem().legend
    assert [label.text for _, label in legend.items] == [page.trajectory_list.item(i).text() for i in range(2)]
    assert len(page.contour.getData()[0]) > 100  # contour lines drawn
    _click_preset(qtbot, page, "momentum")  # the legend follows: four entries, one of them diverged
    texts = [label.text for _, label in legend.items]
    assert len(texts) == 4 and "diverged at step 13" in texts[1]
    assert texts == [page.trajectory_list.item(i).text() for i in range(4)]


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
    path, cross = page._slots[0].path, page._slots[0].cross
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
    mx, my = page.markers.getData()
    np.testing.assert_array_equal(np.column_stack([mx, my]), [t.xs[3] for t in page.trajectories])


def test_a_step_moves_only_the_markers_not_the_curves(page, qtbot):
    # the animation's tick: the curves were drawn once, whole; a step sets the markers and the step line
    _click_preset(qtbot, page, "momentum")
    curves = [c for slot in page._slots for c in (slot.path, slot.loss, slot.lr)]
    calls = []
    for c in curves:
        c.setData = lambda *a, _c=c, **k: calls.append(_c)
    page.slider.setValue(5)
    assert calls == []
    for slot, traj in zip(page._slots, page.trajectories):
        x, _ = slot.path.getData()
        assert len(x) == min(traj.steps_done, page._shown[page.trajectories.index(traj)]) + 1
    mx, my = page.markers.getData()
    # the diverged GD eta=0.6 is drawn only while near the picture: its marker stays at its last drawn iterate
    expected = [t.xs[min(5, shown)] for t, shown in zip(page.trajectories, page._shown)]
    np.testing.assert_array_equal(np.column_stack([mx, my]), expected)
    assert page.step_line.value() == 5
    lx, ly = page.loss_markers.getData()
    np.testing.assert_array_equal(lx, [min(5, t.steps_done) for t in page.trajectories])


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


def test_saving_is_all_or_nothing(page, qtbot, store, monkeypatch):
    _click_preset(qtbot, page, "momentum")
    real = store.recorder
    calls = []

    def recorder(run_id):
        calls.append(run_id)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(run_id)

    monkeypatch.setattr(store, "recorder", recorder)
    assert page.save_runs() == []
    assert store.list_runs() == []
    assert "Saving failed" in page.message.text() and "disk full" in page.message.text()
    assert "nothing was saved" in page.message.text()


def test_the_loss_axis_is_logarithmic_only_with_decades_to_show_and_labels_only_decades(page, qtbot):
    _click_preset(qtbot, page, "gd_lr_good")  # 100 -> 1e-2: four decades
    axis = page.loss_plot.getPlotItem().getAxis("left")
    assert page._log_loss and axis.style["maxTextLevel"] == 0  # no crowded 2..9 labels between decades
    _click_preset(qtbot, page, "local_minima")  # negative losses
    assert not page._log_loss and axis.style["maxTextLevel"] == 2
    page.specs = [page.editor_spec()]
    page.set_function("expr1d", "x**2 + 10")  # 26 -> 10: less than one decade
    assert not page._log_loss


def test_a_preset_schedule_shows_its_beginning(page, qtbot):
    _click_preset(qtbot, page, "sgd_exponential")
    assert page.schedule_edit.text().startswith('{"name": "lambda"') and page.schedule_edit.cursorPosition() == 0


def test_only_new_trajectories_are_computed(page, qtbot, monkeypatch):
    # trajectories are independent (computed together = computed alone, bit for bit), so adding
    # one to the picture computes that one, and removing one or showing a preset again computes none
    import lrstudio.services.playground as service

    real = service.compute
    asked: list[int] = []

    def counting(function, specs, **kw):
        asked.append(len(specs))
        return real(function, specs, **kw)

    monkeypatch.setattr(service, "compute", counting)
    _click_preset(qtbot, page, "momentum")
    before = [t.xs.copy() for t in page.trajectories]
    asked.clear()
    page.lr_edit.setText("0.3")
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert asked == [1] and len(page.trajectories) == 5
    for xs, traj in zip(before, page.trajectories):
        np.testing.assert_array_equal(xs, traj.xs)
    (alone,) = real(page.function, [page.specs[-1]])
    np.testing.assert_array_equal(page.trajectories[-1].xs, alone.xs)
    page.trajectory_list.setCurrentRow(0)
    qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
    _click_preset(qtbot, page, "momentum")
    assert asked == [1] and len(page.trajectories) == 4
    page.set_start((-4.0, 1.0))  # a new start: every trajectory is new
    assert asked == [1, 4] and page.trajectories[0].xs[0].tolist() == [-4.0, 1.0]


def test_every_preset_draws_without_an_error(page, qtbot):
    for name, preset in PRESETS.items():
        _click_preset(qtbot, page, name)
        assert page.preset is preset and page.message.text() == "", (name, page.message.text())
        assert page.trajectory_list.count() == len(preset.trajectories) == len(page._slots)
        for slot in page._slots:
            x, _ = slot.path.getData()
            assert slot.path.isVisible() and len(x) >= 2 and np.all(np.isfinite(x)), name
        mx, _ = page.markers.getData()
        assert len(mx) == len(preset.trajectories)
        # the items of trajectories no longer shown are hidden and empty (the last preset has one)
        for slot in page._pool[len(page._slots):]:
            lx, _ = slot.loss.getData()
            assert not slot.path.isVisible() and (lx is None or len(lx) == 0)
        assert page.surface_plot.getPlotItem().titleLabel.text.find(page.function.title) >= 0


def test_the_tab_refuses_more_work_than_it_can_do_at_once(page, qtbot, monkeypatch):
    # the tab computes on the GUI thread: a step budget (and the trajectory limit) keep it responsive
    from lrstudio.gui.playground import view as view_module

    _click_preset(qtbot, page, "momentum")  # 4 x 20 steps
    assert page.steps_spin.maximum() == view_module.MAX_TAB_STEPS
    monkeypatch.setattr(view_module, "STEP_BUDGET", 1000)
    page.steps_spin.setValue(1000)
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert len(page.specs) == len(page.trajectories) == 4
    assert "1080 steps" in page.message.text() and "at most 1000" in page.message.text()
    assert "lrstudio playground" in page.message.text()
    monkeypatch.setattr(view_module, "STEP_BUDGET", 10**9)
    monkeypatch.setattr(view_module, "MAX_TRAJECTORIES", 4)
    page.steps_spin.setValue(5)
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert len(page.specs) == 4 and "at most 4 trajectories" in page.message.text()


def test_an_error_names_the_trajectory_it_is_about(page, qtbot):
    _click_preset(qtbot, page, "momentum")  # trajectories 1-4 are computed already
    page.start_edit.setText("1e9, 0")
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert page.message.text().startswith("trajectory 5: start = ") and "bound box" in page.message.text()
    assert len(page.specs) == 4
    page.start_edit.setText("-5, -2")
    page.lr_edit.setText("abc")
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert page.message.text() == "LR: 'abc' is not a number (e.g. 0.1)"


def test_an_animation_tick_does_not_redraw_the_curves(window, qtbot, monkeypatch):
    # the curves and the contour do not change while playing: a tick is painted from their cached
    # pixmaps (redrawing ~20 curves and the contour's segments cost ~20 ms of CPU a tick)
    import pyqtgraph as pg

    painted = []
    real = pg.PlotCurveItem.paint

    def paint(item, *args):
        painted.append(item)
        return real(item, *args)

    # patched before the tab builds its items (PySide binds a Python override when an item is made)
    monkeypatch.setattr(pg.PlotCurveItem, "paint", paint)
    window.tabs.setCurrentWidget(window.playground_page)
    page = window.playground_page.view
    qtbot.waitUntil(lambda: bool(page.trajectories))
    _click_preset(qtbot, page, "adagrad")
    static = {page.contour} | {c for s in page._slots for c in (s.path.curve, s.loss.curve, s.lr.curve)}
    qtbot.waitUntil(lambda: len(static & set(painted)) == len(static))  # drawn once
    for _ in range(20):  # until the picture has settled (layout passes after the first paint)
        painted.clear()
        qtbot.wait(100)
        if not painted:
            break
    for step in (3, 6, 9, 12):
        page.slider.setValue(step)
        qtbot.wait(40)
    assert not static & set(painted)
    page.set_start((-4.0, 1.0))  # new data: drawn again
    qtbot.waitUntil(lambda: bool(static & set(painted)))


def test_the_legend_sits_in_a_corner_without_iterates(page, qtbot):
    legend = page.surface_plot.getPlotItem().legend
    _click_preset(qtbot, page, "gd_2d")  # from (-5, -2), bottom left, to the minimum: top right is free
    assert tuple(legend.opts["offset"]) == (-5, 5)
    page.set_start((2.5, 2.5))  # now the path runs through the top right
    offset = tuple(legend.opts["offset"])
    assert offset != (-5, 5)
    (x0, x1), (y0, y1) = page.surface_plot.getPlotItem().getViewBox().viewRange()
    xs = page.trajectories[0].xs
    fx, fy = (xs[:, 0] - x0) / (x1 - x0), (xs[:, 1] - y0) / (y1 - y0)
    in_x = fx > 0.55 if offset[0] < 0 else fx < 0.45
    in_y = fy > 0.7 if offset[1] > 0 else fy < 0.3
    assert not np.any(in_x & in_y)
