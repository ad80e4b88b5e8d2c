"""Runs as the rest of lrstudio sees them: domain records and the store seam.

A stored run reaches the GUI, the CLI and :mod:`lrstudio.core.compare` as a :class:`RunInfo`
(its row: identity, status, config, summary) and its metrics as :class:`Series` (numpy arrays).
Both are plain frozen dataclasses with no tie to a database: ``lrstudio.storage`` keeps its own
ORM rows (``RunRow``, ``MetricSeriesRow`` ...) and converts them into these, the way MLflow's
``SqlRun.to_mlflow_entity()`` returns a ``Run`` (STYLE.md sections 1 and 9).

:class:`RunStore` is the typed seam over the store: the methods the GUI and the CLI call.
``lrstudio.storage.Store`` satisfies it (``tests/core/test_runs.py`` and mypy check that), so
a widget can take ``store: RunStore`` and be checked without importing SQLAlchemy; a test may
hand it any object with these methods. :class:`RunWriter` is what :meth:`RunStore.recorder`
returns: it takes the event lists of one run (:mod:`lrstudio.core.events`) and writes them.

Life cycle of a run in the store::

    queued -> running -> completed | stopped | diverged | failed     (its RunFinished summary)
                      -> interrupted    (its process went away; Store.recover_interrupted)
                      -> pruned         (a sweep's pruner stopped the trial early)
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Self, TextIO

import numpy as np
import numpy.typing as npt

from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import Event

# Every status a stored run can have, and those of a run that is over (issue 10: domain facts,
# not storage details; the database's check constraint is built from RUN_STATUSES).
RUN_STATUSES = ("queued", "running", "completed", "stopped", "diverged", "failed", "interrupted", "pruned")
FINAL_STATUSES = ("completed", "stopped", "diverged", "failed", "interrupted", "pruned")
UNFINISHED_STATUSES = ("queued", "running")

# What made a run (revision 0004). ``training`` and ``lr_range_test`` runs store a RunConfig
# (RunInfo.config() returns it); ``external`` runs (the tracking API) and ``playground`` runs
# store their own JSON object, read with RunInfo.config_dict.
RUN_KINDS = ("training", "lr_range_test", "external", "playground")
CONFIG_KINDS = ("training", "lr_range_test")
# A sweep's life (the experiments table).
EXPERIMENT_STATUSES = ("pending", "running", "completed", "cancelled", "interrupted", "failed")

# Summary values the store keeps in columns of their own (to filter and sort by); the full
# summary (RunSummary.to_dict) is kept as well.
SUMMARY_FLOATS = ("final_loss", "best_loss", "final_val_loss", "best_val_loss", "best_accuracy")


class RunKindError(LrstudioError, ValueError):
    """A run of one kind asked for what only another kind has (e.g. the RunConfig of an
    ``external`` run)."""


@dataclass(frozen=True)
class RunInfo:
    """One stored run as the GUI and the CLI see it (a snapshot; never an ORM row).

    ``config_json`` is the config exactly as stored; :meth:`config` upgrades it to the current
    schema. ``summary_extra`` is ``RunSummary.extra``; ``info`` is ``RunStarted.info``.
    ``owner_host``, ``owner_pid`` and ``heartbeat_at`` name the process recording a running run.
    """

    id: int
    uuid: str
    name: str
    status: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    config_json: str
    config_schema_version: int
    model: str | None
    dataset: str | None
    optimizer: str | None
    schedule: str | None
    base_lr: float | None
    final_loss: float | None = None
    best_loss: float | None = None
    final_val_loss: float | None = None
    best_val_loss: float | None = None
    best_accuracy: float | None = None
    steps: int | None = None
    epochs: int | None = None
    duration_s: float | None = None
    diverged_step: int | None = None
    tags: tuple[str, ...] = ()
    notes: str = ""
    error: str | None = None
    lrstudio_version: str = ""
    owner_host: str | None = None
    owner_pid: int | None = None
    heartbeat_at: dt.datetime | None = None
    summary_extra: Mapping[str, Any] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "training"
    experiment_id: int | None = None
    trial: int | None = None

    @property
    def config_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.config_json)
        return data

    @property
    def has_run_config(self) -> bool:
        """Whether :meth:`config` can return a :class:`RunConfig` (training and range-test runs)."""
        return self.kind in CONFIG_KINDS

    def config(self) -> RunConfig:
        """The run's configuration (upgraded to the current schema).

        Raises :class:`RunKindError` for runs whose config is not an lrstudio training config
        (``external`` and ``playground`` runs: read :attr:`config_dict`)."""
        if not self.has_run_config:
            raise RunKindError(
                f"run {self.id} ({self.name!r}) is a {self.kind} run: its config is not an lrstudio "
                "training config, so it cannot be loaded into the form or trained again")
        return RunConfig.from_dict(self.config_dict)

    @property
    def is_finished(self) -> bool:
        return self.status not in UNFINISHED_STATUSES


@dataclass(frozen=True, eq=False)
class Series:
    """One metric of one run: parallel numpy arrays, sorted by step.

    ``value`` holds NaN/+inf/-inf exactly as recorded. ``epoch`` is -1 where none was recorded.
    """

    step: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    wall_time: npt.NDArray[np.float64]
    epoch: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.step.shape[0])

    @classmethod
    def empty(cls) -> Series:
        return cls(np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0, np.int64))


class RunWriter(Protocol):
    """Writes the events of one run (``RunStore.recorder``); one thread at a time.

    ``close()`` without a ``RunFinished`` ends the run as ``status`` (default ``interrupted``);
    leaving a ``with`` block on an exception ends it as ``failed``.
    """

    def handle(self, events: Iterable[Event]) -> None: ...

    def flush(self) -> None: ...

    def close(self, status: str | None = None, error: str | None = None) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class RunStore(Protocol):
    """The run store as the GUI and the CLI use it (``lrstudio.storage.Store`` satisfies it).

    Every method raises ``lrstudio.core.errors.LrstudioError`` subclasses with messages meant
    for the user; a run id that is not there raises one that is also a ``KeyError``.
    """

    @property
    def url(self) -> str: ...

    def list_runs(
        self,
        status: str | Iterable[str] | None = None,
        model: str | None = None,
        optimizer: str | None = None,
        schedule: str | None = None,
        tag: str | None = None,
        text: str | None = None,
        order_by: str = "created",
        descending: bool = True,
        dataset: str | None = None,
        run_ids: Iterable[int] | None = None,
        limit: int | None = None,
        kind: str | Iterable[str] | None = None,
        experiment_id: int | None = None,
    ) -> list[RunInfo]: ...

    def get_run(self, run_id: int) -> RunInfo: ...

    def load_series(self, run_id: int, keys: Iterable[str] | None = None) -> dict[str, Series]: ...

    def load_many(self, run_ids: Iterable[int],
                  keys: Iterable[str] | None = None) -> dict[int, dict[str, Series]]: ...

    def create_run(self, config: RunConfig | Mapping[str, Any], name: str | None = None,
                   status: str = "running", *, kind: str = "training", experiment_id: int | None = None,
                   trial: int | None = None) -> int: ...

    def recorder(self, run_id: int, *, max_rows: int = ..., max_delay_s: float = ...,
                 heartbeat_s: float = ..., clock: Callable[[], float] = ...) -> RunWriter: ...

    def rename_run(self, run_id: int, name: str) -> None: ...

    def set_tags(self, run_id: int, tags: Iterable[str]) -> None: ...

    def set_notes(self, run_id: int, notes: str) -> None: ...

    def delete_run(self, run_id: int) -> None: ...

    def duplicate_config(self, run_id: int) -> RunConfig: ...

    def data_version(self) -> int: ...

    def export_history_csv(self, run_ids: Sequence[int], dest: str | os.PathLike[str] | TextIO,
                           wide: bool = False,
                           progress: Callable[[int, int], None] | None = None) -> int: ...

    def export_runs_csv(self, dest: str | os.PathLike[str] | TextIO,
                        run_ids: Sequence[int] | None = None) -> int: ...

    def close(self) -> None: ...


__all__ = ["CONFIG_KINDS", "EXPERIMENT_STATUSES", "FINAL_STATUSES", "RUN_KINDS", "RUN_STATUSES",
           "SUMMARY_FLOATS", "UNFINISHED_STATUSES", "RunInfo", "RunKindError", "RunStore", "RunWriter",
           "Series"]

