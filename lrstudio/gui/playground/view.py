"""The Playground tab's view (issue 16): optimizers' trajectories on a test function, d2l's pictures.

Built by :class:`lrstudio.gui.playground.page.PlaygroundPage` the first time the tab is shown, so
opening the main window imports neither pyqtgraph nor torch for it.

Layout: the controls on the left (presets, one click each, with their text; the function; the
trajectory editor; the list of trajectories with their colours), the contour of a 2-D function
(or the curve of a 1-D one) with every trajectory overlaid in the middle, loss and LR against the
step on the right, and a step slider with play/pause below.

Life cycle: every change (a preset, the function, a trajectory added or removed, a click on the
contour that moves the start point) calls :meth:`PlaygroundView.recompute`, which asks
:mod:`lrstudio.services.playground` for the trajectories (the real torch optimizers, on the GUI
thread: 10 x 1,000 steps take a fraction of a second, ``bench/bench_playground.py``) and redraws.
The slider shows the iterates up to a step; play advances it on a ``QTimer`` whose lateness is
recorded in :attr:`PlaygroundView.timer_lateness_ms`. A diverged trajectory is drawn up to its last
iterate inside the bound box and marked there with a cross. "Save as run" stores each trajectory
as a run of kind ``playground`` and emits :attr:`PlaygroundView.runs_saved` with their ids.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lrstudio.core.errors import LrstudioError
from lrstudio.core.optimizers import OPTIMIZERS
from lrstudio.core.params import ParamError
from lrstudio.core.playground import (
    FUNCTIONS,
    MAX_TRAJECTORIES,
    PRESETS,
    FunctionInfo,
    PlaygroundError,
    Preset,
    Surface,
    TrajectorySpec,
    contour_grid,
    contour_levels,
    contour_segments,
    describe,
    resolve_function,
)
from lrstudio.gui.palette import PALETTE
from lrstudio.gui.plots.factory import DIVERGED_COLOR, HINT_LINE, TITLE_COLOR, make_plot

__all__ = ["PlaygroundView"]

CONTOUR_POINTS = 160
SHOWN_FACTOR = 2.5  # a diverged trajectory is drawn while inside this many domains about the centre
MAX_DOTS = 200  # trajectories up to this many steps get a dot per iterate
FRAME_MS = 33  # ~30 frames a second (STYLE.md section 5)
FRAMES_PER_PLAY = 150  # a play runs through the longest trajectory in about 5 s
CACHE_SIZE = 64  # trajectories kept for reuse (besides those shown)
# The tab computes on the GUI thread (~20 us per trajectory and step here, bench_playground.py):
# at most this many steps of all its trajectories together, and this many per trajectory; the CLI
# runs longer ones.
STEP_BUDGET = 100_000
MAX_TAB_STEPS = 10_000


def trajectory_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _parse_params(text: str) -> dict[str, Any]:
    """``momentum=0.5, nesterov=true`` -> a dict; values as JSON when they parse, else text (the
    optimizer's declarations convert text and say what is wrong)."""
    out: dict[str, Any] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise LrstudioError(f"optimizer parameters: {part.strip()[:40]!r} is not KEY=VALUE (e.g. momentum=0.5)")
        try:
            out[key.strip()] = json.loads(value.strip())
        except ValueError:
            out[key.strip()] = value.strip()
    return out


def _parse_schedule(text: str) -> Any:
    t = text.strip()
    if not t or t == "constant":
        return None
    if t.startswith("{"):
        try:
            return json.loads(t)
        except ValueError as exc:
            raise LrstudioError(f"schedule: not a JSON spec ({exc.msg}); give a name (cosine) or "
                                '{"name": ..., "params": {...}}') from None
    return {"name": t, "params": {}}


def _parse_numbers(text: str, what: str, example: str = "numbers separated by commas (e.g. -5, -2)"
                   ) -> tuple[float, ...]:
    try:
        return tuple(float(p) for p in text.replace(";", ",").split(",") if p.strip())
    except ValueError:
        raise LrstudioError(f"{what}: {text[:40]!r} is not {example}") from None


class _ColumnScrollArea(QScrollArea):
    """A scroll area for a column of wrapped text: its widget's layout is redone whenever the area
    is resized or shown. Without it the column kept the width of its first layout (299 px in a
    284 px viewport at 1400x900: the preset text was cut at the right; Qt 6 offscreen)."""

    def _relayout(self) -> None:
        w = self.widget()
        layout = w.layout() if w is not None else None
        if layout is not None and layout.geometry().width() != w.width():
            layout.invalidate()
            layout.activate()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._relayout()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._relayout()


def _cached(item: Any) -> None:
    """Paint ``item`` from a pixmap kept while it and the view do not change: an animation tick
    moves only the markers, and without the cache Qt redrew every curve and the contour's segments
    under them (~20 ms of CPU a tick instead of ~6, ``bench/bench_playground.py``)."""
    item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


@dataclass
class _Slot:
    """The plot items of one trajectory: its path on the surface, the cross where a diverged one
    stops being drawn, its loss and its LR against the step."""

    path: pg.PlotDataItem
    cross: pg.ScatterPlotItem
    loss: pg.PlotDataItem
    lr: pg.PlotDataItem


class PlaygroundView(QWidget):
    """The Playground tab's widgets (see the module docstring)."""

    runs_saved = Signal(object)  # list[int]: ids of the runs just stored
    recomputed = Signal()

    def __init__(self, store: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.function: FunctionInfo = FUNCTIONS["quad_ill"]
        self.surface: Surface = resolve_function("quad_ill")[1]
        self.specs: list[TrajectorySpec] = []
        self.trajectories: list[Any] = []
        self.preset: Preset | None = None
        self.timer_lateness_ms: list[float] = []
        self.last_compute_s = 0.0
        self._last_tick: float | None = None
        self._built_for: tuple[Any, ...] | None = None
        self._log_loss = False
        self._shown: list[int] = []
        self._pool: list[_Slot] = []  # the items of each trajectory, reused from one drawing to the next
        self._slots: list[_Slot] = []  # those of the trajectories drawn now
        self._xy: list[np.ndarray] = []  # where each trajectory's drawn iterates are
        self._marker_steps: list[int] = []  # the last drawn iterate of each
        self._loss_at: list[np.ndarray] = []
        self._legend_labels: list[str] = []
        self._box: tuple[tuple[float, float], ...] = self.function.domain  # the surface plot's range
        self._cache: dict[str, Any] = {}  # spec (as JSON) -> its trajectory on _cache_for's function
        self._cache_for: tuple[Any, ...] | None = None
        self._build()
        self.apply_preset("momentum")

    # -- building --------------------------------------------------------------------------------
    def _build(self) -> None:
        controls = QWidget()
        form = QVBoxLayout(controls)
        form.setContentsMargins(4, 4, 4, 4)
        form.addWidget(self._title("Presets (d2l chapter 12)"))
        self.preset_list = QListWidget()
        self.preset_list.setObjectName("playgroundPresets")
        for p in PRESETS.values():
            item = QListWidgetItem(p.title)
            item.setData(Qt.ItemDataRole.UserRole, p.name)
            item.setToolTip(p.text)
            self.preset_list.addItem(item)
        self.preset_list.setMaximumHeight(150)
        self.preset_list.itemClicked.connect(lambda item: self.apply_preset(item.data(Qt.ItemDataRole.UserRole)))
        form.addWidget(self.preset_list)
        self.preset_text = QLabel()
        self.preset_text.setWordWrap(True)
        self.preset_text.setProperty("role", "hint")
        form.addWidget(self.preset_text)

        form.addWidget(self._title("Function"))
        self.function_box = QComboBox()
        for f in FUNCTIONS.values():
            self.function_box.addItem(f.title, f.name)
        self.function_box.activated.connect(self._on_function_chosen)
        form.addWidget(self.function_box)
        self.expression = QLineEdit()
        self.expression.setPlaceholderText("expression of x (or x1, x2)")
        self.expression.editingFinished.connect(self._on_expression_edited)
        form.addWidget(self.expression)

        form.addWidget(self._title("Trajectory"))
        grid = QFormLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        self.optimizer_box = QComboBox()
        for info in OPTIMIZERS.values():
            self.optimizer_box.addItem(info.title, info.name)
        self.params_edit = QLineEdit()
        self.params_edit.setPlaceholderText("e.g. momentum=0.5")
        self.params_edit.setToolTip("Optimizer parameters as KEY=VALUE, comma separated; "
                                    "`lrstudio optimizers` lists them")
        self.lr_edit = QLineEdit("0.1")
        self.schedule_edit = QLineEdit()
        self.schedule_edit.setPlaceholderText("constant, or a name / JSON spec")
        self.start_edit = QLineEdit()
        self.start_edit.setToolTip("Start point; a click on the contour sets it for every trajectory")
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, MAX_TAB_STEPS)
        self.steps_spin.setValue(20)
        self.noise_spin = QDoubleSpinBox()
        self.noise_spin.setRange(0.0, 100.0)
        self.noise_spin.setDecimals(3)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        for label, w in (("Optimizer", self.optimizer_box), ("Parameters", self.params_edit), ("LR", self.lr_edit),
                         ("Schedule", self.schedule_edit), ("Start", self.start_edit), ("Steps", self.steps_spin),
                         ("Noise σ", self.noise_spin), ("Seed", self.seed_spin)):
            grid.addRow(label, w)
        form.addLayout(grid)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("Add a trajectory with these settings")
        self.add_button.clicked.connect(self._on_add)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._on_remove)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self._on_clear)
        for b in (self.add_button, self.remove_button, self.clear_button):
            buttons.addWidget(b)
        form.addLayout(buttons)
        self.trajectory_list = QListWidget()
        self.trajectory_list.setObjectName("playgroundTrajectories")
        self.trajectory_list.setMinimumHeight(90)
        form.addWidget(self.trajectory_list)
        self.save_button = QPushButton("Save as run")
        self.save_button.setToolTip("Store each trajectory as a run of kind 'playground' (runs table, Compare, CSV)")
        self.save_button.clicked.connect(self.save_runs)
        form.addWidget(self.save_button)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setProperty("role", "error")
        form.addWidget(self.message)
        form.addStretch(1)
        scroll = _ColumnScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        # the column wraps its text and shrinks its fields rather than scroll sideways at 1366x768
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # always on: a scroll bar that appears later narrows the viewport without re-wrapping the
        # text (the wrapped preset text was cut at the right edge at 1400x900)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        for box in (self.function_box, self.optimizer_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(8)
            box.setMinimumWidth(100)  # overrides the style's hint (~216 px), which the column cannot fit
        for w in (self.steps_spin, self.noise_spin, self.seed_spin, self.add_button, self.remove_button,
                  self.clear_button):
            w.setMinimumWidth(50)
        scroll.setMinimumWidth(250)
        scroll.setMaximumWidth(300)

        self.surface_plot = make_plot(title="", x_label="x1", y_label="x2", legend={"offset": (-5, 5)})
        self.surface_plot.setObjectName("playgroundSurface")
        pi = self.surface_plot.getPlotItem()
        pi.setDownsampling(auto=False)
        pi.setClipToView(False)
        self.image = pg.ImageItem()
        self.image.setOpacity(0.55)
        self.image.setZValue(-20)
        pi.addItem(self.image)
        self.contour = pg.PlotCurveItem(pen=pg.mkPen(HINT_LINE, width=1), connect="pairs")
        self.contour.setZValue(-10)
        pi.addItem(self.contour)
        _cached(self.image)
        _cached(self.contour)
        self.curve_1d = pg.PlotDataItem(pen=pg.mkPen(HINT_LINE, width=2))
        self.curve_1d.setZValue(-10)
        pi.addItem(self.curve_1d)
        self.start_marker = pg.ScatterPlotItem(symbol="+", size=14, pen=pg.mkPen(HINT_LINE, width=2))
        self.start_marker.setZValue(5)
        pi.addItem(self.start_marker)
        # where each trajectory is at the slider's step: one item for all, moved on each tick
        self.markers = pg.PlotDataItem(pen=None, symbol="o", symbolSize=11, symbolPen=pg.mkPen("w", width=1.5))
        self.markers.setZValue(10)
        pi.addItem(self.markers, ignoreBounds=True)  # moving markers never move the view
        self.surface_plot.scene().sigMouseClicked.connect(self._on_surface_clicked)

        self.loss_plot = make_plot(title="Loss", y_label="f(x)")
        self.lr_plot = make_plot(title="Learning rate", y_label="LR")
        self.loss_markers = pg.PlotDataItem(pen=None, symbol="o", symbolSize=7, symbolPen=None)
        self.loss_markers.setZValue(10)
        self.loss_plot.getPlotItem().addItem(self.loss_markers, ignoreBounds=True)
        self.step_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(HINT_LINE, width=1, style=Qt.PenStyle.DashLine))
        self.loss_plot.getPlotItem().addItem(self.step_line, ignoreBounds=True)
        self.lr_step_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(HINT_LINE, width=1, style=Qt.PenStyle.DashLine))
        self.lr_plot.getPlotItem().addItem(self.lr_step_line, ignoreBounds=True)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.loss_plot)
        right.addWidget(self.lr_plot)
        right.setSizes([300, 200])

        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("playgroundStep")
        self.slider.valueChanged.connect(self._show_step)
        self.step_label = QLabel()
        self.step_label.setMinimumWidth(90)
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._on_tick)

        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.surface_plot)
        plots.addWidget(right)
        plots.setStretchFactor(0, 5)
        plots.setStretchFactor(1, 2)
        bottom = QHBoxLayout()
        bottom.addWidget(self.play_button)
        bottom.addWidget(self.slider, 1)
        bottom.addWidget(self.step_label)
        centre = QVBoxLayout()
        centre.setContentsMargins(0, 0, 0, 0)
        centre.addWidget(plots, 1)
        centre.addLayout(bottom)
        layout = QHBoxLayout()
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        layout.addLayout(centre, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.addLayout(layout)
        scroll.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    def _say(self, text: str, role: str = "error") -> None:
        """A line under the controls: what is wrong (``error``) or what was done (``hint``)."""
        if self.message.property("role") != role:
            self.message.setProperty("role", role)
            self.message.style().polish(self.message)
        self.message.setText(text)

    @staticmethod
    def _title(text: str) -> QLabel:
        label = QLabel(text)
        label.setProperty("role", "part-title")
        return label

    # -- state changes -----------------------------------------------------------------------------
    def set_store(self, store: Any) -> None:
        self.store = store

    def apply_preset(self, name: str) -> None:
        """Show preset ``name``: its function, its trajectories and its text."""
        preset = PRESETS[name]
        self.preset = preset
        self._set_function(*resolve_function(preset.function))
        self.specs = list(preset.trajectories)
        self.preset_text.setText(f"{preset.title}: {preset.text}")
        self._fill_editor(self.specs[0])
        self.recompute()

    def set_function(self, name: str, expression: str | None = None) -> None:
        info, surface = resolve_function(name, expression)
        self._set_function(info, surface)
        self.preset = None
        self.preset_text.setText(info.doc)
        self.specs = [TrajectorySpec(s.optimizer, s.lr, info.start, s.steps, s.schedule, s.noise, s.seed, s.label)
                      for s in self.specs]
        self.start_edit.setText(", ".join(f"{v:g}" for v in info.start))
        self.recompute()

    def _set_function(self, info: FunctionInfo, surface: Surface) -> None:
        self.function, self.surface = info, surface
        self.function_box.setCurrentIndex(self.function_box.findData(info.name))
        self.expression.setText(info.formula)
        self.expression.setEnabled(info.user)
        self._built_for = None

    def set_start(self, start: Sequence[float]) -> None:
        """Move every trajectory's start point (a click on the contour does this)."""
        start_t = tuple(float(v) for v in start)
        self.start_edit.setText(", ".join(f"{v:.4g}" for v in start_t))
        self.specs = [TrajectorySpec(s.optimizer, s.lr, start_t, s.steps, s.schedule, s.noise, s.seed, s.label)
                      for s in self.specs]
        self.recompute()

    def editor_spec(self) -> TrajectorySpec:
        """The trajectory the editor describes (raises LrstudioError with what is wrong)."""
        lr = _parse_numbers(self.lr_edit.text(), "LR", "a number (e.g. 0.1)")
        if len(lr) != 1:
            raise LrstudioError("LR: give one number, e.g. 0.1")
        start = _parse_numbers(self.start_edit.text(), "Start") or self.function.start
        return TrajectorySpec({"name": self.optimizer_box.currentData(), "params": _parse_params(self.params_edit.text())},
                              lr[0], start, self.steps_spin.value(), _parse_schedule(self.schedule_edit.text()),
                              self.noise_spin.value(), self.seed_spin.value())

    def _fill_editor(self, spec: TrajectorySpec) -> None:
        opt = spec.optimizer if isinstance(spec.optimizer, dict) else {"name": spec.optimizer, "params": {}}
        self.optimizer_box.setCurrentIndex(self.optimizer_box.findData(opt["name"]))
        self.params_edit.setText(", ".join(f"{k}={json.dumps(v)}" for k, v in (opt.get("params") or {}).items()))
        self.lr_edit.setText(f"{spec.lr:g}")
        self.schedule_edit.setText(json.dumps(spec.schedule) if spec.schedule else "")
        self.schedule_edit.setCursorPosition(0)  # a long JSON spec shows its name, not its tail
        self.start_edit.setText(", ".join(f"{v:g}" for v in spec.start))
        self.steps_spin.setValue(spec.steps)
        self.noise_spin.setValue(spec.noise)
        self.seed_spin.setValue(spec.seed)

    def _on_function_chosen(self, index: int) -> None:
        try:
            self.set_function(self.function_box.itemData(index))
        except LrstudioError as exc:
            self._say(str(exc))

    def _on_expression_edited(self) -> None:
        if not self.function.user or self.expression.text() == self.function.formula:
            return
        try:
            info, surface = resolve_function(self.function.name, self.expression.text(),
                                             [list(d) for d in self.function.domain])
        except LrstudioError as exc:
            self._say(str(exc))
            return
        self._set_function(info, surface)
        self.recompute()

    def _on_add(self) -> None:
        try:
            spec = self.editor_spec()
        except LrstudioError as exc:
            self._say(str(exc))
            return
        self.specs.append(spec)
        if not self.recompute():
            self.specs.pop()

    def _on_remove(self) -> None:
        row = self.trajectory_list.currentRow()
        if 0 <= row < len(self.specs):
            del self.specs[row]
            self.recompute()

    def _on_clear(self) -> None:
        self.specs = []
        self.recompute()

    def _on_surface_clicked(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        vb = self.surface_plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p: QPointF = vb.mapSceneToView(event.scenePos())
        self.set_start((p.x(),) if self.function.dim == 1 else (p.x(), p.y()))
        event.accept()

    # -- computing and drawing ---------------------------------------------------------------------
    def recompute(self) -> bool:
        """Compute every trajectory and redraw; on bad input say what is wrong and keep the old
        picture. Returns whether it worked."""
        self._say("")
        from lrstudio.services.playground import compute  # torch: imported when the tab is first used

        if len(self.specs) > MAX_TRAJECTORIES:
            self._say(f"{len(self.specs)} trajectories: the tab shows at most {MAX_TRAJECTORIES} trajectories; "
                      "remove some first.")
            return False
        total = sum(int(s.steps) for s in self.specs if isinstance(s.steps, int))
        if total > STEP_BUDGET:
            self._say(f"{total} steps in all: the tab computes at most {STEP_BUDGET} steps of all its trajectories "
                      "together; use fewer steps, or `lrstudio playground` for longer runs.")
            return False
        t0 = time.perf_counter()
        # Trajectories are independent (computed together or alone, the iterates are the same bit
        # for bit: tests/trainer/test_playground_trajectories.py), so only those not computed
        # before on this function are: adding one to ten computes one.
        fkey = (self.function.name, self.function.formula, self.function.domain)
        if fkey != self._cache_for:
            self._cache.clear()
            self._cache_for = fkey
        keys = [json.dumps(s.to_dict(), sort_keys=True, default=repr) for s in self.specs]
        missing: dict[str, tuple[int, TrajectorySpec]] = {}  # key -> (its place in the list, spec)
        for i, (key, spec) in enumerate(zip(keys, self.specs)):
            if key not in self._cache and key not in missing:
                missing[key] = (i, spec)
        try:
            computed = compute(self.function, [spec for _, spec in missing.values()],
                               surface=self.surface) if missing else []
        except ParamError as exc:
            # "trajectory k" counts the trajectories computed now: name its place in the list
            place = exc.owner.split(" ")
            if len(place) == 2 and place[0] == "trajectory" and place[1].isdigit():
                at = list(missing.values())[int(place[1]) - 1][0]
                exc = PlaygroundError(exc.param, exc.value, exc.allowed, f"trajectory {at + 1}")
            self._say(str(exc))
            return False
        except LrstudioError as exc:
            self._say(str(exc))
            return False
        self._cache.update(zip(missing, computed))
        trajectories = [self._cache[key] for key in keys]
        for key in list(self._cache)[: max(0, len(self._cache) - CACHE_SIZE)]:
            if key not in keys:
                del self._cache[key]
        self.trajectories = trajectories
        self._shown = [self._shown_steps(t) for t in trajectories]
        self._box = self._view_box()
        self._draw_surface(self._box)
        self._draw_trajectories()
        self.last_compute_s = time.perf_counter() - t0
        self.recomputed.emit()
        return True

    def _view_box(self) -> tuple[tuple[float, float], ...]:
        """The function's domain, grown to show every drawn iterate (a diverged trajectory is
        drawn only inside :data:`SHOWN_FACTOR` domains, so the others are not squashed)."""
        box = np.array(self.function.domain, dtype=float)
        for traj, shown in zip(self.trajectories, self._shown):
            xs = traj.xs[: shown + 1]
            box[:, 0] = np.minimum(box[:, 0], xs.min(axis=0))
            box[:, 1] = np.maximum(box[:, 1], xs.max(axis=0))
        return tuple((float(lo), float(hi)) for lo, hi in box)

    def _draw_surface(self, box: tuple[tuple[float, float], ...]) -> None:
        key = (self.function.name, self.function.formula, box)
        if self._built_for == key:
            return
        self._built_for = key
        pi = self.surface_plot.getPlotItem()
        if self.function.dim == 2:
            (x0, x1), (y0, y1) = box
            xs, ys, z = contour_grid(self.surface, box, CONTOUR_POINTS)
            levels = contour_levels(z)
            px, py = contour_segments(xs, ys, z, levels)
            self.contour.setData(px, py)
            finite = np.isfinite(z)
            shade = np.zeros_like(z)
            if finite.any():
                lo = float(z[finite].min())
                shade[finite] = np.log1p(z[finite] - lo)
                shade[~finite] = shade[finite].max()
            self.image.setImage(shade, autoLevels=True)
            self.image.setColorMap(pg.colormap.get("viridis"))
            self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            self.image.setVisible(True)
            self.contour.setVisible(True)
            self.curve_1d.setData([], [])
            pi.setLabel("left", "x2")
            pi.setLabel("bottom", "x1")
            pi.getViewBox().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)
        else:
            ((x0, x1),) = box
            x = np.linspace(x0, x1, 400)
            y = self.surface.numpy(x)
            self.curve_1d.setData(x, y)
            self.image.setVisible(False)
            self.contour.setVisible(False)
            pi.setLabel("left", "f(x)")
            pi.setLabel("bottom", "x")
            fy = y[np.isfinite(y)]
            pad = 0.05 * (float(fy.max() - fy.min()) or 1.0)
            pi.getViewBox().setRange(xRange=(x0, x1), yRange=(float(fy.min()) - pad, float(fy.max()) + pad),
                                     padding=0.02)
            if pi.legend is not None:
                pi.legend.setOffset((-5, 5))  # top right: above a 1-D curve's minimum
        pi.setTitle(f"<span style='font-size:11pt; font-weight:600; color:{TITLE_COLOR}'>"
                    f"{self.function.title}</span>")

    def _slot(self, k: int) -> _Slot:
        """The items of the ``k``-th trajectory, created the first time and reused after."""
        while len(self._pool) <= k:
            color = trajectory_color(len(self._pool))
            slot = _Slot(pg.PlotDataItem(pen=pg.mkPen(color, width=2)),
                         pg.ScatterPlotItem(symbol="x", size=16, pen=pg.mkPen(DIVERGED_COLOR, width=3),
                                            brush=pg.mkBrush(DIVERGED_COLOR)),
                         self.loss_plot.plot(pen=pg.mkPen(color, width=2)),
                         self.lr_plot.plot(pen=pg.mkPen(color, width=2)))
            slot.cross.setZValue(11)  # above the markers: a diverged one ends under its cross
            for item in (slot.path.curve, slot.path.scatter, slot.loss.curve, slot.lr.curve):
                _cached(item)
            self.surface_plot.getPlotItem().addItem(slot.path)
            self.surface_plot.getPlotItem().addItem(slot.cross)
            self._pool.append(slot)
        return self._pool[k]

    def _draw_trajectories(self) -> None:
        """Draw every trajectory whole, once: its path on the surface (a dot per iterate when it
        is short), a cross where a diverged one stops being drawn, its loss and its LR. The slider
        then moves only the markers (:meth:`_show_step`)."""
        self.trajectory_list.clear()
        pi = self.surface_plot.getPlotItem()
        labels = [describe(t.spec) + (f"  ✕ diverged at step {t.diverged_step}" if t.diverged else "")
                  for t in self.trajectories]
        # the legend's labels are rich text that takes ~1 ms each to lay out: kept while they stay
        relabel = pi.legend is not None and labels != self._legend_labels
        if relabel:
            pi.legend.clear()
            self._legend_labels = labels
        finite = [t.loss[np.isfinite(t.loss)] for t in self.trajectories]
        values = np.concatenate(finite) if finite else np.empty(0)
        # a log axis only with decades to show, labelled at the decades only (pyqtgraph's 2..9
        # labels between them overlap on a short axis)
        self._log_loss = bool(values.size and values.min() > 0 and values.max() >= 100 * values.min())
        self.loss_plot.getPlotItem().setLogMode(y=self._log_loss)
        self.loss_plot.getPlotItem().getAxis("left").setStyle(maxTextLevel=0 if self._log_loss else 2)
        self._xy = []
        brushes = []
        for k, traj in enumerate(self.trajectories):
            slot = self._slot(k)
            color = trajectory_color(k)
            label = labels[k]
            xy = self._points(traj.xs[: self._shown[k] + 1])
            self._xy.append(xy)
            # a dot per iterate shows the step lengths of short runs; thousands of dots only cost
            dots = traj.steps_done <= MAX_DOTS
            slot.path.setData(xy[:, 0], xy[:, 1], symbol="o" if dots else None, symbolSize=5,
                              symbolBrush=color, symbolPen=None)
            slot.path.setVisible(True)
            if relabel:
                pi.legend.addItem(slot.path, label)
            if traj.diverged:
                slot.cross.setData([xy[-1, 0]], [xy[-1, 1]])
            else:
                slot.cross.setData([], [])
            steps = np.arange(traj.steps_done + 1)
            keep = traj.loss > 0 if self._log_loss else np.ones(len(steps), dtype=bool)
            slot.loss.setData(steps[keep], traj.loss[keep])
            slot.lr.setData(steps[1:], traj.lr)
            for item in (slot.loss, slot.lr):
                item.setVisible(True)
            brushes.append(pg.mkBrush(color))
            item = QListWidgetItem(label)
            item.setForeground(pg.mkColor(DIVERGED_COLOR if traj.diverged else color))
            item.setToolTip(traj.reason or f"{traj.steps_done} steps, final loss {traj.loss[-1]:.6g}")
            self.trajectory_list.addItem(item)
        self._slots = self._pool[: len(self.trajectories)]
        for slot in self._pool[len(self.trajectories):]:
            for item in (slot.path, slot.loss, slot.lr):
                item.setData([], [])
                item.setVisible(False)
            slot.cross.setData([], [])
        if pi.legend is not None and self.function.dim == 2:
            pi.legend.setOffset(self._legend_corner())
        if self.trajectories:
            self.start_marker.setData(*self._xy[0][:1].T)
        else:
            self.start_marker.setData([], [])
        self._marker_steps = [self._shown[k] for k in range(len(self.trajectories))]
        self._loss_at = [t.loss for t in self.trajectories]
        longest = max((t.steps_done for t in self.trajectories), default=0)
        self.slider.blockSignals(True)
        self.slider.setRange(0, longest)
        self.slider.setValue(longest)
        self.slider.blockSignals(False)
        self._show_step(longest, brushes)

    def _shown_steps(self, traj: Any) -> int:
        """How many steps of ``traj`` the surface plot draws: all of them, except that a diverged
        trajectory ends at its last iterate inside the domain grown SHOWN_FACTOR times (marked with a cross)
        instead of running off the picture."""
        if not traj.diverged:
            return int(traj.steps_done)
        dom = np.array(self.function.domain)
        centre, half = dom.mean(axis=1), (dom[:, 1] - dom[:, 0]) / 2 * SHOWN_FACTOR
        inside = np.all(np.abs(traj.xs - centre) <= half, axis=1)
        outside = np.flatnonzero(~inside)
        return int(traj.steps_done if outside.size == 0 else max(outside[0] - 1, 0))

    def _legend_corner(self) -> tuple[int, int]:
        """The legend's offset on a contour: the corner (about a third of the plot each way) with
        the fewest drawn iterates, top right when several have as few (Rosenbrock's valley or a
        start in the top right would otherwise sit under it)."""
        (x0, x1), (y0, y1) = self._box
        pts = np.concatenate(self._xy) if self._xy else np.empty((0, 2))
        fx = (pts[:, 0] - x0) / (x1 - x0)
        fy = (pts[:, 1] - y0) / (y1 - y0)
        right, left, top, bottom = fx > 0.55, fx < 0.45, fy > 0.7, fy < 0.3
        corners = {(-5, 5): right & top, (5, 5): left & top, (-5, -5): right & bottom, (5, -5): left & bottom}
        return min(corners, key=lambda c: int(corners[c].sum()))

    def _points(self, xs: np.ndarray) -> np.ndarray:
        """Where iterates ``xs`` are drawn: ``(x1, x2)``, or ``(x, f(x))`` on a 1-D curve."""
        if self.function.dim == 2:
            return xs
        return np.column_stack([xs[:, 0], self.surface.numpy(xs[:, 0])])

    def _show_step(self, step: int, brushes: list[Any] | None = None) -> None:
        """Mark where every trajectory is after ``step`` updates (the animation's tick: the curves
        stay as they are; only the markers and the step line move)."""
        k = len(self._xy)
        if k:
            at = [min(step, n) for n in self._marker_steps]
            points = np.array([xy[i] for xy, i in zip(self._xy, at)])
            done = [min(step, len(loss) - 1) for loss in self._loss_at]
            losses = np.array([loss[i] for loss, i in zip(self._loss_at, done)])
            if brushes is not None:
                self.markers.setData(points[:, 0], points[:, 1], symbolBrush=brushes)
                self.loss_markers.setData(done, losses, symbolBrush=brushes)
            else:
                self.markers.setData(points[:, 0], points[:, 1])
                self.loss_markers.setData(done, losses)
        else:
            self.markers.setData([], [])
            self.loss_markers.setData([], [])
        self.step_line.setValue(step)
        self.lr_step_line.setValue(step)
        self.step_label.setText(f"step {step} / {self.slider.maximum()}")

    # -- animation ---------------------------------------------------------------------------------
    def _on_play_toggled(self, on: bool) -> None:
        if on:
            if self.slider.value() >= self.slider.maximum():
                self.slider.setValue(0)
            self._last_tick = None
            self.timer.start()
            self.play_button.setText("Pause")
        else:
            self.timer.stop()
            self.play_button.setText("Play")

    def _on_tick(self) -> None:
        now = time.perf_counter()
        if self._last_tick is not None:
            self.timer_lateness_ms.append((now - self._last_tick) * 1000.0 - FRAME_MS)
        self._last_tick = now
        stride = max(1, self.slider.maximum() // FRAMES_PER_PLAY)
        value = min(self.slider.value() + stride, self.slider.maximum())
        self.slider.setValue(value)
        if value >= self.slider.maximum():
            self.play_button.setChecked(False)

    # -- saving ------------------------------------------------------------------------------------
    def save_runs(self) -> list[int]:
        """Store every trajectory as a run of kind ``playground``; returns their ids."""
        if self.store is None:
            self._say("No database is open: nothing was saved.")
            return []
        if not self.trajectories:
            self._say("No trajectory to save: add one or pick a preset.")
            return []
        from lrstudio.services.playground import save_trajectories

        try:
            ids = save_trajectories(self.store, self.function, self.trajectories)
        except (LrstudioError, OSError) as exc:
            self._say(f"Saving failed: {exc}; nothing was saved.")
            return []
        self._say("Saved as run" + ("s " if len(ids) > 1 else " ") + ", ".join(map(str, ids)), "hint")
        self.runs_saved.emit(ids)
        return ids
