"""services/process_run.py without Qt: a REAL spawned child trains a run the caller created,
relays its batches, is reused, and a child that dies leaves its run failed with its points."""

from __future__ import annotations

import os
import signal
import threading

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.events import RunFinished, RunStarted, StepLogged
from lrstudio.services.process_run import TrainingProcess, can_share, exit_text
from lrstudio.storage import open_store


def _cfg(**kw) -> RunConfig:
    base = dict(model="linear", dataset=DatasetConfig(name="synthetic", n_samples=64), batch_size=8, epochs=2,
                seed=3)
    base.update(kw)
    return RunConfig(**base)


def test_a_child_trains_runs_it_is_sent_and_stores_them(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    proc = TrainingProcess()
    try:
        with open_store(url) as store:
            for n in (1, 2):  # the same child, twice
                cfg = _cfg().validated()
                run_id = store.create_run(cfg)
                events: list = []
                summary = proc.train(run_id, cfg, url, on_events=events.extend)
                assert summary.status == "completed" and summary.steps > 0
                assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
                assert [e.step for e in events if isinstance(e, StepLogged)] == list(range(1, summary.steps + 1))
                info = store.get_run(run_id)
                assert info.status == "completed" and info.owner_pid == proc.pid != os.getpid()
                assert proc.runs == n
    finally:
        proc.close()
    assert not proc.is_alive()


def test_a_killed_child_leaves_its_run_failed(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    proc = TrainingProcess()
    killed = threading.Event()
    committed: list[int] = []

    def stored_points(store, run_id) -> int:
        return len(store.load_series(run_id, ["train/loss"]).get("train/loss", ()))

    try:
        with open_store(url) as store:
            cfg = _cfg(epochs=100_000, batch_size=1).validated()
            run_id = store.create_run(cfg)

            def on_events(batch: list) -> None:
                # Killed once the child has committed points (it commits every 0.5 s): what it
                # committed must survive the kill; what it had not committed is lost.
                if killed.is_set() or not any(isinstance(e, StepLogged) for e in batch):
                    return
                n = stored_points(store, run_id)
                if n:
                    committed.append(n)
                    killed.set()
                    os.kill(proc.pid, signal.SIGKILL)

            summary = proc.train(run_id, cfg, url, on_events=on_events)
            assert killed.is_set()
            assert summary.status == "failed" and "SIGKILL" in (summary.error or "")
            info = store.get_run(run_id)
            assert info.status == "failed" and info.steps == summary.steps > 0
            assert stored_points(store, run_id) >= committed[0] > 0
    finally:
        proc.close()


def test_words():
    assert exit_text(-9) == "killed by SIGKILL" and exit_text(3) == "exit code 3"
    assert not can_share("sqlite://") and not can_share("sqlite:///:memory:") and can_share("sqlite:///x.db")


def test_the_child_runs_at_the_niceness_asked_for_and_a_spare_of_another_is_not_reused(monkeypatch):
    from lrstudio.services import process_run

    base = os.getpriority(os.PRIO_PROCESS, 0)
    monkeypatch.setattr(process_run, "CHILD_NICE", 3)
    proc = process_run.start_spare()
    try:
        assert proc.wait_ready(120)
        assert proc.nice == 3 and os.getpriority(os.PRIO_PROCESS, proc.pid) == min(19, base + 3)
        assert os.sched_getscheduler(proc.pid) == os.SCHED_BATCH  # the GUI thread is preferred
        monkeypatch.setattr(process_run, "CHILD_NICE", 0)
        other = process_run.take_spare()
        try:
            assert other is not proc and other.nice == 0 and not proc.is_alive()
        finally:
            other.close()
    finally:
        proc.close()
