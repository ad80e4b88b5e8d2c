"""Compare's "Groups" tab (issue 13): the compared runs grouped, one mean line and band per group.

W&B and Aim group runs and draw each group's mean with a band; TensorBoard has no bands. Here the
runs shown in Compare are grouped by "same config except seed" (the default: the seeds of one
configuration become one curve) or by one chosen parameter (the parameters that differ between the
shown runs are offered), and each group is drawn as its mean curve with a band of the user's
choice: mean ± std, min–max or the interquartile range. The statistics are
:func:`lrstudio.core.grouping.band` (numpy, tested without Qt): at each step over the runs that
recorded a finite value there, so a diverged seed leaves the band where it diverged.

Colours are per group, not per run (a group is one thing to follow), and follow the runs as Curves
colours them (:func:`group_colors`): a group of one run has that run's colour. Like the "LR range tests" tab, this tab is attached to a
:class:`~lrstudio.gui.compare.widget.CompareWidget` (:func:`attach`, fed by ``runs_shown``) and
reads its own series, only while it is the visible tab (a hidden tab marks itself stale and
redraws when shown), so the curves tab's loading is untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from lrstudio.core.compare import MISSING, differing_params, flatten_config
from lrstudio.core.errors import LrstudioError
from lrstudio.core.grouping import Band, RunGroup, band, group_runs, telling_keys
from lrstudio.gui.palette import PALETTE, run_color_hex
from lrstudio.gui.plots.factory import make_plot

__all__ = ["BAND_CHOICES", "CURVE_CHOICES", "EXCEPT_SEED", "GroupView", "attach", "group_color", "group_colors"]

#: The "Group by" entry for "same config except seed".
EXCEPT_SEED = ""
#: (title, series key) of the curves a group can show.
CURVE_CHOICES = (("Validation loss", "val/loss"), ("Training loss", "train/loss"))
#: (title, Band.bounds kind).
BAND_CHOICES = (("mean ± std", "std"), ("min – max", "minmax"), ("interquartile range", "iqr"))
_BAND_ALPHA = 50
_NOT_GROUPED = {"seed", "name", "schema_version"}
_HINT = "Select runs in the runs table: runs that differ only in their seed are drawn as one mean line with a band."


def group_color(index: int) -> QColor:
    """The colour of the ``index``-th group (a new QColor: callers may change its alpha)."""
    return QColor(PALETTE[index % len(PALETTE)])


class GroupView(QWidget):
    """The compared runs grouped: a mean line and a band per group (see the module docstring).

    After :meth:`show_runs`, ``groups`` holds the :class:`~lrstudio.core.grouping.RunGroup` s,
    ``bands`` their :class:`~lrstudio.core.grouping.Band` s (same order) and ``mean_items`` /
    ``band_items`` the drawn plot items.
    """

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.run_ids: list[int] = []
        self.groups: list[RunGroup] = []
        self.bands: list[Band] = []
        self.mean_items: list[pg.PlotDataItem] = []
        self.band_items: list[pg.FillBetweenItem] = []
        self._items: list[Any] = []
        self._stale = False
        self._error = ""

        self.group_combo = QComboBox()
        self.group_combo.setObjectName("groupByCombo")
        self.group_combo.setToolTip("Runs whose configurations are equal but for the seed form one group; "
                                    "or group by one parameter that differs between the compared runs")
        self.group_combo.addItem("Same config except seed", EXCEPT_SEED)
        self.curve_combo = QComboBox()
        for title, key in CURVE_CHOICES:
            self.curve_combo.addItem(title, key)
        self.band_combo = QComboBox()
        self.band_combo.setObjectName("bandCombo")
        for title, kind in BAND_CHOICES:
            self.band_combo.addItem(title, kind)
        self.band_combo.setToolTip("What the shaded band around each group's mean shows, at each step, over the "
                                   "group's runs that have a finite value there (std: population, ddof=0)")
        self.log_check = QCheckBox("Log loss")
        self.log_check.setChecked(True)
        for combo in (self.group_combo, self.curve_combo, self.band_combo):
            combo.currentIndexChanged.connect(lambda _i: self.redraw())
        self.log_check.toggled.connect(lambda _on: self.redraw())

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Group by"))
        row.addWidget(self.group_combo, 1)
        row.addSpacing(12)
        row.addWidget(self.curve_combo)
        row.addSpacing(12)
        row.addWidget(QLabel("Band"))
        row.addWidget(self.band_combo)
        row.addWidget(self.log_check)
        row.addStretch(0)

        self.plot = make_plot(title="Groups: mean and band", y_label="loss", grid=(True, True),
                              legend={"offset": (-10, 10)})
        self.plot.setObjectName("groupPlot")
        self.hint = QLabel(_HINT)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setProperty("role", "placeholder")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.hint)
        layout.addWidget(self.plot, 1)
        self.plot.hide()

    # -- public API ------------------------------------------------------------------------------
    def set_store(self, store: Any) -> None:
        self.store = store
        self.show_runs([])

    def set_grouping(self, path: str) -> None:
        """Group by ``path`` (a dotted config key offered in the combo) or by EXCEPT_SEED."""
        i = self.group_combo.findData(path)
        if i < 0:
            raise ValueError(f"cannot group by {path!r}: not a parameter that differs between the compared runs")
        self.group_combo.setCurrentIndex(i)

    def set_band(self, kind: str) -> None:
        self.band_combo.setCurrentIndex(self.band_combo.findData(kind))

    def set_curve(self, key: str) -> None:
        self.curve_combo.setCurrentIndex(self.curve_combo.findData(key))

    def show_runs(self, run_ids: Sequence[int]) -> None:
        """Group these runs (drawn now if the tab is visible, else when it is shown)."""
        self.run_ids = [int(i) for i in run_ids]
        if self.isVisible():
            self.redraw()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:  # Qt API name
        super().showEvent(event)
        if self._stale:
            self.redraw()

    # -- drawing ---------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Re-read the runs, group them and draw every group."""
        self._stale = False
        self._error = ""
        pi = self.plot.getPlotItem()
        for item in self._items:
            pi.removeItem(item)
        self._items.clear()
        self.mean_items.clear()
        self.band_items.clear()
        self.groups, self.bands = [], []
        if pi.legend is not None:
            pi.legend.clear()
        infos = self._infos()
        self._offer_params(infos)
        key = str(self.curve_combo.currentData())
        by = str(self.group_combo.currentData() or "")
        log = self.log_check.isChecked()
        pi.setLogMode(x=False, y=log)
        pi.setLabel("left", self.curve_combo.currentText() + (" (log scale)" if log else ""))
        if infos:
            try:
                series = self.store.load_many([r.id for r in infos], keys=[key], columns=("step", "value"))
            except LrstudioError as exc:
                self._error = f"Cannot load the runs: {exc}"
                infos = []
            else:
                groups = _labelled(group_runs(infos, by=[by] if by else None), {r.id: r for r in infos})
                for g, color in zip(groups, group_colors(groups), strict=True):
                    curves = [series[rid][key] for rid in g.run_ids if key in series.get(rid, {})]
                    if not curves:
                        continue
                    b = band(curves)
                    self.groups.append(g)
                    self.bands.append(b)
                    self._draw(color, g, b, log)
        shown = bool(self.groups)
        if self._error:
            self.hint.setText(self._error)
        elif infos:
            self.hint.setText(f"None of the compared runs recorded {self.curve_combo.currentText().lower()}.")
        else:
            self.hint.setText(_HINT)
        self.hint.setVisible(not shown)
        self.plot.setVisible(shown)
        if shown:
            pi.enableAutoRange()

    def _infos(self) -> list[Any]:
        if self.store is None or not self.run_ids:
            return []
        try:
            found = {r.id: r for r in self.store.list_runs(run_ids=self.run_ids)}
        except LrstudioError as exc:
            self._error = f"Cannot load the runs: {exc}"
            return []
        return [found[i] for i in self.run_ids if i in found]

    def _offer_params(self, infos: Sequence[Any]) -> None:
        """The "Group by" entries: except-seed, then the parameters that differ between the runs."""
        current = self.group_combo.currentData()
        params = [p for p in differing_params([r.config_dict for r in infos])
                  if p.split(".", 1)[0] not in _NOT_GROUPED]
        offered = [self.group_combo.itemData(i) for i in range(1, self.group_combo.count())]
        if offered == params:
            return
        self.group_combo.blockSignals(True)
        while self.group_combo.count() > 1:
            self.group_combo.removeItem(1)
        for p in params:
            self.group_combo.addItem(p, p)
        i = self.group_combo.findData(current)
        self.group_combo.setCurrentIndex(max(i, 0))
        self.group_combo.blockSignals(False)

    def _draw(self, color: QColor, group: RunGroup, b: Band, log: bool) -> None:
        pi = self.plot.getPlotItem()
        ok = b.count > 0
        x, mean = b.step[ok].astype(float), b.mean[ok]
        lo, hi = (a[ok] for a in b.bounds(str(self.band_combo.currentData())))
        if log:  # band edges are not plot items: the plot's log mode does not reach them
            floor = np.where(mean > 0, mean, np.nan) * 1e-3
            lo = np.log10(np.maximum(lo, floor))
            hi = np.log10(np.where(hi > 0, hi, np.nan))
            keep = np.isfinite(lo) & np.isfinite(hi)
        else:
            keep = np.isfinite(lo) & np.isfinite(hi)
        if keep.any() and len(group.run_ids) > 1:
            fill_color = QColor(color)
            fill_color.setAlpha(_BAND_ALPHA)
            c_lo = pg.PlotCurveItem(x[keep], lo[keep])
            c_hi = pg.PlotCurveItem(x[keep], hi[keep])
            fill = pg.FillBetweenItem(c_lo, c_hi, brush=pg.mkBrush(fill_color))
            fill.setZValue(-10)
            pi.addItem(fill)
            self._items.append(fill)
            self.band_items.append(fill)
        line = pg.PlotDataItem(x, mean, pen=pg.mkPen(color, width=2), name=group.label)
        line.setToolTip(f"{group.label}: runs {', '.join(f'#{i}' for i in group.run_ids)}")
        pi.addItem(line)
        self._items.append(line)
        self.mean_items.append(line)


def _labelled(groups: list[RunGroup], infos: dict[int, Any]) -> list[RunGroup]:
    """Groups of "same config except seed" named by what differs between them (``lr=0.1 momentum=0.9``)
    rather than the generic model/optimizer/LR line, when something does: the keys that tell the
    groups apart first (:func:`lrstudio.core.grouping.telling_keys`: the keys that split the groups
    most evenly), at most four."""
    if len(groups) < 2 or any(g.params for g in groups):
        return groups
    keys = [k for k in telling_keys([[infos[i].config_dict for i in g.run_ids] for g in groups])
            if k.split(".", 1)[0] not in _NOT_GROUPED]
    if not keys:
        return groups
    flats = [flatten_config(infos[g.run_ids[0]].config_dict) for g in groups]
    out = []
    for g, flat in zip(groups, flats, strict=True):
        # Keys this group's runs lack are left out (they read "batch=None"); a registry entry's
        # name is called by its owner ("optimizer=adam", not "name=adam").
        # The first four keys the group has a value for, so that a group does not show fewer
        # because another group's keys came first.
        present = [k for k in keys if flat.get(k, MISSING) not in (MISSING, None)]
        text = " ".join(f"{_key_title(k)}={_fmt(flat[k])}" for k in present[:4]) or "(others unset)"
        out.append(replace(g, label=f"{text}{' …' if len(present) > 4 else ''} (n={len(g.run_ids)})"))
    return out


def _key_title(key: str) -> str:
    """``optimizer.params.momentum`` -> ``momentum``; ``optimizer.name`` -> ``optimizer``."""
    parts = key.split(".")
    return parts[-2] if parts[-1] == "name" and len(parts) > 1 else parts[-1]


def group_colors(groups: Sequence[RunGroup]) -> list[QColor]:
    """A colour per group that follows its runs, as Curves colours them (``palette.run_color``):
    a group takes the colour of its first run whose colour no earlier group took (a group of one
    run has that run's colour; adding a run to the comparison does not recolour the others); the
    palette's first free colour when all of them are taken."""
    taken: set[str] = set()
    out = []
    for g in groups:
        hexes = [run_color_hex(rid) for rid in g.run_ids]
        pick = next((h for h in hexes if h not in taken), None)
        if pick is None:
            pick = next((h for h in PALETTE if h not in taken), hexes[0] if hexes else PALETTE[0])
        taken.add(pick)
        out.append(QColor(pick))
    return out


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def attach(view: Any) -> GroupView:
    """Add the "Groups" tab to a CompareWidget ``view``, fed by its ``runs_shown``."""
    groups = GroupView(view.store())
    view.views.addTab(groups, "Groups")
    view.views.setTabToolTip(view.views.count() - 1,
                             "The compared runs grouped (same config except seed, or by a parameter): "
                             "each group's mean with a band")
    view.runs_shown.connect(groups.show_runs)
    view.groups = groups
    return groups
