"""The warm spare training child (services/process_run.py) does not live for ever: it ends after
CHILD_IDLE_S idle, or when asked (the GUI opens another database); the next run still trains in a
new child. Real spawned processes."""

from __future__ import annotations

import os
import time

import pytest

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.services import process_run
from lrstudio.storage import open_store


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie is not alive
    except OSError:
        return False


def _gone(proc: process_run.TrainingProcess, within_s: float = 60.0) -> bool:
    """The child's process is gone and its handle knows it (closed by the parent)."""
    deadline = time.monotonic() + within_s  # only stops the wait
    while (_alive(proc.pid) or proc.is_alive()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(proc.pid) and not proc.is_alive()


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'idle.sqlite'}"
    with open_store(url):
        pass
    # A spare left by an earlier test in this process would be handed out by start_spare() with
    # the idle timer it was given then (600 s), whatever CHILD_IDLE_S says now.
    process_run.close_all(2.0)
    yield url
    process_run.close_all(2.0)


CFG = RunConfig(model="linear", dataset=DatasetConfig(name="windsor"), lr=0.01, max_steps=5, batch_size=0)


def _train(proc: process_run.TrainingProcess, url: str) -> str:
    with open_store(url) as store:
        run_id = store.create_run(CFG)
    return proc.train(run_id, CFG, url, on_events=lambda batch: None).status


def test_an_idle_spare_ends_after_the_timeout_and_the_next_run_still_works(monkeypatch, db):
    monkeypatch.setattr(process_run, "CHILD_IDLE_S", 1.0)
    first = process_run.start_spare()
    assert first.is_alive()
    assert _gone(first)
    assert process_run.spare() is None and first.pid not in process_run.alive_children()
    # the next run: a new child, trained as usual, kept as the spare, and ended again when idle
    proc = process_run.take_spare()
    assert proc is not first
    assert _train(proc, db) == "completed"
    process_run.give_back(proc)
    assert process_run.spare() is proc
    assert _gone(proc)
    assert process_run.spare() is None


def test_a_child_taken_before_the_timeout_is_not_ended_by_it(monkeypatch, db):
    monkeypatch.setattr(process_run, "CHILD_IDLE_S", 0.5)
    process_run.start_spare()
    proc = process_run.take_spare()  # taken at once; its cold start alone outlasts 0.5 s
    time.sleep(1.0)
    assert proc.is_alive()
    assert _train(proc, db) == "completed"
    # given back and taken again before the timeout: the first timer does not end it
    process_run.give_back(proc)
    again = process_run.take_spare()
    assert again is proc
    time.sleep(1.0)
    assert proc.is_alive() and _train(proc, db) == "completed"
    process_run.give_back(proc)


def test_close_spare_ends_the_idle_child_now(db):
    proc = process_run.start_spare()
    pid = proc.pid
    process_run.close_spare()
    assert process_run.spare() is None
    assert _gone(proc, within_s=30)
    nxt = process_run.take_spare()
    assert nxt.pid != pid and _train(nxt, db) == "completed"
    process_run.give_back(nxt)
