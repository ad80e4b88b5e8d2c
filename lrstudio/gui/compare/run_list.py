"""The run list beside the compare plots, instead of legends inside them (a 10-run legend covered a
third of each plot): a colour swatch, the name, the loss each run records and its status, and a
check box that hides or shows all of that run's curves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from lrstudio.gui.compare.curves import swatch

__all__ = ["RunList", "RunRow"]


@dataclass(frozen=True)
class RunRow:
    """One row of the run list."""

    run_id: int
    label: str
    loss: str  # short loss kind ("CE", "MSE (std.)"...)
    status: str
    tooltip: str
    color: QColor
    visible: bool


class RunList(QTreeWidget):
    """Signals: ``visibility_toggled(run_id, visible)`` when the user ticks or unticks a run."""

    visibility_toggled = Signal(int, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareRunList")
        self.setColumnCount(3)
        self.setHeaderLabels(["Run", "Loss", "Status"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setToolTip("Untick a run to hide its curves")
        self.header().setStretchLastSection(False)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.header().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.itemChanged.connect(self._on_item_changed)

    def fill(self, rows: Sequence[RunRow]) -> None:
        """One row per shown run. Columns that would say the same for every run are left out (the
        axis names the loss); the names get the room."""
        self.blockSignals(True)
        self.clear()
        for row in rows:
            item = QTreeWidgetItem([row.label, row.loss, "" if row.status == "completed" else row.status])
            item.setData(0, Qt.ItemDataRole.UserRole, row.run_id)
            item.setIcon(0, swatch(row.color))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if row.visible else Qt.CheckState.Unchecked)
            for col in range(3):
                item.setToolTip(col, row.tooltip)
            self.addTopLevelItem(item)
        self.setColumnHidden(1, len({r.loss for r in rows}) < 2)
        self.setColumnHidden(2, all(r.status == "completed" for r in rows))
        self.blockSignals(False)

    def set_checked(self, run_id: int, visible: bool) -> None:
        """Tick or untick a run's row without emitting :attr:`visibility_toggled`."""
        for row in range(self.topLevelItemCount()):
            item = self.topLevelItem(row)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == run_id:
                state = Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked
                if item.checkState(0) != state:
                    self.blockSignals(True)
                    item.setCheckState(0, state)
                    self.blockSignals(False)

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column == 0:
            self.visibility_toggled.emit(int(item.data(0, Qt.ItemDataRole.UserRole)),
                                         item.checkState(0) == Qt.CheckState.Checked)
