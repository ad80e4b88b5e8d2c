"""Benchmark: debiased_ema over 100,000 points against the TensorBoard loop (one point at a time).

For each smoothing weight, the vectorised ``lrstudio.core.smoothing.debiased_ema`` and the
reference recurrence of ``tests/core/test_smoothing.py`` run in interleaved repetitions in one
process; prints the median time of each [min-max] and the median of the per-repetition ratios.
(This replaced a timed unit test; the tests check the values, this script the speed.)

    python bench/bench_smoothing.py [--points 100000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from lrstudio.core.smoothing import debiased_ema


def _med(xs: list[float], scale: float = 1.0) -> str:
    return f"{statistics.median(xs) * scale:.3g} [{min(xs) * scale:.3g}-{max(xs) * scale:.3g}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))
    from test_smoothing import _reference

    x = np.random.default_rng(0).normal(size=args.points).cumsum()
    xl = x.tolist()
    print(f"debiased_ema over {args.points:,} points vs the one-point-at-a-time loop, "
          f"{args.repeat} interleaved repetitions: ms median [min-max]")
    for w in (0.6, 0.9, 0.99, 0.999):
        ours, loop = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            debiased_ema(x, w)
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _reference(xl, w)
            loop.append(time.perf_counter() - t0)
        ratio = [b / a for a, b in zip(ours, loop)]
        print(f"w={w:<6} debiased_ema {_med(ours, 1e3)} ms   loop {_med(loop, 1e3)} ms   loop/ours {_med(ratio)}x")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
