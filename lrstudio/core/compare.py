"""Qt-free helpers for comparing runs: flat config keys, differing parameters, summary rows.

A run's configuration (``RunConfig.to_dict()``) is nested: the data set, the optimizer spec and
the schedule spec (which may nest further schedules). :func:`flatten_config` turns it into dotted
keys (``lr``, ``optimizer.name``, ``optimizer.params.beta1``, ``schedule.params.inner.name``,
``schedule.params.schedules.0.name``, ``dataset.name``) so that the compare view can show one row
per parameter and :func:`differing_params` can pick the rows whose values are not all equal.

The formatting helpers (:func:`format_number`, :func:`format_duration`) are shared by the runs
table and the compare view so both show the same text for the same value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_IGNORED",
    "LOSS_KINDS",
    "SHORT_LOSS_KINDS",
    "OUTLIER_SAMPLE",
    "loss_range",
    "loss_kind",
    "lr_range",
    "outlier_range",
    "outlier_sample",
    "view_span",
    "all_params",
    "MISSING",
    "SUMMARY_COLUMNS",
    "differing_params",
    "flatten_config",
    "format_duration",
    "format_number",
    "format_percent",
    "format_value",
    "summary_row",
]

# Keys that are not parameters of the experiment: the run name heads each column of the
# compare view already, and the schema version says nothing about the run.
DEFAULT_IGNORED: tuple[str, ...] = ("name", "schema_version")


class _Missing:
    """Marks a key that one config does not have (shown as an empty cell)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten a nested config dict into ``{"dotted.key": value}``.

    Parameters
    ----------
    config
        A mapping such as ``RunConfig.to_dict()``; nested mappings become dotted keys.
    prefix
        Prepended to every key (used by the recursion).

    Returns
    -------
    dict
        Keys in the order they appear. Lists that contain mappings (``sequential`` schedules) are
        flattened with the index as a key part (``schedule.params.schedules.0.name``); lists of
        plain values (``milestones``) stay one value, as a tuple. Empty mappings vanish.
    """
    out: dict[str, Any] = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_config(value, dotted + "."))
        elif isinstance(value, (list, tuple)) and any(isinstance(v, Mapping) for v in value):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    out.update(flatten_config(item, f"{dotted}.{i}."))
                else:
                    out[f"{dotted}.{i}"] = item
        elif isinstance(value, (list, tuple)):
            out[dotted] = tuple(value)
        else:
            out[dotted] = value
    return out


def _same(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    if isinstance(a, bool) != isinstance(b, bool):  # True == 1 in Python, not in a config
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def differing_params(
    configs: Sequence[Mapping[str, Any]],
    ignore: Iterable[str] = DEFAULT_IGNORED,
) -> list[str]:
    """Return the dotted keys whose values are not the same in every config.

    Parameters
    ----------
    configs
        Nested config dicts (``RunConfig.to_dict()`` or ``RunInfo.config_dict``) or already flat ones.
    ignore
        Dotted keys to leave out; by default the run name and the schema version.

    Returns
    -------
    list of str
        Keys in order of first appearance. A key present in some configs and missing in others
        differs. With fewer than two configs nothing differs.
    """
    if len(configs) < 2:
        return []
    flats = [flatten_config(c) for c in configs]
    skip = set(ignore)
    keys = _ordered_keys(flats)
    result = []
    for key in keys:
        if key in skip:
            continue
        first = flats[0].get(key, MISSING)
        if any(not _same(first, f.get(key, MISSING)) for f in flats[1:]):
            result.append(key)
    return result


def all_params(configs: Sequence[Mapping[str, Any]], ignore: Iterable[str] = DEFAULT_IGNORED) -> list[str]:
    """Every dotted key of any of ``configs`` (order of first appearance), less ``ignore``."""
    skip = set(ignore)
    return [k for k in _ordered_keys([flatten_config(c) for c in configs]) if k not in skip]


def _ordered_keys(flats: Sequence[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for flat in flats:
        for key in flat:
            seen.setdefault(key, None)
    return list(seen)


# -- formatting -------------------------------------------------------------------------------
def format_number(value: float | int | None, digits: int = 4) -> str:
    """Short text for a metric: ``0.01234``, ``1.2e-05``, ``nan``, ``inf``; ``""`` for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def format_percent(fraction: float | None) -> str:
    """A fraction as the tables write a percentage: ``"96.4 %"``; ``""`` for None, ``format_number``
    for nan/inf (the status bar, the runs table and Compare's summary all use this one)."""
    if fraction is None:
        return ""
    value = float(fraction)
    return f"{100.0 * value:.1f} %" if math.isfinite(value) else format_number(value)


def format_duration(seconds: float | None) -> str:
    """``"4.2 s"``, ``"3 min 05 s"``, ``"2 h 07 min"``; ``""`` for None."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    total = int(round(seconds))
    if total < 3600:
        return f"{total // 60} min {total % 60:02d} s"
    return f"{total // 3600} h {(total % 3600) // 60:02d} min"


def format_value(value: Any) -> str:
    """Text for a config value in the settings table (empty for a missing key)."""
    if value is MISSING or value is None:
        return ""
    if isinstance(value, float):
        return format_number(value, digits=6)
    if isinstance(value, tuple):
        return ", ".join(format_value(v) for v in value)
    return str(value)


# -- summary rows -----------------------------------------------------------------------------
SUMMARY_COLUMNS: tuple[str, ...] = (
    "Run", "Status", "Final loss", "Best loss", "Final val", "Best val", "Best acc",
    "Steps", "Duration",
)


def summary_row(info: Any) -> list[str]:
    """Cells of :data:`SUMMARY_COLUMNS` for one run (a :class:`lrstudio.core.runs.RunInfo` or anything alike).

    Attributes that an object lacks show as empty cells, so a partial ``RunInfo`` still works.
    """

    def get(name: str) -> Any:
        return getattr(info, name, None)

    acc = get("best_accuracy")
    return [
        str(get("name") or f"run {get('id')}"),
        str(get("status") or ""),
        format_number(get("final_loss")),
        format_number(get("best_loss")),
        format_number(get("final_val_loss")),
        format_number(get("best_val_loss")),
        format_percent(acc),
        "" if get("steps") is None else str(get("steps")),
        format_duration(get("duration_s")),
    ]


# -- loss kinds -------------------------------------------------------------------------------
# What a run's "train/loss" and "val/loss" measure. Values of different kinds are not comparable:
# the compare view says which kind each run plots and warns when a plot mixes kinds.
LOSS_KINDS: dict[str, str] = {
    "cross_entropy": "cross-entropy",
    "mse_standardised": "MSE, standardised target",
    "mse_units": "MSE, target in its own units",
}
SHORT_LOSS_KINDS: dict[str, str] = {
    "cross_entropy": "CE",
    "mse_standardised": "MSE (std.)",
    "mse_units": "MSE (units)",
}


def loss_kind(config: Mapping[str, Any], summary_extra: Mapping[str, Any] | None = None) -> str:
    """Which loss a run records: a key of :data:`LOSS_KINDS`.

    The CNN classifies (cross-entropy); the linear model regresses with MSE on the standardised
    target, except on the unscaled synthetic data set. A finished run's summary says which
    (``loss_units``) and wins over the config.
    """
    if str(config.get("model", "linear")) == "cnn":
        return "cross_entropy"
    units = (summary_extra or {}).get("loss_units")
    if units == "raw":
        return "mse_units"
    if units == "standardised":
        return "mse_standardised"
    dataset = config.get("dataset")
    if isinstance(dataset, Mapping) and dataset.get("name") == "synthetic" and dataset.get("unscaled"):
        return "mse_units"
    return "mse_standardised"


# -- y range that ignores outliers ------------------------------------------------------------
def outlier_range(
    arrays: Iterable[Any],
    log: bool = False,
    lower: float = 1.0,
    upper: float = 99.0,
    margin: float = 0.25,
    min_points: int = 20,
) -> tuple[float, float] | None:
    """A y range for ``arrays`` that leaves out outliers (TensorBoard's "ignore outliers").

    The ``lower`` and ``upper`` percentiles of all finite values together (positive values only
    when ``log``: a log axis cannot show the others), widened on each side by ``margin`` times
    their distance (in decades when ``log``) and then cut back to the extent of the data, so a
    curve whose values all lie close together is shown whole and only far-off points (a spike, a
    divergence) fall outside. Returns ``(low, high)`` in data units, or ``None`` when fewer than
    ``min_points`` values qualify (then every point should be shown).
    """
    if not 0.0 <= lower < upper <= 100.0:
        raise ValueError(f"percentiles must satisfy 0 <= lower < upper <= 100, got {lower}, {upper}")
    parts = []
    for values in arrays:
        v = np.asarray(values, dtype=np.float64).ravel()
        v = v[np.isfinite(v)]
        if log:
            v = np.log10(v[v > 0])
        if v.size:
            parts.append(v)
    if not parts:
        return None
    pooled = np.concatenate(parts)
    if pooled.size < min_points:
        return None
    lo, hi = np.percentile(pooled, [lower, upper])
    span = hi - lo
    lo = max(lo - margin * span, float(pooled.min()))
    hi = min(hi + margin * span, float(pooled.max()))
    if log:
        return float(10.0**lo), float(10.0**hi)
    return float(lo), float(hi)


# Points per run that the compare view's outlier range looks at (a strided sample: percentiles of
# 100k points per run cost more than a refresh may).
OUTLIER_SAMPLE = 5_000


def outlier_sample(values: np.ndarray, points: int = OUTLIER_SAMPLE) -> list[np.ndarray]:
    """A strided sample of about ``points`` of ``values``, plus their true minimum and maximum when
    the sample leaves points out (the sample's extent is not the data's)."""
    values = np.asarray(values)
    step = max(1, len(values) // points)
    out = [values[::step]]
    if step > 1 and not np.isnan(values).all():
        out.append(np.array([np.nanmin(values), np.nanmax(values)]))
    return out


def loss_range(arrays: Sequence[np.ndarray], log: bool, diverged_left_out: bool) -> tuple[float, float] | None:
    """The loss axis range of "ignore outliers" (data units), or None (auto-range: every point).

    ``arrays``: the loss values of the runs to fit (the non-diverged ones when
    ``diverged_left_out``), sampled with :func:`outlier_sample`. With diverged runs left out, every
    remaining point counts, spikes or not; otherwise the 1st to 99th percentile, widened.
    """
    if diverged_left_out:
        bounds = outlier_range(arrays, log=log, lower=0.0, upper=100.0, margin=0.0, min_points=1)
        if bounds is not None:
            return bounds
    return outlier_range(arrays, log=log)


def lr_range(arrays: Sequence[np.ndarray], log: bool) -> tuple[float, float] | None:
    """The LR axis range over the non-diverged runs' LRs (every point; data units), or None."""
    return outlier_range(arrays, log=log, lower=0.0, upper=100.0, margin=0.0, min_points=1)


def view_span(bounds: tuple[float, float], log: bool, from_zero: bool = False) -> tuple[float, float]:
    """``bounds`` in a plot's view units (decades when ``log``), never empty; ``from_zero``: a linear
    axis starts at 0 (an LR axis reads best from 0)."""
    lo, hi = (float(np.log10(bounds[0])), float(np.log10(bounds[1]))) if log else bounds
    if from_zero and not log:
        lo = min(lo, 0.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi
