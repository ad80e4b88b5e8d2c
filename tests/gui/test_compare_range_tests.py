"""Compare's "LR range tests" tab (issue 12): range-test runs overlaid as loss against LR (log x)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.lr_finder import RangeTestOptions
from lrstudio.services.range_test_run import find_lr, run_range_test
from lrstudio.services.training_run import run_training


def _cfg(**kw):
    base = dict(model="linear", dataset=DatasetConfig(name="windsor"), optimizer={"name": "sgd", "params": {}},
                lr=0.01, batch_size=32, max_steps=20)
    base.update(kw)
    return RunConfig(**base)


def test_range_tests_are_overlaid_as_loss_against_lr(window, qtbot, store, db_url):
    a = run_range_test(_cfg(), RangeTestOptions(seeds=2, num_it=40), db_url, store=store).run_id
    b = run_range_test(_cfg(optimizer={"name": "adam", "params": {}}), RangeTestOptions(seeds=1, num_it=30),
                       db_url, store=store).run_id
    t = run_training(_cfg(), db_url, store=store).run_id
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    x = torch.randn(64, 2)
    loader = [(x[i:i + 16], x[i:i + 16].sum(1, keepdim=True)) for i in range(0, 64, 16)]
    c = find_lr(model, nn.functional.mse_loss, loader, num_it=20, db=db_url).run_id
    window.runs_panel.refresh()
    window.compare_page.show_runs([a, t, b, c])
    overlay = window.compare_page.range_tests
    assert overlay is not None
    views = window.compare.views
    assert views.tabText(views.indexOf(overlay)) == "LR range tests"
    assert overlay.run_ids == [a, b, c]  # the training run is left out
    assert overlay.plot.getPlotItem().ctrl.logXCheck.isChecked()
    for run_id in (a, b, c):
        series = store.load_series(run_id, ["lr", "loss/median"])
        x_drawn, y_drawn = overlay.curves[run_id].getData()
        ok = np.isfinite(series["loss/median"].value)
        np.testing.assert_allclose(x_drawn, np.log10(series["lr"].value[ok]))
        np.testing.assert_allclose(y_drawn, series["loss/median"].value[ok])
    window.compare_page.show_runs([t])
    assert overlay.run_ids == [] and overlay.hint.isVisibleTo(overlay)
