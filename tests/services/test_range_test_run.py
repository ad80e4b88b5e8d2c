"""The LR range test as a stored run: one run per test, its series, suggestions, CSV export, find_lr."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import torch
from torch import nn

from lrstudio.cli import main
from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.lr_finder import RangeTestOptions, seed_band
from lrstudio.core.params import ParamError
from lrstudio.services.range_test_run import find_lr, is_range_test, run_range_test, suggestions_of
from lrstudio.storage import open_store


def _cfg(**kw) -> RunConfig:
    base = dict(model="linear", dataset=DatasetConfig(name="windsor"), optimizer={"name": "sgd"}, batch_size=32,
                lr=0.01)
    base.update(kw)
    return RunConfig(**base)


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'rt.sqlite'}"


def test_one_stored_run_of_kind_lr_range_test_with_its_series_and_suggestions(url):
    res = run_range_test(_cfg(), RangeTestOptions(seeds=3, num_it=50), url)
    assert res.summary.status == "completed"
    with open_store(url) as store:
        runs = store.list_runs()
        assert [r.id for r in runs] == [res.run_id]
        info = store.get_run(res.run_id)
        assert info.kind == "lr_range_test" and is_range_test(info)
        assert info.config() == _cfg().validated()
        assert [r.id for r in store.list_runs(kind="lr_range_test")] == [res.run_id]
        series = store.load_series(res.run_id)
        stored = info
    keys = set(series)
    for k in range(3):
        assert {f"seed{k}/lr", f"seed{k}/loss", f"seed{k}/smoothed"} <= keys
    assert {"lr", "loss/median", "loss/min", "loss/max"} <= keys
    band = seed_band([(series[f"seed{k}/lr"].value, series[f"seed{k}/smoothed"].value) for k in range(3)])
    np.testing.assert_array_equal(series["loss/median"].value, band.median)
    np.testing.assert_array_equal(series["loss/max"].value, band.hi)
    # The summary read back from the database gives the same suggestions as the returned one.
    assert suggestions_of(stored) == res.suggestions
    assert {r.name for r in res.suggestions} >= {"valley", "lightning_steepest"}


def test_bad_options_or_config_store_nothing(url):
    with pytest.raises(ParamError, match="num_it"):
        run_range_test(_cfg(), RangeTestOptions(num_it=2), url)
    with pytest.raises(ParamError, match="model"):
        run_range_test(_cfg(model="cnn"), RangeTestOptions(), url)
    with open_store(url) as store:
        assert store.list_runs() == []


def test_a_data_file_that_fails_after_the_row_ends_the_run_failed(url, tmp_path):
    cfg = _cfg(dataset=DatasetConfig(name="csv", path=str(tmp_path / "missing.csv"), target="y"))
    res = run_range_test(cfg, RangeTestOptions(seeds=1), url)
    assert res.summary.status == "failed" and "missing.csv" in res.summary.error
    with open_store(url) as store:
        assert store.get_run(res.run_id).status == "failed"


def test_exported_as_csv_like_any_run(url, capsys):
    res = run_range_test(_cfg(), RangeTestOptions(seeds=2, num_it=30), url)
    assert main(["export", "--db", url, "--runs", str(res.run_id), "--wide", "-o", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {"seed0/loss", "seed1/smoothed", "lr", "loss/median", "loss/min"} <= set(rows[0])
    with open_store(url) as store:
        median = store.load_series(res.run_id, ["loss/median"])["loss/median"].value
    got = [float(r["loss/median"]) for r in rows if r["loss/median"] != ""]
    np.testing.assert_allclose(got, median, rtol=1e-12)


# -- find_lr: a user's model --------------------------------------------------------------------------
def _model_and_loader():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 1))
    x = torch.randn(128, 3)
    y = x.sum(1, keepdim=True)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=True)
    return model, loader


def test_find_lr_stores_an_external_run_tagged_lr_range_test(url):
    model, loader = _model_and_loader()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = find_lr(model, nn.functional.mse_loss, loader,
                  optimizer_factory=lambda p: torch.optim.Adam(p, lr=1e-3), db=url, name="mine")
    assert out.suggestion is not None and out.suggestion == out.suggestions["valley"].lr
    assert len(out.lrs) == len(out.losses) > 0
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    with open_store(url) as store:
        info = store.get_run(out.run_id)
        assert info.kind == "external" and "lr_range_test" in info.tags and is_range_test(info)
        assert info.name == "mine"
        assert info.config_dict["model"] == "Sequential" and info.config_dict["optimizer"] == "Adam"
        assert info.config_dict["range_test"]["num_it"] == 100
        assert "loss/median" in store.load_series(out.run_id)


def test_find_lr_without_a_database_and_with_bad_options(url):
    model, loader = _model_and_loader()
    out = find_lr(model, nn.functional.mse_loss, loader, db=False, num_it=20)
    assert out.run_id is None and len(out.lrs) <= 20
    with pytest.raises(ParamError, match="end_lr"):
        find_lr(model, nn.functional.mse_loss, loader, start_lr=1.0, end_lr=0.1, db=url)
    with pytest.raises(LrstudioError, match="torch.nn.Module"):
        find_lr(object(), nn.functional.mse_loss, loader, db=url)
    with open_store(url) as store:
        assert store.list_runs() == []


def test_find_lr_raises_when_the_test_fails_and_keeps_the_failed_run(url):
    model, loader = _model_and_loader()

    def broken(out, y):
        raise ValueError("shapes")

    with pytest.raises(LrstudioError, match="failed .*run 1.*shapes"):
        find_lr(model, broken, loader, db=url)
    with open_store(url) as store:
        assert store.get_run(1).status == "failed"


def test_public_find_lr_leaves_every_tensor_of_model_and_optimizer_as_it_was(url):
    """Issue 12 acceptance: model and optimizer state after find_lr equal those before."""
    import copy

    import lrstudio

    model, loader = _model_and_loader()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for xb, yb in loader:
        opt.zero_grad()
        nn.functional.mse_loss(model(xb), yb).backward()
        opt.step()
    state = {k: v.clone() for k, v in model.state_dict().items()}  # weights and BatchNorm statistics
    grads = [p.grad.clone() for p in model.parameters()]
    opt_state = copy.deepcopy(opt.state_dict())
    rng = torch.get_rng_state()
    out = lrstudio.find_lr(model, nn.functional.mse_loss, loader, num_it=40, seeds=2, db=url,
                           optimizer_factory=lambda p: torch.optim.Adam(p, lr=1e-3))
    assert out.run_id is not None and len(out.suggestions["valley"].seed_lrs) == 2
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
    for p, g in zip(model.parameters(), grads, strict=True):
        assert torch.equal(p.grad, g)
    now = opt.state_dict()
    assert now["param_groups"] == opt_state["param_groups"]
    for pid, st in opt_state["state"].items():
        for key, v in st.items():
            assert torch.equal(now["state"][pid][key], v), (pid, key)
    assert torch.equal(torch.get_rng_state(), rng)
    # The optimizer still drives the model's own tensors.
    assert opt.param_groups[0]["params"][0] is next(model.parameters())


def test_import_lrstudio_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, lrstudio; lrstudio.find_lr; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_find_lr_stores_into_the_apps_database_by_default(tmp_path, monkeypatch):
    path = tmp_path / "app.sqlite"
    monkeypatch.setenv("LRSTUDIO_DB", str(path))
    model, loader = _model_and_loader()
    out = find_lr(model, nn.functional.mse_loss, loader, num_it=20)
    with open_store(f"sqlite:///{path}") as store:
        assert [r.id for r in store.list_runs()] == [out.run_id]
