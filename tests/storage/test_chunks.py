"""Chunked series storage (issue 11): partial chunks per commit, merged later, read as one series."""

from __future__ import annotations

import math

import numpy as np
from sqlalchemy import func, select
from storage_helpers import step_events

from lrstudio.core.config import RunConfig
from lrstudio.core.events import StepLogged
from lrstudio.storage.chunks import CHUNK_POINTS, TAIL_CHUNKS
from lrstudio.storage.models import MetricChunkRow


def _chunks(store) -> list[tuple[int, int, int]]:
    """(series_id, seq, n) of every chunk row."""
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(MetricChunkRow.series_id, MetricChunkRow.seq, MetricChunkRow.n)
                                               .order_by(MetricChunkRow.series_id, MetricChunkRow.seq))]


def test_each_commit_writes_one_partial_chunk_per_series_and_reads_concatenate(store):
    rid = store.create_run(RunConfig())
    rec = store.recorder(rid, max_rows=100)
    rec.handle(step_events(250))  # 500 points: 5 commits of 100 points, 50 per series each
    got = _chunks(store)
    assert len(got) == 10 and {n for _, _, n in got} == {50}
    s = store.load_series(rid)  # read while the run is live: partial chunks concatenated
    assert s["lr"].step.tolist() == list(range(1, 251))
    rec.close()


def test_partial_chunks_are_merged_in_flight_and_at_the_end(store):
    rid = store.create_run(RunConfig())
    with store.recorder(rid, max_rows=20) as rec:
        events = step_events(10 * (TAIL_CHUNKS + 3))  # 10 points per series per commit
        rec.handle(events)
        live = _chunks(store)
        per_series = {sid: sum(1 for s, _, _ in live if s == sid) for sid, _, _ in live}
        assert max(per_series.values()) < TAIL_CHUNKS  # merged once TAIL_CHUNKS partial chunks piled up
    done = _chunks(store)
    assert len(done) == 2 and [n for _, _, n in done] == [len(events)] * 2  # one chunk per series at the end
    s = store.load_series(rid)["train/loss"]
    assert s.step.tolist() == [e.step for e in events]
    assert s.value.tolist() == [e.values["train/loss"] for e in events]
    assert s.epoch.tolist() == [e.epoch for e in events] and s.wall_time.tolist() == [e.wall_time for e in events]


def test_a_long_series_is_stored_in_full_chunks(store):
    rid = store.create_run(RunConfig())
    n = 2 * CHUNK_POINTS + 5
    with store.recorder(rid, max_rows=100_000) as rec:  # one commit
        rec.handle([StepLogged(i, 0, 0.0, {"x": float(i)}) for i in range(n)])
    assert [c[2] for c in _chunks(store)] == [CHUNK_POINTS, CHUNK_POINTS, 5]
    assert np.array_equal(store.load_series(rid)["x"].value, np.arange(n, dtype=float))


def test_special_values_are_bit_exact_and_repeated_steps_keep_the_last(store):
    nan_payload = np.array([0x7FF8_0000_0000_0BAD], dtype=np.int64).view(np.float64)[0]
    values = [math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, float(nan_payload)]
    rid = store.create_run(RunConfig())
    with store.recorder(rid) as rec:
        rec.handle([StepLogged(i, 0, 0.0, {"x": v}) for i, v in enumerate(values)])
        rec.flush()
        rec.handle([StepLogged(2, 0, 1.0, {"x": 7.0})])  # step 2 again, in a later chunk
    s = store.load_series(rid)["x"]
    want = list(values)
    want[2] = 7.0
    assert s.step.tolist() == list(range(len(values)))
    assert s.value.view(np.int64).tolist() == np.array(want).view(np.int64).tolist()


def test_big_epochs_are_stored_as_int64(store):
    rid = store.create_run(RunConfig())
    with store.recorder(rid) as rec:
        rec.handle([StepLogged(1, 2**40, 0.0, {"x": 1.0}), StepLogged(2, -1, 0.0, {"x": 2.0})])
    assert store.load_series(rid)["x"].epoch.tolist() == [2**40, -1]


def test_a_second_recorder_of_a_run_appends_after_the_first(store):
    rid = store.create_run(RunConfig())
    rec = store.recorder(rid)
    rec.handle(step_events(10))
    rec.flush()
    rec2 = store.recorder(rid)
    rec2.handle(step_events(5, start=11))
    rec2.close(status="stopped")
    assert store.load_series(rid)["lr"].step.tolist() == list(range(1, 16))
    with store.engine.connect() as conn:
        assert conn.execute(select(func.sum(MetricChunkRow.n))).scalar_one() == 30


def test_a_value_that_is_no_number_is_a_store_error(store):
    import pytest

    from lrstudio.storage import StoreError

    rid = store.create_run(RunConfig())
    rec = store.recorder(rid)
    with pytest.raises(StoreError, match="not a number"):
        rec.handle([StepLogged(1, 0, 0.0, {"x": "abc"})])
        rec.flush()


def test_load_many_reads_only_steps_and_values_when_asked(store):
    rid = store.create_run(RunConfig())
    with store.recorder(rid) as rec:
        rec.handle(step_events(30))
        rec.flush()
        rec.handle(step_events(5, start=10))  # repeated steps resolved on this path too
    full = store.load_many([rid])[rid]["lr"]
    lean = store.load_many([rid], ["lr"], columns=("step", "value"))[rid]["lr"]
    assert lean.step.tolist() == full.step.tolist() == list(range(1, 31))
    assert lean.value.tolist() == full.value.tolist()
    assert len(lean.wall_time) == 0 and len(lean.epoch) == 0 and len(full.wall_time) == 30
    assert store.load_series(rid, columns=("step", "value"))["train/loss"].step.tolist() == list(range(1, 31))
