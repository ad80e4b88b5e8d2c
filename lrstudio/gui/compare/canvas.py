"""The compare view's two plots and every run's curves in them: what each item holds, at which
decimation level, and the y ranges of "ignore outliers".

Items of runs that leave the view stay in the plots, empty and hidden, with their curve data and
decimated levels (removing and re-adding 40 pyqtgraph items cost more than the rest of a refresh,
``bench/bench_compare.py``); :meth:`CurveCanvas.drop` removes those of runs whose series left the
cache (bounded by memory, :meth:`~lrstudio.gui.compare.loading.RunCache.trim`; :meth:`CurveCanvas.nbytes`
is what a run's curves add to it). Smoothed losses are cached per (run, weight) and extended, not
recomputed, when a run grows (:class:`~lrstudio.core.smoothing.GrowingEMA`).
Auto-range and view transform are settled before the next paint (:meth:`CurveCanvas.settle_ranges`),
so a change paints once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence

import numpy as np
import numpy.ma  # np.percentile (outlier range) imports it on first use: ~0.1 s in the GUI thread
import pyqtgraph as pg
from PySide6.QtGui import QColor

from lrstudio.core.compare import OUTLIER_SAMPLE, loss_range, lr_range, view_span
from lrstudio.core.runs import Series
from lrstudio.core.series import EMPTY, CurveLevels, finite_for_plot
from lrstudio.core.smoothing import GrowingEMA
from lrstudio.gui.compare.controls import DEFAULT_SMOOTHING, CompareControls
from lrstudio.gui.compare.curves import RunCurves, Span, raw_alpha
from lrstudio.gui.compare.loading import RunCache
from lrstudio.gui.compare.plots import make_compare_plot
from lrstudio.gui.palette import run_color

__all__ = ["CurveCanvas"]

_DEFAULT_PIXELS = 1000.0  # plot width assumed before the first layout
_LOSS_NAMES = ("loss_raw", "loss_smooth", "val_loss")

LegendEntries = Callable[[bool], Sequence[tuple[str, QColor]]]


class CurveCanvas:
    """The loss and LR plots with the curves of the shown runs (``curves``, in colour order) and of
    recently shown ones (``pool``, oldest first). Reads its settings from ``controls`` and its data
    from ``cache``; ``hidden`` is the set of run ids the user unticked (shared with the widget)."""

    def __init__(self, controls: CompareControls, cache: RunCache, hidden: set[int],
                 legend_entries: LegendEntries) -> None:
        self._controls = controls
        self._cache = cache
        self._hidden = hidden
        self.curves: dict[int, RunCurves] = {}
        self.pool: dict[int, RunCurves] = {}
        self.smoothing = DEFAULT_SMOOTHING
        self.smoothing_before = DEFAULT_SMOOTHING
        self._smoothed: dict[tuple[int, float], GrowingEMA] = {}
        self.y_zoomed = False  # the user set the loss plot's y range: leave it alone
        self.loss_plot = make_compare_plot("Loss", "loss", lambda: self.on_view_changed("loss"),
                                           lambda: legend_entries(True))
        self.lr_plot = make_compare_plot("Learning rate", "LR", lambda: self.on_view_changed("lr"),
                                         lambda: legend_entries(False))
        self.loss_plot.setLogMode(y=True)

    # -- runs ------------------------------------------------------------------------------------
    def show(self, run_ids: Sequence[int], keep_view: bool) -> None:
        """Give the plots the curves of these runs (their styles and data; visibility follows)."""
        shown = set(run_ids)
        for run_id, curves in self.curves.items():
            if run_id not in shown:
                curves.clear()
        self.curves = {}
        # Auto-range first: the levels are chosen for the view the new curves will be shown in.
        # The same runs again (the database watcher re-shows a growing run every second) keep
        # the user's zoom.
        if not keep_view:
            self.loss_plot.getPlotItem().enableAutoRange()
            self.lr_plot.getPlotItem().enableAutoRange()
        spans = self.view_spans()
        for run_id in run_ids:
            if run_id in self.pool:
                curves = self.pool.pop(run_id)
            else:
                curves = RunCurves(run_id)
                for item in curves.loss_items():
                    self.loss_plot.addItem(item)
                for item in curves.lr_items():
                    self.lr_plot.addItem(item)
            self.pool[run_id] = curves  # most recently shown last
            self.curves[run_id] = curves
            curves.set_style(run_color(run_id), self.smoothing > 0, raw_alpha(len(run_ids)))
            self.update_curves(curves, spans)

    def prepare(self, run_ids: Iterable[int], limit: int) -> int:
        """Make the (empty, hidden) plot items of up to ``limit`` of these runs that have none yet,
        ahead of their data (a background load: ~3 ms a run, not in the turns that draw them);
        return how many were made. :meth:`show` then finds them in the pool."""
        made = 0
        for run_id in run_ids:
            if made >= limit:
                break
            if run_id in self.pool:
                continue
            curves = RunCurves(run_id)
            for item in (*curves.loss_items(), *curves.lr_items()):
                item.setVisible(False)
            for item in curves.loss_items():
                self.loss_plot.addItem(item)
            for item in curves.lr_items():
                self.lr_plot.addItem(item)
            self.pool[run_id] = curves
            made += 1
        return made

    def drop(self, run_ids: Iterable[int]) -> None:
        """Remove the plot items of these runs (not shown: their series left the cache)."""
        for run_id in run_ids:
            if run_id in self.curves:
                continue
            curves = self.pool.pop(run_id, None)
            if curves is not None:
                self._remove_items(curves)
        self._smoothed = {k: v for k, v in self._smoothed.items() if k[0] in self.pool}

    def nbytes(self, run_id: int) -> int:
        """Memory a run's curves hold beyond its cached series (decimated levels, smoothed loss)."""
        total = sum(v.nbytes for k, v in self._smoothed.items() if k[0] == run_id)
        curves = self.pool.get(run_id)
        if curves is not None:
            total += sum(a.nbytes + b.nbytes for d in curves.data.values() if d is not None
                         for a, b in d.levels.values())
        return total

    def remove_all(self) -> None:
        for curves in self.pool.values():
            self._remove_items(curves)
        self.pool.clear()
        self._smoothed.clear()

    def _remove_items(self, curves: RunCurves) -> None:
        for item in curves.loss_items():
            self.loss_plot.removeItem(item)
        for item in curves.lr_items():
            self.lr_plot.removeItem(item)

    def forget(self, ids: Collection[int]) -> None:
        """The data of these runs changed: their items get new data when next drawn."""
        for run_id in ids:
            curves = self.pool.get(run_id)
            if curves is not None:
                curves.applied.clear()
                curves.data.clear()
        # The smoothed losses stay: a run that grew extends them (GrowingEMA checks the prefix).

    def reload(self, run_ids: Iterable[int]) -> None:
        """Redraw these shown runs from the cache (their series were read again)."""
        spans = self.view_spans()
        for run_id in run_ids:
            curves = self.curves.get(run_id)
            if curves is not None:
                curves.applied.clear()
                self.update_curves(curves, spans)

    def set_visible(self, curves: RunCurves, visible: bool) -> None:
        if visible and len(curves.level) < len(RunCurves.NAMES):
            self.update_curves(curves)  # levels skipped while hidden
        for item in (*curves.loss_items(), *curves.lr_items()):
            item.setVisible(visible)

    # -- data and levels -------------------------------------------------------------------------
    def view_spans(self) -> dict[str, Span]:
        """Per plot ("loss", "lr"): the visible x range (None when auto-ranged) and width in pixels."""
        out: dict[str, Span] = {}
        for key, plot in (("loss", self.loss_plot), ("lr", self.lr_plot)):
            vb = plot.getPlotItem().vb
            x_range = None if vb.autoRangeEnabled()[0] else tuple(vb.viewRange()[0])
            width = vb.width()
            out[key] = (x_range, width if width > 1 else _DEFAULT_PIXELS)
        return out

    def on_view_changed(self, key: str) -> None:
        """The visible x range or the width of plot ``key`` changed: re-choose the levels now."""
        span = self.view_spans()[key]
        for curves in self.curves.values():
            for name in (("lr",) if key == "lr" else _LOSS_NAMES):
                curves.show_level(name, span, hidden=curves.run_id in self._hidden)

    def update_curves(self, curves: RunCurves, spans: dict[str, Span] | None = None) -> None:
        """Give each item of a run the data the current settings ask for (only where it changed).

        Only the training loss is smoothed: validation points are per epoch, and the LR is a
        schedule, whose steps and warm-up corners smoothing would misdraw.
        """
        run_id = curves.run_id
        series = self._cache.get(run_id)
        x_mode = self._controls.x_axis()
        weight = self.smoothing
        loss = series.get("train/loss")
        if loss is not None and not len(loss.step):
            loss = None
        val = series.get("val/loss")
        if val is not None and (not len(val.step) or not self._controls.val_loss_check.isChecked()):
            val = None
        lr = self._cache.lr(run_id)

        def xy(s: Series) -> tuple[np.ndarray, np.ndarray]:
            return self._x_of(s), finite_for_plot(s.value)

        def ready(name: str) -> Callable[[], CurveLevels | None]:
            return lambda: self._cache.take_levels(run_id, name, x_mode)

        curves.put("loss_raw", (x_mode, loss is not None), (lambda: xy(loss)) if loss is not None else None,
                   ready("loss_raw"))
        if weight > 0 and loss is not None:
            prepared = self._cache.take_ema(run_id, weight)
            if prepared is not None and (run_id, weight) not in self._smoothed:
                self._smoothed[(run_id, weight)] = prepared
            curves.put("loss_smooth", (x_mode, weight),
                       lambda: (self._x_of(loss), self._smoothed_loss(run_id, loss.value)),
                       ready(f"loss_smooth@{weight!r}"))
        else:
            curves.put("loss_smooth", None, None)
        curves.put("val_loss", (x_mode, True) if val is not None else None,
                   (lambda: xy(val)) if val is not None else None, ready("val_loss"))
        curves.put("lr", (x_mode, lr is not None), (lambda: xy(lr)) if lr is not None else None, ready("lr"))
        if spans is None:
            spans = self.view_spans()
        for name in RunCurves.NAMES:
            curves.show_level(name, spans["lr" if name == "lr" else "loss"], hidden=run_id in self._hidden)

    def update_all(self, auto_range: bool = False) -> None:
        if auto_range:
            self.loss_plot.getPlotItem().enableAutoRange()
            self.lr_plot.getPlotItem().enableAutoRange()
        spans = self.view_spans()
        for curves in self.curves.values():
            self.update_curves(curves, spans)

    def set_smoothing(self, weight: float) -> None:
        if weight != self.smoothing:
            self.smoothing_before = self.smoothing
        self.smoothing = weight
        # Keep the smoothed losses of this weight and of the previous one (going back and forth).
        keep = {weight, self.smoothing_before}
        self._smoothed = {k: v for k, v in self._smoothed.items() if k[1] in keep}
        spans = self.view_spans()
        for curves in self.curves.values():
            curves.set_style(run_color(curves.run_id), weight > 0, raw_alpha(len(self.curves)))
            self.update_curves(curves, spans)

    def _x_of(self, series: Series) -> np.ndarray:
        return series.wall_time if self._controls.x_axis() == "wall_time" else series.step

    def _smoothed_loss(self, run_id: int, values: np.ndarray) -> np.ndarray:
        cache_key = (run_id, self.smoothing)
        ema = self._smoothed.get(cache_key)
        if ema is None:
            ema = self._smoothed[cache_key] = GrowingEMA(self.smoothing)
        return finite_for_plot(ema.update(values))

    def curve_data(self, run_id: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Full-resolution ``(x, y)`` of each curve of a shown run, keyed as ``RunCurves.items``."""
        curves = self.curves[run_id]
        out = {}
        for key, item in curves.items().items():
            name = next(n for n in RunCurves.NAMES if getattr(curves, n) is item)
            data = curves.data.get(name)
            out[key] = (data.x, data.y) if data is not None else (EMPTY, EMPTY)
        return out

    def points_at(self, key: str, x: float) -> list[tuple[int, float, float]]:
        """Per visible run: ``(run id, value, x of the point)`` nearest to view x in plot ``key``
        (the smoothed loss when smoothing is on, the curve drawn in full colour)."""
        names = ("lr",) if key == "lr" else (("loss_smooth", "loss_raw") if self.smoothing > 0 else ("loss_raw",))
        out = []
        for run_id, curves in self.curves.items():
            if run_id in self._hidden:
                continue
            data = next((d for d in (curves.data.get(n) for n in names) if d is not None and len(d.x)), None)
            i = data.nearest(x) if data is not None else None
            if data is not None and i is not None:
                out.append((run_id, float(data.y[i]), float(data.x[i])))
        return out

    # -- y ranges --------------------------------------------------------------------------------
    def settle_ranges(self, visible: Sequence[int], diverged: Collection[int], keep_y: bool = False) -> None:
        """Auto-range and apply the view transform now rather than when the next paint starts.

        pyqtgraph does both in ``prepareForPaint``; the curves' bounds then change during the
        paint and the plot is painted a second time (measured: both plots painted twice per
        selection change, about a third of the refresh). With "ignore outliers" the loss plot's
        y range comes from :meth:`outlier_bounds` instead (unless ``keep_y``: the user zoomed).
        """
        if not keep_y:
            self.y_zoomed = False
            self._apply_lr_range(visible, diverged)
            self._apply_loss_range(visible, diverged)
        for plot in (self.loss_plot, self.lr_plot):
            vb = plot.getPlotItem().vb
            if any(vb.state["autoRange"]):
                vb.updateAutoRange()
            vb.updateMatrix()

    def outlier_bounds(self, visible: Sequence[int], diverged: Collection[int]) -> tuple[float, float] | None:
        """Loss range (data units) that "ignore outliers" shows, or None (auto-range: every point)."""
        ordinary = [i for i in visible if i not in diverged] or list(visible)
        arrays: list[np.ndarray] = []
        for run_id in ordinary:
            curves = self.curves.get(run_id)
            if curves is None:
                continue
            for name in ("loss_raw", "val_loss"):
                data = curves.data.get(name)
                if data is not None and len(data.y):
                    arrays += _outlier_sample(data)
        return loss_range(arrays, log=self._controls.log_loss_check.isChecked(),
                          diverged_left_out=len(ordinary) < len(visible))

    def _apply_loss_range(self, visible: Sequence[int], diverged: Collection[int]) -> None:
        vb = self.loss_plot.getPlotItem().vb
        bounds = self.outlier_bounds(visible, diverged) if self._controls.outliers_check.isChecked() else None
        if bounds is None:
            vb.enableAutoRange(y=True)
            return
        lo, hi = view_span(bounds, log=self._controls.log_loss_check.isChecked())
        vb.setYRange(lo, hi, padding=0.05, update=False)  # also turns the y auto-range off

    def _apply_lr_range(self, visible: Sequence[int], diverged: Collection[int]) -> None:
        """The LR of a diverged run (often far above the others') would flatten the other schedules."""
        vb = self.lr_plot.getPlotItem().vb
        ordinary = [i for i in visible if i not in diverged]
        if not self._controls.outliers_check.isChecked() or not ordinary or len(ordinary) == len(visible):
            vb.enableAutoRange(y=True)
            return
        arrays = [data.y for i in ordinary
                  if i in self.curves and (data := self.curves[i].data.get("lr")) is not None]
        log = self._controls.log_lr_check.isChecked()
        bounds = lr_range(arrays, log=log)
        if bounds is None:
            vb.enableAutoRange(y=True)
            return
        lo, hi = view_span(bounds, log=log, from_zero=True)
        vb.setYRange(lo, hi, padding=0.05, update=False)

    def plots(self) -> list[pg.PlotWidget]:
        return [self.loss_plot, self.lr_plot]


def _outlier_sample(data: CurveLevels) -> list[np.ndarray]:
    """:func:`lrstudio.core.compare.outlier_sample` of a curve, its extremes taken from the bounds
    computed once per curve: a nanmin and nanmax over every point of 100 curves cost ~10 ms of each
    refresh of 50 runs (issue 11, the last step of a cold load)."""
    y = data.y
    step = max(1, len(y) // OUTLIER_SAMPLE)
    out = [y[::step]]
    bounds = data.bounds()
    if step > 1 and bounds is not None:
        out.append(np.array([bounds[2], bounds[3]]))
    return out
