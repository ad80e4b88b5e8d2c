"""Cold load of many runs from the run store (issue 11): ``Store.load_many`` over array chunks.

Builds one database of 50 runs x 100,000 steps (``train/loss`` and ``lr`` every step, ``val/loss``
every 1,000 steps: 10.1M points) through the recorder, then measures, interleaved and with a fresh
store (a new engine and connections: nothing cached in Python) each time:

* ``Store.load_many`` of 10 runs and of 50 runs (every series, every column, and steps and values
  only: ``columns=("step", "value")``, what a plot needs);
* the floor: plain ``sqlite3`` fetching the same chunk BLOBs and ``np.frombuffer`` + concatenate;
* the old layout for reference (10 runs only): the same points as rows in a ``WITHOUT ROWID`` table
  read with ``fetchall`` -> ``np.array``, as the store did before (issue 11 measured 3.2 s).

Goals (issue 11): 10 runs <= 0.25 s and 50 runs <= 1 s.

    python bench/bench_load.py [--runs 50] [--steps 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from lrstudio.core.config import RunConfig
from lrstudio.core.events import EpochLogged, RunFinished, RunStarted, RunSummary, StepLogged
from lrstudio.storage import open_store


def build(db: Path, n_runs: int, steps: int) -> list[int]:
    rng = np.random.default_rng(0)
    loss = (2.0 * np.exp(-np.arange(steps) / steps * 5) + 0.05 * rng.random(steps)).tolist()
    lr = (0.1 * np.cos(np.linspace(0, np.pi, steps))).tolist()
    events: list = [StepLogged(i + 1, i // 1000, 0.001 * i, {"train/loss": loss[i], "lr": lr[i]})
                    for i in range(steps)]
    for e in range(steps // 1000):
        events.insert(1000 * (e + 1) + e, EpochLogged(e, 1000 * (e + 1), 1.0 * e, {"val/loss": loss[1000 * e]}))
    ids = []
    with open_store(f"sqlite:///{db}") as store:
        for r in range(n_runs):
            rid = store.create_run(RunConfig(), name=f"run {r}", status="queued")
            with store.recorder(rid) as rec:
                rec.handle([RunStarted(steps, 1000, steps // 1000, 0.0)])
                for i in range(0, len(events), 1000):
                    rec.handle(events[i:i + 1000])
                rec.handle([RunFinished(RunSummary("completed", steps, steps // 1000, 1.0))])
            ids.append(rid)
    return ids


def build_rows(db: Path, src: Path, run_ids: list[int]) -> None:
    """The same points as one row each (the layout of revisions 0001-0002)."""
    with open_store(f"sqlite:///{src}") as store:
        loaded = store.load_many(run_ids)
        sids = {(rid, key): i for i, (rid, key) in enumerate(((r, k) for r in run_ids for k in loaded[r]), 1)}
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE metric_points (series_id INTEGER NOT NULL, step INTEGER NOT NULL, value FLOAT, "
                "value_kind SMALLINT NOT NULL, wall_time FLOAT, epoch INTEGER, PRIMARY KEY (series_id, step)) "
                "WITHOUT ROWID")
    con.execute("BEGIN")
    for (rid, key), sid in sids.items():
        s = loaded[rid][key]
        con.executemany("INSERT INTO metric_points VALUES (?, ?, ?, 0, ?, ?)",
                        zip([sid] * len(s), s.step.tolist(), s.value.tolist(), s.wall_time.tolist(), s.epoch.tolist()))
    con.execute("COMMIT")
    con.close()


def load_store(db: Path, run_ids: list[int], columns: tuple[str, ...] | None = None) -> tuple[float, int]:
    with open_store(f"sqlite:///{db}", recover=False) as store:  # fresh: no connection, no cache
        t0 = time.perf_counter()
        got = store.load_many(run_ids, columns=columns)
        t = time.perf_counter() - t0
    return t, sum(len(s) for series in got.values() for s in series.values())


def load_floor(db: Path, run_ids: list[int]) -> float:
    t0 = time.perf_counter()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    marks = ", ".join("?" * len(run_ids))
    out: dict[int, list] = {}
    for sid, steps, vals, wall, epoch in con.execute(
            "SELECT c.series_id, c.steps, c.vals, c.wall, c.epoch FROM metric_chunks c JOIN metric_series s "
            f"ON s.id = c.series_id WHERE s.run_id IN ({marks}) ORDER BY c.series_id, c.seq", run_ids):
        out.setdefault(sid, []).append((np.frombuffer(steps, "<i8"), np.frombuffer(vals, "<f8"),
                                        np.frombuffer(wall, "<f8"), np.frombuffer(epoch, "<i4")))
    for parts in out.values():
        [np.concatenate([p[i] for p in parts]) for i in range(4)]
    con.close()
    return time.perf_counter() - t0


def load_rows(db: Path, n_series: int) -> float:
    t0 = time.perf_counter()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    for sid in range(1, n_series + 1):
        np.array(con.execute("SELECT step, value, value_kind, wall_time, epoch FROM metric_points "
                             "WHERE series_id = ? ORDER BY step", (sid,)).fetchall(), dtype=np.float64)
    con.close()
    return time.perf_counter() - t0


def _fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:7.1f} ms (range {min(xs) * 1000:.1f}-{max(xs) * 1000:.1f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-rows", action="store_true", help="skip the row-layout reference")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lrstudio-bench-") as tmp:
        db = Path(tmp) / "store.sqlite"
        t0 = time.perf_counter()
        ids = build(db, args.runs, args.steps)
        print(f"built {args.runs} runs x {args.steps:,} steps in {time.perf_counter() - t0:.1f} s; "
              f"file {db.stat().st_size / 2**20:.0f} MiB")
        rows_db = Path(tmp) / "rows.sqlite"
        if not args.no_rows:
            build_rows(rows_db, db, ids[:10])
        ten, every = ids[:10], ids
        res: dict[str, list[float]] = {k: [] for k in ("s10", "s50", "c10", "c50", "f10", "f50", "r10")}
        points = {}
        for _ in range(args.repeat):
            t, points[10] = load_store(db, ten)
            res["s10"].append(t)
            res["f10"].append(load_floor(db, ten))
            t, points[50] = load_store(db, every)
            res["s50"].append(t)
            res["f50"].append(load_floor(db, every))
            res["c10"].append(load_store(db, ten, ("step", "value"))[0])
            res["c50"].append(load_store(db, every, ("step", "value"))[0])
            if not args.no_rows:
                res["r10"].append(load_rows(rows_db, 30))
        print(f"median of {args.repeat}, interleaved, wall time")
        print(f"  Store.load_many {len(ten):>2} runs ({points[10]:,} points): {_fmt(res['s10'])}  goal <= 250 ms")
        print(f"  raw chunk floor  {len(ten):>2} runs                    : {_fmt(res['f10'])}")
        print(f"  Store.load_many {len(every):>2} runs ({points[50]:,} points): {_fmt(res['s50'])}  goal <= 1000 ms")
        print(f"  raw chunk floor  {len(every):>2} runs                    : {_fmt(res['f50'])}")
        print(f"  load_many(columns=('step', 'value')) {len(ten):>2} runs: {_fmt(res['c10'])}")
        print(f"  load_many(columns=('step', 'value')) {len(every):>2} runs: {_fmt(res['c50'])}")
        if res["r10"]:
            print(f"  old row layout   10 runs, raw sqlite3 fetchall      : {_fmt(res['r10'])}")
            ratio = [r / s for r, s in zip(res["r10"], res["s10"])]
            print(f"  speed-up over the row layout (10 runs): {statistics.median(ratio):.0f}x "
                  f"(range {min(ratio):.0f}-{max(ratio):.0f})")
        ratio = [s / f for s, f in zip(res["s10"], res["f10"])]
        print(f"  Store / raw chunk floor (10 runs): {statistics.median(ratio):.2f} "
              f"(range {min(ratio):.2f}-{max(ratio):.2f})")


if __name__ == "__main__":
    main()
