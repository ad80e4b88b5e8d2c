"""The compare view's tables: the settings that differ between the runs (or all of them) and each
run's summary. Each has a tab of its own, so 18 differing settings fit at the default window size."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lrstudio.core.compare import SUMMARY_COLUMNS, all_params, differing_params, flatten_config, format_value
from lrstudio.core.plan import with_resolved_shares
from lrstudio.gui.compare.curves import swatch

__all__ = ["RunColumn", "SettingsPage", "SummaryPage"]

# Table cells are painted from item roles, which the style sheet does not reach: named once here.
DIFFERING_TINT = "#fff4d6"  # a differing row, with "show all parameters" on
NOT_SET_TEXT = "#999999"  # a parameter the run does not have


@dataclass(frozen=True)
class RunColumn:
    """A run as a table shows it: its label, full name and colour."""

    run_id: int
    label: str
    name: str
    color: QColor


def _bold(label: QLabel) -> QFont:
    bold = QFont(label.font())
    bold.setBold(True)
    return bold


def _compact(table: QTableWidget) -> None:
    table.setWordWrap(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
    table.horizontalHeader().setHighlightSections(False)


class SettingsPage(QWidget):
    """One row per parameter, one column per run. Signals: ``differ_count_changed(int)``."""

    differ_count_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        _compact(self.table)
        self.show_all_check = QCheckBox("Show all parameters")
        self.show_all_check.setToolTip("Off: only the parameters whose values differ between the runs")
        self.show_all_check.toggled.connect(lambda _checked: self.refill())
        self.title = QLabel("Settings that differ")
        self.title.setFont(_bold(self.title))
        self._runs: list[RunColumn] = []
        self._configs: list[dict[str, Any]] = []

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.show_all_check)
        layout.addLayout(head)
        layout.addWidget(self.table)

    def fill(self, runs: Sequence[RunColumn], configs: Sequence[Mapping[str, Any]]) -> None:
        """Show these runs' configs (``RunConfig.to_dict()`` shapes), one column each."""
        self._runs = list(runs)
        # lengths given as shares of the run are shown with the steps they became ("auto → 420")
        self._configs = [with_resolved_shares(dict(c)) for c in configs]
        self.refill()

    def refill(self) -> None:
        configs = self._configs
        show_all = self.show_all_check.isChecked()
        differing = differing_params(configs)
        # One run has nothing to differ from: show its settings.
        keys = all_params(configs) if show_all or len(configs) < 2 else differing
        differing_set = set(differing)
        flats = [flatten_config(c) for c in configs]
        table = self.table
        table.clear()
        table.setRowCount(len(keys))
        table.setColumnCount(len(self._runs))
        for col, run in enumerate(self._runs):
            header = QTableWidgetItem(run.label)
            header.setIcon(swatch(run.color))
            header.setToolTip(run.name or f"run {run.run_id}")
            table.setHorizontalHeaderItem(col, header)
        tint = QBrush(QColor(DIFFERING_TINT))
        for row, key in enumerate(keys):
            table.setVerticalHeaderItem(row, QTableWidgetItem(key))
            for col, flat in enumerate(flats):
                item = QTableWidgetItem(format_value(flat.get(key)) if key in flat else "—")
                if key not in flat:
                    item.setForeground(QBrush(QColor(NOT_SET_TEXT)))
                    item.setToolTip("not set in this run")
                if show_all and key in differing_set:
                    item.setBackground(tint)
                table.setItem(row, col, item)
        if len(configs) >= 2 and not show_all:
            self.title.setText(f"Settings that differ ({len(keys)})" if keys else "Settings that differ: none")
        else:
            self.title.setText("All settings")
        table.resizeColumnsToContents()
        columns = table.horizontalHeader()
        columns.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # Wide enough for the run's name (32 characters at most) and the values; a wide
        # comparison scrolls sideways rather than cutting the names.
        for col in range(table.columnCount()):
            columns.resizeSection(col, min(max(columns.sectionSize(col), columns.sectionSizeHint(col)), 280))
        self.differ_count_changed.emit(len(differing) if len(configs) >= 2 else 0)

    def rows(self) -> list[str]:
        """Parameter keys shown, top to bottom."""
        return [self.table.verticalHeaderItem(r).text() for r in range(self.table.rowCount())]


class SummaryPage(QWidget):
    """One row per run: status, losses, accuracy, steps, duration."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(SUMMARY_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(SUMMARY_COLUMNS))
        for col, tip in ((4, "Final validation loss"), (5, "Best validation loss"),
                         (6, "Best validation accuracy")):
            head = self.table.horizontalHeaderItem(col)
            if head is not None:
                head.setToolTip(tip)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        _compact(self.table)
        title = QLabel("Summary")
        title.setFont(_bold(title))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.table)

    def fill(self, rows: Sequence[tuple[RunColumn, list[str]]]) -> None:
        """``rows``: each run and its cells (:func:`lrstudio.core.compare.summary_row`)."""
        table = self.table
        table.setRowCount(len(rows))
        for row, (run, cells) in enumerate(rows):
            cells = [run.label, *cells[1:]]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setIcon(swatch(run.color))
                elif col >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, col, item)
        table.resizeColumnsToContents()
