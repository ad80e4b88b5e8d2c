"""Run-store throughput against the limit: raw ``sqlite3.executemany`` of the same points as rows.

Writes 2 series x N points (N = 5,000, 50,000 and 500,000 by default: 10k, 100k and 1M points) through :class:`~lrstudio.storage.recorder.RunRecorder` (events in
batches, as the training worker hands them over) and reads them back into numpy with
``Store.load_series``; then does the same with plain ``sqlite3`` into an equivalent
``WITHOUT ROWID`` table (one ``executemany`` in one transaction, same pragmas) and reads it back
with ``fetchall`` -> ``np.array``. Repetitions interleave raw and recorder. Prints points/s, read
times, the ratios (median and range) and the database size per point (the store's file after
closing, WAL included, against the raw row table's).

Goals: issue 11: recorder write >= 1.0 x raw at 10k, 100k and 1M points (the store keeps series
as array chunks, ``lrstudio/storage/chunks.py``); <= 30 bytes per point at 1M points (MLflow: 251,
TensorBoard: 46, measured in the issue). Issue 5: read <= 1.5 x raw time.

    python bench/bench_store.py [--points 5000,50000,500000] [--repeat 3] [--batch 500]
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from lrstudio.core.config import RunConfig
from lrstudio.core.events import RunFinished, RunStarted, RunSummary, StepLogged
from lrstudio.storage import open_store

KEYS = ("train/loss", "lr")


def make_events(n: int) -> list:
    rng = np.random.default_rng(0)
    loss = rng.random(n).tolist()
    lr = (0.1 * np.cos(np.linspace(0, math.pi, n))).tolist()
    return [StepLogged(i + 1, i // 1000, 0.001 * i, {"train/loss": loss[i], "lr": lr[i]}) for i in range(n)]


def _clock(cpu: bool):
    return time.process_time if cpu else time.perf_counter


def bench_recorder(folder: Path, events: list, batch: int, cpu: bool = False) -> tuple[float, float, int]:
    clock = _clock(cpu)
    store = open_store(f"sqlite:///{folder / 'store.sqlite'}")
    try:
        rid = store.create_run(RunConfig(), name="bench", status="queued")
        rec = store.recorder(rid)
        t0 = clock()
        rec.handle([RunStarted(len(events), 1000, 50, 0.0)])
        for i in range(0, len(events), batch):
            rec.handle(events[i:i + batch])
        rec.handle([RunFinished(RunSummary("completed", len(events), 50, 1.0))])
        rec.close()
        t_write = clock() - t0
    finally:
        store.close()
    # Read with a fresh store (as the GUI would), best of 3.
    store = open_store(f"sqlite:///{folder / 'store.sqlite'}")
    try:
        reads = []
        for _ in range(3):
            t0 = clock()
            series = store.load_series(rid)
            reads.append(clock() - t0)
        t_read = min(reads)
        assert all(len(series[k]) == len(events) for k in KEYS), {k: len(v) for k, v in series.items()}
        assert np.array_equal(series["train/loss"].value, [e.values["train/loss"] for e in events])
    finally:
        store.close()
    return t_write, t_read, rec.commits, _size(folder / "store.sqlite")


def _size(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())


RAW_SCHEMA = """
CREATE TABLE metric_points (
    series_id INTEGER NOT NULL, step INTEGER NOT NULL, value FLOAT, value_kind SMALLINT NOT NULL,
    wall_time FLOAT, epoch INTEGER, PRIMARY KEY (series_id, step)
) WITHOUT ROWID
"""


def bench_raw(folder: Path, events: list, cpu: bool = False) -> tuple[float, float, int]:
    clock = _clock(cpu)
    con = sqlite3.connect(folder / "raw.sqlite", isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute(RAW_SCHEMA)
    # Tuples prepared outside the timing: this is the limit, not a fair comparison of the recorder.
    rows = [(sid, e.step, e.values[k], 0, e.wall_time, e.epoch) for sid, k in enumerate(KEYS, 1) for e in events]
    t0 = clock()
    con.execute("BEGIN")
    con.executemany("INSERT INTO metric_points VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.execute("COMMIT")
    t_write = clock() - t0
    con.close()
    # Read with a fresh connection, best of 3.
    con = sqlite3.connect(folder / "raw.sqlite", isolation_level=None)
    reads = []
    for _ in range(3):
        t0 = clock()
        out = {}
        for sid in (1, 2):
            got = con.execute("SELECT step, value, value_kind, wall_time, epoch FROM metric_points "
                              "WHERE series_id = ? ORDER BY step", (sid,)).fetchall()
            out[sid] = np.array(got, dtype=np.float64)
        reads.append(clock() - t0)
    t_read = min(reads)
    assert out[1].shape == (len(events), 5)
    con.close()
    return t_write, t_read, _size(folder / "raw.sqlite")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", default="5000,50000,500000", help="points per series (2 series), comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=500, help="events per recorder.handle() call")
    ap.add_argument("--cpu", action="store_true",
                    help="measure process CPU time instead of wall time (steadier on a shared machine)")
    args = ap.parse_args()
    what = "CPU time" if args.cpu else "wall time"
    for per_series in (int(p) for p in args.points.split(",")):
        events = make_events(per_series)
        n = 2 * per_series
        rw, rr, sw, sr, ratios = [], [], [], [], []
        commits = size_raw = size_rec = 0
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="lrstudio-bench-") as tmp:
                w, r, size_raw = bench_raw(Path(tmp), events, args.cpu)
                rw.append(w)
                rr.append(r)
                w2, r2, commits, size_rec = bench_recorder(Path(tmp), events, args.batch, args.cpu)
                sw.append(w2)
                sr.append(r2)
                ratios.append(w / w2)
        raw_w, raw_r, rec_w, rec_r = (statistics.median(x) for x in (rw, rr, sw, sr))
        print(f"{n:,} points (2 series x {per_series:,}), median of {args.repeat}, {what}; "
              f"recorder: {commits} commits, {args.batch} steps per handle()")
        print(f"  write  raw sqlite3 executemany : {n / raw_w:12,.0f} points/s  ({raw_w * 1000:7.1f} ms)")
        print(f"  write  RunRecorder             : {n / rec_w:12,.0f} points/s  ({rec_w * 1000:7.1f} ms)")
        print(f"  read   raw fetchall -> numpy   : {raw_r * 1000:8.1f} ms")
        print(f"  read   Store.load_series       : {rec_r * 1000:8.1f} ms")
        print(f"  write throughput ratio recorder/raw = {statistics.median(ratios):.2f} "
              f"(range {min(ratios):.2f}-{max(ratios):.2f}; goal >= 1.0)")
        print(f"  read time ratio store/raw           = {rec_r / raw_r:.2f}  (goal <= 1.5)")
        print(f"  bytes per point: store {size_rec / n:.1f} (goal <= 30 at 1M), raw rows {size_raw / n:.1f}; "
              f"MLflow 251, TensorBoard 46 (issue 11)")


if __name__ == "__main__":
    main()
