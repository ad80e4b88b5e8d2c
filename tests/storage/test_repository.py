"""Store: runs CRUD, filters and sorting, series as numpy, recovery, threads. SQLite + PostgreSQL."""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from sqlalchemy import func, select, update
from storage_helpers import SPECIAL, full_run, same_float, special_events, step_events

from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import StepLogged
from lrstudio.core.runs import RunInfo, Series
from lrstudio.storage import RunNotFoundError, StoreError
from lrstudio.storage.models import MetricChunkRow, MetricSeriesRow, RunRow, RunTagRow, utcnow
from lrstudio.storage.recorder import HOSTNAME


def _cfg(**kw) -> RunConfig:
    base = {"model": "linear", "lr": 0.01, "optimizer": {"name": "sgd", "params": {}},
            "schedule": {"name": "constant", "params": {}}}
    base.update(kw)
    return RunConfig(**base)


def _count(store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table.__table__)).scalar_one()


def test_create_and_get_run_returns_a_frozen_dataclass(store):
    cfg = _cfg(name="my run", lr=0.3, optimizer={"name": "adam", "params": {"beta1": 0.8}})
    rid = store.create_run(cfg)
    info = store.get_run(rid)
    assert isinstance(info, RunInfo) and dataclasses.is_dataclass(info)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.name = "x"  # type: ignore[misc]
    assert info.name == "my run" and info.status == "running"
    assert (info.model, info.dataset, info.optimizer, info.schedule, info.base_lr) == (
        "linear", "windsor", "adam", "constant", 0.3)
    assert info.owner_host == HOSTNAME and info.owner_pid == os.getpid()
    assert info.created_at.tzinfo is not None and info.heartbeat_at is not None
    assert info.config() == cfg
    assert store.duplicate_config(rid) == cfg
    assert info.lrstudio_version and len(info.uuid) == 36


def test_generated_name_and_queued_status(store):
    rid = store.create_run(_cfg(), status="queued")
    info = store.get_run(rid)
    assert info.name == "linear sgd constant lr=0.01 bs=full 10ep"
    assert info.status == "queued" and info.owner_pid is None and info.started_at is None
    with pytest.raises(StoreError, match="unknown run status"):
        store.create_run(_cfg(), status="paused")


def test_list_runs_filters_and_sorting(store):
    a = store.create_run(_cfg(name="Alpha 100%", lr=0.1))
    b = store.create_run(_cfg(name="beta_x", lr=0.5, optimizer={"name": "adam", "params": {}}))
    c = store.create_run(_cfg(name="gamma", lr=0.01, schedule={"name": "cosine", "params": {}}),
                         status="queued")
    with store.recorder(a) as rec:
        rec.handle(full_run(10))
    store.set_tags(b, ["baseline", "adam"])
    store.set_tags(c, ["baseline"])

    ids = lambda runs: [r.id for r in runs]  # noqa: E731
    assert ids(store.list_runs()) == [c, b, a]  # newest first
    assert ids(store.list_runs(order_by="created", descending=False)) == [a, b, c]
    assert ids(store.list_runs(order_by="lr", descending=False)) == [c, a, b]
    assert ids(store.list_runs(status="completed")) == [a]
    assert ids(store.list_runs(status=["running", "queued"])) == [c, b]
    assert ids(store.list_runs(optimizer="adam")) == [b]
    assert ids(store.list_runs(schedule="cosine")) == [c]
    assert ids(store.list_runs(model="cnn")) == []
    assert ids(store.list_runs(tag="baseline")) == [c, b]
    assert store.get_run(b).tags == ("adam", "baseline")
    assert ids(store.list_runs(text="ALPHA")) == [a]
    assert ids(store.list_runs(text="100%")) == [a]  # % is literal, not a wildcard
    assert ids(store.list_runs(text="a_x")) == [b]  # _ is literal
    assert ids(store.list_runs(text="%")) == [a]
    # Runs without a value sort last in both directions.
    assert ids(store.list_runs(order_by="best_loss"))[0] == a
    assert ids(store.list_runs(order_by="best_loss", descending=False))[0] == a
    with pytest.raises(StoreError, match="cannot sort"):
        store.list_runs(order_by="colour")
    with pytest.raises(StoreError, match="unknown run status"):
        store.list_runs(status="paused")


def test_rename_notes_tags_and_missing_runs(store):
    rid = store.create_run(_cfg())
    store.rename_run(rid, "  Лосс, \"quoted\"\nname  ")
    store.set_notes(rid, "notes ✓")
    store.set_tags(rid, ["b", "a", "a", " ", "c"])
    info = store.get_run(rid)
    assert info.name == 'Лосс, "quoted"\nname' and info.notes == "notes ✓" and info.tags == ("a", "b", "c")
    store.set_tags(rid, [])
    assert store.get_run(rid).tags == ()
    with pytest.raises(StoreError, match="empty"):
        store.rename_run(rid, "  ")
    for call in (lambda: store.get_run(999), lambda: store.rename_run(999, "x"),
                 lambda: store.set_notes(999, "x"), lambda: store.set_tags(999, ["x"]),
                 lambda: store.delete_run(999), lambda: store.load_series(999)):
        with pytest.raises(RunNotFoundError, match="no run with id 999"):
            call()


def test_load_series_restores_every_float_exactly(store):
    rid = store.create_run(_cfg())
    with store.recorder(rid) as rec:
        rec.handle(special_events())
    series = store.load_series(rid)
    assert sorted(series) == ["lr", "train/loss"]
    s = series["train/loss"]
    assert isinstance(s, Series) and len(s) == len(SPECIAL)
    assert s.step.dtype == np.int64 and s.value.dtype == np.float64 and s.epoch.dtype == np.int64
    assert s.step.tolist() == list(range(1, len(SPECIAL) + 1))
    assert all(same_float(a, b) for a, b in zip(s.value.tolist(), SPECIAL))
    assert s.wall_time.tolist() == [float(i) for i in range(len(SPECIAL))]
    assert list(store.load_series(rid, keys=["lr"])) == ["lr"]
    assert store.load_series(rid, keys=["nope"]) == {}


def test_load_many_and_epoch_values(store):
    r1, r2 = store.create_run(_cfg()), store.create_run(_cfg())
    with store.recorder(r1) as rec:
        rec.handle(full_run(250))
    with store.recorder(r2) as rec:
        rec.handle(step_events(30))
    many = store.load_many([r1, r2], keys=["train/loss", "val/loss"])
    assert list(many) == [r1, r2]
    assert len(many[r1]["train/loss"]) == 250 and many[r1]["train/loss"].epoch[-1] == 2
    assert many[r1]["val/loss"].step.tolist() == [100] and many[r1]["val/loss"].value.tolist() == [0.25]
    assert list(many[r2]) == ["train/loss"]
    info = store.get_run(r1)
    assert info.status == "completed" and info.steps == 250 and info.best_loss == 0.15
    assert info.summary_extra == {"r2": 0.9} and info.info["n_train"] == 160
    assert info.ended_at is not None and info.duration_s == 2.5


def test_delete_run_removes_its_points_series_and_tags(store):
    keep, gone = store.create_run(_cfg()), store.create_run(_cfg())
    for rid in (keep, gone):
        with store.recorder(rid) as rec:
            rec.handle(step_events(1500))
        store.set_tags(rid, ["x"])
    store.delete_run(gone)
    assert [r.id for r in store.list_runs()] == [keep]
    assert _count(store, MetricChunkRow) >= 2
    with store.engine.connect() as conn:  # points, not rows: a chunk row holds many
        assert conn.execute(select(func.sum(MetricChunkRow.n))).scalar_one() == 3000
    assert _count(store, MetricSeriesRow) == 2
    assert _count(store, RunTagRow) == 1
    assert len(store.load_series(keep)["lr"]) == 1500


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_recover_interrupted_marks_only_runs_whose_owner_is_gone(store):
    mine = store.create_run(_cfg(name="mine"))
    dead = store.create_run(_cfg(name="dead pid"))
    stale = store.create_run(_cfg(name="stale remote"))
    fresh = store.create_run(_cfg(name="fresh remote"))
    done = store.create_run(_cfg(name="done"))
    with store.recorder(dead) as rec:
        rec.handle(step_events(1200))
        rec.flush()
        rec.closed = True  # simulate a process that never got to close()
    with store.recorder(done) as rec:
        rec.handle(full_run(5))
    old = utcnow().replace(year=2020)
    with store.engine.begin() as conn:
        t = RunRow.__table__
        conn.execute(update(t).where(t.c.id == dead).values(owner_pid=_dead_pid()))
        conn.execute(update(t).where(t.c.id == stale).values(owner_host="elsewhere", heartbeat_at=old))
        conn.execute(update(t).where(t.c.id == fresh).values(owner_host="elsewhere", owner_pid=1))
    assert sorted(store.recover_interrupted()) == sorted([dead, stale])
    status = {r.id: r.status for r in store.list_runs()}
    assert status == {mine: "running", dead: "interrupted", stale: "interrupted", fresh: "running",
                      done: "completed"}
    assert "pid" in store.get_run(dead).error
    assert len(store.load_series(dead)["train/loss"]) == 1200  # points kept
    assert store.recover_interrupted() == []


def test_recovery_runs_on_open(store_url):
    from lrstudio.storage import open_store

    with open_store(store_url) as s:
        rid = s.create_run(_cfg())
        with s.engine.begin() as conn:
            t = RunRow.__table__
            conn.execute(update(t).where(t.c.id == rid).values(owner_pid=_dead_pid()))
    with open_store(store_url) as s:
        assert s.get_run(rid).status == "interrupted"


def test_two_concurrent_recorders_and_a_reader(store):
    """Two worker threads record while the 'GUI' thread lists and loads: no 'database is locked'."""
    runs = [store.create_run(_cfg(name=f"w{i}")) for i in range(2)]
    errors: list[BaseException] = []
    n_steps = 4000

    def work(rid: int) -> None:
        try:
            rec = store.recorder(rid, max_rows=200, max_delay_s=0.0)
            for i in range(1, n_steps + 1, 20):
                rec.handle([StepLogged(j, 0, j * 0.01, {"train/loss": 1.0 / j, "lr": 0.1})
                            for j in range(i, i + 20)])
            rec.close(status="completed")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(rid,), name=f"rec{rid}") for rid in runs]
    for t in threads:
        t.start()
    reads = 0
    while any(t.is_alive() for t in threads):
        store.list_runs()
        for rid in runs:
            s = store.load_series(rid)
            if s:
                assert np.all(np.diff(s["train/loss"].step) == 1)
        reads += 1
    for t in threads:
        t.join()
    assert not errors, errors
    assert reads > 0
    for rid in runs:
        assert store.get_run(rid).status == "completed"
        assert len(store.load_series(rid)["lr"]) == n_steps


def test_write_session_translates_errors_and_rolls_back(store):
    rid = store.create_run(_cfg())
    uuid = store.get_run(rid).uuid
    with pytest.raises(StoreError, match="database error"), store.write_session() as s:
        s.add(RunRow(uuid=uuid, name="dup", status="queued", created_at=utcnow(), config_json="{}",
                     config_schema_version=1, notes="", lrstudio_version="x"))
    assert len(store.list_runs()) == 1


def test_store_never_returns_orm_rows(store):
    rid = store.create_run(_cfg())
    from lrstudio.storage.models import Base

    for value in (store.get_run(rid), *store.list_runs()):
        assert not isinstance(value, Base)


# -- issue 9: edges that behaved differently per backend, or not at all ----------------------------

@pytest.mark.parametrize("bad", [0, -1, 2**63, 10**1000, -(2**63) - 1],
                         ids=["zero", "negative", "2**63", "10**1000", "-(2**63)-1"])
def test_run_ids_out_of_range_are_not_found_with_a_clear_message(store, bad):
    shown = str(bad) if len(str(bad)) < 30 else "a number of"
    calls = (lambda: store.get_run(bad), lambda: store.rename_run(bad, "x"),
             lambda: store.set_notes(bad, "x"), lambda: store.set_tags(bad, ["x"]),
             lambda: store.delete_run(bad), lambda: store.load_series(bad),
             lambda: store.load_many([bad]), lambda: store.recorder(bad), lambda: store.duplicate_config(bad))
    for call in calls:
        with pytest.raises(RunNotFoundError) as err:
            call()
        msg = str(err.value)
        assert "no run" in msg and shown in msg and "between 1 and 9223372036854775807" in msg
        assert len(msg) < 200


def test_the_largest_run_id_is_simply_not_found(store):
    with pytest.raises(RunNotFoundError, match="no run with id 9223372036854775807 in this database"):
        store.get_run(2**63 - 1)


def test_negative_zero_keeps_its_sign(store):
    rid = store.create_run(_cfg())
    with store.recorder(rid) as rec:
        rec.handle([StepLogged(1, 0, 0.0, {"train/loss": -0.0, "lr": 0.0}),
                    StepLogged(2, 0, 1.0, {"train/loss": 0.0, "lr": -0.0})])
    s = store.load_series(rid)
    assert [math.copysign(1.0, v) for v in s["train/loss"].value.tolist()] == [-1.0, 1.0]
    assert [math.copysign(1.0, v) for v in s["lr"].value.tolist()] == [1.0, -1.0]
    assert s["train/loss"].value.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("field", ["name", "rename", "notes", "tags", "config name"])
def test_nul_characters_are_refused_on_every_backend(store, field):
    rid = store.create_run(_cfg(name="clean"))
    before = _count(store, RunRow)
    call = {
        "name": lambda: store.create_run(_cfg(), name="a\x00b"),
        "config name": lambda: store.create_run(_cfg(name="a\x00b")),
        "rename": lambda: store.rename_run(rid, "a\x00b"),
        "notes": lambda: store.set_notes(rid, "a\x00b"),
        "tags": lambda: store.set_tags(rid, ["ok", "a\x00b"]),
    }[field]
    with pytest.raises(StoreError, match=r"NUL character.*any text without NUL"):
        call()
    info = store.get_run(rid)
    assert (info.name, info.notes, info.tags) == ("clean", "", ())
    assert _count(store, RunRow) == before


def test_create_run_validates_the_config_and_stores_nothing_when_it_fails(store):
    before = _count(store, RunRow)
    for bad, named in (({"model": "transformer9000"}, "transformer9000"), ({"lr": -1.0}, "-1"),
                       ({"optimizer": {"name": "nope", "params": {}}}, "nope"),
                       ({"schedule": {"name": "cosine", "params": {"T_max": -5}}}, "-5")):
        with pytest.raises(LrstudioError, match=named):
            store.create_run(_cfg(**bad))
    with pytest.raises(LrstudioError, match="transformer9000"):
        store.create_run({**_cfg().to_dict(), "model": "transformer9000"})
    assert _count(store, RunRow) == before
    # a valid config is stored as given
    rid = store.create_run(_cfg())
    assert store.get_run(rid).config() == _cfg()


def test_run_names_are_unique_with_a_suffix(store):
    a = store.create_run(_cfg(name="cnn adam"))
    b = store.create_run(_cfg(name="cnn adam"))
    c = store.create_run(_cfg(), name="cnn adam")
    g1, g2 = store.create_run(_cfg()), store.create_run(_cfg())
    names = [store.get_run(r).name for r in (a, b, c, g1, g2)]
    assert names[:3] == ["cnn adam", "cnn adam (2)", "cnn adam (3)"]
    assert names[4] == names[3] + " (2)"
    store.delete_run(b)
    assert store.get_run(store.create_run(_cfg(name="cnn adam"))).name == "cnn adam (2)"
    long = "x" * 200
    l1, l2 = store.create_run(_cfg(), name=long), store.create_run(_cfg(), name=long)
    assert store.get_run(l1).name == long and store.get_run(l2).name == "x" * 196 + " (2)"
    # renaming to a name another run has is refused; to its own name is fine
    with pytest.raises(StoreError, match="run .* is already named 'cnn adam'"):
        store.rename_run(c, "cnn adam")
    store.rename_run(a, "cnn adam")
    assert len({r.name for r in store.list_runs()}) == len(store.list_runs())


def test_generated_names_say_what_differs(store):
    base = dict(model="linear", optimizer={"name": "adam", "params": {}}, lr=0.01)
    r1 = store.create_run(_cfg(**base, batch_size=32, epochs=5,
                               schedule={"name": "cosine", "params": {"T_max": 100}}))
    r2 = store.create_run(_cfg(**base, batch_size=64, epochs=5,
                               schedule={"name": "cosine", "params": {"T_max": 400}}))
    n1, n2 = store.get_run(r1).name, store.get_run(r2).name
    assert n1 == "linear adam cosine(T_max=100) lr=0.01 bs=32 5ep"
    assert n2 == "linear adam cosine(T_max=400) lr=0.01 bs=64 5ep"
