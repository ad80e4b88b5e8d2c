"""The row of controls above the live plots: what the run is, the x-axis, smoothing, log axes."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QWidget

__all__ = ["DEFAULT_SMOOTHING", "X_AXES", "ElidedLabel", "LiveToolbar"]

X_AXES = {"step": "Step", "epoch": "Epoch", "wall": "Wall time (s)"}
DEFAULT_SMOOTHING = 0.6  # TensorBoard's default weight


class ElidedLabel(QLabel):
    """One line that ends in "…" when it does not fit, the whole text in its tooltip. A plain
    QLabel's minimum width is its whole text: a long run name widened the Train page, which took
    the Configure dock's width or grew the window past the screen (UX pass, session 3)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def text(self) -> str:
        return self._full

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(0, self.width()))
        super().setText(shown)


class LiveToolbar:
    """The widgets (``layout`` holds them); :class:`~lrstudio.gui.plots.live.LivePlots` connects them."""

    def __init__(self) -> None:
        self.x_combo = QComboBox()
        for key, title in X_AXES.items():
            self.x_combo.addItem(title, key)
        self.x_combo.setToolTip("What the horizontal axis of the live plots shows")
        self.loss_log = QCheckBox("Log loss")
        self.loss_log.setChecked(True)
        self.loss_log.setToolTip("Logarithmic y-axis for the loss plot")
        self.lr_log = QCheckBox("Log LR")
        self.lr_log.setToolTip("Logarithmic y-axis for the learning-rate plot")
        self.smoothing_spin = QDoubleSpinBox()
        self.smoothing_spin.setRange(0.0, 0.99)
        self.smoothing_spin.setSingleStep(0.05)
        self.smoothing_spin.setDecimals(2)
        self.smoothing_spin.setValue(DEFAULT_SMOOTHING)
        self.smoothing_spin.setToolTip(
            "Smoothing of the training loss: a debiased exponential moving average with this weight, "
            "as TensorBoard draws it (0 = off). The raw loss stays faint behind the smoothed curve; "
            "validation points and the learning rate are never smoothed.")
        self.run_label = ElidedLabel("No run yet: configure on the left and press Start (Ctrl+Enter).")
        self.run_label.setProperty("role", "note")
        self.layout = bar = QHBoxLayout()
        bar.addWidget(self.run_label, 1)
        bar.addWidget(QLabel("X axis"))
        bar.addWidget(self.x_combo)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Smoothing"))
        bar.addWidget(self.smoothing_spin)
        bar.addSpacing(12)
        bar.addWidget(self.loss_log)
        bar.addWidget(self.lr_log)
