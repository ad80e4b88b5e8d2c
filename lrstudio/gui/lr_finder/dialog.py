"""The Find LR dialog: run an LR range test on the form's configuration and pick a suggestion.

Top: the test's options (range, updates, seeds, spacing, convention) with Run and Stop and a
progress bar. Middle: smoothed loss against LR on a log-x axis, each seed's curve growing live;
when the test ends, the median curve over seeds with its min-max band and a labelled marker for
every rule's suggestion. Bottom: the suggestions table (rule, LR, loss, seed spread, reliable)
with a "Use" button per rule. Clicking a marker or a Use button emits ``lr_chosen(lr, rule)``;
the main window puts the LR into the form.

The test is a stored run of kind ``lr_range_test`` (:mod:`lrstudio.services.range_test_run`),
run by :class:`~lrstudio.gui.lr_finder.worker.RangeTestRunner` off the GUI thread. The curves
come from :class:`~lrstudio.services.range_test_run.LiveRangeTest` (Qt-free); this module only
draws them. Closing the dialog during a test stops it and waits for its thread.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import RunSummary
from lrstudio.core.lr_finder import CONVENTIONS, DEFAULTS, MODES, SUGGESTERS, RangeTestOptions, RuleResult
from lrstudio.core.params import ParamError
from lrstudio.gui.dialogs import errors
from lrstudio.gui.lr_finder.worker import RangeTestRunner
from lrstudio.gui.plots.factory import PIN_COLORS, TITLE_COLOR, TRAIN_COLOR, make_plot, white
from lrstudio.services.range_test_run import LiveRangeTest, suggestions_of

__all__ = ["RULE_TITLES", "LrFinderDialog"]

RULE_TITLES = {
    "valley": "valley (fastai)",
    "slide": "slide (fastai)",
    "minimum": "minimum/10 (fastai)",
    "steep": "steep (fastai)",
    "torch_lr_finder_steepest": "steepest (torch-lr-finder)",
    "lightning_steepest": "steepest (Lightning)",
}
SEED_COLOR = "#9bbbd6"
_RULE_COLOR = dict(zip(SUGGESTERS, PIN_COLORS, strict=False))


def _short_title(rule: str) -> str:
    """A rule's title on the plot: the table's words without the source (the colour and the
    table say which), so that close labels stay short: ``steepest (Lightning)`` -> as is when two
    rules share a word, else ``valley``."""
    title = RULE_TITLES.get(rule, rule)
    word = title.split(" (", 1)[0]
    clash = sum(1 for t in RULE_TITLES.values() if t.split(" (", 1)[0] == word) > 1
    return title if clash else word


def _fmt(v: float | None, spec: str = ".3g") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-" if v is None else str(v)
    return format(v, spec)


class LrFinderDialog(QDialog):
    """Find LR for ``config`` (the form's configuration), stored in ``store``."""

    lr_chosen = Signal(float, str)  # LR, rule name
    test_finished = Signal(object)  # RunSummary (or None when the test failed)

    def __init__(self, config: RunConfig, store: Any, db_url: str, parent: QWidget | None = None,
                 options: RangeTestOptions | None = None, use_process: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("lrFinderDialog")
        self.setWindowTitle("Find LR — LR range test")
        self.config = config
        self.runner = RangeTestRunner(store, db_url, self, use_process=use_process)
        self.live = LiveRangeTest()
        self.suggestions: tuple[RuleResult, ...] = ()
        self.default_rule = "valley"
        opts = options or RangeTestOptions()

        # -- options row
        self.start_edit = QLineEdit(_fmt(opts.start_lr if opts.start_lr is not None else 1e-7, "g"))
        self.start_edit.setObjectName("rt_start_lr")
        self.end_edit = QLineEdit(_fmt(opts.end_lr if opts.end_lr is not None else 10.0, "g"))
        self.end_edit.setObjectName("rt_end_lr")
        for edit in (self.start_edit, self.end_edit):  # room for "1e-07" beside the labels
            edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance("1e-07") + 16)
        self.num_it_spin = QSpinBox()
        self.num_it_spin.setObjectName("rt_num_it")
        self.num_it_spin.setRange(6, 100_000)
        self.num_it_spin.setValue(opts.num_it or 100)
        self.seeds_spin = QSpinBox()
        self.seeds_spin.setObjectName("rt_seeds")
        self.seeds_spin.setRange(1, 100)
        self.seeds_spin.setValue(opts.seeds)
        self.mode_combo = QComboBox()
        self.mode_combo.setObjectName("rt_mode")
        self.mode_combo.addItems(list(MODES))
        self.mode_combo.setCurrentText(opts.mode)
        self.convention_combo = QComboBox()
        self.convention_combo.setObjectName("rt_convention")
        self.convention_combo.addItems(list(CONVENTIONS))
        self.convention_combo.setCurrentText(opts.convention)
        self.convention_combo.currentTextChanged.connect(self._on_convention_changed)
        for w, tip in ((self.start_edit, "First LR of the sweep"), (self.end_edit, "Last LR of the sweep"),
                       (self.num_it_spin, "Updates per seed"),
                       (self.seeds_spin, "Repetitions with seeds seed, seed+1, ...: the band shows how much "
                                         "to trust a suggestion"),
                       (self.mode_combo, "LR spacing: exponential (fastai's) or linear"),
                       (self.convention_combo, "Whose LR positions, smoothing and stop rule: fastai (default), "
                                               "torch-lr-finder or Lightning")):
            w.setToolTip(tip)
        self.run_button = QPushButton("Run test")
        self.run_button.setObjectName("rt_run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start_test)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("rt_stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_test)
        opts_row = QHBoxLayout()
        for label, w in (("From", self.start_edit), ("to", self.end_edit), ("Updates", self.num_it_spin),
                         ("Seeds", self.seeds_spin), ("Spacing", self.mode_combo),
                         ("Convention", self.convention_combo)):
            opts_row.addWidget(QLabel(label))
            opts_row.addWidget(w)
        opts_row.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setObjectName("rt_progress")
        self.progress.setTextVisible(True)
        self.status = QLabel("Runs on fresh copies of the form's model and optimizer; your next training "
                             "is unchanged.")
        self.status.setObjectName("rt_status")
        self.status.setProperty("role", "hint")
        self.status.setWordWrap(True)

        # -- plot
        self.plot = make_plot(title="Smoothed loss against learning rate", y_label="smoothed loss",
                              x_label="learning rate (log scale)", grid=(True, True),
                              legend={"offset": (10, 10)})  # top left: the diverging tail is top right
        self.plot.setObjectName("rt_plot")
        pi = self.plot.getPlotItem()
        pi.setLogMode(x=True, y=False)
        self.seed_curves: dict[int, pg.PlotDataItem] = {}
        self.median_curve = pg.PlotDataItem(pen=pg.mkPen(TRAIN_COLOR, width=2), name="median over seeds")
        # PlotCurveItems (a PlotDataItem without a pen has no path to fill between).
        self._band_lo = pg.PlotCurveItem()
        self._band_hi = pg.PlotCurveItem()
        self.band_fill = pg.FillBetweenItem(self._band_lo, self._band_hi, brush=pg.mkBrush(0, 114, 178, 50))
        self.markers: dict[str, pg.PlotDataItem] = {}
        self.marker_labels: dict[str, pg.TextItem] = {}
        self._marker_lr: dict[str, float] = {}
        # Labels are placed in pixels: place them again once the range or the size settles.
        self._declutter = QTimer(self)
        self._declutter.setSingleShot(True)
        self._declutter.setInterval(0)
        self._declutter.timeout.connect(self.declutter_labels)
        pi.vb.sigRangeChanged.connect(lambda *_a: self._declutter.start())
        pi.vb.sigResized.connect(lambda *_a: self._declutter.start())

        # -- suggestions table
        self.table = QTableWidget(0, 6)
        self.table.setObjectName("rt_suggestions")
        self.table.setHorizontalHeaderLabels(["Rule", "LR", "Loss", "Seed spread", "Reliable", ""])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)  # Use buttons keep their size in a wide dialog
        self.use_buttons: dict[str, QPushButton] = {}

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(opts_row)
        bar_row = QHBoxLayout()
        bar_row.addWidget(self.progress, 1)
        bar_row.addWidget(self.run_button)  # here, not after the options: with their labels the row
        bar_row.addWidget(self.stop_button)  # passed 900 px (the dialog grew to 946)
        layout.addLayout(bar_row)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 3)
        layout.addWidget(self.table, 2)
        layout.addWidget(buttons)
        self.resize(900, 680)

        self.runner.progressed.connect(self._on_progressed)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self._redraw = QTimer(self)
        self._redraw.setInterval(40)  # at most 25 redraws a second (STYLE section 5)
        self._redraw.setSingleShot(True)
        self._redraw.timeout.connect(self._draw_live)
        self._on_convention_changed(opts.convention)

    # -- options ----------------------------------------------------------------------------------
    def _on_convention_changed(self, convention: str) -> None:
        d = DEFAULTS.get(convention)
        if d is None or self.runner.is_running():
            return
        start = d.start_lr if d.start_lr is not None else self.config.lr
        self.start_edit.setText(_fmt(start, "g"))
        self.end_edit.setText(_fmt(d.end_lr, "g"))
        if not self.seed_curves:  # the empty plot spans what the test will sweep (not pyqtgraph's 1..10)
            vb = self.plot.getPlotItem().getViewBox()
            vb.setXRange(math.log10(start), math.log10(d.end_lr), padding=0.02)
            vb.enableAutoRange(axis="x", enable=True)  # the curves, once drawn, take over

    def options(self) -> RangeTestOptions:
        """The options shown; raises :class:`ParamError` naming a field that is not a number."""
        values = []
        for name, edit in (("start_lr", self.start_edit), ("end_lr", self.end_edit)):
            try:
                values.append(float(edit.text().strip()))
            except ValueError:
                raise ParamError(name, edit.text(), "a finite number > 0", "LR range test") from None
        return RangeTestOptions(start_lr=values[0], end_lr=values[1], num_it=self.num_it_spin.value(),
                                mode=self.mode_combo.currentText(), convention=self.convention_combo.currentText(),
                                seeds=self.seeds_spin.value())

    # -- running ----------------------------------------------------------------------------------
    def start_test(self) -> int | None:
        """Start the test with the options shown; the run id, or None when it could not start."""
        if self.runner.is_running():
            return None
        try:
            opts = self.options()
            run_id = self.runner.start(self.config, opts)
        except LrstudioError as exc:
            errors.show_error(self, exc, context="The range test could not start.")
            return None
        self._clear()
        self.default_rule = DEFAULTS[opts.convention].suggester
        self.progress.setRange(0, opts.seeds * (opts.num_it or 100))
        self.progress.setValue(0)
        self.status.setText(f"Run {run_id}: sweeping the LR…")
        self._set_running(True)
        return run_id

    def stop_test(self) -> None:
        if self.runner.is_running():
            self.runner.stop()
            self.stop_button.setEnabled(False)
            self.status.setText("Stopping after this update…")

    def is_running(self) -> bool:
        return self.runner.is_running()

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for w in (self.start_edit, self.end_edit, self.num_it_spin, self.seeds_spin, self.mode_combo,
                  self.convention_combo):
            w.setEnabled(not running)

    def _clear(self) -> None:
        self.live = LiveRangeTest()
        self.suggestions = ()
        pi = self.plot.getPlotItem()
        for item in {id(i): i for i in [*self.seed_curves.values(), *self.markers.values(),
                                         *self.marker_labels.values()]}.values():
            pi.removeItem(item)
        for item in (self.median_curve, self.band_fill):
            if item.scene() is not None:
                pi.removeItem(item)
        self.seed_curves.clear()
        self.markers.clear()
        self.marker_labels.clear()
        self._marker_lr.clear()
        self.table.setRowCount(0)
        self.use_buttons.clear()

    def _on_progressed(self, batch: Any) -> None:
        self.live.feed(batch)
        self.progress.setValue(min(self.live.done, self.progress.maximum()))
        if not self._redraw.isActive():
            self._redraw.start()

    def _draw_live(self) -> None:
        pi = self.plot.getPlotItem()
        for k in self.live.seeds:
            lrs, sm = self.live.seed_curve(k)
            curve = self.seed_curves.get(k)
            if curve is None:
                curve = pg.PlotDataItem(pen=pg.mkPen(SEED_COLOR, width=1),
                                        name="each seed" if not self.seed_curves else None)
                pi.addItem(curve)
                self.seed_curves[k] = curve
            ok = np.isfinite(sm)
            curve.setData(lrs[ok], sm[ok])

    def _on_finished(self, summary: RunSummary) -> None:
        self._set_running(False)
        self._draw_live()
        self._draw_result(summary)
        done = {"completed": "Done", "stopped": "Stopped"}.get(summary.status, summary.status)
        if summary.status == "failed":
            self.status.setText(f"The range test failed: {summary.error}")
        else:
            pick = next((r for r in self.suggestions if r.name == self.default_rule), None)
            hint = (f" Suggested LR ({RULE_TITLES.get(self.default_rule, self.default_rule)}): {_fmt(pick.lr)}."
                    if pick is not None and pick.lr is not None else "")
            self.status.setText(f"{done}: run {self.runner.run_id}, {self.live.done} updates.{hint} "
                                "Click a marker or Use to put an LR into the form.")
        self.test_finished.emit(summary)

    def _on_failed(self, exc: Exception) -> None:
        self._set_running(False)
        self.status.setText(f"The range test failed: {exc}")
        errors.show_error(self, exc, context="The range test failed.")
        self.test_finished.emit(None)

    # -- the result -------------------------------------------------------------------------------
    def _draw_result(self, summary: RunSummary) -> None:
        pi = self.plot.getPlotItem()
        band = self.live.band
        if band is not None:
            lrs, median, lo, hi = band
            ok = np.isfinite(median) & np.isfinite(lo) & np.isfinite(hi)
            # The band's curves are not items of the plot, so the plot's log-x mode does not reach
            # them: give them log10(LR) themselves.
            self._band_lo.setData(np.log10(lrs[ok]), lo[ok])
            self._band_hi.setData(np.log10(lrs[ok]), hi[ok])
            self.median_curve.setData(lrs[ok], median[ok])
            if len(self.live.seeds) > 1:
                pi.addItem(self.band_fill)
            pi.addItem(self.median_curve)
            finite = median[ok]
            if finite.size:  # the divergent tail must not squash the valley
                top = float(min(finite.max(), 4 * finite.min() if finite.min() > 0 else finite.max()))
                bottom = float(min(finite.min(), lo[ok].min()))
                pad = 0.05 * (top - bottom or 1.0)
                pi.setYRange(bottom - pad, top + pad)
        self.suggestions = suggestions_of(summary)
        self.table.setRowCount(len(self.suggestions))
        for row, r in enumerate(self.suggestions):
            title = RULE_TITLES.get(r.name, r.name) + ("  (default)" if r.name == self.default_rule else "")
            spread = "-" if math.isnan(r.spread) else f"×{r.spread:.2f}"
            reliable = "yes" if r.reliable else "no"
            for col, text in enumerate((title, _fmt(r.lr), _fmt(r.loss, ".4g"), spread, reliable)):
                item = QTableWidgetItem(text)
                if col == 0 and r.reason:
                    item.setToolTip(r.reason)
                if col == 4 and not r.reliable:
                    item.setToolTip("The seeds' suggestions disagree by more than a factor of 3"
                                    if r.lr is not None else r.reason)
                self.table.setItem(row, col, item)
            if r.lr is None:
                continue
            lr = float(r.lr)
            button = QPushButton(f"Use {_fmt(lr)}")
            button.setObjectName(f"use_{r.name}")
            button.clicked.connect(lambda _=False, lr=lr, name=r.name: self.choose(lr, name))
            self.table.setCellWidget(row, 5, button)
            self.use_buttons[r.name] = button
            same = next((n for n, m in self.markers.items() if self._marker_lr[n] == lr), None)
            if same is not None:  # rules that agree share one marker and one label
                self.markers[r.name] = self.markers[same]
                self.marker_labels[r.name] = label = self.marker_labels[same]
                self._marker_lr[r.name] = lr
                label.setText(label.toPlainText().rsplit(" ", 1)[0] + f", {_short_title(r.name)} {_fmt(lr)}")
                continue
            if r.loss is not None and math.isfinite(r.loss):
                color = _RULE_COLOR.get(r.name, TITLE_COLOR)
                # A PlotDataItem takes the plot's log-x mode itself (x given as the LR).
                marker = pg.PlotDataItem([lr], [r.loss], pen=None, symbol="o", symbolSize=11,
                                         symbolPen=pg.mkPen("k"), symbolBrush=pg.mkBrush(color))
                marker.setToolTip(f"{RULE_TITLES.get(r.name, r.name)}: {_fmt(lr)} (click to use)")
                marker.sigPointsClicked.connect(lambda *_a, lr=lr, name=r.name: self.choose(lr, name))
                marker.setZValue(10)  # over the labels: a marker stays visible and clickable
                pi.addItem(marker)
                self.markers[r.name] = marker
                # Labels right of their marker, or left of it near the right edge (not clipped).
                lx = np.log10(band[0]) if band is not None else np.array([math.log10(lr)])
                right = (math.log10(lr) - lx.min()) > 0.7 * (lx.max() - lx.min())
                # Dark text on a white box edged in the rule's colour: yellow or sky-blue text on the
                # white plot read at 1.2-2.3 to 1 (WCAG asks 4.5).
                label = pg.TextItem(f"{_short_title(r.name)} {_fmt(lr)}", color=TITLE_COLOR, fill=pg.mkBrush(*white(150)),
                                    border=pg.mkPen(color, width=1.5), anchor=(1, 1) if right else (0, 1))
                label.setPos(math.log10(lr), r.loss)
                pi.addItem(label)
                self.marker_labels[r.name] = label
                self._marker_lr[r.name] = lr
        self.table.resizeColumnsToContents()
        self.declutter_labels()

    def declutter_labels(self) -> None:
        """Move labels that would cover one another: each label, in LR order, takes the first of
        above-its-marker, below it, then further up in steps of its height, where it overlaps no
        label placed before it (valley and minimum, steep and slide sat on one another). Run
        again when the plot's range or size changes (positions are in pixels)."""
        labels = list({id(lab): lab for lab in self.marker_labels.values()}.values())
        labels.sort(key=lambda lab: lab.pos().x())
        placed: list[Any] = []
        for label in labels:
            ax = label.anchor.x()
            for ay in (1.0, 0.0, 2.2, -1.2, 3.4, -2.4, 4.6):
                label.setAnchor((ax, ay))
                rect = label.sceneBoundingRect()
                if not any(rect.intersects(other) for other in placed):
                    break
            placed.append(label.sceneBoundingRect())

    def choose(self, lr: float, rule: str) -> None:
        """Put ``lr`` (the suggestion of ``rule``) into the form: ``lr_chosen``."""
        self.status.setText(f"Learning rate {_fmt(lr)} ({RULE_TITLES.get(rule, rule)}) put into the form.")
        self.lr_chosen.emit(float(lr), rule)

    # -- closing ----------------------------------------------------------------------------------
    def done(self, result: int) -> None:
        if self.runner.is_running() and not self.runner.shutdown():
            errors.show_error(self, "The range test did not stop; try closing again.")
            return
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.runner.is_running() and not self.runner.shutdown():
            event.ignore()
            return
        super().closeEvent(event)


def open_lr_finder(window: Any) -> LrFinderDialog | None:
    """Open Find LR on the main window's form configuration; the dialog, or None (and why, in the
    status bar) when a test cannot start now. Chosen LRs go into the form; the runs table is
    refreshed when a test ends."""
    bar = window.statusBar()
    if window.controller.is_running():
        bar.showMessage("Stop the training run before a range test.", 5000)
        return None
    if window.store is None:
        return None
    if not window.config_panel.is_valid():
        bar.showMessage("Fix the marked fields first.", 5000)
        return None
    old = getattr(window, "lr_finder", None)
    if old is not None and old.isVisible():
        old.raise_()
        return old
    # Where training runs (the training child, or a thread when the preference says so), so does the test.
    dlg = LrFinderDialog(window.config_panel.config(), window.store, window.db_url, window,
                         use_process=window.controller.uses_process())

    def use(lr: float, rule: str) -> None:
        where = window.config_panel.use_lr(lr)
        dlg.status.setText(f"Put into the form, from {RULE_TITLES.get(rule, rule)}: {where}.")
        bar.showMessage(f"Range test ({RULE_TITLES.get(rule, rule)}): {where} in the form.", 6000)

    dlg.lr_chosen.connect(use)
    dlg.test_finished.connect(lambda _summary: window.runs_panel.refresh())
    dlg.setModal(True)
    dlg.show()
    window.lr_finder = dlg
    return dlg
