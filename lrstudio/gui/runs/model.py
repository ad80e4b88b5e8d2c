"""The runs table's model: one row per stored run (a :class:`~lrstudio.core.runs.RunInfo`, never an
ORM row), sortable by value and filterable on several columns.

:class:`RunsTableModel` updates in place (:meth:`RunsTableModel.merge_runs`, :meth:`RunsTableModel.update_run`)
so that the view keeps its selection and scroll position while runs change underneath it.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from lrstudio.core.compare import format_duration, format_number, format_percent
from lrstudio.core.playground import FUNCTIONS
from lrstudio.core.runs import RunInfo

__all__ = [
    "COLUMNS",
    "COLUMN_INDEX",
    "KIND_TITLES",
    "NAME_COLUMN",
    "RUN_ID_ROLE",
    "SORT_ROLE",
    "STATUS_COLORS",
    "STATUS_COLUMN",
    "Column",
    "RunsSortFilterProxyModel",
    "RunsTableModel",
    "display_text",
]

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


@dataclass(frozen=True)
class Column:
    key: str  # RunInfo attribute
    title: str
    kind: str  # text | number | int | lr | percent | duration | datetime | tags
    tooltip: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("name", "Name", "text", "Double-click to rename"),
    Column("status", "Status", "text"),
    Column("kind", "Kind", "runkind", "What made the run: training, an LR range test, your own code "
           "(the tracking API) or the optimizer playground"),
    Column("model", "Model", "text"),
    Column("dataset", "Data set", "text"),
    Column("optimizer", "Optimizer", "text"),
    Column("schedule", "Schedule", "text"),
    Column("base_lr", "Base LR", "lr"),
    Column("final_loss", "Final loss", "number", "Last training loss"),
    Column("best_loss", "Best loss", "number", "Lowest finite training loss"),
    Column("best_accuracy", "Best acc", "percent", "Best validation accuracy (classifiers)"),
    Column("steps", "Steps", "int", "Optimizer steps taken"),
    Column("duration_s", "Duration", "duration"),
    Column("created_at", "Created", "datetime"),
    Column("tags", "Tags", "tags"),
)
COLUMN_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
NAME_COLUMN = COLUMN_INDEX["name"]
STATUS_COLUMN = COLUMN_INDEX["status"]

# status -> (background, foreground): light tints with dark text, readable in both the table and
# a printed screenshot; the hue follows the usual traffic-light reading.
STATUS_COLORS: dict[str, tuple[str, str]] = {
    "queued": ("#eceff1", "#455a64"),
    "running": ("#d6e9ff", "#0b4f9c"),
    "completed": ("#d8f0dc", "#1b6e2e"),
    "stopped": ("#fff1c9", "#7a5800"),
    "diverged": ("#ffdccc", "#a33a00"),
    "failed": ("#f9d2d2", "#a11c1c"),
    "interrupted": ("#e4e4e4", "#555555"),
    "pruned": ("#ede3f6", "#5b2c83"),
}

# RunInfo.kind -> what the runs table shows.
KIND_TITLES: dict[str, str] = {
    "training": "Training",
    "lr_range_test": "LR range test",
    "external": "Your code",
    "playground": "Playground",
}

# Role under which the model returns the sort key (a tuple that Python compares).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 2


def _is_control(ch: str) -> bool:
    # C0/C1 controls (ESC starts terminal escape codes), line/paragraph separators and the bidi
    # embedding/override/isolate characters, which can make a name read backwards (issue 9).
    return (unicodedata.category(ch) in ("Cc", "Zl", "Zp") or "\u202a" <= ch <= "\u202e"
            or "\u2066" <= ch <= "\u2069")


def display_text(text: str) -> str:
    """``text`` with control characters written out as Python escapes (``\\x1b``, ``\\n``).

    Run names come from anywhere (the CLI, a user's script); shown raw, a newline doubles a row
    and an escape or bidi code garbles what follows. Written out, they are harmless and visible.
    """
    if not any(_is_control(ch) for ch in text):
        return text
    return "".join(ch.encode("unicode_escape").decode("ascii") if _is_control(ch) else ch for ch in text)


def _cell_value(run: Any, key: str) -> Any:
    """What a column shows of ``run``: a playground run's data set is its function's title (its
    stored column is the function's id, such as ``quad_ill``), its schedule ``constant`` when it
    has none (a playground trajectory without a schedule keeps its LR)."""
    value = getattr(run, key, None)
    if getattr(run, "kind", None) == "playground":
        if key == "dataset" and value in FUNCTIONS:
            return FUNCTIONS[value].title
        if key == "schedule" and not value:
            return "constant"
    return value


def _format_cell(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "number":
        return format_number(value)
    if kind == "lr":
        return format_number(value, digits=3)
    if kind == "int":
        return str(value)
    if kind == "percent":
        return format_percent(value)
    if kind == "duration":
        return format_duration(value)
    if kind == "datetime":
        if isinstance(value, dt.datetime):
            local = value.astimezone() if value.tzinfo is not None else value
            return local.strftime("%Y-%m-%d %H:%M")
        return str(value)
    if kind == "runkind":
        return KIND_TITLES.get(str(value), display_text(str(value)))
    if kind == "tags":
        return display_text(", ".join(value))
    return display_text(str(value))


def _sort_key(kind: str, value: Any) -> tuple[int, float | str]:
    """Missing values sort last in ascending order; NaN sorts after every number."""
    if value is None:
        return (2, 0)
    if kind in ("number", "lr", "int", "percent", "duration"):
        v = float(value)
        return (1, 0) if math.isnan(v) else (0, v)
    if kind == "datetime" and isinstance(value, dt.datetime):
        return (0, value.timestamp())
    if kind == "tags":
        return (0, ", ".join(value).lower())
    return (0, str(value).lower())


class RunsTableModel(QAbstractTableModel):
    """A table model over a list of ``RunInfo``.

    Signals
    -------
    rename_requested(int, str)
        The user edited a name cell; the panel writes it to the store.
    """

    rename_requested = Signal(int, str)

    def __init__(self, runs: Sequence[RunInfo] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runs: list[RunInfo] = list(runs)
        self._rows: dict[int, int] = {r.id: i for i, r in enumerate(self._runs)}

    # -- data access ---------------------------------------------------------------------------
    def runs(self) -> list[RunInfo]:
        return list(self._runs)

    def run_at(self, row: int) -> RunInfo:
        return self._runs[row]

    def row_of(self, run_id: int) -> int:
        """Row of a run, or -1."""
        return self._rows.get(run_id, -1)

    def set_runs(self, runs: Sequence[RunInfo]) -> None:
        self.beginResetModel()
        self._runs = list(runs)
        self._rows = {r.id: i for i, r in enumerate(self._runs)}
        self.endResetModel()

    def update_run(self, info: RunInfo) -> None:
        """Replace the row of ``info.id`` (one ``dataChanged``), or append it if it is new."""
        row = self._rows.get(info.id)
        if row is None:
            row = len(self._runs)
            self.beginInsertRows(_ROOT, row, row)
            self._runs.append(info)
            self._rows[info.id] = row
            self.endInsertRows()
            return
        self._runs[row] = info
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def merge_runs(self, runs: Sequence[RunInfo], checked: Sequence[int] | None = None) -> set[int]:
        """Make the rows equal ``runs`` in place: changed rows get ``dataChanged``, new runs are
        inserted, missing ones removed; no reset, so the view keeps its selection and scroll
        position. Returns the ids of runs that are new, changed or removed.

        ``checked``: ``runs`` is only part of the database (these ids, plus any others it holds);
        only those of them that are missing are removed, the other rows stay as they are.
        """
        fresh = {r.id: r for r in runs}
        if checked is None:
            gone = [r.id for r in self._runs if r.id not in fresh]
        else:
            gone = [i for i in checked if i not in fresh and i in self._rows]
        changed = set(gone)
        if gone:
            self.remove_runs(gone)
        first = last = -1
        for row, old in enumerate(self._runs):
            new = fresh.get(old.id)
            if new is not None and new != old:
                self._runs[row] = new
                changed.add(old.id)
                first = row if first < 0 else first
                last = row
        if first >= 0:  # one signal for the span (a proxy re-sorts once)
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))
        new_runs = [r for r in runs if r.id not in self._rows]
        if new_runs:
            start = len(self._runs)
            self.beginInsertRows(_ROOT, start, start + len(new_runs) - 1)
            for r in new_runs:
                self._rows[r.id] = len(self._runs)
                self._runs.append(r)
            self.endInsertRows()
            changed.update(r.id for r in new_runs)
        return changed

    def remove_runs(self, run_ids: Sequence[int]) -> None:
        for run_id in run_ids:
            row = self._rows.get(run_id)
            if row is None:
                continue
            self.beginRemoveRows(_ROOT, row, row)
            del self._runs[row]
            self._rows = {r.id: i for i, r in enumerate(self._runs)}
            self.endRemoveRows()

    # -- Qt model interface --------------------------------------------------------------------
    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        col = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.title
        if role == Qt.ItemDataRole.ToolTipRole and col.tooltip:
            return col.tooltip
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        run = self._runs[index.row()]
        col = COLUMNS[index.column()]
        value = _cell_value(run, col.key)
        if role == Qt.ItemDataRole.DisplayRole:
            if col.key == "status" and run.status == "diverged" and getattr(run, "diverged_step", None):
                return f"diverged @ {run.diverged_step}"
            return _format_cell(col.kind, value)
        if role == Qt.ItemDataRole.EditRole:
            return display_text(run.name) if col.key == "name" else _format_cell(col.kind, value)
        if role == SORT_ROLE:
            return _sort_key(col.kind, value)
        if role == RUN_ID_ROLE:
            return run.id
        if role == Qt.ItemDataRole.TextAlignmentRole and col.kind in ("number", "lr", "int", "percent",
                                                                      "duration"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if col.key == "status" and role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            colors = STATUS_COLORS.get(run.status)
            if colors is None:
                return None
            return QColor(colors[0] if role == Qt.ItemDataRole.BackgroundRole else colors[1])
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(run, col)
        return None

    def _tooltip(self, run: RunInfo, col: Column) -> str | None:
        if col.key == "name":
            lines = [f"Run {run.id}: {display_text(run.name)}"]
            if getattr(run, "tags", None):
                lines.append("Tags: " + display_text(", ".join(run.tags)))
            if run.notes:
                # Notes are multi-line text typed by the user: keep their line breaks.
                lines.append("Notes: " + "\n".join(display_text(ln) for ln in run.notes.splitlines()))
            return "\n".join(lines)
        if col.key == "status" and run.error:
            return "\n".join(display_text(ln) for ln in run.error.splitlines())
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid() and index.column() == NAME_COLUMN:
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != NAME_COLUMN or role != Qt.ItemDataRole.EditRole:
            return False
        name = str(value).strip()
        run = self._runs[index.row()]
        # The editor shows the name escaped (display_text): accepted unchanged, it is no rename.
        if not name or name in (run.name, display_text(run.name)):
            return False
        # The store is the source of truth: the panel renames there and refreshes this row.
        self.rename_requested.emit(run.id, name)
        return True


class RunsSortFilterProxyModel(QSortFilterProxyModel):
    """Sorts by value (numbers as numbers, missing last) and filters on several columns.

    Every word of the filter text must occur in the name, tags, model, data set, optimizer,
    schedule or status of a run (case-insensitive).
    """

    FILTER_KEYS = ("name", "tags", "model", "dataset", "optimizer", "schedule", "status")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._words: list[str] = []
        self.setSortRole(SORT_ROLE)

    def set_filter_text(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9: invalidateFilter() is deprecated
            self.beginFilterChange()
            self._words = text.lower().split()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._words = text.lower().split()
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._words:
            return True
        model = self.sourceModel()
        if not isinstance(model, RunsTableModel):
            return True
        run = model.run_at(source_row)
        parts = []
        for key in self.FILTER_KEYS:
            value = getattr(run, key, None)
            if value:
                parts.append(" ".join(value) if key == "tags" else str(value))
        haystack = " ".join(parts).lower()
        return all(word in haystack for word in self._words)

    def lessThan(self, left: Index, right: Index) -> bool:
        a = left.data(SORT_ROLE)
        b = right.data(SORT_ROLE)
        if a is None or b is None:
            return super().lessThan(left, right)
        if a == b:  # stable-ish: fall back to the run id
            return bool(left.data(RUN_ID_ROLE) < right.data(RUN_ID_ROLE))
        return bool(a < b)
