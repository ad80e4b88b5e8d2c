"""Playground trajectories saved as runs of kind "playground" (issue 16)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from lrstudio.core.playground import PRESETS, TrajectorySpec, resolve_function
from lrstudio.services.playground import compute, compute_and_save, save_trajectory
from lrstudio.storage import open_store


@pytest.fixture
def store(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'pg.sqlite'}") as s:
        yield s


def test_a_trajectory_is_stored_with_its_config_and_series(store):
    spec = TrajectorySpec({"name": "adam", "params": {"beta1": 0.8}}, 0.05, (-1.5, 2.0), 30,
                          {"name": "cosine", "params": {"T_max": 30}})
    run_id, info, traj = compute_and_save(store, "rosenbrock", spec)
    run = store.get_run(run_id)
    assert run.kind == "playground" and run.status == "completed"
    cfg = run.config_dict
    assert cfg["function"] == "rosenbrock" and cfg["start"] == [-1.5, 2.0] and cfg["steps"] == 30
    assert cfg["optimizer"]["params"]["beta1"] == 0.8 and cfg["optimizer"]["params"]["eps"] == 1e-8
    assert cfg["schedule"]["name"] == "cosine" and cfg["lr"] == 0.05 and cfg["noise"] == 0.0 and cfg["seed"] == 0
    series = store.load_series(run_id)
    assert set(series) == {"x1", "x2", "train/loss", "lr"}
    np.testing.assert_array_equal(series["x1"].value, traj.xs[:, 0])
    np.testing.assert_array_equal(series["x2"].value, traj.xs[:, 1])
    np.testing.assert_array_equal(series["train/loss"].value, traj.loss)
    np.testing.assert_array_equal(series["lr"].step, np.arange(1, 31))
    np.testing.assert_array_equal(series["lr"].value, traj.lr)
    assert run.final_loss == pytest.approx(traj.loss[-1])
    assert run_id in [r.id for r in store.list_runs(kind="playground")]


def test_a_diverged_trajectory_is_stored_as_diverged(store):
    info, _ = resolve_function("x2")
    (traj,) = compute(info, PRESETS["gd_lr_large"].trajectories)
    run_id = save_trajectory(store, info, traj)
    run = store.get_run(run_id)
    assert run.status == "diverged" and run.diverged_step == 22 and run.summary_extra["reason"]
    assert set(store.load_series(run_id)) == {"x", "train/loss", "lr"}


def test_playground_runs_export_as_csv(store, tmp_path):
    run_id, _, traj = compute_and_save(store, "quad", TrajectorySpec("sgd", 0.1, (-5.0, -2.0), 20))
    out = tmp_path / "pg.csv"
    store.export_history_csv([run_id], out)
    with out.open() as fh:
        rows = list(csv.reader(fh))
    text = repr(rows)
    assert all(f"'{k}'" in text for k in ("x1", "x2", "train/loss", "lr")), rows[:3]
    assert len(rows) >= 21


def test_nothing_half_written_when_saving_fails(store, monkeypatch):
    info, _ = resolve_function("x2")
    (traj,) = compute(info, PRESETS["gd_lr_good"].trajectories)
    before = len(store.list_runs())

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(store, "recorder", broken)
    with pytest.raises(OSError):
        save_trajectory(store, info, traj)
    assert len(store.list_runs()) == before
