"""Live plots of the run in progress: loss, learning rate and (for classifiers) accuracy.

Life cycle: :meth:`LivePlots.reset` when a run starts (optionally with the planned LR curve of
the whole run), :meth:`LivePlots.append_events` for every batch the worker sends (at most ~10 per
second), :meth:`LivePlots.mark_finished` with the summary at the end.

Points go into :class:`GrowingBuffer` s (numpy arrays whose capacity doubles), so appending is
amortised O(1) and never copies the history per batch. Appending only marks the plots dirty; a
``QTimer`` calls ``setData`` on the curves when something changed (pyqtgraph's
``scrollingPlots.py`` pattern), and pyqtgraph thins what it draws (``setDownsampling(auto=True,
mode="peak")`` + ``setClipToView(True)``), so a long run costs the same per frame as a short one.

The plots are drawn in turn, one per timer tick (every ``REDRAW_MS / 3``; each plot at most every
``REDRAW_MS``), accuracy and learning rate first and the loss plot last: Qt paints every dirty
widget of a window in one go, and three plots repainted together (new ranges, axes re-laid out)
held the GUI thread for 30-50 ms, a visible hitch; one plot per frame is 5-15 ms
(``bench/bench_gui.py``). A new run (:meth:`LivePlots.reset`) resets each plot's ranges when that
plot's turn comes. :meth:`LivePlots.redraw_now` draws all plots at once.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lrstudio.core.compare import LOSS_KINDS
from lrstudio.core.events import DIVERGED, EpochLogged, RunStarted, RunSummary, StepLogged
from lrstudio.core.series import GrowingBuffer, nice_range
from lrstudio.core.smoothing import RunningEMA
from lrstudio.gui.plots.factory import (
    ACC_COLOR,
    APPLIED_COLOR,
    DIVERGED_COLOR,
    LABEL_FILL,
    PLANNED_COLOR,
    TRAIN_ACC_COLOR,
    TRAIN_COLOR,
    VAL_COLOR,
)
from lrstudio.gui.plots.items import Crosshair, make_live_plot
from lrstudio.gui.plots.toolbar import DEFAULT_SMOOTHING, X_AXES, LiveToolbar
from lrstudio.services.live_run import Folded, LiveRun
from lrstudio.services.runtime import PAINT_GATE

REDRAW_MS = 33  # each plot ≤ 30 Hz; one plot per tick of REDRAW_MS / 3
PLOT_ORDER = ("acc", "lr", "loss")  # drawing order of a cycle: the loss plot last


SMOOTHED_KEY = "train/loss_smooth"  # buffer of the smoothed training loss (never the LR)

RAW_ALPHA = 70  # of 255: the raw training loss, faint behind its smoothed curve


class LivePlots(QWidget):
    """Loss | learning rate | accuracy, side by side, fed with batches of events."""

    x_axis_changed = Signal(str)

    def __init__(self, run: LiveRun | None = None, parent: QWidget | None = None) -> None:
        """``run``: the model of the run in progress that the window folds each batch into
        (:mod:`lrstudio.services.live_run`); the plots read its length, planned LR and
        divergence. Without one the plots keep their own and fold the batches themselves."""
        super().__init__(parent)
        self.run = run if run is not None else LiveRun()
        self._folds = run is None
        self._buffers: dict[str, GrowingBuffer] = {}
        self._x_axis = "step"
        self._dirty_plots: set[str] = set()  # plots whose curves are out of date
        self._range_reset: set[str] = set()  # plots whose ranges a new run resets on their next draw
        self._cycle: list[str] = []  # plots still to draw in the current cycle, one per timer tick
        self._diverged_at: tuple[int, float, float] | None = None  # step, epoch, wall
        self._x_range_stale = False  # the x-ranges must follow a divergence (see _fix_x_range)
        self.redraws = 0
        # y-ranges chosen here (nice bounds, changed only when the data leave them) until the user
        # zooms or pans a plot: re-laying out an axis on every frame was most of a frame's cost.
        self._y_ranges: dict[str, tuple[float, float] | None] = {}
        self._y_managed: dict[str, bool] = {}

        # -- toolbar -----------------------------------------------------------------------
        tb = LiveToolbar()
        self.x_combo, self.loss_log, self.lr_log = tb.x_combo, tb.loss_log, tb.lr_log
        self.smoothing_spin, self.run_label = tb.smoothing_spin, tb.run_label
        self.x_combo.currentIndexChanged.connect(self._on_x_axis_changed)
        self.loss_log.toggled.connect(self._on_loss_log_toggled)
        self.lr_log.toggled.connect(self._on_lr_log_toggled)
        self.smoothing_spin.valueChanged.connect(self._on_smoothing_changed)
        self._ema = RunningEMA(DEFAULT_SMOOTHING)
        bar = tb.layout

        # -- plots -------------------------------------------------------------------------
        self.loss_plot = make_live_plot("Loss", "loss")
        self.lr_plot = make_live_plot("Learning rate", "learning rate")
        self.acc_plot = make_live_plot("Accuracy", "accuracy", legend_offset=(-10, -30))  # rising curves: bottom
        self.acc_plot.setYRange(0, 1, padding=0.02)
        self.loss_plot.setLogMode(y=True)

        self.curves: dict[str, pg.PlotDataItem] = {
            "train/loss": self.loss_plot.plot(name="train loss (per step)", pen=pg.mkPen(TRAIN_COLOR, width=1.5)),
            SMOOTHED_KEY: self.loss_plot.plot(name="train loss, smoothed", pen=pg.mkPen(TRAIN_COLOR, width=2)),
            "val/loss": self.loss_plot.plot(
                name="validation loss (per epoch)", pen=pg.mkPen(VAL_COLOR, width=2),
                symbol="o", symbolSize=6, symbolBrush=VAL_COLOR, symbolPen=None),
            "lr/planned": self.lr_plot.plot(name="planned", pen=pg.mkPen(PLANNED_COLOR, width=2)),
            "lr": self.lr_plot.plot(name="applied", pen=None, symbol="o", symbolSize=4,
                                    symbolBrush=APPLIED_COLOR, symbolPen=None),
            "val/acc": self.acc_plot.plot(
                name="validation accuracy", pen=pg.mkPen(ACC_COLOR, width=2), symbol="o",
                symbolSize=6, symbolBrush=ACC_COLOR, symbolPen=None),
            "train/acc": self.acc_plot.plot(
                name="train accuracy", pen=pg.mkPen(TRAIN_ACC_COLOR, width=2, style=Qt.PenStyle.DashLine),
                symbol="t", symbolSize=6, symbolBrush=TRAIN_ACC_COLOR, symbolPen=None),
        }
        # The whole run's plan, faint, so the user sees where the LR is going (step axis only).
        self.plan_curve = self.lr_plot.plot(name="plan (whole run)",
                                            pen=pg.mkPen(PLANNED_COLOR, width=1, style=Qt.PenStyle.DotLine))
        self.plan_curve.setZValue(-5)
        self._divergence_lines: list[tuple[pg.PlotWidget, pg.InfiniteLine]] = []

        self.crosshairs = [
            Crosshair(self.loss_plot, {"train": self.curves["train/loss"], "smoothed": self.curves[SMOOTHED_KEY],
                                        "val": self.curves["val/loss"]}),
            Crosshair(self.lr_plot, {"planned": self.curves["lr/planned"], "applied": self.curves["lr"]},
                       fmt="{:.4e}"),
            Crosshair(self.acc_plot, {"val acc": self.curves["val/acc"], "train acc": self.curves["train/acc"]}),
        ]

        for name, (plot, _keys, _log) in self._plots_by_name().items():
            plot.getPlotItem().getViewBox().sigRangeChangedManually.connect(
                lambda *_a, n=name: self._on_range_changed_manually(n))

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for p in (self.loss_plot, self.lr_plot, self.acc_plot):
            self.splitter.addWidget(p)
        self.acc_plot.setVisible(False)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)

        self._apply_smoothing_style()

        self._timer = QTimer(self)
        self._timer.setInterval(max(1, REDRAW_MS // len(PLOT_ORDER)))
        self._timer.timeout.connect(self._on_redraw_timer)
        self._timer.start()

    # -- feeding -------------------------------------------------------------------------
    def reset(self, title: str = "", planned: np.ndarray | None = None, steps_per_epoch: int = 1,
              classifier: bool | None = None, loss_kind: str | None = None) -> None:
        """Forget the previous run. ``loss_kind`` (a key of ``core.compare.LOSS_KINDS``) names what
        the loss axis shows. Plots that keep their own model take the run's plan from the
        arguments (``planned[i]`` is the LR planned for step i+1); with the window's model they
        read it from there and ignore ``planned`` and ``steps_per_epoch``."""
        if loss_kind is not None:
            # Cross-entropy and MSE (standardised or in price units) are not comparable: say which.
            self.loss_plot.getPlotItem().setLabel("left", f"loss ({LOSS_KINDS.get(loss_kind, loss_kind)})")
        for b in self._buffers.values():
            b.clear()
        self._ema.reset()
        self._diverged_at = None
        self._draw_divergence()
        if self._folds:
            self.run.start(None, "", None)
            self.run.set_plan(planned, steps_per_epoch)
        if classifier is not None:
            self._show_accuracy(classifier)
        if title:
            self.run_label.setText(title)
        # The ranges and curves are reset plot by plot on the next timer ticks (see the module
        # docstring); redraw_now() does it at once.
        self._range_reset = set(PLOT_ORDER)
        self._dirty_plots = set(PLOT_ORDER)
        self._cycle = []

    def _plots_by_name(self) -> dict[str, tuple[pg.PlotWidget, tuple[str, ...], bool]]:
        return {
            "loss": (self.loss_plot, ("train/loss", SMOOTHED_KEY, "val/loss"), self.loss_log.isChecked()),
            "lr": (self.lr_plot, ("lr", "lr/planned"), self.lr_log.isChecked()),
            "acc": (self.acc_plot, ("val/acc", "train/acc"), False),
        }

    def _manage_y(self, names: Iterable[str] = PLOT_ORDER) -> None:
        """Let _fit_y() choose the y-ranges again (new run, axis or log change)."""
        plots = self._plots_by_name()
        for name in names:
            plot = plots[name][0]
            self._y_managed[name] = True
            self._y_ranges[name] = None
            plot.enableAutoRange(y=False)

    def _on_range_changed_manually(self, name: str) -> None:
        self._y_managed[name] = False

    def _fit_y(self, names: Iterable[str] = PLOT_ORDER) -> None:
        plots = self._plots_by_name()
        for name in names:
            plot, keys, log = plots[name]
            if not self._y_managed.get(name, True):
                continue
            arrays = [self._buffers[k].y for k in keys if k in self._buffers and self._buffers[k].n]
            plan = self.run.planned
            if name == "lr" and plan is not None and len(plan):
                arrays.append(np.asarray(plan))
            if not arrays:
                if name == "acc" and self._y_ranges.get(name) != (0.0, 1.0):
                    # No accuracy yet (a new run): the whole range, not the last run's.
                    self._y_ranges[name] = (0.0, 1.0)
                    plot.setYRange(0.0, 1.0, padding=0.02)
                continue
            rng = nice_range(np.concatenate(arrays), log)
            if rng is not None and rng != self._y_ranges.get(name):
                self._y_ranges[name] = rng
                plot.setYRange(*rng, padding=0.03)

    def _fix_x_range(self, names: Iterable[str] = PLOT_ORDER) -> None:
        """Show the whole run's length on x from the start (step/epoch axes).

        Besides showing how far the run has come, a fixed x-range means the x-axes are not
        re-laid out on every frame; axis painting was the largest share of a live frame.
        """
        if self._x_axis == "wall":
            return
        if self._diverged_at is not None:
            # A diverged run stopped early: show its points, not the planned length, in which a
            # run that diverged at step 2 of 1,350 was a sliver under the divergence marker.
            step, epoch, _wall = self._diverged_at
            ends = [b.x(self._x_axis)[-1] for b in self._buffers.values() if b.n]
            end = max([step if self._x_axis == "step" else epoch, *ends]) * 1.15
        elif self.run.total_steps:
            total = self.run.total_steps
            end = total if self._x_axis == "step" else total / self.run.steps_per_epoch
        else:
            return
        plots = self._plots_by_name()
        for name in names:
            if name in self._range_reset:
                continue  # set when the plot's turn comes
            p = plots[name][0]
            p.enableAutoRange(x=False)
            p.setXRange(0, end, padding=0.02)

    def append_events(self, events: Iterable[object], folded: Folded | None = None) -> None:
        """Add a batch of events from the worker; the plots update on the next timer tick.

        ``folded``: what folding the batch into the window's model changed (plots that keep
        their own model fold it here). The run's length, end and divergence come from the model;
        the plots take only the points.
        """
        events = list(events)
        if folded is None:
            folded = self.run.fold(events) if self._folds else Folded()
        spe = self.run.steps_per_epoch
        for ev in events:
            if isinstance(ev, StepLogged):
                x_epoch = ev.step / spe
                for key, value in ev.values.items():
                    self._buffer(key).append(ev.step, x_epoch, ev.wall_time, value)
            elif isinstance(ev, EpochLogged):
                for key, value in ev.values.items():
                    self._buffer(key).append(ev.step, ev.epoch + 1, ev.wall_time, value)
                if any(k.endswith("/acc") for k in ev.values) and self.acc_plot.isHidden():
                    self._show_accuracy(True)
        if self._diverged_at is None and self.run.first_nonfinite is not None:
            self._diverged_at = self.run.first_nonfinite
            self._x_range_stale = True
        if folded.replanned or any(isinstance(ev, RunStarted) for ev in events):
            self._fix_x_range()
        if folded.finished is not None:
            self.mark_finished(folded.finished)
        self._dirty_plots.update(PLOT_ORDER)

    def mark_finished(self, summary: RunSummary) -> None:
        self.run.finish(summary)
        step = self.run.diverged_step
        if summary.status == DIVERGED and step is not None:
            if self._diverged_at is None or self._diverged_at[0] != step:
                b = self._buffers.get("train/loss")
                last = self.run.last_step
                epoch, wall = step / self.run.steps_per_epoch, last.wall_time if last is not None else 0.0
                if b is not None and b.n:
                    idx = np.searchsorted(b.x("step"), step)
                    if idx < b.n:
                        epoch, wall = b.x("epoch")[idx], b.x("wall")[idx]
                self._diverged_at = (step, epoch, wall)
            self._x_range_stale = True
        self._dirty_plots.update(PLOT_ORDER)

    def show_accuracy(self, on: bool) -> None:
        """Show (or hide) the accuracy plot; ``reset(classifier=...)`` does this for a run."""
        self._show_accuracy(on)

    def _show_accuracy(self, on: bool) -> None:
        if on == (not self.acc_plot.isHidden()):
            return
        self.acc_plot.setVisible(on)
        n = 3 if on else 2
        self.splitter.setSizes([10_000 // n] * n + ([0] if not on else []))

    def _buffer(self, key: str) -> GrowingBuffer:
        b = self._buffers.get(key)
        if b is None:
            b = self._buffers[key] = GrowingBuffer()
        return b

    # -- reading (tests, export) -----------------------------------------------------------
    def series_length(self, key: str) -> int:
        b = self._buffers.get(key)
        return 0 if b is None else b.n

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        b = self._buffers.get(key)
        if b is None:
            return np.empty(0), np.empty(0)
        return b.x(self._x_axis).copy(), b.y.copy()

    def plot_widgets(self) -> list[tuple[str, pg.PlotWidget]]:
        out = [("Loss", self.loss_plot), ("Learning rate", self.lr_plot)]
        if not self.acc_plot.isHidden():
            out.append(("Accuracy", self.acc_plot))
        return out

    @property
    def diverged_at(self) -> tuple[int, float, float] | None:
        return self._diverged_at

    @property
    def x_axis(self) -> str:
        return self._x_axis

    def set_x_axis(self, axis: str) -> None:
        self.x_combo.setCurrentIndex(list(X_AXES).index(axis))

    # -- drawing ---------------------------------------------------------------------------
    def _on_redraw_timer(self) -> None:
        """Draw the next plot of the cycle (a new cycle starts when a plot is out of date)."""
        if not self.isVisible():
            return
        if not self._cycle:
            if not self._dirty_plots:
                return
            self._cycle = [n for n in PLOT_ORDER if n in self._dirty_plots]
            self.redraws += 1
        name = self._cycle.pop(0)
        with PAINT_GATE.hold():
            self._draw_plots((name,))
            if not self._cycle:
                self._draw_divergence()

    def redraw_now(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        """Draw every plot now."""
        self.redraws += 1
        self._cycle = []
        with PAINT_GATE.hold():
            self._draw_plots(PLOT_ORDER)
            self._draw_divergence()

    def _draw_plots(self, names: Iterable[str]) -> None:
        names = tuple(names)
        reset = [n for n in names if n in self._range_reset]
        if reset:
            plots = self._plots_by_name()
            for n in reset:
                plots[n][0].enableAutoRange()
            self._manage_y(reset)
            self._range_reset.difference_update(reset)
            self._fix_x_range(reset)
        if self._x_range_stale:
            self._x_range_stale = False
            self._fix_x_range()
        self._dirty_plots.difference_update(names)
        plots = self._plots_by_name()
        keys = {k for n in names for k in plots[n][1]}
        if SMOOTHED_KEY in keys:
            self._update_smoothed()
        ax = self._x_axis
        for key, curve in self.curves.items():
            if key not in keys:
                continue
            b = self._buffers.get(key)
            if b is None or b.n == 0:
                curve.setData([], [])
                continue
            x, y = b.x(ax), b.y
            if key in ("train/loss", SMOOTHED_KEY, "val/loss") and self.loss_log.isChecked():
                y = np.where(y > 0, y, np.nan)  # log of ≤ 0 is undefined; leave a gap
            elif key in ("lr", "lr/planned") and self.lr_log.isChecked():
                y = np.where(y > 0, y, np.nan)
            curve.setData(x, y, connect="finite")
        if "lr" not in names:
            pass
        elif (plan := self.run.planned) is not None and ax in ("step", "epoch") and len(plan):
            xs = np.arange(1, len(plan) + 1, dtype=np.float64)
            if ax == "epoch":
                xs = xs / self.run.steps_per_epoch
            if self.lr_log.isChecked():
                plan = np.where(plan > 0, plan, np.nan)
            self.plan_curve.setData(xs, plan, connect="finite")
            self.plan_curve.setVisible(True)
        else:
            self.plan_curve.setData([], [])
            self.plan_curve.setVisible(False)
        self._fit_y(names)

    # -- smoothing -------------------------------------------------------------------------
    @property
    def smoothing(self) -> float:
        return self.smoothing_spin.value()

    def set_smoothing(self, weight: float) -> None:
        self.smoothing_spin.setValue(weight)

    def _update_smoothed(self) -> None:
        """Smooth the training-loss points that arrived since the last draw (only those: the
        EMA carries its state, so a frame costs the same late in a long run as early on)."""
        raw = self._buffers.get("train/loss")
        out = self._buffer(SMOOTHED_KEY)
        if raw is None or self._ema.weight == 0.0:
            out.clear()
            return
        done = out.n
        if raw.n <= done:
            return
        new = slice(done, raw.n)
        smoothed = self._ema.extend(raw.y[new])
        out.extend(np.column_stack((raw.x("step")[new], raw.x("epoch")[new], raw.x("wall")[new], smoothed)))

    def _apply_smoothing_style(self) -> None:
        """Smoothing on: the raw loss faint behind the smoothed curve; off: the raw loss alone."""
        on = self._ema.weight > 0.0
        raw, smooth = self.curves["train/loss"], self.curves[SMOOTHED_KEY]
        color = pg.mkColor(TRAIN_COLOR)
        if on:
            color.setAlpha(RAW_ALPHA)
        raw.setPen(pg.mkPen(color, width=1 if on else 1.5))
        smooth.setVisible(on)
        legend = self.loss_plot.getPlotItem().legend
        if legend is not None:
            legend.removeItem(smooth)
            if on:
                legend.addItem(smooth, "train loss, smoothed")

    def _on_smoothing_changed(self, weight: float) -> None:
        # A new weight smooths the whole series again, once (about a millisecond per 100k points).
        self._ema = RunningEMA(weight)
        sm = self._buffers.get(SMOOTHED_KEY)
        if sm is not None:
            sm.clear()
        self._apply_smoothing_style()
        self._dirty_plots.add("loss")

    def _draw_divergence(self) -> None:
        for plot, line in self._divergence_lines:
            plot.removeItem(line)
        self._divergence_lines.clear()
        if self._diverged_at is None:
            return
        step, epoch, wall = self._diverged_at
        x = {"step": step, "epoch": epoch, "wall": wall}[self._x_axis]
        for plot in (self.loss_plot, self.lr_plot):
            line = pg.InfiniteLine(
                pos=x, angle=90, movable=False, pen=pg.mkPen(DIVERGED_COLOR, width=2, style=Qt.PenStyle.DashLine),
                label=f"diverged at step {step}",
                # Half-way up: the legends sit at the top.
                labelOpts={"position": 0.55, "color": DIVERGED_COLOR, "fill": LABEL_FILL})
            line.setZValue(50)  # over the curves, which would cross its label
            plot.addItem(line, ignoreBounds=True)
            self._divergence_lines.append((plot, line))

    # -- toolbar slots ---------------------------------------------------------------------
    def _on_x_axis_changed(self, index: int) -> None:
        self._x_axis = self.x_combo.itemData(index)
        label = X_AXES[self._x_axis]
        for p in (self.loss_plot, self.lr_plot, self.acc_plot):
            p.getPlotItem().setLabel("bottom", label)
            p.getPlotItem().getAxis("bottom").integer = self._x_axis == "step"
            p.enableAutoRange()
        self._manage_y()
        self._fix_x_range()
        self._redraw()
        self.x_axis_changed.emit(self._x_axis)

    def _on_loss_log_toggled(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        self._manage_y()
        self._redraw()

    def _on_lr_log_toggled(self, on: bool) -> None:
        self.lr_plot.setLogMode(y=on)
        self._manage_y()
        self._redraw()
