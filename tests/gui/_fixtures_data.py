"""Test data for the runs table, compare and export tests: real stores filled through the recorder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lrstudio.core.config import RunConfig
from lrstudio.core.events import EpochLogged, RunFinished, RunStarted, RunSummary, StepLogged


def loss_curve(steps: int, lr: float, seed: int = 0) -> np.ndarray:
    """A noisy decaying loss whose speed depends on the LR (deterministic)."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, steps + 1, dtype=float)
    return 2.0 * np.exp(-t * min(lr, 1.0) * 20.0 / steps) + 0.05 + 0.02 * rng.random(steps)


def add_run(
    store: Any,
    config: RunConfig,
    name: str,
    steps: int = 50,
    steps_per_epoch: int = 10,
    status: str = "completed",
    lr_fn: Callable[[np.ndarray], np.ndarray] | None = None,
    seed: int = 0,
    accuracy: float | None = None,
    batch: int = 5_000,
) -> int:
    """Create a run and record ``steps`` steps, epoch points and the summary through the recorder."""
    run_id = store.create_run(config, name=name)
    loss = loss_curve(steps, config.lr, seed)
    t = np.arange(1, steps + 1)
    lrs = lr_fn(t) if lr_fn is not None else np.full(steps, config.lr)
    events: list[Any] = [RunStarted(total_steps=steps, steps_per_epoch=steps_per_epoch,
                                    epochs=max(1, steps // steps_per_epoch), wall_time=0.0)]
    rec = store.recorder(run_id)
    try:
        for i in range(steps):
            step = i + 1
            events.append(StepLogged(step=step, epoch=i // steps_per_epoch, wall_time=0.01 * step,
                                     values={"train/loss": float(loss[i]), "lr": float(lrs[i]),
                                             "lr/planned": float(lrs[i])}))
            if step % steps_per_epoch == 0:
                values = {"val/loss": float(loss[i]) * 1.1, "train/loss_epoch": float(loss[i])}
                if accuracy is not None:
                    values["val/acc"] = accuracy
                events.append(EpochLogged(epoch=i // steps_per_epoch, step=step, wall_time=0.01 * step,
                                          values=values))
            if len(events) >= batch:
                rec.handle(events)
                events = []
        summary = RunSummary(
            status=status, steps=steps, epochs=steps // steps_per_epoch, duration_s=0.01 * steps,
            final_loss=float(loss[-1]), best_loss=float(loss.min()),
            final_val_loss=float(loss[-1]) * 1.1, best_val_loss=float(loss.min()) * 1.1,
            best_accuracy=accuracy,
        )
        events.append(RunFinished(summary))
        rec.handle(events)
    finally:
        rec.close()
    return run_id
