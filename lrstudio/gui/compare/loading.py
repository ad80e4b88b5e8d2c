"""Loading and caching of the compared runs' records and series (no Qt).

Series missing from the cache are loaded in one ``store.load_many`` call; series already loaded are
reused, so changing the smoothing, the axes or the selection back and forth never queries the
database again. :meth:`RunCache.forget` drops a run that is still growing (or was rewritten by
another process) so that the next load reads it afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

__all__ = ["PLANNED_LR_KEY", "PLOT_KEYS", "CompareStore", "RunCache", "RunRecord", "SeriesLike"]

PLOT_KEYS: tuple[str, ...] = ("train/loss", "val/loss", "lr")
PLANNED_LR_KEY = "lr/planned"


class SeriesLike(Protocol):
    """One metric of one run (storage ``Series``): parallel arrays sorted by step."""

    @property
    def step(self) -> np.ndarray: ...
    @property
    def value(self) -> np.ndarray: ...
    @property
    def wall_time(self) -> np.ndarray: ...


class RunRecord(Protocol):
    """What the compare view reads of a run (storage ``RunInfo``)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def summary_extra(self) -> Mapping[str, Any]: ...
    @property
    def config_dict(self) -> dict[str, Any]: ...


class CompareStore(Protocol):
    """The part of the store that the compare view uses."""

    def list_runs(self, *, run_ids: Sequence[int]) -> Sequence[Any]: ...
    def load_many(self, run_ids: Iterable[int], keys: Iterable[str] | None = None) -> dict[int, dict[str, Any]]: ...


class RunCache:
    """Series per run id (``key -> Series``), loaded on demand from a store."""

    def __init__(self, store: CompareStore | None) -> None:
        self.store = store
        self.series: dict[int, dict[str, SeriesLike]] = {}

    def load_infos(self, run_ids: Sequence[int]) -> dict[int, RunRecord]:
        """RunInfo of each id in one query (runs deleted meanwhile are left out)."""
        assert self.store is not None
        return {info.id: info for info in self.store.list_runs(run_ids=run_ids)}

    def load_missing(self, run_ids: Sequence[int]) -> None:
        """Load the plotted series of the runs not cached yet (one query, two when the planned LR is
        needed)."""
        missing = [i for i in run_ids if i not in self.series]
        if not missing or self.store is None:
            return
        loaded = self.store.load_many(missing, keys=PLOT_KEYS)
        # The planned LR is only a fallback for runs that did not record the applied one.
        need_planned = [i for i in missing if not len(loaded.get(i, {}).get("lr", ()))]
        if need_planned:
            for run_id, series in self.store.load_many(need_planned, keys=(PLANNED_LR_KEY,)).items():
                loaded.setdefault(run_id, {}).update(series)
        for run_id in missing:
            self.series[run_id] = loaded.get(run_id, {})

    def forget(self, run_ids: Iterable[int]) -> None:
        for run_id in run_ids:
            self.series.pop(run_id, None)

    def clear(self) -> None:
        self.series.clear()

    def get(self, run_id: int) -> dict[str, SeriesLike]:
        return self.series.get(run_id, {})

    def lr(self, run_id: int) -> SeriesLike | None:
        """The applied LR of a run, or the planned one when it recorded none."""
        series = self.get(run_id)
        for key in ("lr", PLANNED_LR_KEY):
            s = series.get(key)
            if s is not None and len(s.step):
                return s
        return None

    def __contains__(self, run_id: object) -> bool:
        return run_id in self.series
