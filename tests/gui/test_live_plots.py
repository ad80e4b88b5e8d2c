"""Live plots: growing buffers, timer-driven redraws, axes, crosshair, divergence marker."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from lrstudio.core.events import EpochLogged, RunFinished, RunStarted, RunSummary, StepLogged
from lrstudio.gui.plots.factory import DIVERGED_COLOR
from lrstudio.gui.plots.live import REDRAW_MS, LivePlots


def _steps(first: int, n: int, spe: int = 10, loss=lambda s: 1.0 / s, lr=0.1) -> list:
    return [StepLogged(step=s, epoch=(s - 1) // spe, wall_time=s * 0.01,
                       values={"train/loss": loss(s), "lr": lr, "lr/planned": lr})
            for s in range(first, first + n)]


def _n(curve) -> int:
    x = curve.getOriginalDataset()[0]
    return 0 if x is None else len(x)


def _plots(qtbot) -> LivePlots:
    w = LivePlots()
    qtbot.addWidget(w)
    w.resize(900, 400)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_plots_thin_and_clip(qapp):
    w = LivePlots()
    for p in (w.loss_plot, w.lr_plot, w.acc_plot):
        pi = p.getPlotItem()
        assert pi.ctrl.downsampleCheck.isChecked() and pi.ctrl.autoDownsampleCheck.isChecked()
        assert pi.ctrl.peakRadio.isChecked()
        assert pi.ctrl.clipToViewCheck.isChecked()
    w.deleteLater()


def test_batches_are_drawn_by_the_timer_only_when_dirty(qtbot):
    w = _plots(qtbot)
    w.reset(planned=np.full(100, 0.1), steps_per_epoch=10)
    w.append_events([RunStarted(total_steps=100, steps_per_epoch=10, epochs=10, wall_time=0.0)])
    w.append_events(_steps(1, 30))
    # Appending does not draw; the next timer tick does.
    assert _n(w.curves["train/loss"]) == 0
    qtbot.waitUntil(lambda: _n(w.curves["train/loss"]) == 30, timeout=2000)
    before = w.redraws
    qtbot.wait(REDRAW_MS * 5)
    assert w.redraws == before  # nothing new: no redraw
    w.append_events(_steps(31, 5) + [EpochLogged(epoch=2, step=30, wall_time=0.3, values={"val/loss": 0.2})])
    qtbot.waitUntil(lambda: _n(w.curves["train/loss"]) == 35, timeout=2000)
    assert w.redraws == before + 1
    x, y = w.curves["val/loss"].getOriginalDataset()
    assert list(x) == [30] and list(y) == [0.2]
    # applied LR as points, planned as a line
    assert w.curves["lr"].opts["pen"] is None and w.curves["lr"].opts["symbol"] == "o"
    assert _n(w.curves["lr/planned"]) == 35
    assert _n(w.plan_curve) == 100


def test_x_axis_step_epoch_wall(qtbot):
    w = _plots(qtbot)
    w.reset(steps_per_epoch=10)
    w.append_events(_steps(1, 20) + [EpochLogged(epoch=0, step=10, wall_time=0.1, values={"val/loss": 0.5})])
    w.redraw_now()
    assert w.curves["train/loss"].getOriginalDataset()[0][-1] == 20
    w.x_combo.setCurrentIndex(1)  # epoch
    assert w.x_axis == "epoch"
    assert math.isclose(w.curves["train/loss"].getOriginalDataset()[0][-1], 2.0)
    assert list(w.curves["val/loss"].getOriginalDataset()[0]) == [1.0]  # end of the first epoch
    assert w.loss_plot.getPlotItem().getAxis("bottom").labelText == "Epoch"
    w.set_x_axis("wall")
    assert math.isclose(w.curves["train/loss"].getOriginalDataset()[0][-1], 0.2)


def test_log_toggles_and_nonpositive_values(qtbot):
    w = _plots(qtbot)
    w.reset()
    w.append_events(_steps(1, 5, loss=lambda s: 0.0 if s == 3 else 1.0))
    w.redraw_now()
    assert w.loss_log.isChecked()
    y = w.curves["train/loss"].getOriginalDataset()[1]
    assert np.isnan(y[2]) and y[0] == 1.0  # log of 0 is a gap, not an error
    w.loss_log.setChecked(False)
    assert w.curves["train/loss"].getOriginalDataset()[1][2] == 0.0
    w.lr_log.setChecked(True)
    assert w.lr_plot.getPlotItem().ctrl.logYCheck.isChecked()


def test_crosshair_reports_values(qtbot):
    w = _plots(qtbot)
    w.reset()
    w.loss_log.setChecked(False)
    w.append_events(_steps(1, 10))
    w.redraw_now()
    text = w.crosshairs[0].show_at(4.2, 0.5)
    assert "train: 0.25" in text and "@ 4" in text
    assert w.crosshairs[0].vline.isVisible()


def test_divergence_is_marked_where_it_happened(qtbot):
    w = _plots(qtbot)
    w.reset(steps_per_epoch=10)
    events = _steps(1, 6) + _steps(7, 1, loss=lambda s: float("nan"))
    summary = RunSummary(status="diverged", steps=7, epochs=0, duration_s=0.1, diverged_step=7)
    w.append_events([*events, RunFinished(summary)])
    w.redraw_now()
    assert w.diverged_at is not None and w.diverged_at[0] == 7
    lines = [i for i in w.loss_plot.getPlotItem().items if isinstance(i, pg.InfiniteLine) and i.value() == 7]
    assert lines and "diverged at step 7" in lines[0].label.toPlainText()
    w.reset()
    assert w.diverged_at is None
    assert not [i for i in w.loss_plot.getPlotItem().items if isinstance(i, pg.InfiniteLine) and i.value() == 7]


def test_accuracy_plot_appears_for_classifiers(qtbot):
    w = _plots(qtbot)
    w.reset(classifier=False)
    assert w.acc_plot.isHidden()
    w.append_events([EpochLogged(epoch=0, step=10, wall_time=0.1, values={"val/loss": 1.0, "val/acc": 0.8})])
    assert not w.acc_plot.isHidden()
    w.redraw_now()
    assert list(w.curves["val/acc"].getOriginalDataset()[1]) == [0.8]
    assert [name for name, _ in w.plot_widgets()] == ["Loss", "Learning rate", "Accuracy"]


def _axes(w: LivePlots):
    for plot in (w.loss_plot, w.lr_plot, w.acc_plot):
        for name in ("left", "bottom"):
            yield plot.getPlotItem().getAxis(name)


def test_axes_show_values_in_their_own_units_without_si_scaling(qtbot):
    # Early in a CNN run the accuracy is below 1: pyqtgraph's auto SI prefix made the axis
    # read "accuracy (x0.001)" with ticks 0-800 (issue 9).
    w = _plots(qtbot)
    w.reset(classifier=True, planned=np.full(1350, 0.01), steps_per_epoch=135)
    w.append_events(_steps(1, 40, spe=135, loss=lambda s: 2.3 / s, lr=0.01)
                    + [EpochLogged(epoch=0, step=40, wall_time=0.4, values={"val/loss": 0.9, "val/acc": 0.31,
                                                                               "train/acc": 0.25})])
    w.redraw_now()
    qtbot.wait(REDRAW_MS * 2)
    for axis in _axes(w):
        assert axis.autoSIPrefixScale == 1.0, axis.labelString()
        assert "(x" not in axis.labelString(), axis.labelString()
    acc_axis = w.acc_plot.getPlotItem().getAxis("left")
    ticks = [float(t) for t in acc_axis.tickStrings([0.2, 0.4, 0.6], acc_axis.autoSIPrefixScale, 0.2)]
    assert ticks == [0.2, 0.4, 0.6]


def test_a_diverged_run_shows_its_points_in_plain_units(qtbot):
    # Diverged at step 2 of a planned 1,350: the two points sat under the divergence marker at
    # the left edge of a 0-1,350 axis, and the log loss axis read "loss (x1e+12)" (issue 9).
    w = _plots(qtbot)
    w.reset(planned=np.full(1350, 0.5), steps_per_epoch=135)
    w.append_events([RunStarted(total_steps=1350, steps_per_epoch=135, epochs=10, wall_time=0.0)])
    w.append_events(_steps(1, 2, spe=135, loss=lambda s: 2.3 if s == 1 else 3.7e12, lr=0.5))
    summary = RunSummary(status="diverged", steps=2, epochs=0, duration_s=0.1, diverged_step=2)
    w.append_events([RunFinished(summary)])
    w.redraw_now()
    qtbot.wait(REDRAW_MS * 2)
    for axis in _axes(w):
        assert "(x" not in axis.labelString(), axis.labelString()
    for plot in (w.loss_plot, w.lr_plot):
        (x0, x1), (y0, y1) = plot.getPlotItem().getViewBox().viewRange()
        assert x0 <= 1 and 2 < x1 <= 10, (x0, x1)  # the points fill the plot, the marker is inside
    (_x, (y0, y1)) = w.loss_plot.getPlotItem().getViewBox().viewRange()
    assert y0 <= math.log10(2.3) and y1 >= math.log10(3.7e12)  # both points on the log axis
    bottom = w.loss_plot.getPlotItem().getAxis("bottom")
    ticks = [v for _spacing, values in bottom.tickValues(*bottom.range, 300) for v in values]
    assert ticks and all(float(v).is_integer() for v in ticks), ticks  # steps are whole numbers
    w.set_x_axis("epoch")
    assert not w.loss_plot.getPlotItem().getAxis("bottom").integer  # epochs may be fractions
    w.set_x_axis("step")
    # A new run fixes the x-axis to its planned length again.
    w.reset(planned=np.full(1350, 0.5), steps_per_epoch=135)
    w.append_events(_steps(1, 2, spe=135))
    w.redraw_now()
    assert w.loss_plot.getPlotItem().getViewBox().viewRange()[0][1] >= 1350


def test_training_loss_is_smoothed_incrementally_over_a_faint_raw_curve(qtbot, monkeypatch):
    from lrstudio.core import smoothing
    from lrstudio.core.smoothing import debiased_ema
    from lrstudio.gui.plots import live as live_plots

    chunks: list[int] = []
    real_extend = smoothing.RunningEMA.extend
    monkeypatch.setattr(live_plots.RunningEMA, "extend",
                        lambda self, v: chunks.append(len(v)) or real_extend(self, v))
    w = _plots(qtbot)
    assert w.smoothing == 0.6  # on by default, TensorBoard's weight
    w.reset(steps_per_epoch=10)
    noisy = lambda s: 1.0 / s + (0.3 if s % 2 else 0.0)  # noqa: E731
    w.append_events(_steps(1, 30, loss=noisy, lr=0.1))
    qtbot.waitUntil(lambda: _n(w.curves["train/loss_smooth"]) == 30, timeout=2000)
    w.append_events(_steps(31, 5, loss=noisy, lr=0.1))
    qtbot.waitUntil(lambda: _n(w.curves["train/loss_smooth"]) == 35, timeout=2000)
    assert chunks == [30, 5]  # only the new points are smoothed on each draw

    raw_x, raw_y = w.curves["train/loss"].getOriginalDataset()
    sx, sy = w.curves["train/loss_smooth"].getOriginalDataset()
    assert np.array_equal(sx, raw_x)
    np.testing.assert_allclose(sy, debiased_ema(raw_y, 0.6), rtol=1e-12)
    assert np.array_equal(raw_y, [noisy(s) for s in range(1, 36)])  # the raw curve stays raw...
    assert w.curves["train/loss"].opts["pen"].color().alpha() < 128  # ...and faint behind
    assert w.curves["train/loss_smooth"].isVisible()
    # The learning rate is never smoothed.
    assert np.array_equal(w.curves["lr"].getOriginalDataset()[1], np.full(35, 0.1))

    w.set_smoothing(0.9)
    w.redraw_now()
    np.testing.assert_allclose(w.curves["train/loss_smooth"].getOriginalDataset()[1], debiased_ema(raw_y, 0.9),
                               rtol=1e-12)
    w.set_smoothing(0.0)
    w.redraw_now()
    assert not w.curves["train/loss_smooth"].isVisible()
    assert w.curves["train/loss"].opts["pen"].color().alpha() == 255
    text = w.crosshairs[0].show_at(4.0, 0.5)
    assert "smoothed" not in text and "train:" in text


def test_a_new_run_without_accuracy_yet_shows_the_whole_accuracy_range(qtbot):
    # A CNN run that diverged before its first epoch showed the previous run's 0.6-0.95 range.
    w = _plots(qtbot)
    w.reset(classifier=True, steps_per_epoch=10)
    w.append_events([EpochLogged(epoch=e, step=10 * (e + 1), wall_time=0.1, values={"val/acc": a})
                     for e, a in enumerate((0.62, 0.9, 0.95))])
    w.redraw_now()
    w.reset(classifier=True, steps_per_epoch=10)
    w.append_events(_steps(1, 2))
    w.redraw_now()
    y0, y1 = w.acc_plot.getPlotItem().getViewBox().viewRange()[1]
    assert y0 <= 0.0 and 1.0 <= y1 < 1.2


def test_divergence_label_is_not_under_the_legend(qtbot):
    w = _plots(qtbot)
    w.reset(steps_per_epoch=10)
    summary = RunSummary(status="diverged", steps=7, epochs=0, duration_s=0.1, diverged_step=7)
    w.append_events([*_steps(1, 6), *_steps(7, 1, loss=lambda s: float("nan")), RunFinished(summary)])
    w.redraw_now()
    qtbot.wait(REDRAW_MS * 2)
    for plot in (w.loss_plot, w.lr_plot):
        pi = plot.getPlotItem()
        line = next(i for i in pi.items if isinstance(i, pg.InfiniteLine) and i.value() == 7)
        label = line.label.mapRectToScene(line.label.boundingRect())
        legend = pi.legend.mapRectToScene(pi.legend.boundingRect())
        assert not label.intersects(legend)
        assert line.label.color.name() == DIVERGED_COLOR.lower()  # red on white, over the curves
        assert line.label.fill.color().alpha() > 200 and line.zValue() > 0


def test_loss_axis_names_the_kind_of_loss(qtbot):
    w = _plots(qtbot)
    axis = w.loss_plot.getPlotItem().getAxis("left")
    w.reset(loss_kind="cross_entropy")
    assert axis.labelText == "loss (cross-entropy)"
    w.reset(planned=np.full(10, 0.1))  # a second reset for the same run keeps it
    assert axis.labelText == "loss (cross-entropy)"
    w.reset(loss_kind="mse_units")
    assert axis.labelText == "loss (MSE, target in its own units)"
