"""Sweeps (issue 13): an experiment = a base run config + a search space + a method + seeds.

Plain data, no torch, no Qt, no SQLAlchemy, no Optuna (the executor in
:mod:`lrstudio.services.sweep` builds Optuna's objects from these names). The GUI (S13b) and the
CLI build an :class:`ExperimentSpec`, call :meth:`ExperimentSpec.validated` (a
:class:`~lrstudio.core.params.ParamError` naming the field, the value and what is allowed) and
hand it to the store / the executor.

API for the front ends::

    spec = ExperimentSpec.from_dict({            # or ExperimentSpec(base=RunConfig(...), ...)
        "base": run_config.to_dict(),
        "space": {"lr": {"log_uniform": [1e-4, 1]},          # random / optuna
                  "schedule.params.T_max": {"int": [50, 500]},
                  "optimizer.params.beta1": {"choice": [0.8, 0.9, 0.95]},
                  "batch_size": [16, 32, 64]},               # a plain list = the values to try
        "method": "random", "trials": 20, "seeds": [0, 1, 2], "sweep_seed": 0,
        "metric": "best_val_loss"}).validated()
    spec.points()            # grid/random: [{path: value}, ...] in trial order (deterministic)
    spec.config_for(point, seed)    # the RunConfig of one run of the sweep
    ExperimentSpec.from_json(spec.to_json())      # round trip, spec_version 1
    summarise_trials(spec, runs)    # one TrialResult per trial, best first (show, the results views)

Search space: keys are dotted paths into the run config's JSON (``lr``, ``epochs``, ``batch_size``,
``weight_decay``, ``clip_value``, ``clip_mode``, ``max_steps``, ``dataset.val_fraction``,
``optimizer.name``, ``optimizer.params.<p>``, ``schedule.params.<p>``, nested schedules
``schedule.params.inner.params.<p>`` ...); the seed is not one (``seeds`` sets it). Values:

==================================  ==============================================================
``{"uniform": [lo, hi]}``           a float in [lo, hi]; grid: ``"num": k`` evenly spaced values
``{"log_uniform": [lo, hi]}``       a float, log-uniform (0 < lo < hi); grid: ``"num": k`` values
``{"int": [lo, hi]}``               an integer in [lo, hi] (``"log": true`` for log scale); grid:
                                    every integer, or ``"num": k`` of them
``{"choice": [a, b, ...]}``         one of the values (any JSON); ``[a, b, ...]`` is the same
==================================  ==============================================================

Methods: ``grid`` (every combination, in the order of the space's keys, the last varying fastest;
``trials`` may cap the count), ``random`` (``trials`` points drawn from a numpy generator seeded
with ``(sweep_seed, trial)``, so trial *k* is the same whatever the count), ``optuna``
(``sampler``: an Optuna sampler by name, ``tpe`` by default; ``pruner``: ``median`` by default when
``prune`` is on, reported the validation loss after every epoch).

A *trial* is one point of the space; it runs once per seed. Each run is stored with the
experiment's id and the trial number (``runs.trial``), its seed in its config. The metric of a
trial is the mean over its seeds of a stored summary value (:data:`METRICS`); a trial whose seeds
did not all complete has no mean and is not ranked (:class:`TrialResult`).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrstudio.core.config import RunConfig
from lrstudio.core.jsonio import parse_user_json
from lrstudio.core.params import ParamError, short_repr

SPEC_VERSION = 1
METHODS = ("grid", "random", "optuna")
DISTRIBUTIONS = ("uniform", "log_uniform", "int", "choice")
#: Summary values a sweep can optimise, and which way.
METRICS = {"best_val_loss": "minimize", "final_val_loss": "minimize", "best_loss": "minimize",
           "final_loss": "minimize", "best_accuracy": "maximize"}
#: What each metric is called on screen (the Sweeps tab, plot titles); the key stays the spec's word.
METRIC_TITLES = {"best_val_loss": "best validation loss", "final_val_loss": "final validation loss",
                 "best_loss": "best training loss", "final_loss": "final training loss",
                 "best_accuracy": "best validation accuracy"}
#: Optuna samplers by the name a spec uses (the class in ``optuna.samplers``).
SAMPLERS = {"tpe": "TPESampler", "random": "RandomSampler", "cmaes": "CmaEsSampler", "qmc": "QMCSampler",
            "gp": "GPSampler", "nsgaii": "NSGAIISampler", "bruteforce": "BruteForceSampler"}
#: Optuna pruners by name (the class in ``optuna.pruners``); they see ``val/loss`` per epoch.
PRUNERS = {"median": "MedianPruner", "percentile": "PercentilePruner", "hyperband": "HyperbandPruner",
           "successive_halving": "SuccessiveHalvingPruner", "none": "NopPruner"}
#: Statuses of a run that count as done for a sweep (resume runs everything else again).
TRIAL_DONE_STATUSES = ("completed", "diverged", "pruned", "failed")
#: A trial with a run of one of these statuses has no mean and is never the best: such a run's
#: metric is a partial one (``sweep show`` and the Sweeps tab say so).
UNRANKED_STATUSES = ("pruned", "diverged", "failed")
MAX_RUNS = 100_000
_OWNER = "sweep"


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: its dotted path and how values are drawn."""

    path: str
    kind: str  # uniform | log_uniform | int | choice
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    log: bool = False  # int on a log scale
    num: int | None = None  # grid: how many values of a range

    def to_json_obj(self) -> Any:
        if self.kind == "choice":
            return {"choice": list(self.choices)}
        out: dict[str, Any] = {self.kind: [self.low, self.high]}
        if self.log:
            out["log"] = True
        if self.num is not None:
            out["num"] = self.num
        return out

    @property
    def is_log(self) -> bool:
        """Plot this parameter on a log axis (LR-like)."""
        return self.kind == "log_uniform" or self.log

    def grid_values(self) -> list[Any]:
        if self.kind == "choice":
            return list(self.choices)
        assert self.low is not None and self.high is not None
        if self.kind == "int" and self.num is None:
            return list(range(int(self.low), int(self.high) + 1))
        if self.num is None:
            raise ParamError(self.path, self.to_json_obj(),
                             f'a number of grid values for a {self.kind} range, e.g. {{"{self.kind}": '
                             f'[{self.low:g}, {self.high:g}], "num": 5}}, or a list of values', _OWNER)
        if self.kind == "log_uniform" or self.log:
            vals = np.geomspace(self.low, self.high, self.num)
        else:
            vals = np.linspace(self.low, self.high, self.num)
        if self.kind == "int":
            return sorted({int(round(v)) for v in vals})
        return [float(v) for v in vals]

    def sample(self, rng: np.random.Generator) -> Any:
        if self.kind == "choice":
            return self.choices[int(rng.integers(len(self.choices)))]
        assert self.low is not None and self.high is not None
        if self.kind == "uniform":
            return float(rng.uniform(self.low, self.high))
        if self.kind == "log_uniform":
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        if self.log:
            v = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            return int(min(self.high, max(self.low, math.floor(v))))
        return int(rng.integers(int(self.low), int(self.high) + 1))


def parse_dimension(path: str, value: Any) -> Dimension:
    """A :class:`Dimension` from its JSON form (see the module table); ParamError when malformed."""
    allowed = ('a list of values or an object with one of "uniform": [lo, hi], "log_uniform": [lo, hi], '
               '"int": [lo, hi], "choice": [values] (plus "num": k for a grid, "log": true for int)')
    if isinstance(value, list):
        value = {"choice": value}
    if not isinstance(value, Mapping):
        raise ParamError(path, value, allowed, _OWNER)
    kinds = [k for k in value if k in DISTRIBUTIONS]
    extra = sorted(set(value) - set(DISTRIBUTIONS) - {"num", "log"})
    if len(kinds) != 1 or extra:
        raise ParamError(path, dict(value), allowed, _OWNER)
    kind = kinds[0]
    arg = value[kind]
    num = value.get("num")
    if num is not None and (isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= 10_000):
        raise ParamError(f"{path}.num", num, "a whole number of grid values from 1 to 10000", _OWNER)
    log = value.get("log", False)
    if not isinstance(log, bool) or (log and kind != "int"):
        raise ParamError(f"{path}.log", log, 'true or false, and only with "int" (use "log_uniform" for floats)',
                         _OWNER)
    if kind == "choice":
        if not isinstance(arg, list) or not arg:
            raise ParamError(path, arg, "a non-empty list of values to choose from", _OWNER)
        if num is not None:
            raise ParamError(f"{path}.num", num, 'nothing: "num" is for ranges; a choice tries every value', _OWNER)
        return Dimension(path, "choice", choices=tuple(arg))
    if (not isinstance(arg, list) or len(arg) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in arg)):
        raise ParamError(path, arg, f"[low, high]: two numbers for {kind}", _OWNER)
    lo, hi = float(arg[0]), float(arg[1])
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise ParamError(path, arg, f"[low, high] with finite low < high for {kind}", _OWNER)
    if kind == "log_uniform" and lo <= 0:
        raise ParamError(path, arg, "[low, high] with 0 < low < high for log_uniform", _OWNER)
    if kind == "int":
        if lo != int(lo) or hi != int(hi):
            raise ParamError(path, arg, "[low, high]: two whole numbers for int", _OWNER)
        if log and lo < 1:
            raise ParamError(path, arg, "[low, high] with low >= 1 for a log-scale int", _OWNER)
        return Dimension(path, "int", int(lo), int(hi), log=log, num=num)
    return Dimension(path, kind, lo, hi, num=num)


# -- dotted paths -------------------------------------------------------------------------------
def get_path(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of a config dict (KeyError when a part is missing)."""
    cur: Any = data
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            raise KeyError(path)
        cur = cur[part]
    return cur


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path in a config dict (in place). The parent objects must exist, except a
    spec's missing ``params`` object, which is created."""
    parts = path.split(".")
    cur: Any = data
    for i, part in enumerate(parts[:-1]):
        nxt = cur.get(part) if isinstance(cur, dict) else None
        if nxt is None and part == "params" and isinstance(cur, dict):
            nxt = cur["params"] = {}
        if not isinstance(nxt, dict):
            where = ".".join(parts[:i + 1])
            raise ParamError(path, value, f"a path into the base config: {where!r} is not an object there "
                             "(paths look like lr, epochs, optimizer.params.beta1, schedule.params.T_max)",
                             _OWNER)
        cur = nxt
    cur[parts[-1]] = value


_NOT_SWEPT = {"seed": "the seeds of the sweep ('seeds')", "name": "nothing: run names are made per trial",
              "schema_version": "nothing", "device": "nothing: the executor decides where runs train"}


def _check_path_declared(base: dict[str, Any], path: str) -> None:
    """A path must name a declared parameter: a run field, a data-set field, the optimizer's or the
    schedule's name, or a parameter of the (nested) optimizer/schedule spec."""
    from lrstudio.core.config import DATASET_FIELDS, RUN_FIELDS

    parts = path.split(".")
    if not all(parts):
        raise ParamError("space", path, "a dotted path such as lr or schedule.params.T_max", _OWNER)
    head = parts[0]
    if head in _NOT_SWEPT and len(parts) == 1:
        raise ParamError("space", path, f"a searchable parameter; {head} is set by {_NOT_SWEPT[head]}", _OWNER)
    run_fields = {p.name for p in RUN_FIELDS} - set(_NOT_SWEPT)
    if len(parts) == 1:
        if head not in run_fields:
            raise ParamError("space", path, "a run field (" + ", ".join(sorted(run_fields)) + ") or a path such "
                             "as optimizer.params.beta1, schedule.params.T_max, dataset.val_fraction", _OWNER)
        return
    if head == "dataset":
        ds_fields = {p.name for p in DATASET_FIELDS}
        if len(parts) != 2 or parts[1] not in ds_fields:
            raise ParamError("space", path, "dataset.<field> with a data-set field: " + ", ".join(sorted(ds_fields)),
                             _OWNER)
        return
    if head in ("optimizer", "schedule"):
        if parts[1:] == ["name"]:
            return
        if len(parts) < 3 or parts[1] != "params":
            raise ParamError("space", path, f"{head}.name or {head}.params.<parameter>", _OWNER)
        return  # the registries say whether the parameter exists (checked on sample configs)
    if head in run_fields:
        raise ParamError("space", path, f"the path {head}: {head} is a run field with no parts", _OWNER)
    raise ParamError("space", path, "a path starting with a run field, dataset., optimizer. or schedule.", _OWNER)


# -- the spec ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExperimentSpec:
    """What a sweep runs (see the module docstring). Immutable; :meth:`validated` checks it."""

    base: RunConfig = field(default_factory=RunConfig)
    space: Mapping[str, Any] = field(default_factory=dict)  # path -> JSON form of a Dimension
    method: str = "random"
    trials: int | None = None  # random/optuna: required; grid: optional cap
    seeds: tuple[int, ...] = (0,)
    sweep_seed: int = 0
    metric: str = "best_val_loss"
    sampler: str = "tpe"
    prune: bool = False
    pruner: str = "median"
    name: str = ""

    @property
    def direction(self) -> str:
        return METRICS.get(self.metric, "minimize")

    def dimensions(self) -> list[Dimension]:
        return [parse_dimension(path, value) for path, value in self.space.items()]

    # -- validation ------------------------------------------------------------------------------
    def validated(self) -> ExperimentSpec:
        """A checked copy (base config validated, dimensions normalised); ParamError otherwise."""
        if self.method not in METHODS:
            raise ParamError("method", self.method, "one of " + ", ".join(METHODS), _OWNER)
        if self.metric not in METRICS:
            raise ParamError("metric", self.metric, "one of " + ", ".join(METRICS), _OWNER)
        if self.sampler not in SAMPLERS:
            raise ParamError("sampler", self.sampler, "an Optuna sampler: " + ", ".join(SAMPLERS), _OWNER)
        if self.pruner not in PRUNERS:
            raise ParamError("pruner", self.pruner, "an Optuna pruner: " + ", ".join(PRUNERS), _OWNER)
        if self.prune and self.method != "optuna":
            raise ParamError("prune", self.prune, "false unless method is optuna (pruning needs the Optuna study)",
                             _OWNER)
        if not isinstance(self.sweep_seed, int) or isinstance(self.sweep_seed, bool) or not 0 <= self.sweep_seed < 2**32:
            raise ParamError("sweep_seed", self.sweep_seed, "a whole number from 0 to 2**32-1", _OWNER)
        seeds = tuple(self.seeds)
        if not seeds or len(set(seeds)) != len(seeds) or not all(
                isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**32 for s in seeds):
            raise ParamError("seeds", list(seeds), "a non-empty list of distinct whole numbers from 0 to 2**32-1",
                             _OWNER)
        if not isinstance(self.space, Mapping) or not self.space:
            raise ParamError("space", self.space, 'at least one parameter to search, e.g. {"lr": {"log_uniform": '
                             "[1e-4, 1]}}", _OWNER)
        if self.trials is not None and (isinstance(self.trials, bool) or not isinstance(self.trials, int)
                                        or not 1 <= self.trials <= MAX_RUNS):
            raise ParamError("trials", self.trials, f"a whole number of trials from 1 to {MAX_RUNS}", _OWNER)
        base = self.base.validated()
        base_dict = base.to_dict()
        dims = []
        for path, value in self.space.items():
            if not isinstance(path, str):
                raise ParamError("space", path, "parameter paths as text", _OWNER)
            _check_path_declared(base_dict, path)
            dims.append(parse_dimension(path, value))
        if self.method != "grid" and self.trials is None:
            raise ParamError("trials", None, f"a number of trials for the {self.method} method", _OWNER)
        spec = ExperimentSpec(base=base, space={d.path: d.to_json_obj() for d in dims}, method=self.method,
                              trials=self.trials, seeds=seeds, sweep_seed=self.sweep_seed, metric=self.metric,
                              sampler=self.sampler, prune=bool(self.prune), pruner=self.pruner,
                              name=str(self.name or ""))
        if self.method == "grid":
            size = math.prod(len(d.grid_values()) for d in dims)
            if min(size, self.trials or size) * len(seeds) > MAX_RUNS:
                raise ParamError("space", f"{size} grid points x {len(seeds)} seeds",
                                 f"at most {MAX_RUNS} runs; use fewer values or cap with trials", _OWNER)
        elif self.trials is not None and self.trials * len(seeds) > MAX_RUNS:
            raise ParamError("trials", self.trials, f"at most {MAX_RUNS} runs in all (trials x seeds)", _OWNER)
        for point in _probe_points(dims):  # every choice, each range's ends: the registries check them
            spec.config_for(point, seeds[0])
        return spec

    # -- trials ---------------------------------------------------------------------------------
    def points(self) -> list[dict[str, Any]]:
        """Grid and random: every trial's point ``{path: value}`` in trial order (deterministic)."""
        dims = self.dimensions()
        if self.method == "grid":
            combos: Iterable[tuple[Any, ...]] = itertools.product(*(d.grid_values() for d in dims))
            if self.trials is not None:
                combos = itertools.islice(combos, self.trials)
            return [{d.path: v for d, v in zip(dims, combo, strict=True)} for combo in combos]
        if self.method == "random":
            return [self.random_point(i) for i in range(self.trials or 0)]
        raise ValueError("optuna trials are asked from the study (lrstudio.services.sweep)")

    def random_point(self, trial: int) -> dict[str, Any]:
        rng = np.random.default_rng([self.sweep_seed, trial])
        return {d.path: d.sample(rng) for d in self.dimensions()}

    def n_trials(self) -> int:
        if self.method == "grid":
            size = math.prod(len(d.grid_values()) for d in self.dimensions())
            return min(size, self.trials) if self.trials is not None else size
        return int(self.trials or 0)

    def config_for(self, point: Mapping[str, Any], seed: int, trial: int | None = None) -> RunConfig:
        """The validated RunConfig of one run: the base with the point's values and ``seed``."""
        data = copy.deepcopy(self.base.to_dict())
        # A spec's name first: a new optimizer or schedule starts from its own defaults (the base's
        # parameters belong to the base's one); then the values, which may set its parameters.
        for path, value in sorted(point.items(), key=lambda kv: not kv[0].endswith(".name")):
            if path.endswith(".name"):
                spec_path = path[:-len(".name")]
                try:
                    current = get_path(data, spec_path)
                except KeyError:
                    current = None
                if isinstance(current, dict) and current.get("name") != value:
                    current["params"] = {}
            set_path(data, path, value)
        data["seed"] = seed
        if trial is not None:
            label = " ".join(f"{p.rsplit('.', 1)[-1]}={_short(v)}" for p, v in point.items())
            data["name"] = f"{self.name or 'sweep'} #{trial} {label} seed={seed}"[:190]
        try:
            return RunConfig.from_dict(data).validated()
        except ParamError as exc:
            shown = ", ".join(f"{p}={short_repr(v)}" for p, v in point.items())
            raise ParamError(exc.param, exc.value, f"{exc.allowed} (in the sweep's point {shown})",
                             exc.owner) from None

    # -- JSON -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"spec_version": SPEC_VERSION, "name": self.name, "method": self.method, "trials": self.trials,
                "seeds": list(self.seeds), "sweep_seed": self.sweep_seed, "metric": self.metric,
                "sampler": self.sampler, "prune": self.prune, "pruner": self.pruner,
                "space": dict(self.space), "base": self.base.to_dict()}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExperimentSpec:
        """A spec from JSON data (not validated: call :meth:`validated`); unknown keys are errors."""
        if not isinstance(data, Mapping):
            raise ParamError("", data, "a sweep spec must be a JSON object", _OWNER)
        data = dict(data)
        version = data.pop("spec_version", SPEC_VERSION)
        if version != SPEC_VERSION:
            raise ParamError("spec_version", version, f"{SPEC_VERSION} (this lrstudio reads sweep specs of version "
                             f"{SPEC_VERSION}; a newer one needs a newer lrstudio)", _OWNER)
        known = {"name", "method", "trials", "seeds", "sweep_seed", "metric", "sampler", "prune", "pruner",
                 "space", "base"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ParamError(unknown[0], data[unknown[0]], "a known sweep field: " + ", ".join(sorted(known)), _OWNER)
        base = data.pop("base", None)
        seeds = data.pop("seeds", [0])
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            raise ParamError("seeds", seeds, "a list of seeds, e.g. [0, 1, 2]", _OWNER)
        if not isinstance(seeds, list):
            raise ParamError("seeds", seeds, "a list of seeds, e.g. [0, 1, 2]", _OWNER)
        return cls(base=RunConfig.from_dict(base) if base is not None else RunConfig(), seeds=tuple(seeds), **data)

    @classmethod
    def from_json(cls, text: str, what: str = "sweep spec") -> ExperimentSpec:
        return cls.from_dict(parse_user_json(text, what))


def metric_title(metric: str) -> str:
    """A sweep metric as the app writes it (``best_val_loss`` -> ``best validation loss``)."""
    return METRIC_TITLES.get(metric, metric)


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return short_repr(v, 24) if not isinstance(v, (int, str)) else str(v)[:24]


def _probe_points(dims: Sequence[Dimension]) -> list[dict[str, Any]]:
    """Points that put every dimension at each of its extremes (or choices) once, the others at
    their first value: enough for the registries to reject an unknown or out-of-range parameter."""
    firsts = {d.path: (d.choices[0] if d.kind == "choice" else (int(d.low or 0) if d.kind == "int" else d.low))
              for d in dims}
    out = [dict(firsts)]
    for d in dims:
        extremes: Iterable[Any] = d.choices if d.kind == "choice" else (
            (int(d.low), int(d.high)) if d.kind == "int" else (d.low, d.high))  # type: ignore[arg-type]
        for v in extremes:
            out.append({**firsts, d.path: v})
    return out


# -- an experiment as the front ends see it ---------------------------------------------------------
@dataclass(frozen=True)
class ExperimentInfo:
    """One stored experiment (a snapshot of its row; ``lrstudio.storage.experiments`` makes them)."""

    id: int
    uuid: str
    name: str
    method: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    spec_json: str
    spec_version: int
    state: Mapping[str, Any] = field(default_factory=dict)
    notes: str = ""
    lrstudio_version: str = ""
    owner_host: str | None = None
    owner_pid: int | None = None
    heartbeat_at: dt.datetime | None = None

    def spec(self) -> ExperimentSpec:
        return ExperimentSpec.from_json(self.spec_json, "stored sweep spec")


# -- results ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrialResult:
    """One trial (a point) with its runs: the metric's mean/std/min/max over its seeds.

    A trial is ranked only when it is complete: every seed of the spec completed with a finite
    metric, as Optuna ranks only COMPLETE trials. Otherwise ``mean``/``std``/``min``/``max`` are
    ``None``: a seed was pruned, diverged or failed (:data:`UNRANKED_STATUSES`; its metric is a
    partial one), or a seed has not finished (running, stopped by a cancel, interrupted, never
    started). ``values`` still lists the finished seeds' metrics; for a trial that is only
    incomplete (no seed pruned, diverged or failed) :attr:`partial_mean` is their mean, which the
    front ends show as "n of N seeds", never as the trial's value.
    """

    trial: int
    params: Mapping[str, Any]
    run_ids: tuple[int, ...]
    seeds: tuple[int, ...]
    statuses: tuple[str, ...]
    values: tuple[float, ...]  # the metric of each completed run with a finite value
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    n_seeds: int = 0  # the seeds the spec asks for (0: unknown, then the runs seen)

    @property
    def n_done(self) -> int:
        """Seeds that completed with a finite metric (those in ``values``)."""
        return len(self.values)

    @property
    def complete(self) -> bool:
        """Every seed completed with a finite metric: the trial has a mean and is ranked."""
        return self.mean is not None

    @property
    def partial_mean(self) -> float | None:
        """The mean over the completed seeds of a trial that is not complete (None otherwise, or
        when no seed completed): shown as such, never ranked."""
        if self.complete or not self.values or any(s in UNRANKED_STATUSES for s in self.statuses):
            return None  # a pruned, diverged or failed seed: the trial is not ranked, not pending
        return float(np.mean(self.values))

    @property
    def status(self) -> str:
        """``completed`` when every seed completed; else the first other status seen;
        ``incomplete`` when the seeds that ran completed but others never ran."""
        others = [s for s in self.statuses if s != "completed"]
        if others:
            return others[0]
        return "incomplete" if len(self.statuses) < self.n_seeds else "completed"


def latest_runs_per_seed(runs: Iterable[Any]) -> dict[tuple[int, int], Any]:
    """The run that counts for each (trial, seed): the newest finished one, else the newest."""
    best: dict[tuple[int, int], Any] = {}
    for r in sorted(runs, key=lambda r: r.id):
        if r.trial is None:
            continue
        key = (int(r.trial), int(r.config_dict.get("seed", 0)))
        old = best.get(key)
        if old is None or (r.status in TRIAL_DONE_STATUSES) or old.status not in TRIAL_DONE_STATUSES:
            best[key] = r
    return best


def summarise_trials(spec: ExperimentSpec, runs: Iterable[Any]) -> list[TrialResult]:
    """One :class:`TrialResult` per trial from the experiment's runs (``RunInfo``s), best first by
    the spec's metric (trials without a value last, by trial number). The value is the mean over
    the spec's seeds, all completed; a trial with a seed pruned, diverged, failed or not finished
    has none (see :class:`TrialResult`)."""
    by_trial: dict[int, list[Any]] = {}
    for (trial, _seed), r in sorted(latest_runs_per_seed(runs).items()):
        by_trial.setdefault(trial, []).append(r)
    out = []
    paths = list(spec.space)
    for trial, rs in by_trial.items():
        cfg = rs[0].config_dict
        params = {}
        for p in paths:
            try:
                params[p] = get_path(cfg, p)
            except KeyError:
                params[p] = None
        # Only completed runs count: a pruned, diverged or failed run's metric is a partial one
        # (the best before it stopped). A trial is ranked only when every seed of the spec
        # completed with a finite value: one seed of a cancelled (or still running) trial is not
        # its mean, and must not beat trials measured over all their seeds.
        vals = [getattr(r, spec.metric) for r in rs if r.status == "completed"]
        finite = [float(v) for v in vals if v is not None and math.isfinite(v)]
        arr = np.asarray(finite, dtype=float)
        ranked = len(finite) == len(spec.seeds) and {int(r.config_dict.get("seed", 0)) for r in rs} >= set(spec.seeds)
        out.append(TrialResult(
            trial=trial, params=params, run_ids=tuple(r.id for r in rs),
            seeds=tuple(int(r.config_dict.get("seed", 0)) for r in rs), statuses=tuple(r.status for r in rs),
            values=tuple(finite),
            mean=float(arr.mean()) if ranked else None, std=float(arr.std()) if ranked else None,
            min=float(arr.min()) if ranked else None, max=float(arr.max()) if ranked else None,
            n_seeds=len(spec.seeds)))
    sign = -1.0 if spec.direction == "maximize" else 1.0
    out.sort(key=lambda t: (t.mean is None, sign * t.mean if t.mean is not None else 0.0, t.trial))
    return out


__all__ = ["DISTRIBUTIONS", "METHODS", "METRICS", "METRIC_TITLES", "PRUNERS", "SAMPLERS", "SPEC_VERSION", "TRIAL_DONE_STATUSES",
           "UNRANKED_STATUSES",
           "Dimension", "ExperimentInfo", "ExperimentSpec", "TrialResult", "get_path", "latest_runs_per_seed",
           "metric_title", "parse_dimension", "set_path", "summarise_trials"]
