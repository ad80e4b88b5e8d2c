"""Benchmark: the start-up cost of ``lrstudio train`` around a ~1-second training run (issue 11).

Runs ``lrstudio train`` as a real process (``python -m lrstudio train ... --json``) on a fresh
SQLite file, for a full-batch linear regression on Windsor whose training takes about one second,
and compares the process wall time with the training time the run reports (``duration_s``: from
RunStarted to the end of the loop). Goal: process wall time <= 2x the training time.

Also prints, from ``python -X importtime``-free probes in fresh interpreters, the cost of the
parts: ``import lrstudio.trainer.loop`` (torch) and the first optimizer construction and step,
with whether ``torch._dynamo`` got imported (it used to cost ~1.2 s: see
``lrstudio/trainer/optimizers.py``). Repeats interleave and medians are reported with ranges.

    python bench/bench_cli_start.py [--repeats 5] [--steps 10000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE = """
import time, sys
t0 = time.perf_counter()
import torch
from lrstudio.trainer.optimizers import build_optimizer, lean_step
t1 = time.perf_counter()
p = [torch.nn.Parameter(torch.zeros(3))]
opt = build_optimizer({"name": "adam"}, p, 0.01)
p[0].grad = torch.ones(3)
lean_step(opt)()
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, "torch._dynamo" in sys.modules)
"""


def cli_run(steps: int, db: Path) -> tuple[float, float]:
    cmd = [sys.executable, "-m", "lrstudio", "train", "--db", f"sqlite:///{db}", "--model", "linear",
           "--dataset", "windsor", "--optimizer", "adam", "--lr", "0.01", "--max-steps", str(steps), "--json"]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    return wall, float(summary["duration_s"])


def probe() -> tuple[float, float, bool]:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    a, b, dyn = out.stdout.split()
    return float(a), float(b), dyn == "True"


def fmt(xs: list[float], unit: str = "s") -> str:
    return f"{statistics.median(xs):.3f} {unit} ({min(xs):.3f}-{max(xs):.3f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10_000,
                    help="full-batch steps (~1 s on the dev machine since the lean step; 7,000 took 0.63-0.8 s)")
    args = ap.parse_args(argv)
    walls, trains, ratios, imports, firsts = [], [], [], [], []
    dynamo = False
    with tempfile.TemporaryDirectory(prefix="lrstudio-bench-") as tmp:
        for r in range(args.repeats):
            for what in (("cli", "probe") if r % 2 == 0 else ("probe", "cli")):
                if what == "cli":
                    wall, train = cli_run(args.steps, Path(tmp) / f"r{r}.sqlite")
                    walls.append(wall)
                    trains.append(train)
                    ratios.append(wall / train)
                else:
                    a, b, d = probe()
                    imports.append(a)
                    firsts.append(b)
                    dynamo = dynamo or d
    print(f"lrstudio train, linear/windsor full batch adam, {args.steps} steps, {args.repeats} repeats")
    print(f"  process wall {fmt(walls)} | training {fmt(trains)} | wall/training {fmt(ratios, 'x')}; "
          f"goal <= 2x: {'meets' if statistics.median(ratios) <= 2 else 'MISSES'}")
    print(f"  fresh interpreter: import torch + trainer.optimizers {fmt(imports)}; first optimizer build + "
          f"step {fmt(firsts)}; torch._dynamo imported: {dynamo}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
