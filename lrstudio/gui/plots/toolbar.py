"""The row of controls above the live plots: what the run is, the x-axis, smoothing, log axes."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel

__all__ = ["DEFAULT_SMOOTHING", "X_AXES", "LiveToolbar"]

X_AXES = {"step": "Step", "epoch": "Epoch", "wall": "Wall time (s)"}
DEFAULT_SMOOTHING = 0.6  # TensorBoard's default weight


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
        self.run_label = QLabel("No run yet: configure on the left and press Start (Ctrl+Enter).")
        self.run_label.setProperty("role", "note")
        self.layout = bar = QHBoxLayout()
        bar.addWidget(self.run_label, 1)
        bar.addWidget(QLabel("x-axis:"))
        bar.addWidget(self.x_combo)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Smoothing:"))
        bar.addWidget(self.smoothing_spin)
        bar.addSpacing(12)
        bar.addWidget(self.loss_log)
        bar.addWidget(self.lr_log)
