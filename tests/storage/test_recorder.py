"""RunRecorder batching: transactions of <= max_rows rows or <= max_delay_s, never one per step."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select
from storage_helpers import step_events

from lrstudio.core.config import RunConfig
from lrstudio.core.events import RunFinished, RunStarted, RunSummary, StepLogged
from lrstudio.storage import StoreError
from lrstudio.storage.models import MetricChunkRow


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def commits(store):
    """Counts real COMMITs on the store's connections (all sessions, connections and the
    recorder's own DB-API transactions): sqlite3's statement trace sees each COMMIT; a psycopg
    connection's commit() is wrapped."""
    counter = {"n": 0}
    sqlite = store.engine.dialect.name == "sqlite"

    def trace(sql):
        if sql.lstrip().upper().startswith("COMMIT"):
            counter["n"] += 1

    def on_checkout(dbapi_conn, record, proxy):
        if sqlite:
            dbapi_conn.set_trace_callback(trace)
        elif "commit" not in vars(dbapi_conn):
            commit = dbapi_conn.commit

            def counted():
                counter["n"] += 1
                commit()

            dbapi_conn.commit = counted

    def on_checkin(dbapi_conn, record):
        if dbapi_conn is None:
            return
        if sqlite:
            dbapi_conn.set_trace_callback(None)
        else:
            vars(dbapi_conn).pop("commit", None)

    event.listen(store.engine.pool, "checkout", on_checkout)
    event.listen(store.engine.pool, "checkin", on_checkin)
    yield counter
    event.remove(store.engine.pool, "checkout", on_checkout)
    event.remove(store.engine.pool, "checkin", on_checkin)


def _points(store) -> int:
    with store.engine.connect() as conn:
        # points, not rows: a chunk row holds many
        return conn.execute(select(func.coalesce(func.sum(MetricChunkRow.n), 0))).scalar_one()


def test_big_batch_is_split_into_transactions_of_max_rows(store, commits):
    rid = store.create_run(RunConfig(), status="queued")
    clock = FakeClock()
    rec = store.recorder(rid, clock=clock)
    rec.handle(step_events(1))  # creates the two series (a short transaction each); 2 points wait
    commits["n"] = 0
    rec.handle(step_events(4999, start=2))  # 10,000 points in all, no time passes
    assert commits["n"] == 10  # exactly 10 transactions of 1,000 rows
    assert _points(store) == 10_000
    rec.close()


def test_small_batches_wait_for_the_delay(store, commits):
    rid = store.create_run(RunConfig())
    clock = FakeClock()
    rec = store.recorder(rid, clock=clock)
    rec.handle(step_events(1))  # creates the two series (their own short transactions)
    commits["n"] = 0
    for i in range(2, 300):  # 298 steps, one handle() each, no time passes: nothing due
        rec.handle([StepLogged(i, 0, 0.0, {"train/loss": 1.0, "lr": 0.1})])
    assert commits["n"] == 0
    clock.t += 0.5
    rec.handle([StepLogged(300, 0, 0.0, {"train/loss": 1.0, "lr": 0.1})])
    assert commits["n"] == 1 and _points(store) == 600
    rec.close()


def test_one_step_per_handle_with_real_clock_commits_per_batch_not_per_step(store, commits):
    rid = store.create_run(RunConfig())
    rec = store.recorder(rid)
    commits["n"] = 0
    for i in range(1, 2001):
        rec.handle([StepLogged(i, 0, 0.0, {"train/loss": 1.0, "lr": 0.1})])
    rec.close(status="completed")
    assert _points(store) == 4000
    assert commits["n"] <= 4000 // 1000 + 10  # ~4 size-triggered + a few time-triggered + close


def test_run_finished_writes_summary_with_last_points_in_one_transaction(store, commits):
    rid = store.create_run(RunConfig(), status="queued")
    clock = FakeClock()
    rec = store.recorder(rid, clock=clock)
    rec.handle([RunStarted(1500, 100, 15, 0.0, {"k": 1})])
    assert store.get_run(rid).status == "running"  # RunStarted is written at once
    rec.handle(step_events(1))
    commits["n"] = 0
    rec.handle(step_events(1199, start=2) + [RunFinished(RunSummary("stopped", 1200, 12, 9.5, final_loss=0.3))])
    # 2,400 points: 2 full transactions of 1,000, then the last 400 points with the summary.
    assert commits["n"] == 3
    info = store.get_run(rid)
    assert info.status == "stopped" and info.steps == 1200 and info.final_loss == 0.3
    assert info.ended_at is not None and info.info == {"k": 1}
    assert _points(store) == 2400
    rec.handle(step_events(5, start=2000))  # events after the end are ignored
    rec.close()
    assert _points(store) == 2400 and store.get_run(rid).status == "stopped"


def test_close_without_run_finished_marks_the_run(store):
    a, b = store.create_run(RunConfig()), store.create_run(RunConfig())
    with store.recorder(a) as rec:
        rec.handle(step_events(10))
    assert store.get_run(a).status == "interrupted"
    assert len(store.load_series(a)["lr"]) == 10  # close() flushed the tail
    rec = store.recorder(b)
    rec.close(status="failed", error="ValueError: boom")
    info = store.get_run(b)
    assert info.status == "failed" and info.error == "ValueError: boom"
    with pytest.raises(StoreError, match="closed"):
        rec.handle(step_events(1))


def test_exception_inside_with_block_marks_failed(store):
    rid = store.create_run(RunConfig())
    with pytest.raises(RuntimeError), store.recorder(rid) as rec:
        rec.handle(step_events(3))
        raise RuntimeError("worker crashed")
    info = store.get_run(rid)
    assert info.status == "failed" and "worker crashed" in info.error


def test_heartbeat_moves_forward(store):
    rid = store.create_run(RunConfig())
    clock = FakeClock()
    rec = store.recorder(rid, clock=clock)
    first = store.get_run(rid).heartbeat_at
    clock.t += 10
    rec.handle([])  # no events, but the heartbeat is due
    assert store.get_run(rid).heartbeat_at > first
    rec.close()


def test_repeated_step_replaces_the_point(store):
    rid = store.create_run(RunConfig())
    with store.recorder(rid) as rec:
        rec.handle([StepLogged(1, 0, 0.0, {"lr": 1.0})])
        rec.flush()
        rec.handle([StepLogged(1, 0, 0.5, {"lr": 2.0})])
    s = store.load_series(rid)["lr"]
    assert s.step.tolist() == [1] and s.value.tolist() == [2.0]


def test_bad_final_status_is_refused(store):
    rid = store.create_run(RunConfig())
    rec = store.recorder(rid)
    with pytest.raises(StoreError, match="cannot end as"):
        rec.close(status="running")


HOLD_WRITE = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
print("holding", flush=True)
sys.stdin.readline()
con.execute("ROLLBACK")
"""


def test_a_commit_blocked_by_another_writer_says_who_and_keeps_the_points(tmp_path, monkeypatch):
    """The recorder's own DB-API transactions turn driver errors into the store's errors (a locked
    file names the process holding it) and keep the points for the next commit."""
    import subprocess
    import sys

    from lrstudio.storage import DatabaseLockedError, open_store

    db = tmp_path / "busy.sqlite"
    monkeypatch.setattr("lrstudio.storage.engine.BUSY_TIMEOUT_MS", 300)
    with open_store(f"sqlite:///{db}") as store:
        rid = store.create_run(RunConfig())
        rec = store.recorder(rid, clock=FakeClock())
        rec.handle(step_events(3))  # creates the series; the points wait
        holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE, str(db)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "holding"
            with pytest.raises(DatabaseLockedError) as err:
                rec.flush()
        finally:
            holder.stdin.close()
            holder.wait(30)
            holder.stdout.close()
        assert f"pid {holder.pid}" in str(err.value) and "The file is fine" in str(err.value)
        assert _points(store) == 0
        rec.close(status="completed")
        assert _points(store) == 6 and store.get_run(rid).status == "completed"
