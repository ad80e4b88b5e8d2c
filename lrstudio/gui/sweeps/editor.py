"""The "New sweep" form: the search space over the Configure form's parameters and the sweep's settings.

The space is a table, one row per searched parameter: its dotted path (offered from the form's
config by :func:`~lrstudio.gui.sweeps.space.declared_parameters`), a distribution (log-uniform,
uniform, integer range, integer range on a log scale, list of values), the range's low and high ends (or the values, comma
separated), and for a grid the number of values of a range. :meth:`SweepEditor.spec` turns the
form into a validated :class:`~lrstudio.core.sweep.ExperimentSpec` of a base config, or raises
the :class:`~lrstudio.core.params.ParamError` that names the field, the value and what is allowed
(the panel shows it; nothing is stored).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lrstudio.core.config import RunConfig
from lrstudio.core.params import ParamError
from lrstudio.core.sweep import METHODS, METRICS, PRUNERS, SAMPLERS, ExperimentSpec, metric_title
from lrstudio.gui.sweeps.space import SearchParam, declared_parameters, default_dimension, short_path

__all__ = ["DISTRIBUTION_TITLES", "SweepEditor"]

#: Distribution kind -> what the combo shows.
DISTRIBUTION_TITLES = {"log_uniform": "log-uniform", "uniform": "uniform", "int": "integer range",
                       "int_log": "integer (log)", "choice": "values"}
_INT_LOG = "int_log"  # the combo's name for {"int": [lo, hi], "log": true}
_COLS = ("Parameter", "Distribution", "Low / values", "High", "Grid n")
_METHOD_TITLES = {"grid": "Grid", "random": "Random", "optuna": "Optuna (Bayesian)"}


def _number_text(v: Any) -> str:
    return "" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))


class SweepEditor(QWidget):
    """The new-sweep form. ``set_base(config)`` offers that config's parameters; ``spec()`` builds."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._params: dict[str, SearchParam] = {}
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("(generated)")
        self.method_combo = QComboBox()
        for m in METHODS:
            self.method_combo.addItem(_METHOD_TITLES.get(m, m), m)
        self.method_combo.setCurrentIndex(self.method_combo.findData("grid"))
        self.trials_spin = QSpinBox()
        self.trials_spin.setRange(0, 100_000)
        self.trials_spin.setSpecialValueText("all grid points")
        self.trials_spin.setToolTip("Random and Optuna: how many trials. Grid: at most this many (0: every point).")
        self.seeds_edit = QLineEdit("0")
        self.seeds_edit.setToolTip("The seeds each trial runs with, comma separated (e.g. 0, 1, 2): "
                                   "several seeds give each point a band")
        self.parallel_spin = QSpinBox()
        self.parallel_spin.setRange(1, 64)
        self.parallel_spin.setValue(2)
        self.parallel_spin.setToolTip("Trials trained at once, each in its own worker process")
        self.metric_combo = QComboBox()
        for i, (m, direction) in enumerate(METRICS.items()):
            better = "lower" if direction == "minimize" else "higher"
            self.metric_combo.addItem(f"{metric_title(m)} ({better} is better)", m)
            self.metric_combo.setItemData(i, f"{m} in a sweep spec and lrstudio sweep --metric",
                                          Qt.ItemDataRole.ToolTipRole)
        self.sampler_combo = QComboBox()
        for s in SAMPLERS:
            self.sampler_combo.addItem(s, s)
        self.prune_check = QCheckBox("Prune")
        self.prune_check.setToolTip("Stop unpromising trials at the end of an epoch by their validation loss "
                                    "(stored 'pruned')")
        self.pruner_combo = QComboBox()
        for p in PRUNERS:
            if p != "none":
                self.pruner_combo.addItem(p, p)

        self.table = QTableWidget(0, len(_COLS))
        self.table.setObjectName("sweepSpaceTable")
        self.table.setHorizontalHeaderLabels(list(_COLS))
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeaderItem(4).setToolTip("Grid: how many values of a range (log-spaced for "
                                                      "log-uniform); empty for values and integer ranges")
        self.table.setMinimumHeight(110)
        self.add_combo = QComboBox()
        self.add_combo.setToolTip("A parameter of the Configure form's run to search")
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(lambda: self.add_parameter(str(self.add_combo.currentData())))
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove_selected)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Name", self.name_edit)
        row = QHBoxLayout()
        row.addWidget(self.method_combo, 1)
        row.addWidget(self.trials_spin, 1)
        form.addRow("Method, trials", row)
        row = QHBoxLayout()
        row.addWidget(self.seeds_edit, 1)
        row.addWidget(self.parallel_spin)
        form.addRow("Seeds, parallel", row)
        form.addRow("Metric", self.metric_combo)
        row = QHBoxLayout()
        row.addWidget(self.sampler_combo, 1)
        row.addWidget(self.prune_check)
        row.addWidget(self.pruner_combo)
        form.addRow("Optuna", row)
        add_row = QHBoxLayout()
        add_row.addWidget(self.add_combo, 1)
        add_row.addWidget(self.add_button)
        add_row.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addLayout(add_row)
        self.method_combo.currentIndexChanged.connect(self._update_enabled)
        self.prune_check.toggled.connect(self._update_enabled)
        self._update_enabled()

    # -- the base config ---------------------------------------------------------------------
    def set_base(self, config: RunConfig) -> None:
        """Offer ``config``'s parameters; rows already in the table stay."""
        self._params = {p.path: p for p in declared_parameters(config)}
        self.add_combo.clear()
        for p in self._params.values():
            self.add_combo.addItem(f"{p.path}  ({p.title}: {_number_text(p.value)})", p.path)
        if self.table.rowCount() == 0:
            self.add_parameter("lr")

    def paths(self) -> list[str]:
        return [str(self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)) for r in range(self.table.rowCount())]

    def add_parameter(self, path: str, dimension: dict[str, Any] | None = None) -> None:
        """Add a row for ``path`` (its default range unless ``dimension`` is given)."""
        if path in self.paths():
            return
        param = self._params.get(path)
        if dimension is None:
            dimension = default_dimension(param) if param is not None else {"log_uniform": [1e-3, 1e-1]}
        r = self.table.rowCount()
        self.table.insertRow(r)
        item = QTableWidgetItem(short_path(path))
        item.setData(Qt.ItemDataRole.UserRole, path)
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        item.setToolTip(f"{path} ({param.title})" if param is not None else path)
        self.table.setItem(r, 0, item)
        combo = QComboBox()
        for kind, title in DISTRIBUTION_TITLES.items():
            combo.addItem(title, kind)
        self.table.setCellWidget(r, 1, combo)
        self.set_dimension(path, dimension)
        combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.changed.emit()

    def set_dimension(self, path: str, dimension: dict[str, Any]) -> None:
        """Show ``dimension`` (the JSON form of core.sweep) in ``path``'s row."""
        r = self.paths().index(path)
        kind = next(k for k in DISTRIBUTION_TITLES if k in dimension)
        combo = self.table.cellWidget(r, 1)
        assert isinstance(combo, QComboBox)
        combo.setCurrentIndex(combo.findData(_INT_LOG if kind == "int" and dimension.get("log") else kind))
        if kind == "choice":
            low, high = ", ".join(json.dumps(v) if isinstance(v, str) else _number_text(v)
                                  for v in dimension["choice"]), ""
        else:
            low, high = (_number_text(v) for v in dimension[kind])
        num = dimension.get("num")
        for c, text in ((2, low), (3, high), (4, "" if num is None else str(num))):
            self.table.setItem(r, c, QTableWidgetItem(text))

    def _remove_selected(self) -> None:
        for r in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(r)
        self.changed.emit()

    def _update_enabled(self) -> None:
        optuna = self.method_combo.currentData() == "optuna"
        for w in (self.sampler_combo, self.prune_check):
            w.setEnabled(optuna)
        self.pruner_combo.setEnabled(optuna and self.prune_check.isChecked())
        self.changed.emit()

    # -- building the spec --------------------------------------------------------------------
    def space(self) -> dict[str, Any]:
        """The search space as core.sweep's JSON form (ParamError on a malformed row)."""
        out: dict[str, Any] = {}
        for r in range(self.table.rowCount()):
            path = str(self.table.item(r, 0).data(Qt.ItemDataRole.UserRole))
            combo = self.table.cellWidget(r, 1)
            assert isinstance(combo, QComboBox)
            kind = str(combo.currentData())

            def cell(c: int, r: int = r) -> str:
                item = self.table.item(r, c)
                return item.text().strip() if item is not None else ""

            if kind == "choice":
                out[path] = {"choice": _values(path, cell(2))}
                continue
            lo, hi = (_number(path, text, "low" if c == 2 else "high") for c, text in ((2, cell(2)), (3, cell(3))))
            log = kind == _INT_LOG
            kind = "int" if log else kind
            dim: dict[str, Any] = {kind: [int(lo) if kind == "int" and lo == int(lo) else lo,
                                          int(hi) if kind == "int" and hi == int(hi) else hi]}
            if log:
                dim["log"] = True
            if cell(4):
                try:
                    dim["num"] = int(cell(4))
                except ValueError:
                    raise ParamError(f"{path}.num", cell(4), "a whole number of grid values", "sweep") from None
            out[path] = dim
        return out

    def seeds(self) -> list[int]:
        text = self.seeds_edit.text().replace(";", ",")
        try:
            return [int(s) for s in text.split(",") if s.strip()]
        except ValueError:
            raise ParamError("seeds", self.seeds_edit.text(),
                             "whole numbers separated by commas, e.g. 0, 1, 2", "sweep") from None

    def spec(self, base: RunConfig) -> ExperimentSpec:
        """The validated spec of a sweep of ``base`` (ParamError when the form is not one)."""
        trials = self.trials_spin.value() or None
        return ExperimentSpec(base=base, space=self.space(), method=str(self.method_combo.currentData()),
                              trials=trials, seeds=tuple(self.seeds()), metric=str(self.metric_combo.currentData()),
                              sampler=str(self.sampler_combo.currentData()),
                              prune=self.prune_check.isChecked() and self.method_combo.currentData() == "optuna",
                              pruner=str(self.pruner_combo.currentData()),
                              name=self.name_edit.text().strip()).validated()

    def set_method(self, method: str, trials: int = 0, seeds: Sequence[int] = (0,), parallel: int = 2) -> None:
        self.method_combo.setCurrentIndex(self.method_combo.findData(method))
        self.trials_spin.setValue(trials)
        self.seeds_edit.setText(", ".join(str(s) for s in seeds))
        self.parallel_spin.setValue(parallel)


def _number(path: str, text: str, end: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ParamError(f"{path}.{end}", text, f"a number for the range's {end} end", "sweep") from None


def _values(path: str, text: str) -> list[Any]:
    """Comma-separated values: numbers, true/false, or text (optimizer and schedule names)."""
    out: list[Any] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            out.append(json.loads(part))
        except ValueError:
            out.append(part)
    if not out:
        raise ParamError(path, text, "one or more values separated by commas", "sweep")
    return out
