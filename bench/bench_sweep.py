"""How much faster is a sweep with 2 worker processes than the same trials one after another?

Issue 13's goal: a 12-trial sweep of short Windsor runs with 2 workers takes at most 0.6x the time
of the same trials run one after another, on a 2-core machine. The machine's own ceiling is
measured in the same repeats (two CPU-bound Python processes against the same work one after
another): on a shared machine another program's load takes the second core, and no sweep can
beat that ratio. Both sides are the same sweep
(``lrstudio.services.sweep.SweepRunner``, a grid of 12 LRs, one seed, a fresh SQLite file each)
with ``LocalExecutor(2)`` against ``LocalExecutor(1)``; the time is the whole ``run()``, worker
start-up (fork from the forkserver, warm-up) included. Repeats are interleaved, the order reversed every
other repeat; medians with the per-repeat range are printed, because the machine is shared.

The first sweep of a process starts the forkserver the workers fork from (it imports torch once,
``lrstudio/services/sweep.py``); it runs before the comparison and is printed on its own.
Also printed: the start-up of a worker process (fork from the forkserver until the worker's
warm-up is done, once per worker per sweep) and the per-trial overhead inside a warm worker (``run_trial``'s wall
time minus the run's own ``duration_s``: opening the run row, the data set, the summary write).

Usage::

    python bench/bench_sweep.py                  # 12 trials, 3 repeats
    python bench/bench_sweep.py --repeats 5 --epochs 400 --trials 12
    python bench/bench_sweep.py --start-method spawn      # workers that import torch themselves
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from lrstudio.core.config import RunConfig
from lrstudio.core.sweep import ExperimentSpec
from lrstudio.services.sweep import LocalExecutor, SweepRunner
from lrstudio.storage import open_store


def one_sweep(workers: int, trials: int, epochs: int, folder: Path, tag: str,
              start_method: str | None = None) -> dict[str, object]:
    url = f"sqlite:///{folder / f'{tag}.sqlite'}"
    lrs = [round(10 ** (-3 + 2.5 * i / max(1, trials - 1)), 6) for i in range(trials)]
    spec = ExperimentSpec(base=RunConfig(model="linear", epochs=epochs, batch_size=32), space={"lr": lrs},
                          method="grid")
    with open_store(url) as store:
        eid = store.create_experiment(spec)
        executor = LocalExecutor(workers, start_method=start_method)
        t0 = time.perf_counter()
        result = SweepRunner(store, eid, executor, poll_s=0.05).run()
        wall = time.perf_counter() - t0
        runs = {r.id: r for r in store.list_trials(eid)}
    assert result.status == "completed", result.status
    overhead = [o.seconds - float(runs[o.run_id].duration_s or 0.0) for o in result.outcomes if o.run_id]
    train_s = [float(r.duration_s or 0.0) for r in runs.values()]
    return {"wall": wall, "startup": list(executor.startup_s), "overhead": overhead, "train": train_s}


def _burn(n: int = 6_000_000) -> None:
    total = 0
    for i in range(n):
        total += i


def ceiling() -> float:
    """What this machine gives two processes now: two CPU-bound Python loops in 2 processes
    against the same two one after another (1.0: no parallelism left, 0.5: two free cores)."""
    import multiprocessing as mp

    t = time.perf_counter()
    _burn()
    _burn()
    seq = time.perf_counter() - t
    ctx = mp.get_context("fork")
    t = time.perf_counter()
    procs = [ctx.Process(target=_burn) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return (time.perf_counter() - t) / seq


def _fmt(xs: list[float], unit: str = "s") -> str:
    return f"{statistics.median(xs):.2f} {unit} ({min(xs):.2f}-{max(xs):.2f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=12)
    ap.add_argument("--epochs", type=int, default=200,
                    help="epochs of each Windsor run (batch 32: 14 steps each; 200: ~0.15 s a run on a quiet core, "
                         "the runs of docs/sweeps.md's figures)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--start-method", choices=("spawn", "forkserver"), default=None,
                    help="how workers start (default: the executor's, forkserver where there is one)")
    args = ap.parse_args()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"{args.trials} trials of linear/windsor, {args.epochs} epochs, batch 32; {os.cpu_count()} cores; "
          f"load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    seq: list[float] = []
    par: list[float] = []
    ratios: list[float] = []
    startup: list[float] = []
    overhead: list[float] = []
    train: list[float] = []
    ceilings: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # The first sweep of a process also starts the forkserver (it imports torch once); every
        # later one forks its workers from it. Paid here, outside the comparison, and printed.
        first = one_sweep(1, 1, 1, folder, "warm", args.start_method)
        print(f"first sweep of the process (forkserver start + 1 worker + 1 tiny trial): {first['wall']:.2f} s")
        for rep in range(args.repeats):
            order = (1, 2) if rep % 2 == 0 else (2, 1)
            got: dict[int, float] = {}
            for workers in order:
                r = one_sweep(workers, args.trials, args.epochs, folder, f"r{rep}w{workers}", args.start_method)
                got[workers] = float(r["wall"])  # type: ignore[arg-type]
                startup += r["startup"]  # type: ignore[operator]
                overhead += r["overhead"]  # type: ignore[operator]
                train += r["train"]  # type: ignore[operator]
                med = statistics.median(r["train"])  # type: ignore[arg-type]
                print(f"  repeat {rep + 1}: {workers} worker(s) {got[workers]:.2f} s (a run trains {med:.2f} s)")
            ceilings.append(ceiling())
            print(f"  repeat {rep + 1}: machine ceiling (2 CPU-bound processes / one after another) "
                  f"{ceilings[-1]:.2f}")
            seq.append(got[1])
            par.append(got[2])
            ratios.append(got[2] / got[1])
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"one after another (1 worker): {_fmt(seq)}")
    print(f"2 workers:                    {_fmt(par)}")
    print(f"2 workers / 1 worker:         {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
          f"   goal <= 0.60")
    print(f"machine ceiling, same ratio for bare CPU-bound processes: {statistics.median(ceilings):.2f} "
          f"({min(ceilings):.2f}-{max(ceilings):.2f})")
    print(f"worker start-up (start -> warmed up, ready for a trial), {len(startup)} workers: {_fmt(startup)}")
    print(f"per-trial overhead in a warm worker (run_trial wall - run duration), {len(overhead)} trials: "
          f"{_fmt([x * 1000 for x in overhead], 'ms')}")
    print(f"training time of one run: {_fmt(train)}")
    print(f"load average after: {load_after[0]:.1f} {load_after[1]:.1f} {load_after[2]:.1f}")
    r = statistics.median(ratios)
    print(f"SUMMARY bench_sweep: {args.trials} trials x {args.epochs} epochs, 2 workers / 1 worker "
          f"{r:.2f} ({min(ratios):.2f}-{max(ratios):.2f}) over {args.repeats} repeats, goal <= 0.60 "
          f"{'met' if r <= 0.60 else 'NOT met'}; machine ceiling {statistics.median(ceilings):.2f} "
          f"({min(ceilings):.2f}-{max(ceilings):.2f}); 1 worker {_fmt(seq)}, 2 workers {_fmt(par)}; "
          f"worker start-up {_fmt(startup)}; per-trial overhead {_fmt([x * 1000 for x in overhead], 'ms')}; "
          f"load {load[0]:.1f} -> {load_after[0]:.1f}")


if __name__ == "__main__":
    main()
