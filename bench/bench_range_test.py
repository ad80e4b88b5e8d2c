"""Does a range test cost more than the training steps it takes? (issue 12)

Goal: a 100-update LR range test on the digits CNN takes no more than 1.3x the time of 100 plain
training steps of the same config (``lrstudio.trainer.loop.train`` with ``max_steps=100``).

Both run in this process, interleaved (the order reversed every other repeat), on the same loaded
data set, with a reporter that keeps every event in a list (no database: storing costs the same per
point for both and is measured in ``bench_engine.py``). One seed, fastai's defaults except that the
divergence stop is off (``diverge_threshold`` huge, ``stop_on_nonfinite`` False), so the test
really takes 100 updates. Two timings per variant:

* end to end: the whole call (building the model and optimizer, the warm-up ``train`` does, the
  loop, the summary with every suggestion rule);
* loop: ``train``'s own ``duration_s`` (it starts after set-up) against the range test's time from
  its first update to its last (the events' wall times), so set-up differences are left out.

Medians with the per-repeat range of the ratio range-test / training are printed; the goal is
checked on the end-to-end median.

Measured 2026-11-30 (11 repeats, batch 32, load average 7.3 on 2 shared cores): training 263 ms
end to end (loop 255 ms), range test 226 ms (loop 220 ms); ratio end to end 0.89 (0.69-1.26),
loop 0.87 (0.72-1.29): goal met. The range test is the cheaper of the two: training also
validates at each epoch's end (every 36 steps here) and records the gradient norm every 10 steps.

Usage::

    python bench/bench_range_test.py               # 11 repeats, batch 32 (~20 s)
    python bench/bench_range_test.py --repeats 21 --batch-size 64
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.datasets import load_dataset
from lrstudio.core.events import ListReporter
from lrstudio.core.lr_finder import RangeTestOptions
from lrstudio.trainer.loop import train
from lrstudio.trainer.range_test import range_test

GOAL = 1.3


def one_training(cfg: RunConfig, ds: object) -> tuple[float, float]:
    t = time.perf_counter()
    s = train(cfg, ListReporter(), dataset=ds)
    total = time.perf_counter() - t
    assert s.status == "completed" and s.steps == 100, (s.status, s.steps, s.error)
    return total, s.duration_s


def one_range_test(cfg: RunConfig, ds: object, opts: RangeTestOptions) -> tuple[float, float]:
    rep = ListReporter()
    t = time.perf_counter()
    s = range_test(cfg, opts, rep, dataset=ds)
    total = time.perf_counter() - t
    assert s.status == "completed" and s.steps == 100, (s.status, s.steps, s.error)
    walls = [e.wall_time for e in rep.steps() if "seed0/loss" in e.values]
    # From before the first update to the last: the first update's wall time counts from the start
    # of the test, as train's first step counts from its start.
    return total, walls[-1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args(argv)
    cfg = RunConfig(model="cnn", dataset=DatasetConfig(name="digits"), optimizer={"name": "adam", "params": {}},
                    lr=1e-3, batch_size=args.batch_size, max_steps=100, epochs=100, seed=0)
    opts = RangeTestOptions(num_it=100, seeds=1, diverge_threshold=1e300, stop_on_nonfinite=False)
    ds = load_dataset(cfg.dataset, seed=cfg.seed)
    one_training(cfg, ds)  # warm both paths (first-call costs of torch.optim, autograd)
    one_range_test(cfg, ds, opts)
    rows: list[tuple[float, float, float, float]] = []
    for i in range(args.repeats):
        if i % 2 == 0:
            tr, rt = one_training(cfg, ds), one_range_test(cfg, ds, opts)
        else:
            rt, tr = one_range_test(cfg, ds, opts), one_training(cfg, ds)
        rows.append((tr[0], rt[0], tr[1], rt[1]))
    end = [r[1] / r[0] for r in rows]
    loop = [r[3] / r[2] for r in rows]
    med = statistics.median
    print(f"digits CNN, Adam, batch {args.batch_size}, 100 updates; {args.repeats} interleaved repeats; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  training, end to end : {med(r[0] for r in rows) * 1e3:7.1f} ms   loop {med(r[2] for r in rows) * 1e3:7.1f} ms")
    print(f"  range test, end to end: {med(r[1] for r in rows) * 1e3:7.1f} ms   loop {med(r[3] for r in rows) * 1e3:7.1f} ms")
    print(f"  ratio end to end {med(end):.2f} ({min(end):.2f}-{max(end):.2f});  "
          f"loop {med(loop):.2f} ({min(loop):.2f}-{max(loop):.2f});  goal <= {GOAL}")
    ok = med(end) <= GOAL
    print("  goal met" if ok else "  goal NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
