"""Grouping runs and seed bands (issue 13): pure numpy, no Qt, for Compare and the sweep views.

API (the GUI passes ``RunInfo``s and ``Series``; it draws what comes back)::

    groups = group_runs(runs)                           # "same config except seed" (and name)
    groups = group_runs(runs, by=["lr", "schedule.name"])   # by chosen dotted config paths
    for g in groups:                                    # RunGroup: key, label, run_ids, params
        b = band([series[rid]["val/loss"] for rid in g.run_ids])
        b.step, b.mean, b.std, b.min, b.max, b.q25, b.q75, b.count      # numpy arrays, one per step
        lo, hi = b.bounds("std")                       # mean ± std | "minmax" | "iqr"

A legend names a group by the config keys that tell the groups apart (:func:`telling_keys`), most
telling first: keys with one value in each group before keys whose value varies within a group;
among them, the keys that split the groups most evenly (the entropy of the groups' values: a
key with a value of its own in every group first, a key that sets one group apart last); ties
in config order.

A band is computed over the union of the runs' steps: at each step the statistics use the runs
that recorded a finite value there (``count``); steps where none did are NaN. A run that diverged
(an infinite or NaN loss) therefore leaves the band where it stopped being finite instead of
making the mean infinite; ``count`` shows it. ``std`` is the population standard deviation
(``ddof=0``, numpy's default), ``q25``/``q75`` numpy's linear percentiles.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lrstudio.core.compare import DEFAULT_IGNORED, MISSING, differing_params, flatten_config

#: Config keys ignored by "same config except seed".
EXCEPT_SEED = ("seed", "name")
BAND_KINDS = ("std", "minmax", "iqr")


@dataclass(frozen=True)
class RunGroup:
    """Runs that share a configuration (all but the ignored keys) or the chosen parameters."""

    key: str  # canonical JSON of what the runs share
    label: str  # short text for a legend
    run_ids: tuple[int, ...]
    params: Mapping[str, Any]  # by-parameter grouping: path -> value; else {}


def _get(data: Mapping[str, Any], path: str) -> Any:
    cur: Any = data
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


def group_key(config: Mapping[str, Any], by: Sequence[str] | None = None,
              ignore: Sequence[str] = EXCEPT_SEED) -> str:
    """The canonical key of one run's config dict: its values at ``by``, or the whole config
    without the ``ignore``d top-level keys."""
    if by:
        return json.dumps([_get(config, p) for p in by], sort_keys=True, default=str)
    return json.dumps({k: v for k, v in config.items() if k not in ignore}, sort_keys=True, default=str)


def group_runs(runs: Iterable[Any], by: Sequence[str] | None = None,
               ignore: Sequence[str] = EXCEPT_SEED) -> list[RunGroup]:
    """Group runs (anything with ``id`` and ``config_dict``) by :func:`group_key`; groups in the
    order of their first run, run ids in the given order."""
    order: dict[str, list[Any]] = {}
    for r in runs:
        order.setdefault(group_key(r.config_dict, by, ignore), []).append(r)
    out = []
    for key, members in order.items():
        first = members[0].config_dict
        if by:
            params = {p: _get(first, p) for p in by}
            label = " ".join(f"{p.rsplit('.', 1)[-1]}={_fmt(v)}" for p, v in params.items())
        else:
            params = {}
            label = _describe(first)
        out.append(RunGroup(key, f"{label} (n={len(members)})", tuple(int(r.id) for r in members), params))
    return out


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _describe(cfg: Mapping[str, Any]) -> str:
    def name(spec: Any) -> str:
        return str(spec.get("name", "?")) if isinstance(spec, Mapping) else str(spec)

    ds = cfg.get("dataset")
    return (f"{cfg.get('model', '?')}/{ds.get('name', '?') if isinstance(ds, Mapping) else ds} "
            f"{name(cfg.get('optimizer'))} lr={_fmt(cfg.get('lr'))} {name(cfg.get('schedule'))}")


def _token(value: Any) -> str:
    """A config value as text to count: equal values (lists and NaN included) give equal text, and
    ``True`` is not ``1``; an absent key is a value of its own."""
    return "\0missing" if value is MISSING else json.dumps(value, sort_keys=True, default=str)


def telling_keys(groups: Sequence[Sequence[Mapping[str, Any]]],
                 ignore: Iterable[str] = DEFAULT_IGNORED) -> list[str]:
    """The dotted config keys whose values differ between the runs, most telling first (the rule
    in the module docstring): the order a legend names a group by.

    ``groups`` holds, per group, its runs' configs (nested or flat). A key whose value is the same
    in every run of each group and differs between groups ranks by the entropy of its values over
    the groups (each group counts once); keys whose value varies within a group come after all of
    those, in config order; ties keep config order.
    """
    groups = [g for g in groups if g]
    configs = [c for g in groups for c in g]
    keys = differing_params(configs, ignore)
    if not keys:
        return []
    flats = [[flatten_config(c) for c in g] for g in groups]

    def rank(i_key: tuple[int, str]) -> tuple[int, float, int]:
        i, key = i_key
        tokens = [{_token(f.get(key, MISSING)) for f in g} for g in flats]
        if any(len(t) > 1 for t in tokens):
            return (1, 0.0, i)
        counts = Counter(next(iter(t)) for t in tokens)
        n = len(tokens)
        entropy = -sum(c / n * math.log(c / n) for c in counts.values())
        return (0, -round(entropy, 12), i)

    return [key for _i, key in sorted(enumerate(keys), key=rank)]


@dataclass(frozen=True, eq=False)
class Band:
    """Statistics over runs at each step (arrays of one length)."""

    step: npt.NDArray[np.int64]
    mean: npt.NDArray[np.float64]
    std: npt.NDArray[np.float64]
    min: npt.NDArray[np.float64]
    max: npt.NDArray[np.float64]
    q25: npt.NDArray[np.float64]
    q75: npt.NDArray[np.float64]
    count: npt.NDArray[np.int64]

    def bounds(self, kind: str = "std") -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The band's lower and upper edge: ``std`` (mean ± std), ``minmax`` or ``iqr`` (q25-q75)."""
        if kind == "std":
            return self.mean - self.std, self.mean + self.std
        if kind == "minmax":
            return self.min, self.max
        if kind == "iqr":
            return self.q25, self.q75
        raise ValueError(f"unknown band kind {kind!r}; allowed: {', '.join(BAND_KINDS)}")


def stack(curves: Sequence[Any]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """(steps, values[n_runs, n_steps]) over the union of the curves' steps, NaN where a run has
    no finite value. A curve is a ``Series`` (``.step``, ``.value``) or a ``(steps, values)`` pair."""
    pairs = [(np.asarray(c.step), np.asarray(c.value, dtype=float)) if hasattr(c, "step")
             else (np.asarray(c[0]), np.asarray(c[1], dtype=float)) for c in curves]
    if not pairs:
        return np.empty(0, np.int64), np.empty((0, 0))
    steps = np.unique(np.concatenate([s for s, _ in pairs])).astype(np.int64)
    grid = np.full((len(pairs), steps.size), np.nan)
    for i, (s, v) in enumerate(pairs):
        grid[i, np.searchsorted(steps, s)] = np.where(np.isfinite(v), v, np.nan)
    return steps, grid


def band(curves: Sequence[Any]) -> Band:
    """The :class:`Band` of several runs' curves (see the module docstring for missing values)."""
    steps, grid = stack(curves)
    count = np.sum(np.isfinite(grid), axis=0).astype(np.int64)
    n = steps.size
    mean, std, lo, hi, q25, q75 = (np.full(n, np.nan) for _ in range(6))
    ok = count > 0
    if ok.any():
        g = grid[:, ok]
        with np.errstate(all="ignore"):
            mean[ok] = np.nanmean(g, axis=0)
            std[ok] = np.nanstd(g, axis=0)
            lo[ok] = np.nanmin(g, axis=0)
            hi[ok] = np.nanmax(g, axis=0)
            q25[ok], q75[ok] = np.nanpercentile(g, [25, 75], axis=0)
    return Band(steps, mean, std, lo, hi, q25, q75, count)


__all__ = ["BAND_KINDS", "EXCEPT_SEED", "Band", "RunGroup", "band", "group_key", "group_runs", "stack",
           "telling_keys"]
