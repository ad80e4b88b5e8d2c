"""The run plan: how long a run is, in optimizer steps, epochs and scheduling steps.

One place computes it for the trainer, the pre-run gate, the CLI and the GUI.
"""

from __future__ import annotations

from typing import Any

from lrstudio.core import schedules

__all__ = ["is_metric_driven", "run_length"]


def run_length(n_train: int, batch_size: int, epochs: int, max_steps: int | None) -> tuple[int, int, int]:
    """Return ``(steps_per_epoch, total_steps, epochs)`` for a run.

    ``batch_size`` 0 (or larger than the data) is the full batch. ``max_steps``, when set, decides
    the run length and ``epochs`` follows from it.
    """
    bs = n_train if batch_size <= 0 or batch_size >= n_train else batch_size
    spe = -(-n_train // bs)
    if max_steps:
        return spe, int(max_steps), -(-int(max_steps) // spe)
    return spe, spe * epochs, epochs


def is_metric_driven(spec: dict[str, Any]) -> bool:
    """True when the schedule needs a metric (reduce-on-plateau), as the torch adapter decides."""
    info = schedules.SCHEDULES.get(spec.get("name", ""))
    return bool(info is not None and info.metric_driven)
