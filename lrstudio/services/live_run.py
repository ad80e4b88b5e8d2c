"""The run in progress, folded from the worker's event batches (no Qt).

One :class:`LiveRun` per window holds what the status bar and the live plots show about the run
that is training now (or that ended last): its length (total steps, steps per epoch, epochs), the
planned LR of the whole run, the last logged step (progress, elapsed time, ETA), where the loss
first became non-finite, and the final summary. The window feeds it (:meth:`LiveRun.start` when
the controller has created the run, :meth:`LiveRun.fold` for every batch, :meth:`LiveRun.finish`
with the summary) and the views read it: MNELAB's model → view seam (``mnelab/model.py``), so the
state is kept once and is tested without a display (``tests/services/test_live_run.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from lrstudio.core.compare import format_percent
from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import DIVERGED, RunFinished, RunStarted, RunSummary, StepLogged

__all__ = ["Folded", "LiveRun", "RunLength", "format_seconds", "planned_lr"]


@dataclass(frozen=True, slots=True)
class RunLength:
    """How long a run is: optimizer steps, steps per epoch, epochs."""

    total_steps: int
    steps_per_epoch: int
    epochs: int


@dataclass(frozen=True, slots=True)
class Folded:
    """What one batch changed that a view must react to beyond its points."""

    replanned: bool = False  # the run's length became known (or changed): planned LR and x-ranges are new
    diverged: bool = False  # the loss became non-finite in this batch
    finished: RunSummary | None = None  # the batch ended the run


def planned_lr(config: RunConfig | None, length: RunLength | None) -> np.ndarray | None:
    """The LR planned for each optimizer step of the whole run (element i: step i+1); None when
    the length is unknown or the schedule cannot be computed (a metric-driven schedule, say)."""
    if config is None or length is None or not length.total_steps:
        return None
    from lrstudio.core.plan import planned_lr as plan_lr

    try:
        return plan_lr(config.schedule, config.lr, config.schedule_unit, length.total_steps, length.epochs,
                       length.steps_per_epoch)
    except (LrstudioError, ValueError):
        return None


def format_seconds(s: float | None) -> str:
    """``m:ss`` or ``h:mm:ss``; an en dash when unknown."""
    if s is None or not math.isfinite(s):
        return "–"
    s = max(0, int(round(s)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class LiveRun:
    """State of the run in progress (or the last one), folded from event batches."""

    def __init__(self) -> None:
        self.run_id: int | None = None
        self.name = ""
        self.config: RunConfig | None = None
        self.length: RunLength | None = None
        self.planned: np.ndarray | None = None
        self.last_step: StepLogged | None = None
        self.first_nonfinite: tuple[int, float, float] | None = None  # step, epoch (x), wall time
        self.summary: RunSummary | None = None
        self.started_at = 0.0  # monotonic clock of the caller, when the run was created

    # -- feeding ---------------------------------------------------------------------------
    def start(self, run_id: int | None, name: str, config: RunConfig | None, length: RunLength | None = None,
              started_at: float = 0.0) -> None:
        """A new run: forget the last one. ``length`` when already known (cached data set)."""
        self.run_id, self.name, self.config, self.started_at = run_id, name, config, started_at
        self.last_step = None
        self.first_nonfinite = None
        self.summary = None
        self.length = None
        self.planned = None
        if length is not None:
            self._set_length(length)

    def fold(self, events: Iterable[object]) -> Folded:
        """Take in a batch of events from the worker."""
        replanned = diverged = False
        finished: RunSummary | None = None
        for ev in events:
            if isinstance(ev, StepLogged):
                self.last_step = ev
                loss = ev.values.get("train/loss")
                if loss is not None and not math.isfinite(loss) and self.first_nonfinite is None:
                    self.first_nonfinite = (ev.step, ev.step / self.steps_per_epoch, ev.wall_time)
                    diverged = True
            elif isinstance(ev, RunStarted):
                length = RunLength(ev.total_steps, max(1, ev.steps_per_epoch), ev.epochs)
                if length != self.length:
                    self._set_length(length)
                    replanned = True
            elif isinstance(ev, RunFinished):
                self.finish(ev.summary)
                finished = ev.summary
        return Folded(replanned=replanned, diverged=diverged, finished=finished)

    def finish(self, summary: RunSummary) -> None:
        self.summary = summary

    def set_plan(self, planned: np.ndarray | None, steps_per_epoch: int = 1) -> None:
        """Take the planned LR (element i: step i+1) from a caller that knows it without a
        config (a view fed by hand); its length is the run's length until RunStarted says."""
        self.planned = planned
        self.length = RunLength(len(planned) if planned is not None else 0, max(1, steps_per_epoch), 0)

    def _set_length(self, length: RunLength) -> None:
        self.length = length
        if self.config is not None:  # else the plan stays what set_plan() gave
            self.planned = planned_lr(self.config, length)

    # -- reading ---------------------------------------------------------------------------
    @property
    def total_steps(self) -> int | None:
        return self.length.total_steps or None if self.length is not None else None

    @property
    def steps_per_epoch(self) -> int:
        return self.length.steps_per_epoch if self.length is not None else 1

    @property
    def epochs(self) -> int | None:
        return self.length.epochs or None if self.length is not None else None

    @property
    def diverged_step(self) -> int | None:
        """The step at which the run diverged: from the summary once finished, else the first
        non-finite loss seen; None when it did not diverge."""
        s = self.summary
        if s is not None and s.status == DIVERGED:
            return s.diverged_step or s.steps or (self.last_step.step if self.last_step else 0)
        return self.first_nonfinite[0] if self.first_nonfinite is not None else None

    @property
    def fraction(self) -> float | None:
        """Share of the run done (0..1); None while the length or the first step is unknown."""
        total = self.total_steps
        if not total or self.last_step is None:
            return None
        return min(1.0, self.last_step.step / total)

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace so far; None when unknown."""
        ev, total = self.last_step, self.total_steps
        if ev is None or not total or not ev.step:
            return None
        return ev.wall_time / ev.step * (total - ev.step)

    def step_text(self) -> str:
        ev, total = self.last_step, self.total_steps
        if ev is None:
            return "Step –"
        return f"Step {ev.step:,}" + (f" / {total:,}" if total else "")

    def epoch_text(self) -> str:
        ev = self.last_step
        if ev is None:
            return "Epoch –"
        return f"Epoch {ev.epoch + 1}" + (f" / {self.epochs}" if self.epochs else "")

    def elapsed_text(self, now: float | None = None) -> str:
        """From the last step's wall time; before the first step, from ``now - started_at``."""
        if self.last_step is not None:
            return f"Elapsed {format_seconds(self.last_step.wall_time)}"
        return f"Elapsed {format_seconds(None if now is None else now - self.started_at)}"

    def eta_text(self) -> str:
        return f"ETA {format_seconds(self.eta_s)}"

    def summary_text(self) -> str:
        """One line for the status bar about how the run ended ("" while it runs)."""
        s = self.summary
        if s is None:
            return ""
        parts = [f"Run {self.name} {s.status}: {s.steps:,} steps in {format_seconds(s.duration_s)}"]
        if s.final_loss is not None and math.isfinite(s.final_loss):
            parts.append(f"final loss {s.final_loss:.4g}")
        # The tables' words and formats ("Best val", "Best acc", core.compare.format_percent); the
        # longer "best accuracy 96.4%" was cut at 1400 px beside the status bar's step/ETA widgets.
        if s.best_val_loss is not None:
            parts.append(f"best val {s.best_val_loss:.4g}")
        if s.best_accuracy is not None:
            parts.append(f"best acc {format_percent(s.best_accuracy)}")
        if s.status == DIVERGED and s.diverged_step:
            parts.append(f"diverged at step {s.diverged_step}")
        if s.error:
            parts.append(s.error)
        return " · ".join(parts)
