"""Benchmark: the compare view with 10 runs × 100,000 points (goal: refresh ≤ 60 ms).

Builds the runs in a temporary SQLite database through the storage recorder (or reuses the one
given with ``--db``), shows a ``CompareWidget`` offscreen and times, each including a synchronous
repaint of both plots:

* ``show_runs`` cold: points read from the database (one ``load_many``), curves built;
* ``show_runs`` warm: the same runs again, series from the widget's cache;
* a smoothing change (debiased EMA of 10 × 100,000 loss points + 10 × 100,000 LR points);
* a range change (``setXRange`` on the loss plot + ``processEvents`` + repaint).

Run: ``python bench/bench_compare.py [--runs 10] [--points 100000] [--db runs.sqlite]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

from lrstudio.core.config import RunConfig
from lrstudio.core.events import EpochLogged, RunFinished, RunStarted, RunSummary, StepLogged

GOAL_MS = 60.0


def build_runs(store, n_runs: int, n_points: int) -> list[int]:
    ids = []
    for r in range(n_runs):
        lr = 0.3 / (r + 1)
        config = RunConfig(lr=lr, schedule={"name": "cosine", "params": {"min_lr": 0.0}} if r % 2 else
                           {"name": "constant", "params": {}})
        run_id = store.create_run(config, name=f"bench lr={lr:.3g}")
        rng = np.random.default_rng(r)
        t = np.arange(1, n_points + 1)
        loss = 2.0 * np.exp(-t * lr * 20 / n_points) + 0.05 + 0.05 * rng.random(n_points)
        lrs = lr * (1 + np.cos(np.pi * t / n_points)) / 2 if r % 2 else np.full(n_points, lr)
        rec = store.recorder(run_id)
        events: list = [RunStarted(total_steps=n_points, steps_per_epoch=1000, epochs=n_points // 1000,
                                   wall_time=0.0)]
        for i in range(n_points):
            events.append(StepLogged(step=i + 1, epoch=i // 1000, wall_time=0.002 * (i + 1),
                                     values={"train/loss": float(loss[i]), "lr": float(lrs[i])}))
            if (i + 1) % 1000 == 0:
                events.append(EpochLogged(epoch=i // 1000, step=i + 1, wall_time=0.002 * (i + 1),
                                          values={"val/loss": float(loss[i]) * 1.1}))
            if len(events) >= 20_000:
                rec.handle(events)
                events = []
        events.append(RunFinished(RunSummary(status="completed", steps=n_points, epochs=n_points // 1000,
                                             duration_s=0.002 * n_points, final_loss=float(loss[-1]),
                                             best_loss=float(loss.min()))))
        rec.handle(events)
        rec.close()
        ids.append(run_id)
        print(f"  built run {r + 1}/{n_runs}", file=sys.stderr, flush=True)
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", help="SQLite file to build (or reuse when it already has the runs)")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from lrstudio.gui.compare import CompareWidget
    from lrstudio.storage import open_store

    app = QApplication.instance() or QApplication([])
    tmp = None
    if args.db:
        db = Path(args.db)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="lrstudio-bench-")
        db = Path(tmp.name) / "bench.sqlite"
    store = open_store(f"sqlite:///{db}", backup=False)
    try:
        ids = [r.id for r in store.list_runs(order_by="created", descending=False)][: args.runs]
        if len(ids) < args.runs:
            t0 = time.perf_counter()
            print(f"building {args.runs} runs × {args.points:,} points in {db} …", file=sys.stderr)
            ids = build_runs(store, args.runs, args.points)
            print(f"  built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

        widget = CompareWidget(store)
        widget.resize(1400, 900)
        widget.show()
        app.processEvents()

        def repaint() -> None:
            app.processEvents()
            for plot in widget.plot_widgets():
                plot.viewport().repaint()

        cpu: dict[str, list[float]] = {}

        def timed(fn, label: str) -> float:
            # Wall time is what the user feels; CPU time of this process is also printed because
            # the wall time is inflated whenever other processes compete for the cores.
            c = time.process_time()
            t = time.perf_counter()
            fn()
            repaint()
            wall = (time.perf_counter() - t) * 1000
            cpu.setdefault(label, []).append((time.process_time() - c) * 1000)
            return wall

        cold, warm, smooth, ranged = [], [], [], []
        for i in range(args.repeat):
            widget.invalidate()
            widget.show_runs([])
            repaint()
            cold.append(timed(lambda: widget.show_runs(ids), "cold"))
            widget.show_runs([])
            repaint()
            warm.append(timed(lambda: widget.show_runs(ids), "warm"))
            weight = 0.6 + 0.05 * i
            smooth.append(timed(lambda w=weight: widget.set_smoothing(w), "smooth"))
            for lo in (0, args.points // 4, args.points // 2):
                ranged.append(timed(lambda lo=lo: widget.loss_plot.setXRange(lo, lo + args.points // 3,
                                                                             padding=0), "range"))
            widget.loss_plot.getPlotItem().enableAutoRange()
        widget.set_smoothing(0.0)
        widget.grab().save(str(Path(tempfile.gettempdir()) / "lrstudio-bench-compare.png"))

        n_points = sum(len(s) for sid in ids for s in widget._series[sid].values())
        print(f"compare view: {len(ids)} runs, {n_points:,} points loaded "
              f"(train/loss, lr, val/loss), {args.repeat} repeats; times include a repaint")
        print(f"  {'':<26} {'wall median':>12} {'wall min':>10} {'wall max':>10} {'CPU median':>11}")
        for label, key, values in (("show_runs cold (from DB)", "cold", cold),
                                   ("show_runs warm (cached)", "warm", warm),
                                   ("smoothing change", "smooth", smooth), ("x range change", "range", ranged)):
            med = statistics.median(values)
            flag = "" if key == "cold" else ("  ok" if med <= GOAL_MS else "  OVER GOAL")
            print(f"  {label:<26} {med:9.1f} ms {min(values):7.1f} ms {max(values):7.1f} ms "
                  f"{statistics.median(cpu[key]):8.1f} ms{flag}")
        print(f"  goal: refresh ≤ {GOAL_MS:.0f} ms (cold load is bounded by the database read)")
        widget.close()
        widget.deleteLater()
        app.processEvents()
    finally:
        store.close()
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
