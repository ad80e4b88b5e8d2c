"""Schedule editors of the Configure panel: a schedule chosen by name with a form generated from
its ``params`` (:class:`ScheduleEditor`), nested editors for composite schedules
(``linear_warmup.inner``, ``sequential.schedules``: :class:`ScheduleListEditor`) and, past
``FORM_MAX_DEPTH`` levels, a JSON text editor (:class:`SpecTextEditor`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lrstudio.core import schedules
from lrstudio.core.errors import LrstudioError
from lrstudio.core.params import Param, ParamError
from lrstudio.core.schedules import fit
from lrstudio.gui.configure.param_form import ParamForm, compact_combo

# -- nested schedule editors --------------------------------------------------------------------
#: Nesting levels of schedule editors in the form; deeper parts are edited as JSON (SpecTextEditor).
FORM_MAX_DEPTH = 6

class ScheduleEditor(QWidget):
    """Choose a schedule and edit its parameters (nested schedules get nested editors)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None, spec: Mapping[str, Any] | None = None,
                 depth: int = 0, run_length: Callable[[], int | None] | None = None) -> None:
        """``run_length``: scheduling steps of the run (None while unknown); when given, a schedule
        the user picks starts with its length parameters set to it (not at its declared T_max=100 & co.)."""
        super().__init__(parent)
        self._depth = depth
        self._run_length = run_length
        self._form: ParamForm | None = None
        self._spec_error = ""
        self._loading = False
        self.combo = compact_combo(QComboBox(), 12)
        self.combo.setObjectName("schedule_name")
        reg = schedules.SCHEDULES
        for name, info in reg.items():
            self.combo.addItem(f"{info.title or name}  ({name})" if info.title and info.title != name else name,
                               name)
        self.combo.currentIndexChanged.connect(self._on_schedule_chosen)
        self.error_label = QLabel()
        self.error_label.setObjectName("schedule_error")
        self.error_label.setWordWrap(True)
        self.error_label.setProperty("role", "error")
        self.error_label.setVisible(False)
        self.formula_label = QLabel()
        self.formula_label.setWordWrap(True)
        self.formula_label.setProperty("role", "hint")
        self.formula_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._form_holder = QVBoxLayout()
        self._form_holder.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.combo)
        layout.addWidget(self.formula_label)
        layout.addLayout(self._form_holder)
        layout.addWidget(self.error_label)
        initial = dict(spec) if spec else {"name": "constant", "params": {}}
        self.set_value(initial)

    # NestedEditor protocol
    def value(self) -> dict[str, Any]:
        name = self.combo.currentData()
        params = self._form.values() if self._form is not None else {}
        return {"name": name, "params": params}

    def set_value(self, spec: Mapping[str, Any]) -> None:
        spec = dict(spec or {})
        name = spec.get("name", "constant")
        idx = self.combo.findData(name)
        self._loading = True
        try:
            if idx < 0:
                idx = max(0, self.combo.findData("constant"))
            if idx != self.combo.currentIndex() or self._form is None:
                self.combo.setCurrentIndex(idx)
                self._build_form()
            if self._form is not None:
                self._form.set_values(spec.get("params") or {})
        finally:
            self._loading = False
        self._on_form_changed()

    def is_valid(self) -> bool:
        return (self._form is None or self._form.is_valid()) and not self._spec_error

    @property
    def form(self) -> ParamForm | None:
        return self._form

    @property
    def depth(self) -> int:
        """0 for the run's schedule, 1 for a schedule inside it, and so on."""
        return self._depth

    def schedule_name(self) -> str:
        return self.combo.currentData()

    def set_schedule_name(self, name: str) -> None:
        self.combo.setCurrentIndex(self.combo.findData(name))

    def show_error(self, exc: ParamError | str) -> None:
        """Show a whole-spec error at the field it names, or under the form."""
        if isinstance(exc, ParamError) and self._form is not None and exc.param and \
                self._form.set_external_error(exc.param, str(exc)):
            self._set_general_error("")
            return
        self._set_general_error(str(exc))

    def clear_errors(self) -> None:
        if self._form is not None:
            self._form.clear_external_errors()
        self._set_general_error("")

    def _set_general_error(self, msg: str) -> None:
        self.error_label.setText(msg)
        self.error_label.setVisible(bool(msg))

    # -- internals ---------------------------------------------------------------------------
    def _build_form(self) -> None:
        if self._form is not None:
            self._form.setParent(None)
            self._form.deleteLater()
            self._form = None
        info = schedules.SCHEDULES[self.combo.currentData()]
        tip = f"{info.title or info.name}\n\n{info.formula}"
        if getattr(info, "source", ""):
            tip += f"\n\nMatches: {info.source}"
        if getattr(info, "metric_driven", False):
            tip += "\n\nDriven by the validation loss during training; the preview assumes no plateau."
        self.combo.setToolTip(tip)
        self.formula_label.setText(_short_formula(info.formula))
        self.formula_label.setToolTip(tip)
        self.formula_label.setVisible(bool(info.formula))
        if info.params:
            self._form = ParamForm(info.params, owner=f"schedule {info.name!r}", nested_factory=self._nested)
            self._form.changed.connect(self._on_form_changed)
            self._form_holder.addWidget(self._form)

    def _nested(self, p: Param) -> QWidget:
        if self._depth + 1 > FORM_MAX_DEPTH:
            return SpecTextEditor(p)
        if p.kind == "schedule":
            w = ScheduleEditor(spec=p.default if isinstance(p.default, Mapping) else None, depth=self._depth + 1)
            return _framed(w, p)
        return ScheduleListEditor(default=p.default, depth=self._depth + 1)

    def _on_schedule_chosen(self, _index: int) -> None:
        if self._loading:
            return
        self._build_form()
        self._fit_new_schedule()
        self._on_form_changed()

    def _fit_new_schedule(self) -> None:
        """A freshly picked schedule has no values of the user's yet: start it at the run length."""
        steps = self._run_length() if self._run_length is not None else None
        if steps is None or self._form is None:
            return
        try:
            fitted = fit.fit_to_run(self.value(), steps)
        except (LrstudioError, ValueError):
            return  # the defaults do not validate on their own: the form says why
        self._loading = True
        try:
            self._form.set_values(fitted["params"])
        finally:
            self._loading = False

    def _on_form_changed(self) -> None:
        if self._loading:
            return
        self.revalidate()
        self.changed.emit()

    def revalidate(self) -> None:
        """Check the spec on its own (clearing errors placed from outside, e.g. run length)."""
        self._spec_error = ""
        if self._form is not None:
            self._form.clear_external_errors()
        self._set_general_error("")
        if self._form is None or self._form.is_valid():
            try:
                schedules.validate_spec(self.value())
            except ParamError as exc:
                self._spec_error = str(exc)
                self.show_error(exc)
            except (LrstudioError, ValueError) as exc:
                self._spec_error = str(exc)
                self._set_general_error(str(exc))


def shares_note(spec: Mapping[str, Any] | None, steps: int) -> str:
    """What the lengths given as shares of the run become in a run of ``steps`` scheduling steps:
    ``"warmup_steps 10% = 42 · inner.T_max auto = 378"`` ("" when there are none, or the spec is not
    valid: the form says why). Shown with the preview (issue 15)."""
    if not spec or steps < 1:
        return ""
    try:
        if not schedules.has_shares(spec):
            return ""
        pairs = schedules.share_steps(spec, schedules.resolve_lengths(spec, steps))
    except (LrstudioError, ValueError):
        return ""

    def show(v: Any) -> str:
        return ", ".join(str(x) for x in v) if isinstance(v, list) else str(v)

    return " · ".join(f"{path} {show(share)} = {show(val)}" for path, share, val in pairs)


def _short_formula(formula: str) -> str:
    lines = [ln.strip() for ln in (formula or "").strip().splitlines() if ln.strip()]
    text = lines[0] if lines else ""
    return text if len(text) <= 90 else text[:87] + "…"


class SpecTextEditor(QWidget):
    """A nested schedule (or list of schedules) edited as JSON text, below the form's last level.

    A legitimate spec may nest hundreds deep (a warm-up chain of 500): one editor per level made a
    widget tree thousands deep that took a minute to build (issue 9). From :data:`FORM_MAX_DEPTH`
    on, the rest of the spec is one text field; the enclosing editor validates the whole spec, as
    for any other field.
    """

    changed = Signal()

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._param = param
        self._value: Any = param.default
        self._error = ""
        self.note = QLabel(f"{param.label[:1].upper() + param.label[1:]} (nested deeper than the form shows), "
                           "as JSON:")
        self.note.setProperty("role", "hint")
        self.note.setWordWrap(True)
        self.edit = QPlainTextEdit()
        self.edit.setObjectName("schedule_json")
        self.edit.setTabChangesFocus(True)
        self.edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.edit.setFixedHeight(self.edit.fontMetrics().lineSpacing() * 5 + 10)
        self.edit.textChanged.connect(self._on_text_changed)
        self.error_label = QLabel()
        self.error_label.setProperty("role", "error")
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.note)
        lay.addWidget(self.edit)
        lay.addWidget(self.error_label)
        self.set_value(param.default)

    def value(self) -> Any:
        return self._value

    def set_value(self, value: Any) -> None:
        try:
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            text = ""
            self._set_error(f"cannot be shown as JSON: {exc}")
        self._value = value
        self.edit.blockSignals(True)
        try:
            self.edit.setPlainText(text)
        finally:
            self.edit.blockSignals(False)
        if text:
            self._set_error("")
        self.changed.emit()

    def is_valid(self) -> bool:
        return not self._error

    def _on_text_changed(self) -> None:
        from lrstudio.core.jsonio import parse_user_json

        try:
            value = parse_user_json(self.edit.toPlainText(), "the schedule text")
        except LrstudioError as exc:
            self._set_error(str(exc))
        else:
            want = dict if self._param.kind == "schedule" else list
            if isinstance(value, want):
                self._value = value
                self._set_error("")
            else:
                self._set_error("expected a JSON object {\"name\": ..., \"params\": {...}}" if want is dict
                                else "expected a JSON list of schedules")
        self.changed.emit()

    def _set_error(self, msg: str) -> None:
        self._error = msg
        self.error_label.setText(msg)
        self.error_label.setVisible(bool(msg))


class _FramedEditor(QFrame):
    """A nested schedule editor inside a light frame (so nesting stays readable)."""

    changed = Signal()

    def __init__(self, inner: ScheduleEditor, title: str) -> None:
        super().__init__()
        self.inner = inner
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("nestedSchedule")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 6)
        lab = QLabel(title)
        lab.setProperty("role", "part-title")
        lay.addWidget(lab)
        lay.addWidget(inner)
        inner.changed.connect(self.changed)

    def value(self) -> dict[str, Any]:
        return self.inner.value()

    def set_value(self, v: Any) -> None:
        self.inner.set_value(v)

    def is_valid(self) -> bool:
        return self.inner.is_valid()


def _framed(w: ScheduleEditor, p: Param) -> _FramedEditor:
    return _FramedEditor(w, f"{p.label[:1].upper() + p.label[1:]} schedule")


class ScheduleListEditor(QWidget):
    """An ordered list of schedules (``sequential``): add, remove, edit each."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None, default: Any = None, depth: int = 0) -> None:
        super().__init__(parent)
        self._depth = depth
        self._items: list[tuple[QWidget, ScheduleEditor]] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.add_button = QPushButton("Add schedule")
        self.add_button.clicked.connect(self._on_add_clicked)
        self._layout.addWidget(self.add_button)
        specs = list(default) if isinstance(default, (list, tuple)) and default else [
            {"name": "constant", "params": {}}]
        self.set_value(specs)

    def editors(self) -> list[ScheduleEditor]:
        return [ed for _, ed in self._items]

    def value(self) -> list[dict[str, Any]]:
        return [ed.value() for _, ed in self._items]

    def set_value(self, specs: Any) -> None:
        for box, _ in self._items:
            box.setParent(None)
            box.deleteLater()
        self._items.clear()
        for spec in specs or []:
            self._add(spec, emit=False)
        self.changed.emit()

    def is_valid(self) -> bool:
        return bool(self._items) and all(ed.is_valid() for _, ed in self._items)

    def _add(self, spec: Mapping[str, Any] | None, emit: bool = True) -> ScheduleEditor:
        ed = ScheduleEditor(spec=spec, depth=self._depth + 1)
        box = QFrame()
        box.setObjectName("scheduleListItem")
        lay = QVBoxLayout(box)
        lay.setContentsMargins(6, 4, 6, 6)
        head = QHBoxLayout()
        title = QLabel(f"Part {len(self._items) + 1}")
        title.setProperty("role", "part-title")
        remove = QToolButton()
        remove.setText("Remove")
        remove.setToolTip("Remove this part of the sequence")
        remove.clicked.connect(lambda: self._remove(box))
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(remove)
        lay.addLayout(head)
        lay.addWidget(ed)
        ed.changed.connect(self.changed)
        self._layout.insertWidget(self._layout.count() - 1, box)
        self._items.append((box, ed))
        if emit:
            self.changed.emit()
        return ed

    def _remove(self, box: QWidget) -> None:
        self._items = [(b, e) for b, e in self._items if b is not box]
        box.setParent(None)
        box.deleteLater()
        self.changed.emit()

    def _on_add_clicked(self) -> None:
        self._add({"name": "constant", "params": {}})
