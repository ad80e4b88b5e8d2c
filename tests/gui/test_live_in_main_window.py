"""The Train tab of the real main window: plain axis values, smoothing, a diverged run in view (issue 9)."""

from __future__ import annotations

import numpy as np
from gui_configs import tiny_config

from lrstudio.core.smoothing import debiased_ema
from lrstudio.gui.main_window import MainWindow


def _train(qtbot, window: MainWindow, cfg) -> object:
    window.config_panel.set_config(cfg)
    assert window.start_button.isEnabled(), window.config_panel.errors()
    with qtbot.waitSignal(window.controller.finished, timeout=60_000) as blocker:
        window.start_training()
    window.live_plots.redraw_now()
    return blocker.args[0]


def test_train_tab_axes_have_no_si_prefix_and_the_loss_is_smoothed(qtbot, window):
    live = window.live_plots
    summary = _train(qtbot, window, tiny_config(epochs=8))
    assert summary.status == "completed"
    for _name, plot in live.plot_widgets():
        for side in ("left", "bottom"):
            axis = plot.getPlotItem().getAxis(side)
            assert not axis.autoSIPrefix and "(x" not in axis.labelString(), axis.labelString()
    assert live.smoothing > 0
    assert live.loss_plot.getPlotItem().getAxis("left").labelText == "loss (MSE, standardised target)"
    raw_x, raw_y = live.curves["train/loss"].getOriginalDataset()
    sx, sy = live.curves["train/loss_smooth"].getOriginalDataset()
    assert len(raw_x) == summary.steps and np.array_equal(sx, raw_x)
    np.testing.assert_allclose(sy, debiased_ema(raw_y, live.smoothing), rtol=1e-9)


def test_a_run_that_diverges_early_fills_the_train_plots(qtbot, window):
    # Raw square metres and prices with a large LR: the classic divergence, within a few steps.
    from lrstudio.core.config import DatasetConfig

    cfg = tiny_config(lr=5.0, epochs=50, dataset=DatasetConfig(name="synthetic", n_samples=64, val_fraction=0.25,
                                                               unscaled=True))
    summary = _train(qtbot, window, cfg)
    assert summary.status == "diverged", summary
    planned_steps = 6 * 50  # 48 training rows / batch 8, 50 epochs
    assert summary.steps < planned_steps / 10
    x0, x1 = window.live_plots.loss_plot.getPlotItem().getViewBox().viewRange()[0]
    assert x1 < summary.steps * 2 + 2, (x0, x1)  # the points fill the plot, not 1 % of it
    axis = window.live_plots.loss_plot.getPlotItem().getAxis("left")
    assert "(x" not in axis.labelString()
    assert axis.labelText == "loss (MSE, target in its own units)"  # unscaled: not comparable with the above
