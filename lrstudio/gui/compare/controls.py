"""The row of controls above the compare plots: smoothing, validation loss, log axes, outliers, x axis."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QWidget

__all__ = ["DEFAULT_SMOOTHING", "SMOOTHING_DEBOUNCE_MS", "SMOOTHING_MAX", "CompareControls"]

SMOOTHING_MAX = 0.999
# TensorBoard's default: enough to see the trend through minibatch noise; the raw curve stays faint.
DEFAULT_SMOOTHING = 0.6
SMOOTHING_DEBOUNCE_MS = 120
_SLIDER_STEPS = 999


class CompareControls(QWidget):
    """Signals: ``smoothing_changed(float)`` once the slider rests (debounced)."""

    smoothing_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, _SLIDER_STEPS)
        self.smoothing_slider.setValue(round(DEFAULT_SMOOTHING * 1000))
        self.smoothing_slider.setToolTip(
            "Smooths the training loss with a debiased exponential moving average, as TensorBoard "
            "does (0 = off). The raw loss stays visible, faint. The validation loss and the "
            "learning rate are never smoothed.")
        self.smoothing_slider.setMinimumWidth(120)
        self.smoothing_label = QLabel(f"{DEFAULT_SMOOTHING:.3f}")
        self.smoothing_label.setMinimumWidth(self.smoothing_label.fontMetrics().horizontalAdvance("0.000") + 4)
        self.smoothing_slider.valueChanged.connect(self._on_slider_moved)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SMOOTHING_DEBOUNCE_MS)
        self._timer.timeout.connect(lambda: self.smoothing_changed.emit(self.smoothing_slider.value() / 1000))

        self.val_loss_check = QCheckBox("Validation loss")
        self.val_loss_check.setChecked(True)
        self.log_loss_check = QCheckBox("Log loss")
        self.log_loss_check.setChecked(True)
        self.log_lr_check = QCheckBox("Log LR")
        self.outliers_check = QCheckBox("Ignore outliers")
        self.outliers_check.setChecked(True)
        self.outliers_check.setToolTip(
            "Keep diverged runs out of the loss and LR axes (the other runs are shown whole), and "
            "when no run diverged, fit the loss axis to the bulk of the points (1st to 99th "
            "percentile, widened by a quarter), so that one divergence or spike does not flatten "
            "the other curves. Off: every point is in view.")
        self.x_axis_combo = QComboBox()
        self.x_axis_combo.addItem("Step", "step")
        self.x_axis_combo.addItem("Wall time", "wall_time")

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Smoothing"))
        row.addWidget(self.smoothing_slider, 1)
        row.addWidget(self.smoothing_label)
        row.addSpacing(12)
        row.addWidget(self.val_loss_check)
        row.addWidget(self.log_loss_check)
        row.addWidget(self.log_lr_check)
        row.addWidget(self.outliers_check)
        row.addSpacing(12)
        row.addWidget(QLabel("X axis"))
        row.addWidget(self.x_axis_combo)

    def set_smoothing(self, weight: float) -> float:
        """Move the slider to ``weight`` (clamped to 0..SMOOTHING_MAX) without the debounced signal;
        returns the weight."""
        weight = min(max(float(weight), 0.0), SMOOTHING_MAX)
        self.smoothing_slider.blockSignals(True)
        self.smoothing_slider.setValue(round(weight * 1000))
        self.smoothing_slider.blockSignals(False)
        self._timer.stop()
        self.show_smoothing(weight)
        return weight

    def show_smoothing(self, weight: float) -> None:
        self.smoothing_label.setText(f"{weight:.3f}")

    def _on_slider_moved(self, value: int) -> None:
        self.show_smoothing(value / 1000)
        self._timer.start()  # debounce: smooth once the slider rests

    def x_axis(self) -> str:
        return str(self.x_axis_combo.currentData())
