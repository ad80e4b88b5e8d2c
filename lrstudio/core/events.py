"""Events that leave the training loop, and the reporter protocol they leave through.

Life cycle of one run, as a reporter sees it::

    RunStarted  ->  StepLogged* (interleaved with EpochLogged*)  ->  RunFinished

The training loop (``lrstudio.trainer.loop.train``) knows nothing about threads, windows or
databases: it calls ``reporter.emit(event)`` and asks ``reporter.should_stop()`` between optimizer
steps. The GUI worker, the CLI and the tests each bring their own reporter.

Fast loops must not pay for a signal or a database write per step, so :class:`BatchingReporter`
coalesces events and hands them on as a list at most every ``interval_s`` seconds (or every
``max_batch`` events), the way Orange's ``TaskState`` and MLflow's batched logging do.

Metric keys (strings, used by storage, plots and CSV export):

=============== =========================================================
``train/loss``  training loss of the minibatch of this step
``lr``          learning rate the optimizer actually used (param group)
``lr/planned``  learning rate the schedule planned for this step
``grad/norm``   total L2 norm of the gradients before clipping
``val/loss``    validation loss (per epoch)
``val/acc``     validation accuracy (per epoch, classifiers)
``train/acc``   training accuracy (per epoch, classifiers)
``train/loss_epoch`` mean training loss over the epoch
=============== =========================================================
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

# Statuses a run can end with (storage adds queued/running/interrupted).
COMPLETED = "completed"
STOPPED = "stopped"
DIVERGED = "diverged"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RunStarted:
    """Training is about to take its first step."""

    total_steps: int
    steps_per_epoch: int
    epochs: int
    wall_time: float
    info: Mapping[str, Any] = field(default_factory=dict)  # data set sizes, feature names, true w/b...


@dataclass(frozen=True, slots=True)
class StepLogged:
    """One optimizer step. ``step`` counts from 1; ``values`` maps metric keys to floats."""

    step: int
    epoch: int  # 0-based epoch this step belongs to
    wall_time: float  # seconds since the run started
    values: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class EpochLogged:
    """End of an epoch: validation and epoch-level metrics, recorded at the last step of the epoch."""

    epoch: int  # 0-based
    step: int
    wall_time: float
    values: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """How a run ended. Partial runs (stopped, diverged, failed) carry what they reached."""

    status: str  # completed | stopped | diverged | failed
    steps: int  # optimizer steps taken
    epochs: int  # epochs completed
    duration_s: float
    final_loss: float | None = None  # last train/loss
    best_loss: float | None = None  # min finite train/loss
    final_val_loss: float | None = None
    best_val_loss: float | None = None
    best_accuracy: float | None = None  # best val/acc (classifiers)
    diverged_step: int | None = None
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # r2, rmse, learned w/b, ...

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "steps": self.steps,
            "epochs": self.epochs,
            "duration_s": self.duration_s,
            "final_loss": self.final_loss,
            "best_loss": self.best_loss,
            "final_val_loss": self.final_val_loss,
            "best_val_loss": self.best_val_loss,
            "best_accuracy": self.best_accuracy,
            "diverged_step": self.diverged_step,
            "error": self.error,
            "extra": dict(self.extra),
        }


@dataclass(frozen=True, slots=True)
class RunFinished:
    summary: RunSummary


Event = RunStarted | StepLogged | EpochLogged | RunFinished


class Reporter(Protocol):
    def emit(self, event: Event) -> None: ...

    def should_stop(self) -> bool: ...


class ListReporter:
    """Keeps every event in memory; optionally asks to stop after ``stop_after_steps`` steps.

    Used by tests and by callers that want the whole history at once.
    """

    def __init__(self, stop_after_steps: int | None = None) -> None:
        self.events: list[Event] = []
        self._stop_after = stop_after_steps
        self.last_step = 0

    def emit(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, StepLogged):
            self.last_step = event.step

    def should_stop(self) -> bool:
        return self._stop_after is not None and self.last_step >= self._stop_after

    def steps(self) -> list[StepLogged]:
        return [e for e in self.events if isinstance(e, StepLogged)]

    def epochs(self) -> list[EpochLogged]:
        return [e for e in self.events if isinstance(e, EpochLogged)]

    def series(self, key: str) -> list[float]:
        return [e.values[key] for e in self.events if isinstance(e, (StepLogged, EpochLogged)) and key in e.values]


class BatchingReporter:
    """Collects events and passes them to ``sink`` as a list, at most every ``interval_s``.

    ``RunStarted`` and ``RunFinished`` flush at once so that a listener sees the start without
    delay and nothing stays behind at the end. ``stop`` is a ``threading.Event`` (or anything with
    ``is_set()``) that another thread sets to ask the loop to stop between steps.
    """

    def __init__(
        self,
        sink: Callable[[list[Event]], None],
        stop: threading.Event | None = None,
        interval_s: float = 0.1,
        max_batch: int = 5000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = sink
        self._stop = stop if stop is not None else threading.Event()
        self._interval = interval_s
        self._max_batch = max_batch
        self._clock = clock
        self._pending: list[Event] = []
        self._last_flush = clock()
        self.batches_sent = 0

    def emit(self, event: Event) -> None:
        pending = self._pending
        pending.append(event)
        if isinstance(event, (RunStarted, RunFinished)) or len(pending) >= self._max_batch:
            self.flush()
        elif isinstance(event, (StepLogged, EpochLogged)) and self._clock() - self._last_flush >= self._interval:
            self.flush()

    def flush(self) -> None:
        self._last_flush = self._clock()
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self.batches_sent += 1
        self._sink(batch)

    def should_stop(self) -> bool:
        return self._stop.is_set()
