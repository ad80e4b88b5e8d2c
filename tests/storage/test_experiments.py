"""Experiments in the store (issue 13): create/get/list/update/claim/heartbeat/delete, trials."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lrstudio.core.config import RunConfig
from lrstudio.core.sweep import ExperimentSpec
from lrstudio.storage import StoreError
from lrstudio.storage.experiments import ExperimentNotFoundError


def _spec(**kw):
    return ExperimentSpec(base=RunConfig(epochs=2), space={"lr": [0.1, 0.01]}, method="grid", **kw)


def test_create_get_list_update_and_trials(store):
    eid = store.create_experiment(_spec())
    info = store.get_experiment(eid)
    assert info.status == "pending" and info.method == "grid" and info.name == "sweep grid lr"
    assert info.spec().points() == [{"lr": 0.1}, {"lr": 0.01}]
    eid2 = store.create_experiment(_spec())
    assert store.get_experiment(eid2).name == "sweep grid lr (2)"
    assert [e.id for e in store.list_experiments()] == [eid2, eid]
    store.update_experiment(eid, status="completed", state={"asked": 2, "trials": {"0": {"lr": 0.1}}}, notes="n")
    info = store.get_experiment(eid)
    assert info.status == "completed" and info.state["asked"] == 2 and info.notes == "n"
    assert [e.id for e in store.list_experiments("completed")] == [eid]
    rid = store.create_run(RunConfig(lr=0.1), experiment_id=eid, trial=0)
    store.create_run(RunConfig(lr=0.2))
    assert [(r.id, r.trial) for r in store.list_trials(eid)] == [(rid, 0)]
    store.delete_experiment(eid)
    run = store.get_run(rid)
    assert run.experiment_id is None and run.trial is None
    with pytest.raises(ExperimentNotFoundError):
        store.get_experiment(eid)


def test_bad_values_are_refused_with_what_is_allowed(store):
    eid = store.create_experiment(_spec())
    with pytest.raises(StoreError, match="allowed: pending, running"):
        store.update_experiment(eid, status="paused")
    with pytest.raises(ExperimentNotFoundError, match="no experiment with id 999"):
        store.update_experiment(999, status="running")
    with pytest.raises(ExperimentNotFoundError):
        store.get_experiment(-1)
    with pytest.raises(StoreError, match="NUL"):
        store.create_experiment(_spec(), name="a\x00b")
    assert [e.id for e in store.list_experiments()] == [eid]


def _claimer(store_url, eid):
    code = ("import sys,time; from lrstudio.storage import open_store, StoreError; s=open_store(sys.argv[1])\n"
            "try:\n    s.claim_experiment(int(sys.argv[2]))\nexcept StoreError as e:\n    print('refused', e, flush=True)\n"
            "else:\n    print('ok', flush=True); time.sleep(60)")
    return subprocess.Popen([sys.executable, "-c", code, store_url, str(eid)], stdout=subprocess.PIPE, text=True)


def _end(p):
    p.kill()
    p.wait()
    p.stdout.close()


def test_claim_refuses_a_live_owner_and_recovers_a_dead_one(store, store_url):
    eid = store.create_experiment(_spec())
    info = store.claim_experiment(eid)
    assert info.status == "running" and info.owner_pid == os.getpid()
    p = _claimer(store_url, eid)  # another process, while this one owns it
    try:
        assert p.stdout.readline().startswith(f"refused experiment {eid}")
    finally:
        _end(p)
    store.update_experiment(eid, status="interrupted", release=True)
    p = _claimer(store_url, eid)
    try:
        assert p.stdout.readline() == "ok\n"
        with pytest.raises(StoreError, match="is being run by process"):
            store.claim_experiment(eid)
    finally:
        _end(p)
    assert store.recover_experiments() == [eid]  # its owner is gone now
    assert store.get_experiment(eid).status == "interrupted"
    assert store.claim_experiment(eid).owner_pid == os.getpid()
