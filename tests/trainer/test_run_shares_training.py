"""Lengths given as shares of the run (issue 15) in training, and the stored configs of every older
schema (tests/data/*.sqlite) training as they did."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from lrstudio.core.config import SCHEMA_VERSION, DatasetConfig, RunConfig, check_runnable
from lrstudio.core.events import ListReporter
from lrstudio.core.plan import plan_run
from lrstudio.core.schedules import lr_curve, resolve_lengths
from lrstudio.trainer.loop import train
from lrstudio.trainer.schedule_adapter import torch_scheduler

DATA = Path(__file__).resolve().parents[1] / "data"
SHARES = {"name": "linear_warmup", "params": {"warmup_steps": "10%", "inner": {
    "name": "sequential", "params": {"milestones": ["60%"], "schedules": [
        {"name": "cosine", "params": {"T_max": "auto", "after_end": "hold"}},
        {"name": "exponential", "params": {"gamma": 0.97}}]}}}}


def _cfg(max_steps: int) -> RunConfig:
    return RunConfig(dataset=DatasetConfig(name="synthetic", n_samples=60, val_fraction=0.0), lr=0.05,
                     optimizer={"name": "sgd", "params": {}}, max_steps=max_steps, schedule=SHARES)


@pytest.mark.parametrize("steps", [50, 137])
def test_training_applies_the_schedule_resolved_for_its_length(steps):
    rep = ListReporter()
    s = train(_cfg(steps), rep)
    assert s.status == "completed", s.error
    applied = np.asarray(rep.series("lr"))
    ref = lr_curve(resolve_lengths(SHARES, steps), steps, 0.05)
    np.testing.assert_allclose(applied, ref, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(np.asarray(rep.series("lr/planned")), applied)
    assert applied[round(0.1 * steps) - 1] < applied[round(0.1 * steps)]  # the warm-up ends at 10 % of the run


def test_torch_scheduler_resolves_shares_for_its_total_steps():
    import torch

    opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    sched = torch_scheduler(SHARES, opt, total_steps=200)
    got = []
    for _ in range(200):
        got.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_array_equal(got, lr_curve(SHARES, 200, 0.1))


@pytest.mark.parametrize("db", sorted(DATA.glob("schema_*.sqlite")), ids=lambda p: p.name)
def test_every_stored_config_of_an_older_schema_trains_as_it_did(tmp_path, db):
    from lrstudio.storage import open_store

    copy = tmp_path / db.name
    shutil.copyfile(db, copy)
    with open_store(f"sqlite:///{copy}") as store:
        runs = [r for r in store.list_runs() if r.kind == "training"]
        configs = [(r.name, r.config_dict) for r in runs]
    assert configs
    for name, stored in configs:
        assert stored.get("schema_version", 1) < SCHEMA_VERSION
        cfg = RunConfig.from_dict(stored)
        plan = plan_run(cfg)
        # nothing to resolve in an old config: its schedule means the steps it always did
        assert plan.resolved_lengths == ()
        assert plan.schedule == stored["schedule"]
        rep = ListReporter()
        s = train(check_runnable(cfg), rep)
        # the same run built field by field under today's schema trains identically
        fresh = RunConfig(**{k: v for k, v in stored.items() if k not in ("dataset", "schema_version")},
                          dataset=DatasetConfig(**stored["dataset"]))
        rep2 = ListReporter()
        s2 = train(fresh, rep2)
        assert (s.status, s.steps) == (s2.status, s2.steps), name
        assert rep.series("lr") == rep2.series("lr") == lr_curve(stored["schedule"], s.steps,
                                                                  stored["lr"]).tolist()[: len(rep.series("lr"))]
        np.testing.assert_array_equal(rep.series("train/loss"), rep2.series("train/loss"))


SCHEMA2_RUNS = json.loads((DATA / "schema2_runs.json").read_text())


@pytest.mark.parametrize("run", SCHEMA2_RUNS, ids=[r["config"]["name"] for r in SCHEMA2_RUNS])
def test_a_schema_2_config_trains_as_the_schema_2_lrstudio_trained_it(run):
    """tests/data/schema2_runs.json was written by the lrstudio of config schema 2 (ecedc6b, before
    lengths could be shares; tests/data/make_schema2_runs.py says how): each config with the series
    that lrstudio recorded. Read through today's migration and trained by today's code, every LR,
    momentum and training loss is the same float."""
    stored = run["config"]
    assert stored["schema_version"] == 2
    cfg = RunConfig.from_dict(stored)
    assert plan_run(cfg).resolved_lengths == ()
    expect = stored["schedule"]
    if expect["name"] == "noise":  # schema 4: the draws it had before timm's became the default
        expect = {**expect, "params": {**expect["params"], "noise_draws": "fast"}}
    assert cfg.schedule == expect
    rep = ListReporter()
    s = train(check_runnable(cfg), rep)
    assert (s.status, s.steps) == ("completed", run["steps"])
    for key, values in run["series"].items():
        assert rep.series(key) == values, key
    assert ("momentum" in run["series"]) == bool(rep.series("momentum"))
