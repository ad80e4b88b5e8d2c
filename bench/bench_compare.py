"""Benchmark: the compare view with 10 runs × 100,000 points (goal: refresh ≤ 60 ms).

Builds ``runs + 2`` runs in a temporary SQLite database through the storage recorder (or reuses
the one given with ``--db``), shows a ``CompareWidget`` offscreen and times user actions, each
up to the end of the ``processEvents`` that follows it, which lays out and paints what changed, as
the event loop would (the number of plot paints per action is printed, to show that they were
drawn). ``--forced-repaint`` adds a synchronous repaint of both plots after that, as earlier
versions of this benchmark did (a changed plot is then painted twice):

* ``select 10 runs, cold``: nothing cached; the points are read from the database (one
  ``load_many``), curves built;
* ``switch to another 10``: the selection changes from runs 1-10 to runs 3-12 (or back), all
  cached: 2 runs leave, 2 come back, the 8 others move to other colours, the tables and legends
  are refilled;
* ``select 10 runs after none``: the selection is cleared, then the 10 cached runs selected again;
* ``smoothing change``: a new weight (debiased EMA of the 10 loss curves, 10 × 100,000 points);
* ``zoom/pan to 1/3``: ``setXRange`` of the loss plot over a third of the steps, at 3 offsets;
* ``zoom in to 1/25``: the same over 4,000 steps (full-resolution data);

and prints the wall-time median, min and max and the median CPU time of this process (the wall
time is inflated whenever other processes compete for the cores).

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


def build_runs(store, first: int, n_runs: int, n_points: int) -> list[int]:
    ids = []
    for r in range(first, first + n_runs):
        lr = 0.3 / (r + 1)
        config = RunConfig(lr=lr, schedule={"name": "cosine", "params": {"eta_min": 0.0}} if r % 2 else
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
        print(f"  built run {r + 1}/{first + n_runs}", file=sys.stderr, flush=True)
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", help="SQLite file to build (or reuse when it already has the runs)")
    parser.add_argument("--forced-repaint", action="store_true",
                        help="also repaint both plots synchronously after each action")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from lrstudio.gui.compare.widget import CompareWidget
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
        wanted = args.runs + 2
        all_ids = [r.id for r in store.list_runs(order_by="created", descending=False)][:wanted]
        if len(all_ids) < wanted:
            t0 = time.perf_counter()
            print(f"building {wanted - len(all_ids)} runs × {args.points:,} points in {db} …", file=sys.stderr)
            all_ids += build_runs(store, len(all_ids), wanted - len(all_ids), args.points)
            print(f"  built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        ids, other_ids = all_ids[: args.runs], all_ids[2:wanted]

        widget = CompareWidget(store)
        widget.resize(1400, 900)
        widget.show()
        app.processEvents()

        class PaintCounter(QObject):
            paints = 0

            def eventFilter(self, _obj, event) -> bool:
                if event.type() == QEvent.Type.Paint:
                    self.paints += 1
                return False

        counter = PaintCounter()
        for plot in widget.plot_widgets():
            plot.viewport().installEventFilter(counter)

        def repaint() -> None:
            app.processEvents()
            if args.forced_repaint:
                for plot in widget.plot_widgets():
                    plot.viewport().repaint()

        cpu: dict[str, list[float]] = {}
        paints: dict[str, list[int]] = {}

        def timed(fn, label: str) -> float:
            # Wall time is what the user feels; CPU time of this process is also printed because
            # the wall time is inflated whenever other processes compete for the cores.
            counter.paints = 0
            c = time.process_time()
            t = time.perf_counter()
            fn()
            repaint()
            wall = (time.perf_counter() - t) * 1000
            cpu.setdefault(label, []).append((time.process_time() - c) * 1000)
            paints.setdefault(label, []).append(counter.paints)
            return wall

        rows = {key: [] for key in ("cold", "switch", "again", "smooth", "range", "deep")}
        for i in range(args.repeat):
            widget.invalidate()
            widget.show_runs([])
            repaint()
            rows["cold"].append(timed(lambda: widget.show_runs(ids), "cold"))
            widget.show_runs(other_ids)  # first showing of runs 11-12 reads them (not timed)
            repaint()
            for sel in (ids, other_ids):
                rows["switch"].append(timed(lambda sel=sel: widget.show_runs(sel), "switch"))
            widget.show_runs([])
            repaint()
            rows["again"].append(timed(lambda: widget.show_runs(ids), "again"))
            weight = 0.6 + 0.05 * i
            rows["smooth"].append(timed(lambda w=weight: widget.set_smoothing(w), "smooth"))
            for lo in (0, args.points // 4, args.points // 2):
                rows["range"].append(timed(lambda lo=lo: widget.loss_plot.setXRange(lo, lo + args.points // 3,
                                                                                     padding=0), "range"))
            for lo in (args.points // 5, args.points // 2):
                rows["deep"].append(timed(lambda lo=lo: widget.loss_plot.setXRange(lo, lo + args.points // 25,
                                                                                    padding=0), "deep"))
            widget.loss_plot.getPlotItem().enableAutoRange()
            widget.set_smoothing(0.0)
            repaint()
        widget.grab().save(str(Path(tempfile.gettempdir()) / "lrstudio-bench-compare.png"))

        n_points = sum(len(s) for sid in ids for s in widget._series[sid].values())
        print(f"compare view: {len(ids)} runs, {n_points:,} points loaded "
              f"(train/loss, lr, val/loss), {args.repeat} repeats; times include processEvents (painting)"
              + (" + a forced repaint of both plots" if args.forced_repaint else ""))
        print(f"  {'':<30} {'wall median':>12} {'wall min':>10} {'wall max':>10} {'CPU median':>11} {'paints':>7}")
        labels = {"cold": "select 10 runs, cold (DB)", "switch": "switch to another 10 (cached)",
                  "again": "select 10 runs after none", "smooth": "smoothing change",
                  "range": "zoom/pan to 1/3", "deep": "zoom in to 1/25"}
        for key, values in rows.items():
            med = statistics.median(values)
            flag = "" if key == "cold" else ("  ok" if med <= GOAL_MS else "  OVER GOAL")
            print(f"  {labels[key]:<30} {med:9.1f} ms {min(values):7.1f} ms {max(values):7.1f} ms "
                  f"{statistics.median(cpu[key]):8.1f} ms {statistics.median(paints[key]):7.0f}{flag}")
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
