"""Loading and caching of the compared runs' records and series (no Qt).

Series missing from the cache are loaded in one ``store.load_many`` call (or, for big loads, in
batches off the GUI thread: :mod:`lrstudio.gui.compare.loader` calls :meth:`RunCache.read` and the
GUI thread :meth:`RunCache.add`); series already loaded are reused, so changing the smoothing, the
axes or the selection back and forth never queries the database again. :meth:`RunCache.forget`
drops a run that is still growing (or was rewritten by another process) so that the next load
reads it afresh.

The cache is bounded by memory, not by a number of runs (issue 11: with a 30-run limit,
reselecting 50 runs re-read 20 of them every time): :meth:`RunCache.trim` forgets the least
recently used runs, never the shown ones, until the cached arrays take at most ``CACHE_BYTES``.
Only the columns the plots need are kept (the epoch column is dropped on arrival).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from lrstudio.core.runs import RunInfo, RunStore, Series

__all__ = ["CACHE_BYTES", "PLANNED_LR_KEY", "PLOT_KEYS", "RunCache", "series_bytes"]

PLOT_KEYS: tuple[str, ...] = ("train/loss", "val/loss", "lr")
PLANNED_LR_KEY = "lr/planned"
# Memory the cached series of runs that left the view may keep (the shown runs always stay):
# 1 GiB holds about 200 runs of 100,000 steps (loss and LR).
CACHE_BYTES = 1 << 30
_NO_EPOCH = np.empty(0, np.int64)


def series_bytes(series: dict[str, Series]) -> int:
    return sum(s.step.nbytes + s.value.nbytes + s.wall_time.nbytes + s.epoch.nbytes for s in series.values())


def _plot_columns(series: dict[str, Series]) -> dict[str, Series]:
    """Keep only the columns the plots read (steps, values, wall times)."""
    return {key: Series(s.step, s.value, s.wall_time, _NO_EPOCH) for key, s in series.items()}


class RunCache:
    """Series per run id (``key -> Series``), loaded on demand from a store."""

    def __init__(self, store: RunStore | None, max_bytes: int = CACHE_BYTES) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self.series: dict[int, dict[str, Series]] = {}  # least recently used first
        self.nbytes: dict[int, int] = {}

    def load_infos(self, run_ids: Sequence[int]) -> dict[int, RunInfo]:
        """RunInfo of each id in one query (runs deleted meanwhile are left out)."""
        assert self.store is not None
        return {info.id: info for info in self.store.list_runs(run_ids=run_ids)}

    def load_missing(self, run_ids: Sequence[int]) -> None:
        """Load the plotted series of the runs not cached yet (one query, two when the planned LR is
        needed)."""
        missing = self.missing(run_ids)
        if not missing or self.store is None:
            return
        self.add(self.read(missing))

    def missing(self, run_ids: Sequence[int]) -> list[int]:
        return [i for i in run_ids if i not in self.series]

    def read(self, run_ids: Sequence[int]) -> dict[int, dict[str, Series]]:
        """Read the plotted series of these runs from the store (any thread; touches no cache)."""
        store = self.store
        assert store is not None
        loaded = store.load_many(run_ids, keys=PLOT_KEYS)
        # The planned LR is only a fallback for runs that did not record the applied one.
        need_planned = [i for i in run_ids if not len(loaded.get(i, {}).get("lr", ()))]
        if need_planned:
            for run_id, series in store.load_many(need_planned, keys=(PLANNED_LR_KEY,)).items():
                loaded.setdefault(run_id, {}).update(series)
        return {run_id: _plot_columns(loaded.get(run_id, {})) for run_id in run_ids}

    def add(self, loaded: dict[int, dict[str, Series]]) -> None:
        """Cache series read by :meth:`read`."""
        for run_id, series in loaded.items():
            self.series.pop(run_id, None)
            self.series[run_id] = series
            self.nbytes[run_id] = series_bytes(series)

    def touch(self, run_ids: Iterable[int]) -> None:
        """These runs were just shown: the last to be trimmed."""
        for run_id in run_ids:
            if run_id in self.series:
                self.series[run_id] = self.series.pop(run_id)

    def total_bytes(self) -> int:
        return sum(self.nbytes.values())

    def trim(self, keep: Iterable[int], extra: Callable[[int], int] | None = None) -> list[int]:
        """Forget the least recently used runs not in ``keep`` until the cache holds at most
        ``max_bytes`` (``extra(run_id)``: bytes held elsewhere for the run, e.g. its curves);
        return their ids."""
        keep = set(keep)
        sizes = {i: n + (extra(i) if extra is not None else 0) for i, n in self.nbytes.items()}
        total = sum(sizes.values())
        dropped = []
        for run_id in list(self.series):
            if total <= self.max_bytes:
                break
            if run_id in keep:
                continue
            total -= sizes.get(run_id, 0)
            self.forget([run_id])
            dropped.append(run_id)
        return dropped

    def forget(self, run_ids: Iterable[int]) -> None:
        for run_id in run_ids:
            self.series.pop(run_id, None)
            self.nbytes.pop(run_id, None)

    def clear(self) -> None:
        self.series.clear()
        self.nbytes.clear()

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
