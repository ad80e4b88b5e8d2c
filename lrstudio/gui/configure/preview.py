"""The LR curve of the configured schedule, redrawn as the user edits.

Edits arrive on every keystroke; :meth:`SchedulePreview.set_schedule` only remembers the latest
spec and (re)starts a 120 ms single-shot timer, so the curve is computed once per pause in typing
(debounce). The curve comes from ``lrstudio.core.schedules.lr_curve`` (numpy, closed form; no
torch). "Pin" copies the current curve into the overlay list so several schedules can be compared
before training; "Clear pins" removes them. "Copy as PyTorch code" puts ``to_pytorch_code`` of the
current schedule on the clipboard (issue 14). When the schedule cycles the optimizer's momentum
(one_cycle, cyclic: ``momentum_curve``), a small momentum plot under the LR plot (x linked) shows it
(issue 15); hidden otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from lrstudio.core.errors import LrstudioError
from lrstudio.gui.plots.factory import APPLIED_COLOR, PIN_COLORS, TRAIN_COLOR, make_plot, white

DEBOUNCE_MS = 120
MAX_PREVIEW_STEPS = 2_000_000

CURRENT_COLOR = TRAIN_COLOR
MOMENTUM_COLOR = APPLIED_COLOR  # the Train tab's momentum colour
#: The momentum plot takes a third of the plots' height (a slow curve between two values), at least this.
MOMENTUM_PLOT_MIN_HEIGHT = 60
#: The LR plot's least height: below it the preview asks its dock for more room rather than cut the
#: wrapped lines under the plots (at 1366x768 with a narrow dock they lost their last lines).
LR_PLOT_MIN_HEIGHT = 70


@dataclass
class PinnedCurve:
    label: str
    steps: np.ndarray
    lr: np.ndarray
    item: pg.PlotDataItem


def describe_spec(spec: dict[str, Any], base_lr: float) -> str:
    """Short label: ``cosine(min_lr=0) lr=0.1``."""
    params = spec.get("params") or {}
    simple = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
              if isinstance(v, (int, float, str)) and not isinstance(v, bool)][:3]
    inner = ""
    if isinstance(params.get("inner"), dict):
        inner = "→" + str(params["inner"].get("name"))
    if isinstance(params.get("schedules"), list):
        inner = "[" + ",".join(str(s.get("name")) for s in params["schedules"]) + "]"
    return f"{spec.get('name')}{inner}({', '.join(simple)}) lr={base_lr:g}"


def short_label(spec: dict[str, Any], base_lr: float) -> str:
    """Legend label that fits a narrow dock: ``warmup→cosine lr=0.1``."""
    params = spec.get("params") or {}
    name = str(spec.get("name"))
    if isinstance(params.get("inner"), dict):
        name = name.replace("linear_", "") + "→" + str(params["inner"].get("name"))
    elif isinstance(params.get("schedules"), list):
        name = "→".join(str(s.get("name")) for s in params["schedules"])
    return f"{name} lr={base_lr:g}"


class SchedulePreview(QWidget):
    """Plot of the planned LR per step for the whole run, with pinned overlays."""

    curve_updated = Signal()
    pins_changed = Signal(int)
    fit_requested = Signal()  # "Fit to run" clicked: the owner of the config fits the schedule

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._spec: dict[str, Any] | None = None
        self._base_lr = 0.01
        self._steps = 100
        self._note = ""
        self.pins: list[PinnedCurve] = []
        self.current_steps = np.empty(0)
        self.current_lr = np.empty(0)
        self.current_momentum: np.ndarray | None = None
        self.computations = 0
        self.error = ""

        self.plot = make_plot(y_label="LR", grid=(True, True), legend={
            "offset": (-6, 6), "brush": pg.mkBrush(*white(210)), "labelTextSize": "8pt", "verSpacing": -4})
        self.legend = self.plot.getPlotItem().legend
        self.curve = self.plot.plot(name="current", pen=pg.mkPen(CURRENT_COLOR, width=2.5))
        self.curve.setZValue(10)
        # Momentum (issue 15): under the LR plot, same steps, shown only when the schedule cycles it.
        # "momentum" does not fit its height; no y grid: the two end ticks say the range (and an axis
        # without a grid lets its end labels flow past its edges)
        self.momentum_plot = make_plot(y_label="mom.", grid=(True, False))
        self.momentum_plot.setObjectName("preview_momentum")
        self.momentum_plot.setXLink(self.plot)
        self.momentum_plot.setMinimumHeight(MOMENTUM_PLOT_MIN_HEIGHT)
        mpi = self.momentum_plot.getPlotItem()
        mpi.getAxis("bottom").showLabel(False)  # the step ticks only: the plot's height goes to the curve
        mpi.getAxis("left").setStyle(hideOverlappingLabels=False)  # keep both end ticks on a low plot
        self.momentum_plot.setToolTip("Momentum cycled by the schedule: SGD's momentum, or β1 for Adam/AdamW "
                                      "(torch's cycle_momentum)")
        self.momentum_item = self.momentum_plot.plot(pen=pg.mkPen(MOMENTUM_COLOR, width=2))
        self.momentum_plot.setVisible(False)

        self.pin_button = QPushButton("Pin for comparison")
        self.pin_button.setToolTip("Keep the current curve on the plot to compare other schedules with it")
        self.pin_button.clicked.connect(self._on_pin_clicked)
        self.clear_button = QPushButton("Clear pins")
        self.clear_button.clicked.connect(self._on_clear_clicked)
        self.clear_button.setEnabled(False)
        # issue 14: take the designed schedule back into one's own training script
        self.copy_code_button = QPushButton("Copy as PyTorch code")
        self.copy_code_button.setObjectName("copy_pytorch_code")
        self.copy_code_button.setToolTip("Copy a PyTorch snippet that makes this schedule (a torch.optim."
                                         "lr_scheduler for an optimizer created with this base LR)")
        self.copy_code_button.clicked.connect(self._on_copy_code_clicked)
        self.copy_code_button.setEnabled(False)
        self.log_check = QCheckBox("Log y")
        self.log_check.toggled.connect(self._on_log_toggled)
        self.info_label = QLabel()
        self.info_label.setProperty("role", "hint")
        self.info_label.setWordWrap(True)

        # Under the plot: why the schedule does not fit the run, in words (schedule_fit), and a
        # button that fits it (issue 9). Hidden while the schedule fits.
        self.fit_label = QLabel()
        self.fit_label.setObjectName("fit_warning")
        self.fit_label.setProperty("role", "warning")
        self.fit_label.setWordWrap(True)
        self.fit_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fit_button = QPushButton("Fit to run")
        self.fit_button.setObjectName("fit_to_run")
        self.fit_button.setToolTip("Set the schedule's length parameters (T_max, decay_steps, total_steps, the "
                                   "part after a warm-up…) to the run length")
        self.fit_button.clicked.connect(self.fit_requested)
        self.fit_row = QWidget()
        fit_lay = QHBoxLayout(self.fit_row)
        fit_lay.setContentsMargins(0, 0, 0, 0)
        fit_lay.addWidget(self.fit_label, 1)
        fit_lay.addWidget(self.fit_button, 0, Qt.AlignmentFlag.AlignTop)
        self.fit_row.setVisible(False)

        self._bar = bar = QHBoxLayout()
        bar.addWidget(self.pin_button)
        bar.addWidget(self.clear_button)
        bar.addStretch(1)
        bar.addWidget(self.log_check)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.plot, 2)
        layout.addWidget(self.momentum_plot, 1)
        layout.addWidget(self.fit_row)
        # The copy button sits beside the (wrapping) line under the plot: in the top bar it made the
        # narrowest preview 150 px wider.
        self._info_row = info_row = QHBoxLayout()
        info_row.addWidget(self.info_label, 1)
        info_row.addWidget(self.copy_code_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(info_row)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._recompute)

    # -- size ----------------------------------------------------------------------------
    def _least_height(self, width: int) -> int:
        """The height that shows every line under the plots whole at ``width`` (the plots at
        their least): wrapped labels' heights depend on the width, which a dock does not ask."""
        lay = self.layout()
        m = lay.contentsMargins()
        inner = max(1, width - m.left() - m.right())
        parts = [self._bar.minimumSize().height(), LR_PLOT_MIN_HEIGHT]
        if not self.momentum_plot.isHidden():
            parts.append(MOMENTUM_PLOT_MIN_HEIGHT)
        rows = [self._info_row] + ([self.fit_row.layout()] if not self.fit_row.isHidden() else [])
        parts += [max(row.heightForWidth(inner), row.minimumSize().height()) for row in rows]
        return m.top() + m.bottom() + sum(parts) + lay.spacing() * (len(parts) - 1)

    def _update_least_height(self) -> None:
        height = self._least_height(self.width())
        if height != self.minimumHeight():
            self.setMinimumHeight(height)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._update_least_height()

    # -- input ---------------------------------------------------------------------------
    def set_schedule(self, spec: dict[str, Any] | None, base_lr: float, steps: int, note: str = "") -> None:
        """Remember the latest schedule; the curve is recomputed after DEBOUNCE_MS of quiet."""
        self._spec = spec
        self._base_lr = base_lr
        self._steps = int(max(1, min(steps, MAX_PREVIEW_STEPS)))
        self._note = note
        self._timer.start()

    def set_fit(self, warnings: tuple[str, ...] | list[str], fittable: bool) -> None:
        """Show why the schedule does not fit the run (empty: it fits) and offer "Fit to run"."""
        text = "\n".join(f"⚠ {w}" for w in warnings)
        self.fit_label.setText(text)
        self.fit_button.setVisible(bool(warnings) and fittable)
        self.fit_row.setVisible(bool(warnings))
        self._update_least_height()

    @property
    def fit_warning(self) -> str:
        """The warning shown now ("" when the schedule fits the run)."""
        return self.fit_label.text() if not self.fit_row.isHidden() else ""

    def flush(self) -> None:
        """Recompute now if an update is pending (tests, screenshots)."""
        if self._timer.isActive():
            self._timer.stop()
            self._recompute()

    @property
    def pending(self) -> bool:
        return self._timer.isActive()

    # -- drawing -------------------------------------------------------------------------
    def _recompute(self) -> None:
        self.computations += 1
        self.error = ""
        if self._spec is None:
            self._show_curve(np.empty(0), np.empty(0), "Fix the schedule to see its curve.")
            return
        try:
            from lrstudio.core.schedules import lr_curve

            lr = np.asarray(lr_curve(self._spec, self._steps, self._base_lr), dtype=np.float64)
        except (LrstudioError, ValueError) as exc:
            self.error = str(exc)
            self._show_curve(np.empty(0), np.empty(0), f"No preview: {exc}")
            return
        steps = np.arange(1, len(lr) + 1, dtype=np.float64)
        finite = lr[np.isfinite(lr)]
        summary = (f"{self._steps:,} steps · start {lr[0]:.3g} · max {finite.max():.3g} · "
                   f"end {lr[-1]:.3g}") if len(finite) else f"{self._steps:,} steps"
        summary = f"{short_label(self._spec, self._base_lr)} · {summary}"
        momentum = self._momentum()
        if momentum is not None and len(momentum):
            summary += f" · momentum {momentum[0]:.3g} → {momentum.min():.3g} → {momentum[-1]:.3g}"
        if self._note:
            summary += f" · {self._note}"
        self._show_curve(steps, lr, summary, momentum)

    def _momentum(self) -> np.ndarray | None:
        """The momentum curve of the previewed run, or None when the schedule does not cycle it."""
        from lrstudio.core.schedules.momentum import momentum_curve

        try:
            return momentum_curve(self._spec, self._steps)
        except (LrstudioError, ValueError):
            return None

    def _show_curve(self, steps: np.ndarray, lr: np.ndarray, info: str,
                    momentum: np.ndarray | None = None) -> None:
        self.current_steps, self.current_lr = steps, lr
        self.curve.setData(steps, self._y(lr))
        self.current_momentum = momentum
        if momentum is not None and len(momentum) == len(steps):
            self.momentum_item.setData(steps, momentum)
            lo, hi = float(momentum.min()), float(momentum.max())
            pad = max(0.2 * (hi - lo), 0.01)
            self.momentum_plot.setYRange(lo - pad, hi + pad, padding=0)
            # its two ends as the ticks (a low plot shows one automatic tick at most)
            ends = [(lo, f"{lo:.3g}")] if hi == lo else [(lo, f"{lo:.3g}"), (hi, f"{hi:.3g}")]
            self.momentum_plot.getPlotItem().getAxis("left").setTicks([ends, []])
        else:
            self.current_momentum = None
            self.momentum_item.setData([], [])
        shown = self.current_momentum is not None
        if self.momentum_plot.isVisibleTo(self) != shown:
            self.momentum_plot.setVisible(shown)
            # one step axis, under the lowest plot (x linked): the LR plot keeps the height its axis took
            self.plot.getPlotItem().showAxis("bottom", not shown)
        self._set_info(info, "problem" if self.error or not len(lr) else "hint")
        self.pin_button.setEnabled(bool(len(lr)))
        self.copy_code_button.setEnabled(bool(len(lr)))
        if self._spec is not None:
            self.curve.opts["name"] = "now: " + short_label(self._spec, self._base_lr)
            self.plot.setToolTip(describe_spec(self._spec, self._base_lr))
            self._relabel_legend()
        self._fit_view()
        self.curve_updated.emit()

    def _set_info(self, text: str, role: str) -> None:
        self.info_label.setText(text)
        self._update_least_height()  # after the momentum plot was shown or hidden, too
        if self.info_label.property("role") != role:
            self.info_label.setProperty("role", role)
            self.info_label.style().unpolish(self.info_label)
            self.info_label.style().polish(self.info_label)

    def copy_pytorch_code(self) -> str | None:
        """Put the PyTorch snippet of the current schedule on the clipboard and return it; when the
        schedule cannot be written for torch, say why under the plot and return None."""
        self.flush()
        if self._spec is None or self.error:
            return None
        from lrstudio.core.schedules import resolve_lengths
        from lrstudio.core.schedules.pytorch_code import to_pytorch_code

        try:  # shares of the run ("auto", "10%") are written as the steps of the previewed run (issue 15)
            code = to_pytorch_code(resolve_lengths(self._spec, max(1, self._steps)), self._base_lr,
                                   steps=max(1, self._steps))  # exact for the previewed run (issue 15)
        except (LrstudioError, ValueError) as exc:
            self._set_info(f"This schedule cannot be copied as PyTorch code: {exc}", "problem")
            return None
        QApplication.clipboard().setText(code)
        self._set_info(f"Copied as PyTorch code: {short_label(self._spec, self._base_lr)}", "hint")
        return code

    def _on_copy_code_clicked(self) -> None:
        self.copy_pytorch_code()

    def _fit_view(self) -> None:
        """Linear y: from 0 to a little above the highest LR (a flat curve is not blown up)."""
        self.plot.enableAutoRange()
        if self.log_check.isChecked():
            return
        highs = [float(np.nanmax(a)) for a in [self.current_lr, *(p.lr for p in self.pins)]
                 if len(a) and np.isfinite(a).any()]
        lows = [float(np.nanmin(a)) for a in [self.current_lr, *(p.lr for p in self.pins)]
                if len(a) and np.isfinite(a).any()]
        if highs:
            top, bottom = max(highs), min(0.0, min(lows))
            self.plot.setYRange(bottom, top * 1.12 if top > 0 else 1.0, padding=0)

    def _y(self, lr: np.ndarray) -> np.ndarray:
        return np.where(lr > 0, lr, np.nan) if self.log_check.isChecked() else lr

    def _relabel_legend(self) -> None:
        self.legend.clear()
        self.legend.addItem(self.curve, self.curve.opts["name"])
        for pin in self.pins:
            self.legend.addItem(pin.item, pin.label)
        # One curve needs no legend (its label leads the line under the plot); in a narrow dock
        # the legend box covered the end of rising curves such as one-cycle (issue 9).
        self.legend.setVisible(bool(self.pins))

    # -- pins ----------------------------------------------------------------------------
    def pin_current(self) -> PinnedCurve | None:
        self.flush()
        if not len(self.current_lr) or self._spec is None:
            return None
        color = PIN_COLORS[len(self.pins) % len(PIN_COLORS)]
        label = short_label(self._spec, self._base_lr)
        item = self.plot.plot(self.current_steps, self._y(self.current_lr),
                              pen=pg.mkPen(color, width=1.8, style=Qt.PenStyle.DashLine))
        pin = PinnedCurve(label, self.current_steps.copy(), self.current_lr.copy(), item)
        self.pins.append(pin)
        self._relabel_legend()
        self.clear_button.setEnabled(True)
        self._fit_view()
        self.pins_changed.emit(len(self.pins))
        return pin

    def clear_pins(self) -> None:
        for pin in self.pins:
            self.plot.removeItem(pin.item)
        self.pins.clear()
        self._relabel_legend()
        self.clear_button.setEnabled(False)
        self.pins_changed.emit(0)

    def _on_pin_clicked(self) -> None:
        self.pin_current()

    def _on_clear_clicked(self) -> None:
        self.clear_pins()

    def _on_log_toggled(self, on: bool) -> None:
        self.plot.setLogMode(y=on)
        self.curve.setData(self.current_steps, self._y(self.current_lr))
        for pin in self.pins:
            pin.item.setData(pin.steps, self._y(pin.lr))
        self._fit_view()
