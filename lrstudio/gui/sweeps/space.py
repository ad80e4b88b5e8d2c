"""What the sweep panel offers and draws, as plain data (no Qt): the parameters a sweep of the form's
configuration can search, their default ranges, and the numbers behind the results views.

* :func:`declared_parameters`: every searchable parameter of a run config (the run fields that are
  numbers, the data set's validation share, the optimizer's and the schedule's numeric parameters,
  the optimizer's and the schedule's name) with a default range around the form's value: LR-like
  parameters (the LR, weight decay, epsilons: positive floats spanning decades) log-uniform over a
  decade either side, other floats uniform, integers an int range. The paths are those of
  :mod:`lrstudio.core.sweep`'s search space.
* :func:`trial_rows`: one row per trial for the trial list, trials not started yet included
  (``queued``), with its runs' statuses folded into one (running > failed > pruned > ... > done).
* :func:`metric_points` and :func:`parallel_axes`: the arrays the "parameter against metric" and
  "parallel coordinates" views draw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lrstudio.core.config import DATASET_FIELDS, RUN_FIELDS, RunConfig
from lrstudio.core.optimizers import OPTIMIZERS
from lrstudio.core.params import Param
from lrstudio.core.schedules import SCHEDULES
from lrstudio.core.sweep import Dimension, ExperimentSpec, TrialResult

__all__ = ["MetricPoints", "ParallelAxes", "SearchParam", "TrialRow", "config_of_trial", "declared_parameters",
           "default_dimension", "is_log_path", "metric_points", "parallel_axes", "planned_points", "short_path",
           "trial_rows"]

_RUN_PATHS = ("lr", "weight_decay", "epochs", "batch_size", "max_steps", "clip_value")
_LOG_NAMES = {"lr", "weight_decay", "eps", "max_lr", "base_lr", "min_lr", "eta_min", "initial_lr", "end_lr",
              "final_lr", "lr_end", "init_value", "peak_value", "end_value"}


@dataclass(frozen=True)
class SearchParam:
    """One parameter a sweep of a given config can search."""

    path: str  # dotted path into the run config (core.sweep)
    title: str
    kind: str  # float | int | choice
    value: Any  # the form's current value (None when unset)
    choices: tuple[Any, ...] = ()
    low: float | None = None  # the parameter's declared bounds (open bounds already pulled in)
    high: float | None = None


def short_path(path: str) -> str:
    """A parameter's short name for a column or row: without ``optimizer.params.`` (``momentum``),
    ``schedule.params.`` shortened to ``sched.`` (``sched. T_max``)."""
    head, _, tail = path.rpartition(".params.")
    return f"{head[:5]}. {tail}" if tail and head == "schedule" else (tail or path)


def is_log_path(path: str) -> bool:
    """LR-like parameters, searched and plotted on a log scale."""
    return path.rsplit(".", 1)[-1] in _LOG_NAMES


def _numeric(p: Param) -> bool:
    return p.kind in ("float", "int")


def _param(path: str, title: str, p: Param, value: Any) -> SearchParam:
    low, high = p.low, p.high
    if high is not None and p.high_open:
        high = high * 0.99 if high > 0 else high - 0.01
    if low is not None and p.low_open and p.kind == "float":
        low = None  # a range starts above it anyway (log_uniform needs > 0)
    return SearchParam(path, title, p.kind, value, low=low, high=high)


def declared_parameters(config: RunConfig) -> list[SearchParam]:
    """Every parameter a sweep of ``config`` can search (see the module docstring), form order."""
    data = config.to_dict()
    out: list[SearchParam] = []
    fields = {p.name: p for p in RUN_FIELDS}
    for name in _RUN_PATHS:
        p = fields[name]
        out.append(_param(name, p.label, p, data.get(name)))
    for p in DATASET_FIELDS:
        if p.name == "val_fraction":
            out.append(_param("dataset.val_fraction", "validation share", p, data["dataset"].get(p.name)))
    out.append(SearchParam("optimizer.name", "optimizer", "choice", data["optimizer"]["name"], tuple(OPTIMIZERS)))
    opt = OPTIMIZERS.get(data["optimizer"]["name"])
    for p in opt.params if opt is not None else ():
        if _numeric(p) and p.name != "weight_decay":
            out.append(_param(f"optimizer.params.{p.name}", f"optimizer {p.label}", p,
                              data["optimizer"].get("params", {}).get(p.name, p.default)))
    out.append(SearchParam("schedule.name", "schedule", "choice", data["schedule"]["name"], tuple(SCHEDULES)))
    sched = SCHEDULES.get(data["schedule"]["name"])
    for p in sched.params if sched is not None else ():
        value = data["schedule"].get("params", {}).get(p.name, p.default)
        if _numeric(p) and (value is None or isinstance(value, (int, float))):
            out.append(_param(f"schedule.params.{p.name}", f"schedule {p.label}", p, value))
    return out


def default_dimension(param: SearchParam) -> dict[str, Any]:
    """A first range for ``param`` around its current value (the JSON form of a Dimension),
    inside its declared bounds."""
    v = param.value
    if param.kind == "choice":
        return {"choice": [v]}
    if param.kind == "int":
        base = int(v) if isinstance(v, (int, float)) and v else (100 if v is None else 0)
        if param.path == "batch_size":
            return {"choice": [16, 32, 64] if base <= 1 else sorted({max(1, base // 2), base, base * 2})}
        base = max(base, 2)
        return {"int": [max(1, base // 2), base * 2]}
    x = float(v) if isinstance(v, (int, float)) else 0.0
    if is_log_path(param.path) or 0 < x < 1e-2:
        x = x if x > 0 else 1e-4
        lo, hi = x / 10, x * 10
        kind = "log_uniform"
    elif 0 <= x < 1:
        lo, hi, kind = x / 2, (1 + x) / 2 if x else 0.9, "uniform"
    else:
        lo, hi, kind = x / 2, x * 2, "uniform"
    if param.low is not None:
        lo = max(lo, param.low)
    if param.high is not None:
        hi = min(hi, param.high)
    return {kind: [_round(lo), _round(hi)]}


def _round(x: float) -> float:
    return float(f"{x:.4g}")


# -- the trial list -------------------------------------------------------------------------------
#: How the statuses of a trial's runs fold into one, most telling first.
_ORDER = ("running", "failed", "diverged", "pruned", "interrupted", "stopped", "completed")


@dataclass(frozen=True)
class TrialRow:
    trial: int
    params: Mapping[str, Any]
    status: str  # queued | running | completed | incomplete | pruned | failed | diverged | stopped | interrupted
    seeds_done: int
    seeds: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    run_ids: tuple[int, ...]
    # an incomplete trial (not every seed completed): the mean of those that did, shown as such
    # ("n of N seeds"), never ranked (core.sweep.TrialResult.partial_mean)
    partial_mean: float | None = None


def trial_rows(spec: ExperimentSpec, results: Sequence[TrialResult], runs: Sequence[Any],
               planned: Mapping[int, Mapping[str, Any]] | None = None, sweep_running: bool = True) -> list[TrialRow]:
    """The trial list: every trial with runs (``results``, from ``summarise_trials``) with its
    status over all its runs (``runs``: the experiment's ``RunInfo``s, a running one included),
    then the planned trials with no run yet as ``queued`` (``planned``: trial -> point; grid and
    random plan every point, Optuna only those it asked). Sorted by trial number.

    A trial whose runs completed but whose other seeds have not started reads ``running`` while
    the sweep runs (``sweep_running``) and ``incomplete`` once it stopped (cancelled, failed)."""
    from lrstudio.core.sweep import latest_runs_per_seed

    latest = latest_runs_per_seed(runs)
    statuses: dict[int, list[str]] = {}
    for (trial, _seed), r in latest.items():
        statuses.setdefault(trial, []).append(r.status)
    n_seeds = len(spec.seeds)
    out = []
    seen = set()
    for t in results:
        sts = statuses.get(t.trial, list(t.statuses))
        status = next((s for s in _ORDER if s in sts), sts[0] if sts else "queued")
        if status == "completed" and len(sts) < n_seeds:
            status = "running" if sweep_running else "incomplete"  # some seeds have not started
        done = sum(1 for s in sts if s in ("completed", "diverged", "pruned", "failed"))
        out.append(TrialRow(t.trial, dict(t.params), status, done, n_seeds, t.mean, t.std,
                            t.min, t.max, tuple(t.run_ids), t.partial_mean))
        seen.add(t.trial)
    for trial, point in sorted((planned or {}).items()):
        if trial not in seen:
            out.append(TrialRow(trial, dict(point), "queued", 0, n_seeds, None, None, None, None, ()))
    out.sort(key=lambda r: r.trial)
    return out


def planned_points(spec: ExperimentSpec, state: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    """Every trial's point known before it runs: all of them for grid and random, the asked ones
    (the experiment's state) for Optuna."""
    if spec.method == "optuna":
        return {int(k): dict(v) for k, v in dict(state.get("trials", {})).items()}
    return dict(enumerate(spec.points()))


# -- results views ----------------------------------------------------------------------------------
def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass(frozen=True)
class MetricPoints:
    """The "parameter against metric" view of one swept parameter: one point per trial with a value."""

    x: npt.NDArray[np.float64]  # the parameter (choices: their index)
    mean: npt.NDArray[np.float64]
    lo: npt.NDArray[np.float64]  # the seed band's lower edge (mean - std or min)
    hi: npt.NDArray[np.float64]
    seeds_x: npt.NDArray[np.float64]  # every seed's value, for dots
    seeds_y: npt.NDArray[np.float64]
    trials: tuple[int, ...]
    best: int  # index into x/mean of the best trial (-1: none)
    log_x: bool
    labels: tuple[str, ...] = ()  # choice parameters: the tick label of each index
    incomplete: tuple[int, ...] = ()  # trials left out: some seeds completed, not all (no mean)


def _dimension(spec: ExperimentSpec, path: str) -> Dimension | None:
    return next((d for d in spec.dimensions() if d.path == path), None)


def metric_points(spec: ExperimentSpec, results: Sequence[TrialResult], path: str, band: str = "std") -> MetricPoints:
    """``path`` against the spec's metric: a point per trial (the mean over its seeds) with the
    seed band (``std``: mean ± std, ``minmax``), sorted by the parameter; the best trial by the
    metric's direction."""
    dim = _dimension(spec, path)
    # A list of numbers (a grid of LRs) is drawn at the numbers; other choices at their index.
    choice = dim is not None and dim.kind == "choice" and not all(_is_number(c) for c in dim.choices)
    labels: tuple[str, ...] = tuple(str(c) for c in dim.choices) if dim is not None and choice else ()
    rows = []
    incomplete = tuple(sorted(t.trial for t in results if t.partial_mean is not None))
    for t in results:
        if t.mean is None:  # not ranked: a seed pruned, diverged, failed or not finished
            continue
        v = t.params.get(path)
        if choice:
            assert dim is not None
            x = float(list(dim.choices).index(v)) if v in dim.choices else math.nan
        elif _is_number(v):
            x = float(v)
        else:
            continue
        lo, hi = (t.mean - (t.std or 0.0), t.mean + (t.std or 0.0)) if band == "std" else (t.min, t.max)
        rows.append((x, t.mean, lo, hi, t.values, t.trial))
    rows.sort(key=lambda r: (r[0], r[5]))

    def arr(i: int) -> npt.NDArray[np.float64]:
        return np.asarray([r[i] for r in rows], dtype=float)

    mean = arr(1)
    best = -1
    if rows:
        best = int(np.argmax(mean) if spec.direction == "maximize" else np.argmin(mean))
    sx = np.asarray([r[0] for r in rows for _ in r[4]], dtype=float)
    sy = np.asarray([v for r in rows for v in r[4]], dtype=float)
    log_x = (dim is not None and dim.is_log) or (not choice and is_log_path(path) and bool(rows)
                                                 and all(r[0] > 0 for r in rows))
    return MetricPoints(arr(0), mean, arr(2), arr(3), sx, sy, tuple(r[5] for r in rows), best, log_x, labels,
                        incomplete)


@dataclass(frozen=True)
class ParallelAxes:
    """Parallel coordinates: each swept parameter (and the metric, last) on an axis normalised to 0..1."""

    names: tuple[str, ...]  # axis titles: the parameters' paths, then the metric
    lines: npt.NDArray[np.float64]  # [trial, axis] in 0..1 (NaN: no value)
    metric: npt.NDArray[np.float64]  # the trial's metric (mean over seeds), for the colour
    ranges: tuple[tuple[str, str], ...]  # each axis's (bottom, top) label
    trials: tuple[int, ...]
    incomplete: tuple[int, ...] = ()  # trials left out: some seeds completed, not all (no mean)


def _fmt(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def parallel_axes(spec: ExperimentSpec, results: Sequence[TrialResult]) -> ParallelAxes:
    """Every trial with a value as a line across the swept parameters' axes and the metric's;
    log-scale dimensions are normalised in log space, choices by their index."""
    dims = spec.dimensions()
    done = [t for t in results if t.mean is not None]
    cols = []
    ranges = []
    for d in dims:
        if d.kind == "choice":
            idx = [float(list(d.choices).index(t.params.get(d.path))) if t.params.get(d.path) in d.choices
                   else math.nan for t in done]
            n = max(1, len(d.choices) - 1)
            cols.append(np.asarray(idx, dtype=float) / n)
            ranges.append((_fmt(d.choices[0]), _fmt(d.choices[-1])))
            continue
        vals = np.asarray([t.params.get(d.path) if isinstance(t.params.get(d.path), (int, float)) else math.nan
                           for t in done], dtype=float)
        lo, hi = float(d.low or 0.0), float(d.high or 0.0)
        if d.is_log and lo > 0:
            cols.append((np.log(vals) - math.log(lo)) / (math.log(hi) - math.log(lo)))
        else:
            cols.append((vals - lo) / (hi - lo) if hi > lo else np.zeros_like(vals))
        ranges.append((_fmt(d.low if d.kind != "int" else int(lo)), _fmt(d.high if d.kind != "int" else int(hi))))
    metric = np.asarray([t.mean for t in done], dtype=float)
    if metric.size:
        mlo, mhi = float(np.min(metric)), float(np.max(metric))
        cols.append((metric - mlo) / (mhi - mlo) if mhi > mlo else np.full(metric.size, 0.5))
        ranges.append((_fmt(mlo), _fmt(mhi)))
    else:
        cols.append(np.empty(0))
        ranges.append(("", ""))
    lines = np.stack(cols, axis=1) if done else np.empty((0, len(cols)))
    return ParallelAxes(tuple(d.path for d in dims) + (spec.metric,), lines, metric, tuple(ranges),
                        tuple(t.trial for t in done),
                        tuple(sorted(t.trial for t in results if t.partial_mean is not None)))


def config_of_trial(spec: ExperimentSpec, trial: TrialRow | TrialResult) -> RunConfig:
    """The run config "apply this config" puts into the form: the base with the trial's point and
    the sweep's first seed, the base's own run name."""
    point = {p: v for p, v in trial.params.items() if v is not None}
    return spec.config_for(point, spec.seeds[0])

