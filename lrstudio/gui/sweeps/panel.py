"""The Sweeps tab's panel (issue 13): create a sweep from the Configure form, run it in worker
processes, follow its trials, and read its results.

Layout::

    ┌ Sweeps ────────────────────────┐┌ progress · ETA ─────────────────────────────────────┐
    │ [experiment ▾] Resume Cancel   ││ status line                     [Apply this config] │
    ├ New sweep from the form ───────┤│ trial list: trial, status, parameters, metric ± std │
    │ name, method, trials, seeds,   │├ Live curves | Parameter vs metric | Parallel coord. ┤
    │ parallel, metric, Optuna       ││ plots (gui/sweeps/views.py)                         │
    │ space table + Add/Remove       ││                                                     │
    │ [Create and start]             ││                                                     │
    └────────────────────────────────┘└─────────────────────────────────────────────────────┘

What it reads: the experiment (``Store.get_experiment``), its runs (``Store.list_trials``) and
:func:`~lrstudio.core.sweep.summarise_trials`, the same summaries ``lrstudio sweep show`` prints;
:func:`~lrstudio.gui.sweeps.space.trial_rows` adds the trials not started yet as ``queued``. It is
refreshed when the app's database poll (``Store.data_version``, once a second) sees a change, after
every finished run of the sweep this window runs, and when the user picks another experiment;
the live curves re-read only the runs still running (finished ones are cached). Running the sweep
is :class:`~lrstudio.gui.sweeps.runner.SweepController`'s (owned by the page, which outlives this
panel's lazy construction).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lrstudio.core.compare import format_duration, format_number
from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.series import peak_decimate
from lrstudio.core.smoothing import debiased_ema
from lrstudio.core.sweep import (
    TRIAL_DONE_STATUSES,
    UNRANKED_STATUSES,
    ExperimentInfo,
    ExperimentSpec,
    TrialResult,
    summarise_trials,
)
from lrstudio.gui.compare.controls import DEFAULT_SMOOTHING
from lrstudio.gui.sweeps.editor import SweepEditor
from lrstudio.gui.sweeps.reader import BackgroundReader
from lrstudio.gui.sweeps.runner import SweepController
from lrstudio.gui.sweeps.space import (
    TrialRow,
    config_of_trial,
    metric_points,
    parallel_axes,
    planned_points,
    short_path,
    trial_rows,
)
from lrstudio.gui.sweeps.views import (
    LiveCurves,
    MetricView,
    ParallelView,
    band_kinds,
    incomplete_note,
    metric_key,
    metric_title,
    param_title,
)

__all__ = ["SweepPanel"]

_FIXED_COLS = ("Trial", "Status")
_TAIL_COLS = ("Metric (mean)", "± std", "Seeds", "Runs")
_TABLE_ROWS = 5  # the trial rows the list shows at least (the plots below get the rest)
#: The live training-loss curves are smoothed as Compare smooths by default.
LIVE_SMOOTHING = DEFAULT_SMOOTHING
#: Buckets a live curve is thinned to (two points each: the envelope stays exact).
LIVE_POINTS = 1000
LIVE_RETRY_MS = 200
_LIVE_KEYS = (("Training loss", "train/loss"), ("Validation loss", "val/loss"))


class SweepPanel(QWidget):
    """See the module docstring. ``base_config()`` gives the Configure form's config (None when the
    form is not valid); ``apply_config(config)`` puts a trial's config into the form."""

    experiment_created = Signal(int)

    def __init__(self, store: Any, controller: SweepController, base_config: Callable[[], RunConfig | None],
                 apply_config: Callable[[RunConfig], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.controller = controller
        self._base_config = base_config
        self._apply_config = apply_config
        self.experiment: ExperimentInfo | None = None
        self.spec: ExperimentSpec | None = None
        self.results: list[TrialResult] = []
        self.rows: list[TrialRow] = []
        self.progress: Any = None  # the last SweepProgress of the sweep this window runs
        # Live curves: (run id, key) -> (steps, values as drawn); the runs read after they ended.
        self._live_curves: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = {}
        self._final_curves: set[tuple[int, str]] = set()
        self._reader = BackgroundReader(self)
        self._reader.loaded.connect(self._on_loaded)
        self._reader.failed.connect(self._on_read_failed)
        self._runs: list[Any] = []
        self._exp_sig: Any = None  # what the experiment list and the trial list last showed
        self._runs_sig: Any = None

        # -- left: experiments and the new-sweep form --
        self.experiment_combo = QComboBox()
        self.experiment_combo.setObjectName("experimentCombo")
        self.experiment_combo.currentIndexChanged.connect(lambda _i: self._on_experiment_chosen())
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Run the trials of this sweep that did not finish (stopped, interrupted, "
                                      "never started); an Optuna search keeps its history")
        self.resume_button.clicked.connect(self.resume)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the sweep: running trials end 'stopped', queued ones never start")
        self.cancel_button.clicked.connect(self.cancel)
        exp_box = QGroupBox("Sweeps")
        el = QVBoxLayout(exp_box)
        el.addWidget(self.experiment_combo)
        row = QHBoxLayout()
        row.addWidget(self.resume_button)
        row.addWidget(self.cancel_button)
        el.addLayout(row)

        self.editor = SweepEditor()
        self.create_button = QPushButton("Create and start")
        self.create_button.setObjectName("createSweepButton")
        self.create_button.setToolTip("A sweep of the Configure form's run over this space, trained in worker "
                                      "processes")
        self.create_button.clicked.connect(self.create_and_start)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setProperty("role", "error")
        self.message.hide()
        new_box = QGroupBox("New sweep of the Configure form's run")
        nl = QVBoxLayout(new_box)
        nl.addWidget(self.editor, 1)
        nl.addWidget(self.message)
        nl.addWidget(self.create_button)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(exp_box)
        ll.addWidget(new_box, 1)
        left.setMinimumWidth(360)

        # -- right: progress, trials, views --
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("sweepProgress")
        self.progress_bar.setFormat("%v of %m runs")
        self.status_label = QLabel("No sweep yet: create one from the Configure form's run.")
        self.status_label.setObjectName("sweepStatus")
        self.status_label.setWordWrap(True)
        self.table = QTableWidget(0, 0)
        self.table.setObjectName("trialTable")
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.apply_button = QPushButton("Apply this config")
        self.apply_button.setObjectName("applyTrialButton")
        self.apply_button.setToolTip("Put the selected trial's run config (its first seed) into the Configure form")
        self.apply_button.clicked.connect(self.apply_selected)
        trials = QWidget()
        tl = QVBoxLayout(trials)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.table, 1)

        self.live = LiveCurves()
        self.live_key_combo = QComboBox()
        for title, key in _LIVE_KEYS:
            self.live_key_combo.addItem(title, key)
        self.live_key_combo.currentIndexChanged.connect(lambda _i: self._show_views())
        live_page = _page(self.live.plot, QLabel("Curve"), self.live_key_combo)
        self.metric_view = MetricView()
        self.param_combo = QComboBox()
        self.param_combo.setObjectName("sweptParamCombo")
        self.param_combo.currentIndexChanged.connect(lambda _i: self._show_views())
        self.band_combo = QComboBox()
        for title, kind in band_kinds():
            self.band_combo.addItem(title, kind)
        self.band_combo.currentIndexChanged.connect(lambda _i: self._show_views())
        self.metric_key = QLabel()
        self.metric_key.setProperty("role", "note")
        # Its text must not widen the window (at 1366x768 it did): cut, the whole in the tooltip.
        self.metric_key.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.metric_key.setMinimumWidth(0)
        metric_page = _page(self.metric_view.plot, QLabel("Parameter"), self.param_combo, QLabel("Seed band"),
                            self.band_combo, self.metric_key)
        self.parallel = ParallelView()
        self.parallel_hint = QLabel()
        self.parallel_hint.setProperty("role", "note")
        # As the metric key: a long hint must not set the page's minimum width (at 1366x768 it
        # squeezed the Configure dock from 410 to 301 px for the rest of the session).
        self.parallel_hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.parallel_hint.setMinimumWidth(0)
        parallel_page = _page(self.parallel.plot, self.parallel_hint)
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.views.addTab(live_page, "Live curves")
        self.views.addTab(metric_page, "Parameter vs metric")
        self.views.addTab(parallel_page, "Parallel coordinates")
        self.views.currentChanged.connect(lambda _i: self._show_views())

        right_split = QSplitter(Qt.Orientation.Vertical)
        right_split.addWidget(trials)
        right_split.addWidget(self.views)
        # The plots get the height the trial list does not need: at 4:5 (and the progress bar and
        # the status line on rows of their own) they were 144 px high at 1366x768. The list keeps
        # five rows there (its minimum), the rest of a taller window is shared 1:2.
        right_split.setStretchFactor(0, 1)
        right_split.setStretchFactor(1, 2)
        right_split.setChildrenCollapsible(False)
        # Rows as tall as the text needs (Qt's default adds ~8 px a row).
        row_h = self.table.fontMetrics().height() + 6
        self.table.verticalHeader().setDefaultSectionSize(row_h)
        self.table.setMinimumHeight(_TABLE_ROWS * row_h + row_h + 24)  # the header, a scroll bar
        right_split.setSizes([self.table.minimumHeight(), 3 * self.table.minimumHeight()])
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        status_row = QHBoxLayout()
        self.progress_bar.setFixedWidth(170)
        status_row.addWidget(self.progress_bar, 0, Qt.AlignmentFlag.AlignTop)
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.apply_button, 0, Qt.AlignmentFlag.AlignTop)
        rl.addLayout(status_row)
        rl.addWidget(right_split, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        split.setSizes([390, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)

        controller.progressed.connect(self._on_progress)
        controller.running_changed.connect(lambda _on: self.refresh())
        controller.failed.connect(self._on_failed)
        self.set_base(self._base_config())
        self.refresh()

    def showEvent(self, event: Any) -> None:  # Qt API name
        """Shown again: the sweep may have moved while the tab was hidden (the poll skips hidden)."""
        super().showEvent(event)
        self.refresh()

    # -- the form and the store ----------------------------------------------------------------
    def set_base(self, config: RunConfig | None) -> None:
        """Offer the parameters of the Configure form's run (called when the form changes)."""
        if config is not None:
            self.editor.set_base(config)

    def set_store(self, store: Any) -> None:
        self.store = store
        self.experiment = self.spec = None
        self._forget_live()
        self._exp_sig = self._runs_sig = None
        self.refresh()

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # -- actions --------------------------------------------------------------------------------
    def create_and_start(self) -> int | None:
        """Store a sweep of the form's run over the editor's space and start it; its id, or None
        (after saying why: nothing is stored then)."""
        self._say("")
        base = self._base_config()
        if base is None:
            self._say("Fix the marked fields of the Configure form first: the sweep starts from its run.")
            return None
        if self.store is None:
            self._say("No database is open.")
            return None
        if self.controller.is_running():
            self._say("A sweep is running: cancel it or wait until it ends.")
            return None
        try:
            spec = self.editor.spec(base)
            eid = self.store.create_experiment(spec, spec.name or None)
        except LrstudioError as exc:
            self._say(str(exc))
            return None
        self.experiment_created.emit(eid)
        self._start(eid)
        return eid

    def resume(self) -> None:
        if self.experiment is not None:
            self._say("")
            self._start(self.experiment.id)

    def cancel(self) -> None:
        if self.controller.is_running():
            self.controller.cancel()
            self.status_label.setText("Cancelling: running trials stop after their current step…")
            self.cancel_button.setEnabled(False)

    def _start(self, eid: int) -> None:
        try:
            self.controller.start(eid, self.editor.parallel_spin.value())
        except LrstudioError as exc:
            self._say(str(exc))
            return
        self.progress = None
        self.refresh(select=eid)

    def apply_selected(self) -> bool:
        """Put the selected trial's config into the Configure form."""
        row = self.selected_row()
        if row is None or self.spec is None:
            return False
        try:
            cfg = config_of_trial(self.spec, row)
        except LrstudioError as exc:
            self._say(str(exc))
            return False
        return self._apply_config(cfg)

    def selected_row(self) -> TrialRow | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        return self.rows[min(rows)] if rows and min(rows) < len(self.rows) else None

    def select_trial(self, trial: int) -> None:
        for i, r in enumerate(self.rows):
            if r.trial == trial:
                self.table.selectRow(i)
                return
        raise ValueError(f"no trial {trial} in the list")

    # -- refreshing -------------------------------------------------------------------------------
    def _on_progress(self, progress: Any) -> None:
        """A run of this window's sweep ended: re-read in the background (as the poll does; read
        on the GUI thread, with the tables rebuilt, it was the longest frame while the other
        trials trained, ``bench/bench_sweep_gui.py``)."""
        self.progress = progress
        if not self._reader.request(self._read_all()) and self.isVisible():
            QTimer.singleShot(LIVE_RETRY_MS, lambda: self._reader.request(self._read_all()))

    def _on_failed(self, exc: BaseException) -> None:
        self._say(f"The sweep stopped with an error: {exc}")

    def database_changed(self) -> None:
        """The app's database poll saw a change: re-read the shown sweep in the background
        (:class:`~lrstudio.gui.sweeps.reader.BackgroundReader`) and apply what came back."""
        if self.isVisible() and self.store is not None:
            self._reader.request(self._read_all())

    def _read_all(self) -> Callable[[], Any]:
        """A function for the background thread: the experiments, the shown one's runs and (live
        tab shown) the live curves to read."""
        store, current = self.store, (self.experiment.id if self.experiment is not None else None)
        key = str(self.live_key_combo.currentData())
        live = self.views.currentIndex() == 0
        final_known = set(self._final_curves)

        def read() -> Any:
            exps = sorted(store.list_experiments(), key=lambda e: e.id, reverse=True)
            cur = current if current is not None else (exps[0].id if exps else None)
            runs = store.list_trials(cur) if any(e.id == cur for e in exps) else []
            return exps, cur, runs, key, (_read_curves(store, runs, key, final_known) if live else {})

        return read

    def _on_loaded(self, generation: int, result: Any) -> None:
        if result[0] is None:
            self._on_live_only(generation, result)
        else:
            self._on_read(generation, result)

    def _on_read(self, generation: int, result: Any) -> None:
        if generation != self._reader.generation or self.store is None:
            return
        exps, current, runs, key, curves = result
        if self.experiment is not None and current != self.experiment.id:
            return  # the user chose another sweep meanwhile
        self._apply(exps, current, runs, live=False)
        self._take_curves(key, curves)
        if self.views.currentIndex() == 0:
            self._draw_live()

    def _on_read_failed(self, generation: int, exc: object) -> None:
        if generation == self._reader.generation:
            self.status_label.setText(f"Cannot read the sweeps: {exc}")

    def _experiments(self) -> list[ExperimentInfo]:
        if self.store is None:
            return []
        return sorted(self.store.list_experiments(), key=lambda e: e.id, reverse=True)

    def _on_experiment_chosen(self) -> None:
        eid = self.experiment_combo.currentData()
        if eid is not None and (self.experiment is None or self.experiment.id != eid):
            self._forget_live()
            self._runs_sig = None
            self.refresh(select=int(eid))

    def refresh(self, select: int | None = None) -> None:
        """Re-read the experiments and the chosen one's runs; redraw only what changed.

        Called every second while a sweep writes (the database poll): the experiment list, the
        trial list and the results views are rebuilt only when what they show changed (a run's
        status, a finished run's metric, the experiment's status; a running trial's metric so far
        is shown as of the last such change); the progress line and the live curves of
        running trials are updated each time (``bench/bench_sweep_gui.py``: a full rebuild each
        second cost 20-35 ms of the GUI thread on the loaded 2-core machine).
        """
        self._reader.cancel()  # a background read started before this one is stale
        try:
            exps = self._experiments()
        except LrstudioError as exc:
            self.status_label.setText(f"Cannot read the sweeps: {exc}")
            return
        current = select if select is not None else (self.experiment.id if self.experiment is not None else None)
        if current is None and exps:
            current = exps[0].id
        try:
            runs = self.store.list_trials(current) if any(e.id == current for e in exps) else []
        except LrstudioError as exc:
            self.status_label.setText(f"Cannot read sweep #{current}: {exc}")
            return
        self._apply(exps, current, runs, live=True)

    def _apply(self, exps: list[ExperimentInfo], current: int | None, runs: list[Any], live: bool) -> None:
        """Show these experiments and the runs of ``current``; rebuild only what changed.
        ``live``: also read the live curves (a background read brings its own)."""
        exp_sig = (current, tuple((e.id, e.name, e.method, e.status) for e in exps))
        if exp_sig != self._exp_sig:
            self._exp_sig = exp_sig
            self.experiment_combo.blockSignals(True)
            self.experiment_combo.clear()
            for e in exps:
                # Short (the method is in the line beside the progress bar): in the 360 px column
                # "#1 windsor sgd: lr, momentum · random · completed" was cut; the whole in the tooltip.
                self.experiment_combo.addItem(f"#{e.id} {e.name} · {e.status}", e.id)
                self.experiment_combo.setItemData(self.experiment_combo.count() - 1,
                                                  f"#{e.id} {e.name} · {e.method} · {e.status}",
                                                  Qt.ItemDataRole.ToolTipRole)
            if current is not None:
                self.experiment_combo.setCurrentIndex(max(0, self.experiment_combo.findData(current)))
            self.experiment_combo.setToolTip(
                str(self.experiment_combo.itemData(self.experiment_combo.currentIndex(), Qt.ItemDataRole.ToolTipRole)
                    or ""))
            self.experiment_combo.blockSignals(False)
        info = next((e for e in exps if e.id == current), None)
        self.experiment = info
        if info is None:
            self.spec, self.results, self.rows, self._runs, self._runs_sig = None, [], [], [], None
            self._fill_table()
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
            self._update_buttons()
            return
        try:
            self.spec = info.spec()
        except LrstudioError as exc:
            self.status_label.setText(f"Cannot read sweep #{info.id}: {exc}")
            return
        self._runs = runs
        metric = self.spec.metric
        runs_sig = (info.id, info.status, len(info.state.get("trials", {}) or {}),
                    tuple((r.id, r.status, getattr(r, metric) if r.status != "running" else None) for r in runs))
        if runs_sig != self._runs_sig:
            self._runs_sig = runs_sig
            self.results = summarise_trials(self.spec, runs)
            self.rows = trial_rows(self.spec, self.results, runs, planned_points(self.spec, info.state),
                                   sweep_running=info.status == "running")
            self._fill_table()
            self._offer_params()
            self._show_views(live)
        elif live and self.views.currentIndex() == 0:
            self._show_live()  # running trials grew
        self._show_status(info, runs)
        self._update_buttons()

    def _show_status(self, info: ExperimentInfo, runs: list[Any]) -> None:
        from lrstudio.core.sweep import latest_runs_per_seed

        assert self.spec is not None
        total = self.spec.n_trials() * len(self.spec.seeds)
        latest = latest_runs_per_seed(runs)
        done = sum(1 for r in latest.values() if r.status in TRIAL_DONE_STATUSES)
        running = sum(1 for r in latest.values() if r.status == "running")
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r.status] = counts.get(r.status, 0) + 1
        self.progress_bar.setRange(0, max(1, total))
        self.progress_bar.setValue(min(done, total))
        own = self.controller.is_running() and self.controller.experiment_id == info.id
        eta = ""
        if own and self.progress is not None and self.progress.eta_s is not None:
            eta = f" · ETA {format_duration(self.progress.eta_s)}"
        elif own:
            eta = " · ETA after the first run"
        parts = [f"{counts[s]} {s}" for s in ("queued", "running", "completed", "incomplete", "pruned", "failed",
                                              "diverged", "stopped", "interrupted") if counts.get(s)]
        trials_text = ", ".join(parts) if parts else "no trials yet"
        text = (f"Sweep #{info.id} {info.name} ({info.method}, {info.status}): {done} of {total} runs done, "
                f"{running} running{eta} · trials: {trials_text}")
        if text != self.status_label.text():
            self.status_label.setText(text)

    def _fill_table(self) -> None:
        paths = list(self.spec.space) if self.spec is not None else []
        cols = [*_FIXED_COLS, *(short_path(p) for p in paths), *_TAIL_COLS]
        self.table.setColumnCount(len(cols))
        self.table.setHorizontalHeaderLabels(cols)
        self.table.horizontalHeaderItem(0).setToolTip(
            "Trials counted from 1; the database and lrstudio sweep show number them from 0 (trial n here is "
            "their n - 1)")
        for c, p in enumerate(paths, len(_FIXED_COLS)):
            self.table.horizontalHeaderItem(c).setToolTip(p)
        selected = self.selected_row()
        mean_col = len(_FIXED_COLS) + len(paths)
        if self.spec is not None:  # the header stays short; it says which metric on hover
            title = metric_title(self.spec.metric)
            self.table.horizontalHeaderItem(mean_col).setToolTip(f"Mean of the seeds' {title}")
            self.table.horizontalHeaderItem(mean_col + 1).setToolTip(f"Standard deviation of the seeds' {title}")
        self.table.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            values: list[Any] = [r.trial + 1, r.status, *(r.params.get(p) for p in paths),
                                 r.mean, r.std, f"{r.seeds_done}/{r.seeds}", " ".join(f"#{x}" for x in r.run_ids)]
            for c, v in enumerate(values):
                text = format_number(v) if isinstance(v, float) else ("" if v is None else str(v))
                item = QTableWidgetItem(text)
                if c == mean_col and v is None and r.partial_mean is not None:
                    # an incomplete trial: what its completed seeds read, said to be partial
                    item.setText(f"({format_number(r.partial_mean)}) {r.seeds_done} of {r.seeds} seeds")
                    item.setForeground(self.table.palette().placeholderText())
                    item.setToolTip(f"Trial incomplete: {r.seeds_done} of its {r.seeds} seeds completed. "
                                    "(x) is their mean, not the trial's: it is not ranked and not drawn in "
                                    "the results plots (as in lrstudio sweep show). Resume the sweep to finish it.")
                elif c == mean_col and v is None and r.status in UNRANKED_STATUSES:
                    item.setText("not ranked")
                    item.setToolTip(f"A seed of this trial {r.status}: its partial metric is not averaged and "
                                    "the trial is never the best (as in lrstudio sweep show)")
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    item.setData(Qt.ItemDataRole.UserRole, v)
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, c, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        if selected is not None:
            for i, r in enumerate(self.rows):
                if r.trial == selected.trial:
                    self.table.selectRow(i)

    def _offer_params(self) -> None:
        paths = list(self.spec.space) if self.spec is not None else []
        if [self.param_combo.itemData(i) for i in range(self.param_combo.count())] == paths:
            return
        self.param_combo.blockSignals(True)
        self.param_combo.clear()
        for p in paths:
            self.param_combo.addItem(p, p)
        self.param_combo.blockSignals(False)

    def _update_buttons(self) -> None:
        running = self.controller.is_running()
        own = running and self.experiment is not None and self.controller.experiment_id == self.experiment.id
        self.cancel_button.setEnabled(own)
        self.resume_button.setEnabled(not running and self.experiment is not None
                                      and self.experiment.status != "completed")
        self.create_button.setEnabled(not running and self.store is not None)
        self.apply_button.setEnabled(self.selected_row() is not None)

    # -- views ------------------------------------------------------------------------------------
    def _show_views(self, live: bool = True) -> None:
        if self.spec is None:
            return
        i = self.views.currentIndex()
        if i == 0:
            if live:
                self._show_live()
            else:
                self._draw_live()
        elif i == 1:
            self.show_metric_view()
        else:
            self.show_parallel()

    def show_metric_view(self) -> None:
        if self.spec is None:
            return
        path = self.param_combo.currentData() or next(iter(self.spec.space))
        band = str(self.band_combo.currentData())
        pts = metric_points(self.spec, self.results, str(path), band)
        connect = len(self.spec.space) == 1
        self.metric_view.show(pts, param_title(self.spec.base, str(path)), metric_title(self.spec.metric),
                              connect=connect)
        self.metric_key.setText(metric_key(pts, band, connect))
        self.metric_key.setToolTip(self.metric_key.text())

    def show_parallel(self) -> None:
        if self.spec is None:
            return
        axes = parallel_axes(self.spec, self.results)
        self.parallel.show(axes)
        n = len(self.spec.space)
        self.parallel_hint.setText(f"A line per trial; colour: its rank by {metric_title(self.spec.metric)} "
                                   "(dark = lowest)"
                                   + (" · says most with three or more swept parameters" if n < 3 else "")
                                   + incomplete_note(axes.incomplete))
        self.parallel_hint.setToolTip(self.parallel_hint.text())

    def _show_live(self) -> None:
        """Draw the live curves from what is read, and read the running runs' points (and once
        each finished run's) in the background thread (see :meth:`database_changed`)."""
        key = str(self.live_key_combo.currentData())
        runs = self._runs
        if self.store is not None and any(r.status == "running" or (r.id, key) not in self._final_curves
                                          for r in runs):
            store, final_known = self.store, set(self._final_curves)
            if not self._reader.request(lambda: (None, None, None, key, _read_curves(store, runs, key, final_known))):
                QTimer.singleShot(LIVE_RETRY_MS, self._retry_live)  # busy: ask again shortly
        self._draw_live()

    def _retry_live(self) -> None:
        if self.views.currentIndex() == 0 and self.isVisible():
            self._show_live()

    def _forget_live(self) -> None:
        self._reader.cancel()
        self._live_curves.clear()
        self._final_curves.clear()

    def live_loading(self) -> bool:
        """Whether the background reader is busy (tests wait for it)."""
        return self._reader.is_busy()

    def _on_live_only(self, generation: int, result: Any) -> None:
        """A read of the live curves alone (from :meth:`_show_live`)."""
        if generation != self._reader.generation:
            return
        _exps, _cur, _runs, key, curves = result
        self._take_curves(key, curves)
        self._draw_live()

    def _take_curves(self, key: str, curves: dict[int, tuple[bool, np.ndarray, np.ndarray]]) -> None:
        for rid, (final, x, y) in curves.items():
            self._live_curves[(rid, key)] = (x, y)
            if final:
                self._final_curves.add((rid, key))

    def _draw_live(self) -> None:
        key = str(self.live_key_combo.currentData())
        empty = (np.empty(0), np.empty(0))
        curves: dict[int, tuple[int, bool, np.ndarray, np.ndarray]] = {}
        for r in self._runs:
            if r.trial is not None:
                x, y = self._live_curves.get((r.id, key), empty)
                curves[r.id] = (int(r.trial), r.status == "running", x, y)
        n_running = sum(1 for r in self._runs if r.status == "running")
        smooth = f" (smoothed {LIVE_SMOOTHING})" if key == "train/loss" else ""
        # Short: at 1366x768 the plot is ~490 px wide (every run of the sweep is drawn).
        title = f"{self.live_key_combo.currentText()}{smooth}" + (
            f" · {n_running} running, in front" if n_running else "")
        self.live.show(curves, title)


def _read_curves(store: Any, runs: list[Any], key: str,
                 final_known: set[tuple[int, str]]) -> dict[int, tuple[bool, np.ndarray, np.ndarray]]:
    """(Background thread.) The live curves to read: every running run's, and each ended run's
    once after it ended; smoothed and thinned here, off the GUI thread."""
    ids = [r.id for r in runs if r.trial is not None
           and (r.status == "running" or (r.id, key) not in final_known)]
    if not ids:
        return {}
    final = {r.id for r in runs if r.status != "running"}
    loaded = store.load_many(ids, keys=[key], columns=("step", "value"))
    return {rid: (rid in final, *_thinned(s[key].step, _smoothed(key, s[key].value)))
            for rid, s in loaded.items() if key in s}


def _thinned(steps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most ~2 * LIVE_POINTS points (each bucket's min and max, core.series.peak_decimate): a
    long run's path was rebuilt on the GUI thread at every update."""
    bucket = -(-values.size // LIVE_POINTS)
    return peak_decimate(steps, values, bucket) if bucket > 1 else (steps, values)


def _smoothed(key: str, values: np.ndarray) -> np.ndarray:
    """The training loss through Compare's default debiased EMA (minibatch noise hid the trend)."""
    if key != "train/loss" or values.size == 0:
        return values
    return np.asarray(debiased_ema(values, LIVE_SMOOTHING), dtype=float)


def _page(plot: Any, *controls: QWidget) -> QWidget:
    page = QWidget()
    lay = QVBoxLayout(page)
    lay.setContentsMargins(0, 4, 0, 0)
    row = QHBoxLayout()
    for w in controls:
        row.addWidget(w, 1 if w.sizePolicy().horizontalPolicy() == QSizePolicy.Policy.Ignored else 0)
    row.addStretch(0 if any(w.sizePolicy().horizontalPolicy() == QSizePolicy.Policy.Ignored for w in controls) else 1)
    lay.addLayout(row)
    lay.addWidget(plot, 1)
    return page

