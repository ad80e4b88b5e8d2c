"""Loading and caching of the compared runs' records and series (no Qt).

Series missing from the cache are loaded in one ``store.load_many`` call; series already loaded are
reused, so changing the smoothing, the axes or the selection back and forth never queries the
database again. :meth:`RunCache.forget` drops a run that is still growing (or was rewritten by
another process) so that the next load reads it afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lrstudio.core.runs import RunInfo, RunStore, Series

__all__ = ["PLANNED_LR_KEY", "PLOT_KEYS", "RunCache"]

PLOT_KEYS: tuple[str, ...] = ("train/loss", "val/loss", "lr")
PLANNED_LR_KEY = "lr/planned"


class RunCache:
    """Series per run id (``key -> Series``), loaded on demand from a store."""

    def __init__(self, store: RunStore | None) -> None:
        self.store = store
        self.series: dict[int, dict[str, Series]] = {}

    def load_infos(self, run_ids: Sequence[int]) -> dict[int, RunInfo]:
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

    def get(self, run_id: int) -> dict[str, Series]:
        return self.series.get(run_id, {})

    def lr(self, run_id: int) -> Series | None:
        """The applied LR of a run, or the planned one when it recorded none."""
        series = self.get(run_id)
        for key in ("lr", PLANNED_LR_KEY):
            s = series.get(key)
            if s is not None and len(s.step):
                return s
        return None

    def __contains__(self, run_id: object) -> bool:
        return run_id in self.series
