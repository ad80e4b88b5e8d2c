"""A form generated from a tuple of :class:`~lrstudio.core.params.Param` declarations.

One widget per parameter, chosen by ``Param.kind``; the label is ``Param.label`` and the
tooltip is the help text plus what is allowed. Every edit is validated at once with
``Param.coerce`` (the same code the CLI and the training loop use), and a bad value is marked at
its field: the message under the field and in its tooltip, and the property ``invalid`` that the
style sheet (``resources/style.qss``) draws as a red border.

Numbers that are learning rates span many decades, so floats are edited as text
(``3e-4`` must be typeable) and checked on every keystroke rather than clamped by a spin box.

Kinds ``schedule`` and ``schedule_list`` are not edited here: the caller passes a
``nested_factory(param) -> NestedEditor`` (see :mod:`lrstudio.gui.configure.schedule_editor`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lrstudio.core.params import Param, ParamError, is_share

_INT32_MAX = 2**31 - 1


class NestedEditor(Protocol):
    """What a widget for a nested value (a schedule spec) must offer."""

    changed: Signal

    def value(self) -> Any: ...

    def set_value(self, value: Any) -> None: ...

    def is_valid(self) -> bool: ...


def format_value(param: Param, value: Any) -> str:
    """Text shown in a line edit for ``value``."""
    if value is None:
        return ""
    if param.kind == "float":
        return format_float(float(value))
    if param.kind in ("int_list", "float_list"):
        items = value if isinstance(value, (list, tuple)) else [value]
        return ", ".join(format_float(float(v)) if param.kind == "float_list"
                         else (v if is_share(v) else str(int(v))) for v in items)
    return str(value)


class LengthSpinBox(QSpinBox):
    """A length in steps that also takes a share of the run: ``auto`` (all of it) or ``10%``.

    The spin box keeps its int API for steps (``value``/``setValue``, the arrows); typed text that
    is a share is kept as text (:meth:`share`) and shown as typed. ``Param.coerce`` decides what is
    valid, as for every field (issue 15).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._share: str | None = None
        self.lineEdit().textEdited.connect(self._on_text_edited)

    def share(self) -> str | None:
        """The share typed (``"auto"``, ``"10%"``, or text on the way to one), or None for steps."""
        return self._share

    def set_share(self, text: str) -> None:
        self._share = text
        self.lineEdit().setText(text)

    def setValue(self, value: int) -> None:  # Qt's name
        self._share = None
        super().setValue(value)
        self.lineEdit().setText(self.textFromValue(self.value()))

    def stepBy(self, steps: int) -> None:  # Qt's name: the arrows count steps again
        if self._share is not None:
            self._share = None
            self.lineEdit().setText(self.textFromValue(self.value()))
        super().stepBy(steps)

    def _on_text_edited(self, text: str) -> None:
        t = text.strip()
        self._share = None if not t or _is_int_text(t) else t

    # Qt hooks: text that is (or is becoming) a share is acceptable to the spin box; the form checks it
    def validate(self, text: str, pos: int) -> object:
        t = text.strip()
        if t and not _is_int_text(t) and (t.endswith("%") or "auto".startswith(t.lower())
                                          or _is_number_text(t)):
            return QValidator.State.Intermediate if not (t.lower() == "auto" or t.endswith("%")) \
                else QValidator.State.Acceptable, text, pos
        return super().validate(text, pos)

    def valueFromText(self, text: str) -> int:
        if self._share is not None:
            return self.value()
        return super().valueFromText(text)

    def textFromValue(self, value: int) -> str:
        return self._share if self._share is not None else super().textFromValue(value)

    def fixup(self, text: str) -> str:  # keep a share as typed when focus leaves
        return text if self._share is not None else super().fixup(text)


def _is_int_text(t: str) -> bool:
    return t.lstrip("+-").isdigit()


def _is_number_text(t: str) -> bool:
    try:
        float(t)
    except ValueError:
        return False
    return True


def format_float(x: float) -> str:
    """Short text for a float: ``0.01``, ``3e-04``, ``1000`` (``repr`` only when ``g`` loses digits)."""
    text = f"{x:g}"
    try:
        if float(text) != x:
            text = repr(x)
    except ValueError:  # pragma: no cover - 'nan'/'inf' round-trip
        pass
    return text


class _Field:
    """One parameter: its editor widget, its error label and how to read/write it."""

    def __init__(self, param: Param, editor: QWidget, error_label: QLabel, container: QWidget,
                 label: QLabel) -> None:
        self.param = param
        self.editor = editor
        self.error_label = error_label
        self.container = container
        self.label = label
        self.error: str = ""
        self.external_error: str = ""


class ParamForm(QWidget):
    """Editable form for ``params``; emits ``changed`` on every edit and ``validity_changed``."""

    changed = Signal()
    validity_changed = Signal(bool)

    def __init__(
        self,
        params: Sequence[Param],
        owner: str = "",
        parent: QWidget | None = None,
        nested_factory: Callable[[Param], QWidget] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self._params = tuple(params)
        self._owner = owner
        self._nested_factory = nested_factory
        self._fields: dict[str, _Field] = {}
        self._valid = True
        self._loading = False
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._layout = layout
        for p in self._params:
            self._add_field(p)
        if values:
            self.set_values(values)
        self._revalidate(emit=False)

    # -- building ----------------------------------------------------------------------------
    def _add_field(self, p: Param) -> None:
        editor = self._make_editor(p)
        editor.setObjectName(f"param_{p.name}")
        tip = f"{p.help}\nAllowed: {p.describe_allowed()}"
        editor.setToolTip(tip)
        error_label = QLabel()
        error_label.setObjectName(f"error_{p.name}")
        error_label.setWordWrap(True)
        error_label.setProperty("role", "error")
        error_label.setVisible(False)
        container = QWidget()
        box = QVBoxLayout(container)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        box.addWidget(editor)
        box.addWidget(error_label)
        label = QLabel(p.label[:1].upper() + p.label[1:])
        label.setToolTip(tip)
        label.setBuddy(editor)
        self._layout.addRow(label, container)
        self._fields[p.name] = _Field(p, editor, error_label, container, label)

    def _make_editor(self, p: Param) -> QWidget:
        if p.kind in ("schedule", "schedule_list"):
            if self._nested_factory is None:
                raise ValueError(f"parameter {p.name!r} of kind {p.kind} needs a nested_factory")
            w = self._nested_factory(p)
            w.changed.connect(self._on_edited)
            return w
        if p.kind == "bool":
            w = QCheckBox()
            w.setChecked(bool(p.default))
            w.toggled.connect(self._on_edited)
            return w
        if p.kind == "choice":
            w = QComboBox()
            compact_combo(w)
            w.addItems(list(p.choices))
            if p.default in p.choices:
                w.setCurrentText(p.default)
            w.currentTextChanged.connect(self._on_edited)
            return w
        if p.kind == "int" and not p.optional and _fits_spin(p):
            w = LengthSpinBox() if p.is_length else QSpinBox()
            w.setRange(int(p.low) if p.low is not None else -_INT32_MAX, int(p.high) if p.high is not None
                       else _INT32_MAX)
            w.setValue(int(p.default))
            w.setKeyboardTracking(True)
            w.setAccelerated(True)
            guard_wheel(w)
            w.valueChanged.connect(self._on_edited)
            if isinstance(w, LengthSpinBox):
                w.lineEdit().textEdited.connect(self._on_edited)
                w.setToolTip(p.help)
            return w
        w = QLineEdit()
        w.setText(format_value(p, p.default))
        if p.optional:
            w.setPlaceholderText("empty")
        elif p.kind in ("int_list", "float_list"):
            w.setPlaceholderText("comma-separated, e.g. 30, 60, 90")
        w.textChanged.connect(self._on_edited)
        w.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        return w

    # -- reading and writing -----------------------------------------------------------------
    def params(self) -> tuple[Param, ...]:
        return self._params

    def field(self, name: str) -> QWidget:
        """The editor widget of parameter ``name`` (for tests and focus)."""
        return self._fields[name].editor

    def error_label(self, name: str) -> QLabel:
        return self._fields[name].error_label

    def raw_value(self, name: str) -> Any:
        f = self._fields[name]
        w = f.editor
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            return w.currentText()
        if isinstance(w, LengthSpinBox) and w.share() is not None:
            return w.share()
        if isinstance(w, QSpinBox):
            return w.value()
        if isinstance(w, QLineEdit):
            return w.text()
        return w.value()  # nested editor

    def values(self, strict: bool = False) -> dict[str, Any]:
        """Coerced values; a field that does not validate gives its default (or raises if ``strict``)."""
        out: dict[str, Any] = {}
        for name, f in self._fields.items():
            try:
                out[name] = f.param.coerce(self.raw_value(name), self._owner)
            except ParamError:
                if strict:
                    raise
                out[name] = f.param.default
        return out

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Show ``values`` (unknown names ignored); emits ``changed`` once."""
        self._loading = True
        try:
            for name, v in values.items():
                f = self._fields.get(name)
                if f is None:
                    continue
                w = f.editor
                if isinstance(w, QCheckBox):
                    w.setChecked(bool(v))
                elif isinstance(w, QComboBox):
                    w.setCurrentText(str(v))
                elif isinstance(w, LengthSpinBox) and is_share(v):
                    w.set_share(str(v))
                elif isinstance(w, QSpinBox):
                    w.setValue(int(v))
                elif isinstance(w, QLineEdit):
                    w.setText(format_value(f.param, v))
                else:
                    w.set_value(v)
        finally:
            self._loading = False
        self._on_edited()

    def set_field_visible(self, name: str, visible: bool) -> None:
        f = self._fields[name]
        f.label.setVisible(visible)
        f.container.setVisible(visible)

    def set_field_enabled(self, name: str, enabled: bool) -> None:
        f = self._fields[name]
        f.editor.setEnabled(enabled)
        f.label.setEnabled(enabled)

    def is_field_visible(self, name: str) -> bool:
        return not self._fields[name].container.isHidden()

    # -- validation --------------------------------------------------------------------------
    def errors(self) -> dict[str, str]:
        """Messages of the fields that are invalid now (own checks and external ones)."""
        return {n: f.error or f.external_error for n, f in self._fields.items() if f.error or f.external_error}

    def is_valid(self) -> bool:
        return self._valid

    def set_external_error(self, name: str, message: str) -> bool:
        """Mark ``name`` with a cross-field ``message`` ("" clears it). False if no such field."""
        f = self._fields.get(name)
        if f is None:
            return False
        if f.external_error != message:
            f.external_error = message
            self._show(f)
            self._update_valid(emit=True)
        return True

    def clear_external_errors(self) -> None:
        changed = False
        for f in self._fields.values():
            if f.external_error:
                f.external_error = ""
                self._show(f)
                changed = True
        if changed:
            self._update_valid(emit=True)

    def _on_edited(self, *_: Any) -> None:
        if self._loading:
            return
        self._revalidate(emit=True)
        self.changed.emit()

    def _revalidate(self, emit: bool) -> None:
        for name, f in self._fields.items():
            w = f.editor
            if not _is_simple(w):
                # A nested editor marks its own fields; here it only counts towards validity.
                f.error = "" if w.is_valid() else "nested"
            else:
                try:
                    f.param.coerce(self.raw_value(name), self._owner)
                    f.error = ""
                except ParamError as exc:
                    f.error = f"{f.param.label}: expected {exc.allowed}"
            self._show(f)
        self._update_valid(emit)

    def _update_valid(self, emit: bool) -> None:
        valid = not any(f.error or f.external_error for f in self._fields.values())
        if valid != self._valid:
            self._valid = valid
            if emit:
                self.validity_changed.emit(valid)

    def _show(self, f: _Field) -> None:
        msg = f.external_error or (f.error if f.error != "nested" else "")
        is_simple = _is_simple(f.editor)
        base_tip = f"{f.param.help}\nAllowed: {f.param.describe_allowed()}"
        f.error_label.setText(msg)
        f.error_label.setVisible(bool(msg))
        if is_simple:
            f.editor.setToolTip(f"{msg}\n\n{base_tip}" if msg else base_tip)
        if bool(f.editor.property("invalid")) != bool(msg):
            # The red border comes from the style sheet (``*[invalid="true"]``); a dynamic property
            # takes effect once the widget is polished again.
            f.editor.setProperty("invalid", bool(msg))
            f.editor.style().unpolish(f.editor)
            f.editor.style().polish(f.editor)


def _fits_spin(p: Param) -> bool:
    lo = p.low if p.low is not None else -_INT32_MAX
    hi = p.high if p.high is not None else _INT32_MAX
    return -_INT32_MAX <= lo and hi <= _INT32_MAX


def _is_simple(w: QWidget) -> bool:
    return isinstance(w, (QCheckBox, QComboBox, QSpinBox, QLineEdit))


def compact_combo(combo: QComboBox, chars: int = 8) -> QComboBox:
    """Let a combo box be narrower than its longest item (forms live in a narrow dock).

    Also guards it against the mouse wheel (:func:`guard_wheel`): every combo of the forms is made here.
    """
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    guard_wheel(combo)
    return combo


class _WheelGuard(QObject):
    """Event filter: a wheel event changes the value only when the editor has focus.

    Without focus the event goes to the nearest scroll area around the form, which scrolls, instead
    of "Cosine" silently turning into "SGDR" under a scrolling mouse (issue 9). It is handed over
    explicitly: Qt 6 propagates only spontaneous wheel events to parents, and forwarding both kinds
    the same way keeps one behaviour. Outside a scroll area the event is ignored, so Qt passes a
    real one on to the parent widgets.
    """

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(obj, QWidget) or obj.hasFocus():
            return False
        area = obj.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is not None:
            QApplication.sendEvent(area.viewport(), event)
            event.accept()
        else:
            event.ignore()
        return True


def guard_wheel(widget: QComboBox | QAbstractSpinBox) -> None:
    """Let the wheel change ``widget`` only once it has focus (click or Tab), never in passing.

    ``StrongFocus`` rather than Qt's default ``WheelFocus`` for combos and spin boxes: a wheel
    event must not give focus either, or the second notch would change the value.
    """
    widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    if widget.property("wheel_guarded"):
        return
    widget.installEventFilter(_WheelGuard(widget))
    widget.setProperty("wheel_guarded", True)
