"""Issue 10 acceptance: ``run_training`` takes plain data, so it runs in a separate process
(multiprocessing, spawn) and stores the same run, points and summary as in a thread of this one."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

import numpy as np
import pytest

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.services.training_run import RunResult, run_training
from lrstudio.storage import open_store

# Summary fields that depend on the clock, not on the computation.
_TIMING = {"id", "uuid", "created_at", "started_at", "ended_at", "duration_s", "owner_host", "owner_pid",
           "heartbeat_at"}


def _config() -> RunConfig:
    # Minibatch Adam with a warm-up + cosine schedule and a validation split: shuffling, the
    # schedule and per-epoch validation all have to agree between the two processes.
    return RunConfig(
        name="across processes", model="linear",
        dataset=DatasetConfig(name="synthetic", n_samples=200, val_fraction=0.25, extra_features=2),
        optimizer={"name": "adam", "params": {}}, lr=0.05, batch_size=16, epochs=6, seed=7,
        schedule={"name": "linear_warmup", "params": {
            "warmup_steps": 10, "inner": {"name": "cosine", "params": {"T_max": 50, "after_end": "hold"}}}},
    )


def _stored(url: str, run_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    with open_store(url) as store:
        info = store.get_run(run_id)
        series = store.load_series(run_id)
    fields = {k: v for k, v in vars(info).items() if k not in _TIMING}
    return fields, series


def test_a_spawned_process_stores_what_a_thread_stores(tmp_path):
    cfg = _config()
    thread_url = f"sqlite:///{tmp_path / 'thread.sqlite'}"
    process_url = f"sqlite:///{tmp_path / 'process.sqlite'}"

    results: list[RunResult] = []
    worker = threading.Thread(target=lambda: results.append(run_training(cfg, thread_url)))
    worker.start()
    worker.join(120)
    assert results and results[0].summary.status == "completed"

    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()  # a stop signal another process can set; never set here
    proc = ctx.Process(target=run_training, args=(cfg.to_dict(), process_url), kwargs={"stop": stop})
    proc.start()
    proc.join(180)
    assert proc.exitcode == 0

    in_thread, thread_series = _stored(thread_url, results[0].run_id)
    in_process, process_series = _stored(process_url, 1)
    assert in_process["status"] == "completed" and in_process["steps"] == results[0].summary.steps == 60  # 150 rows / 16 x 6
    assert in_process == in_thread  # the summary (losses, accuracy, extras, info) and the config
    assert process_series.keys() == thread_series.keys() and "train/loss" in thread_series
    for key, s in thread_series.items():
        p = process_series[key]
        assert len(s) > 0, key
        np.testing.assert_array_equal(p.step, s.step, err_msg=key)
        np.testing.assert_array_equal(p.epoch, s.epoch, err_msg=key)
        np.testing.assert_array_equal(p.value, s.value, err_msg=key)  # bit for bit


def test_a_stop_signal_set_from_another_process_stops_the_run(tmp_path):
    """The stop signal is plain data too: a multiprocessing event set by the parent."""
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    cfg = RunConfig(model="linear", dataset=DatasetConfig(name="synthetic", n_samples=64), batch_size=1,
                    epochs=100_000, seed=1)
    proc = ctx.Process(target=run_training, args=(cfg.to_dict(), url), kwargs={"stop": stop})
    proc.start()
    try:
        # Poll the database (the child's only output) until it has stored some steps.
        for _ in range(600):
            with open_store(url) as store:
                runs = store.list_runs()
                if runs and len(store.load_series(runs[0].id, ["train/loss"]).get("train/loss", ())) > 0:
                    break
            time.sleep(0.2)
        stop.set()
        proc.join(120)
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join()
    assert proc.exitcode == 0
    with open_store(url) as store:
        info = store.get_run(1)
        assert info.status == "stopped" and 0 < info.steps < 64 * 100_000
        assert len(store.load_series(1, ["train/loss"])["train/loss"]) == info.steps


@pytest.mark.parametrize("as_dict", [True, False])
def test_run_training_takes_a_config_or_its_dict(tmp_path, as_dict):
    cfg = RunConfig(model="linear", dataset=DatasetConfig(name="synthetic", n_samples=64), max_steps=5, seed=2)
    result = run_training(cfg.to_dict() if as_dict else cfg, f"sqlite:///{tmp_path / 'r.sqlite'}")
    assert result.run_id == 1 and result.summary.status == "completed" and result.summary.steps == 5
    assert result.config == cfg.validated()
