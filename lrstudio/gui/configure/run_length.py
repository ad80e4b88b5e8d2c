"""The run length the Configure panel plans with, estimated without loading the data set.

(To be replaced by the one run plan, ``core/plan.py``, issue 10.)
"""

from __future__ import annotations

import gzip
import math
import os
from functools import lru_cache
from pathlib import Path

from lrstudio.core.config import DatasetConfig, RunConfig

__all__ = ["estimate_steps", "estimate_train_rows", "schedule_length"]


@lru_cache(maxsize=16)
def _count_csv_rows(path: str, mtime: float) -> int:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        return max(0, sum(1 for line in fh if line.strip()) - 1)


def estimate_train_rows(ds: DatasetConfig) -> int | None:
    """Training examples the data set will give, without loading it; None when unknown.

    Exact for the built-in data sets (``core.datasets.known_train_size``, the same number the pre-run
    checks use); for a CSV file its line count, for MNIST files the standard 60,000 (estimates).
    """
    from lrstudio.core.datasets import known_train_size

    exact = known_train_size(ds)
    if exact is not None:
        return exact
    n: int
    if ds.name == "mnist":
        n = 60_000
    elif ds.name == "csv":
        try:
            p = Path(ds.path).expanduser()
            n = _count_csv_rows(str(p), os.path.getmtime(p))
        except OSError:
            return None
    else:
        return None
    vf = float(ds.val_fraction)
    n_val = 0 if vf <= 0 else min(n - 2, max(1, int(round(n * vf))))
    n_train = max(1, n - n_val)
    if ds.limit and ds.limit < n_train:
        n_train = int(ds.limit)
    return n_train


def estimate_steps(cfg: RunConfig) -> tuple[int, int]:
    """(total optimizer steps, steps per epoch) for ``cfg``, from ``core.plan.run_length``."""
    from lrstudio.core.plan import run_length

    rows = estimate_train_rows(cfg.dataset) or 1000
    spe, total, _epochs = run_length(max(1, rows), int(cfg.batch_size), max(1, int(cfg.epochs)), cfg.max_steps)
    return total, spe


def schedule_length(cfg: RunConfig) -> int:
    """Scheduling steps in the run: optimizer steps, or epochs when the schedule advances per epoch."""
    total, spe = estimate_steps(cfg)
    if cfg.schedule_unit == "epoch":
        return max(1, math.ceil(total / spe))
    return total
