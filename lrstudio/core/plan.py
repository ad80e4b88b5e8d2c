"""The one run plan: how long a run is and which LR it plans for each step.

Every front end and the trainer ask :func:`plan_run` (the trainer with the loaded data's size; the
pre-run gate and the CLI with the size known before loading; the Configure form with an estimate
for csv/mnist files)::

    plan = plan_run(config, n_train=437)
    plan.total_steps, plan.steps_per_epoch, plan.epochs    # optimizer steps, epochs
    plan.schedule_steps, plan.unit                         # scheduling steps in the schedule's unit
    plan.planned_lr()                                      # the LR of every optimizer step (numpy)
    plan.schedule                                          # the schedule, its lengths in steps

Lengths a schedule gives as shares of the run (``"auto"``, ``"10%"``; issue 15) are resolved here,
against ``schedule_steps``: ``config.schedule`` keeps the shares (what is stored), ``plan.schedule``
has the steps of this run (what is trained and previewed), ``plan.resolved_lengths`` says which.

numpy only (no torch): the GUI imports it before its window shows.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from lrstudio.core import schedules
from lrstudio.core.data import val_rows
from lrstudio.core.datasets import DATASETS, known_train_size
from lrstudio.core.params import ParamError, is_share

__all__ = ["DEFAULT_ROWS", "RunPlan", "estimate_train_rows", "is_metric_driven", "plan_run", "planned_lr",
           "run_length", "with_resolved_shares"]

#: Rows assumed for a data set whose size cannot be estimated (a csv path that does not exist yet).
DEFAULT_ROWS = 1000


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


@dataclass(frozen=True)
class RunPlan:
    """How long a run is, and the schedule it follows.

    ``n_train`` is the number of training examples the lengths were computed for, or ``None`` when
    it is not known before the data load (csv/mnist files): the lengths are then an estimate
    (:func:`estimate_train_rows`, else :data:`DEFAULT_ROWS` rows).
    """

    steps_per_epoch: int
    total_steps: int
    epochs: int
    schedule_steps: int
    unit: str
    n_train: int | None
    batch_size: int
    schedule: Any
    base_lr: float
    #: ``(param path, share, steps)`` of each length given as a share of the run (empty: none).
    resolved_lengths: tuple[tuple[str, Any, Any], ...] = ()

    @property
    def exact(self) -> bool:
        """True when the lengths come from the real (or exactly known) data size."""
        return self.n_train is not None

    def schedule_lr(self) -> np.ndarray:
        """The LR of every scheduling step (``schedule_steps`` values, in the schedule's unit)."""
        return np.asarray(schedules.lr_curve(self.schedule, max(1, self.schedule_steps), self.base_lr))

    def planned_lr(self) -> np.ndarray:
        """The LR of every optimizer step (``total_steps`` values): per-epoch schedules repeat each
        epoch's LR for its steps. Raises the schedule's error for an invalid spec."""
        return planned_lr(self.schedule, self.base_lr, self.unit, self.total_steps, self.epochs,
                          self.steps_per_epoch)


def planned_lr(schedule: Any, base_lr: float, unit: str, total_steps: int, epochs: int,
               steps_per_epoch: int) -> np.ndarray:
    """The LR planned for each optimizer step of a run of this length (element ``i``: step
    ``i + 1``); :meth:`RunPlan.planned_lr` for a plan, this for a length a running run announced
    (``RunStarted``). Raises the schedule's error for an invalid spec."""
    if unit == "epoch":
        per_epoch = schedules.lr_curve(schedule, max(1, epochs), base_lr)
        return np.repeat(per_epoch, max(1, steps_per_epoch))[:total_steps]
    return np.asarray(schedules.lr_curve(schedule, total_steps, base_lr))


@lru_cache(maxsize=16)
def _count_csv_rows(path: str, mtime: float) -> int:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        return max(0, sum(1 for line in fh if line.strip()) - 1)


def estimate_train_rows(ds: Any) -> int | None:
    """Training examples the data set ``ds`` (a DatasetConfig) will give, without loading it.

    Exact for the built-in data sets (:func:`~lrstudio.core.datasets.known_train_size`); for
    MNIST files the catalogue's ``typical_rows`` (the standard 60,000), for a CSV file its line
    count (estimates); ``None`` when unknown.
    """
    exact = known_train_size(ds)
    if exact is not None:
        return exact
    info = DATASETS.get(ds.name)
    if info is None:
        return None
    if info.typical_rows is not None:
        n = info.typical_rows
    elif info.needs_path:
        try:
            p = Path(ds.path).expanduser()
            n = _count_csv_rows(str(p), os.path.getmtime(p))
        except OSError:
            return None
    else:
        return None
    n_train = max(1, n - val_rows(n, float(ds.val_fraction)))
    if ds.limit and ds.limit < n_train:
        n_train = int(ds.limit)
    return n_train


def plan_run(config: Any, n_train: int | None = None, *, estimate: bool = True) -> RunPlan:
    """The plan of ``config`` (a :class:`~lrstudio.core.config.RunConfig`).

    ``n_train``: training examples when the caller knows them (the data are loaded); otherwise the
    exact size of a built-in data set, and for csv/mnist an estimate when ``estimate`` is true
    (the plan's ``n_train`` is then ``None``). With ``estimate=False`` an unknown size raises
    ``LookupError`` (the pre-run gate skips its length checks then).

    Raises
    ------
    ParamError
        When ``n_train`` is below 1 (a ``limit`` that leaves no training example).
    """
    exact: int | None = n_train if n_train is not None else known_train_size(config.dataset)
    if exact is not None and exact < 1:
        raise ParamError("limit", config.dataset.limit, "a limit that leaves at least one training example",
                         "data set")
    if exact is not None:
        rows = exact
    elif estimate:
        rows = max(1, estimate_train_rows(config.dataset) or DEFAULT_ROWS)
    else:
        raise LookupError(f"the size of data set {config.dataset.name!r} is known only once it is loaded")
    spe, total, epochs = run_length(rows, int(config.batch_size), max(1, int(config.epochs)), config.max_steps)
    unit = "epoch" if config.schedule_unit == "epoch" else "step"
    bs = rows if config.batch_size <= 0 or config.batch_size >= rows else int(config.batch_size)
    sched_steps = epochs if unit == "epoch" else total
    schedule, resolved = _resolve_schedule(config.schedule, sched_steps)
    return RunPlan(
        steps_per_epoch=spe, total_steps=total, epochs=epochs,
        schedule_steps=sched_steps, unit=unit, n_train=exact, batch_size=bs,
        schedule=schedule, base_lr=float(config.lr), resolved_lengths=resolved,
    )


def with_resolved_shares(config: Any, n_train: int | None = None) -> Any:
    """A stored config (``RunConfig.to_dict()`` shape) for display, each length its schedule gives as a
    share of the run shown with the steps it became in that run: ``"10%"`` -> ``"10% → 42"`` (for the
    settings diff: two runs with ``"auto"`` but different lengths differ). ``n_train``: the run's
    training examples when known (its info); otherwise the plan's estimate. Anything that is not such a
    config, or whose plan cannot be made, comes back unchanged."""
    from lrstudio.core.config import RunConfig

    if not isinstance(config, dict) or not isinstance(config.get("schedule"), dict):
        return config
    try:
        if not schedules.has_shares(config["schedule"]):
            return config
        plan = plan_run(RunConfig.from_dict(config), n_train)
    except (ParamError, LookupError, TypeError, ValueError):
        return config
    if not plan.resolved_lengths:
        return config
    out = dict(config)
    out["schedule"] = _mark(config["schedule"], {path: steps for path, _share, steps in plan.resolved_lengths})
    return out


def _mark(spec: Any, steps: dict[str, Any], path: str = "") -> Any:
    """``spec`` with each share at a dotted ``path`` of ``steps`` written ``"share → steps"``."""
    params = dict(spec.get("params") or {})
    for key, value in params.items():
        here = f"{path}{key}"
        if here in steps:
            got = steps[here]
            if isinstance(value, list):
                params[key] = [f"{v} → {g}" if is_share(v) else v for v, g in zip(value, got)]
            else:
                params[key] = f"{value} → {got}"
        elif isinstance(value, dict) and "name" in value:
            params[key] = _mark(value, steps, f"{here}.")
        elif isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v for v in value):
            params[key] = [_mark(v, steps, f"{here}[{i}].") for i, v in enumerate(value)]
    return {**spec, "params": params}


def _resolve_schedule(spec: Any, steps: int) -> tuple[Any, tuple[tuple[str, Any, Any], ...]]:
    """The schedule with its shares of the run in steps, and what was resolved. An invalid spec (or
    one whose shares do not fit this run) is returned as it is: planned_lr raises its error."""
    try:
        if not schedules.has_shares(spec):
            return spec, ()
        resolved = schedules.resolve_lengths(spec, max(1, steps))
    except ParamError:
        return spec, ()
    return resolved, tuple(schedules.share_steps(spec, resolved))
