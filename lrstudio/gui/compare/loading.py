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

Prepared curves. A background load also does the numpy work of drawing in its thread
(:meth:`RunCache.read_prepared`): per run the step-axis curves as :class:`CurveLevels` with their
bounds and the level for the plot's width, and the smoothed loss at the current weight. The canvas
takes them (:meth:`RunCache.take_levels`, :meth:`RunCache.take_ema`) instead of computing them in
the GUI thread, which then only hands arrays to pyqtgraph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from lrstudio.core.runs import RunInfo, RunStore, Series
from lrstudio.core.series import CurveLevels, finite_for_plot
from lrstudio.core.smoothing import GrowingEMA

__all__ = ["CACHE_BYTES", "PLANNED_LR_KEY", "PLOT_KEYS", "Prepared", "RunCache", "series_bytes"]

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
        self._levels: dict[tuple[int, str, str], CurveLevels] = {}  # (run, curve, x axis)
        self._ema: dict[tuple[int, float], GrowingEMA] = {}  # (run, weight)

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

    def read_prepared(self, run_ids: Sequence[int], weight: float, pixels: float) -> Prepared:
        """:meth:`read`, plus the step-axis curves and smoothed loss the canvas will draw (any thread)."""
        loaded = self.read(run_ids)
        levels: dict[tuple[int, str, str], CurveLevels] = {}
        emas: dict[tuple[int, float], GrowingEMA] = {}
        for run_id, series in loaded.items():
            loss = series.get("train/loss")
            lr = _lr_of(series)
            for name, s in (("loss_raw", loss), ("val_loss", series.get("val/loss")), ("lr", lr)):
                if s is not None and len(s.step):
                    levels[(run_id, name, "step")] = _prepared_levels(s.step, finite_for_plot(s.value), pixels)
            if loss is not None and len(loss.step) and weight > 0:
                ema = emas[(run_id, weight)] = GrowingEMA(weight)
                smooth = finite_for_plot(ema.update(loss.value))
                levels[(run_id, f"loss_smooth@{weight!r}", "step")] = _prepared_levels(loss.step, smooth, pixels)
        return Prepared(loaded, levels, emas)

    def add(self, loaded: dict[int, dict[str, Series]] | Prepared) -> None:
        """Cache series read by :meth:`read` (or :meth:`read_prepared`, with their curves)."""
        if isinstance(loaded, Prepared):
            self._levels.update(loaded.levels)
            self._ema.update(loaded.emas)
            loaded = loaded.series
        for run_id, series in loaded.items():
            self.series.pop(run_id, None)
            self.series[run_id] = series
            self.nbytes[run_id] = series_bytes(series)

    def take_levels(self, run_id: int, name: str, x_mode: str) -> CurveLevels | None:
        """The prepared curve ``name`` of a run (once), or None."""
        return self._levels.pop((run_id, name, x_mode), None)

    def take_ema(self, run_id: int, weight: float) -> GrowingEMA | None:
        return self._ema.pop((run_id, weight), None)

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
        ids = set(run_ids)
        for run_id in ids:
            self.series.pop(run_id, None)
            self.nbytes.pop(run_id, None)
        if ids and (self._levels or self._ema):
            self._levels = {k: v for k, v in self._levels.items() if k[0] not in ids}
            self._ema = {k: v for k, v in self._ema.items() if k[0] not in ids}

    def clear(self) -> None:
        self.series.clear()
        self.nbytes.clear()
        self._levels.clear()
        self._ema.clear()

    def get(self, run_id: int) -> dict[str, Series]:
        return self.series.get(run_id, {})

    def lr(self, run_id: int) -> Series | None:
        """The applied LR of a run, or the planned one when it recorded none."""
        return _lr_of(self.get(run_id))

    def __contains__(self, run_id: object) -> bool:
        return run_id in self.series


class Prepared:
    """Series read in the background and the curves prepared from them (see the module docstring)."""

    __slots__ = ("emas", "levels", "series")

    def __init__(self, series: dict[int, dict[str, Series]], levels: dict[tuple[int, str, str], CurveLevels],
                 emas: dict[tuple[int, float], GrowingEMA]) -> None:
        self.series = series
        self.levels = levels
        self.emas = emas


def _lr_of(series: dict[str, Series]) -> Series | None:
    for key in ("lr", PLANNED_LR_KEY):
        s = series.get(key)
        if s is not None and len(s.step):
            return s
    return None


def _prepared_levels(x: np.ndarray, y: np.ndarray, pixels: float) -> CurveLevels:
    levels = CurveLevels(x, y)
    levels.bounds()
    levels.level(levels.bucket_for(None, pixels))
    return levels
