"""Event builders shared by the storage tests."""

from __future__ import annotations

import math

from lrstudio.core.events import EpochLogged, RunFinished, RunStarted, RunSummary, StepLogged

# -0.0 is left out: SQLite stores it as 0 (REAL values equal to an integer are kept as integers).
SPECIAL = (float("nan"), float("inf"), float("-inf"), -1.5, 5e-324, 1.7976931348623157e308, 0.1 + 0.2)


def step_events(n: int, start: int = 1, keys=("train/loss", "lr"), steps_per_epoch: int = 100):
    out = []
    for i in range(start, start + n):
        vals = {k: 1.0 / (i + j) + 0.1 for j, k in enumerate(keys)}
        out.append(StepLogged(i, (i - 1) // steps_per_epoch, 0.01 * i, vals))
    return out


def special_events():
    """Steps whose train/loss runs through NaN, +-inf, -1.5, subnormal, max double, 0.30000000000000004."""
    return [StepLogged(i + 1, 0, float(i), {"train/loss": v, "lr": 0.5}) for i, v in enumerate(SPECIAL)]


def full_run(n: int = 250, status: str = "completed"):
    events = [RunStarted(n, 100, math.ceil(n / 100), 0.0, {"n_train": 160, "features": ["area"]})]
    events += step_events(n)
    events.append(EpochLogged(0, min(n, 100), 1.0, {"val/loss": 0.25, "val/acc": 0.5}))
    events.append(RunFinished(RunSummary(status, n, 2, 2.5, final_loss=0.2, best_loss=0.15,
                                         final_val_loss=0.25, best_val_loss=0.25, best_accuracy=0.5,
                                         extra={"r2": 0.9})))
    return events


def same_float(a: float, b: float) -> bool:
    """Bit-exact equality that treats NaN as equal to NaN."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
