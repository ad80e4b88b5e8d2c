"""The momentum plot under the LR plot of the real main window's Train tab (issue 15): shown with
the recorded momentum series and the plan for a one-cycle run, hidden for a schedule that cycles
no momentum."""

from __future__ import annotations

import numpy as np
from gui_configs import tiny_config

from lrstudio.core.schedules.momentum import momentum_curve
from lrstudio.gui.main_window import MainWindow


def _train(qtbot, window: MainWindow, cfg) -> object:
    window.config_panel.set_config(cfg)
    assert window.start_button.isEnabled(), window.config_panel.errors()
    with qtbot.waitSignal(window.controller.finished, timeout=60_000) as blocker:
        window.start_training()
    window.live_plots.redraw_now()
    return blocker.args[0]


def test_one_cycle_run_draws_its_momentum_under_the_lr(qtbot, window):
    spec = {"name": "one_cycle", "params": {"total_steps": 24}}
    cfg = tiny_config(optimizer={"name": "adam", "params": {}}, schedule=spec, epochs=4)  # 6 steps an epoch
    summary = _train(qtbot, window, cfg)
    assert summary.status == "completed", summary
    mp = window.train_page.momentum_plot
    assert mp is not None and mp.plot.isVisible()
    mp.redraw()
    x, y = mp.curve.getOriginalDataset()
    np.testing.assert_array_equal(x, np.arange(1, 25))
    np.testing.assert_array_equal(y, momentum_curve(spec, 24))  # beta1, from 0.95 down and up again
    px, py = mp.plan_curve.getOriginalDataset()
    assert len(px) == 24 and np.array_equal(py, momentum_curve(spec, 24))
    # under the LR plot, same x-range
    assert mp.column.indexOf(window.live_plots.lr_plot) == 0 and mp.column.indexOf(mp.plot) == 1
    lr_range = window.live_plots.lr_plot.getPlotItem().getViewBox().viewRange()[0]
    assert mp.plot.getPlotItem().getViewBox().viewRange()[0] == lr_range
    # the epoch axis moves both curves
    window.live_plots.set_x_axis("epoch")
    x, _ = mp.curve.getOriginalDataset()
    np.testing.assert_allclose(x, np.arange(1, 25) / 6)

    # a run whose schedule cycles no momentum hides it
    summary = _train(qtbot, window, tiny_config(schedule={"name": "cosine", "params": {"T_max": 24}}))
    assert summary.status == "completed"
    assert not mp.plot.isVisible()


def test_the_form_refuses_momentum_cycling_with_adagrad(qtbot, window):
    cfg = tiny_config(optimizer={"name": "adagrad", "params": {}},
                      schedule={"name": "one_cycle", "params": {"total_steps": 24}})
    window.config_panel.set_config(cfg)
    qtbot.waitUntil(lambda: not window.start_button.isEnabled(), timeout=5000)
    assert any("cycle_momentum" in e for e in window.config_panel.errors()), window.config_panel.errors()
    off = tiny_config(optimizer={"name": "adagrad", "params": {}},
                      schedule={"name": "one_cycle", "params": {"total_steps": 24, "cycle_momentum": False}})
    window.config_panel.set_config(off)
    qtbot.waitUntil(window.start_button.isEnabled, timeout=5000)
