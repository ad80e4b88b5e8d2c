"""The Configure panel: every field of a :class:`~lrstudio.core.config.RunConfig`, validated live.

The forms are generated from the declarations (``RUN_FIELDS``, ``DATASET_FIELDS``, each
optimizer's and each schedule's ``params``) by :class:`~lrstudio.gui.configure.param_form.ParamForm`.
Validation happens in two layers on every edit:

1. each field alone (``Param.coerce``), marked at the field by the form;
2. when every field is fine, the whole configuration with ``core.config.check_runnable``, the
   same pre-run gate the CLI and the training controller use (model/data set pairs, paths, the
   optimizer and schedule registries' own checks, the run length: a warm-up longer than the run, a
   curve that turns negative). An error from this layer names a parameter
   (``ParamError.param``) and is shown at that field; one that names no field goes to the panel's
   message line.

``validity_changed(bool)`` tells the main window whether Start may be enabled.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lrstudio.core import optimizers, schedules
from lrstudio.core.config import (
    DATASET_FIELDS,
    MODEL_DATASETS,
    RUN_FIELDS,
    DatasetConfig,
    RunConfig,
    check_runnable,
    starter_config,
)
from lrstudio.core.errors import LrstudioError
from lrstudio.core.params import Param, ParamError
from lrstudio.core.plan import DEFAULT_ROWS, RunPlan, estimate_train_rows, plan_run
from lrstudio.core.schedules import fit
from lrstudio.gui.configure.param_form import ParamForm, compact_combo
from lrstudio.gui.configure.schedule_editor import (
    ScheduleEditor,
    SpecTextEditor,
    shares_note,
)
from lrstudio.gui.dialogs import errors

# Which data-set options apply to which data set (the rest are hidden).
DATASET_OPTIONS: dict[str, tuple[str, ...]] = {
    "windsor": ("target", "features", "val_fraction", "limit"),
    "synthetic": ("n_samples", "true_w", "true_b", "noise", "extra_features", "unscaled", "val_fraction"),
    "csv": ("path", "target", "features", "val_fraction", "limit"),
    "digits": ("val_fraction", "limit"),
    "mnist": ("path", "variant", "val_fraction", "limit"),
}

_RUN = {p.name: p for p in RUN_FIELDS}
MODEL_FIELDS = ("model", "init")
LR_FIELDS = ("lr", "schedule_unit")
TRAINING_FIELDS = ("epochs", "max_steps", "batch_size", "seed", "clip_mode", "clip_value", "weight_decay",
                   "divergence_factor", "device")
NAME_FIELDS = ("name",)
ADVANCED_FIELDS = ("val_every", "grad_norm_every")  # run options (issue 11)


def _decls(names: tuple[str, ...]) -> tuple[Param, ...]:
    return tuple(_RUN[n] for n in names)


# -- the panel ----------------------------------------------------------------------------------
class ConfigPanel(QWidget):
    """The whole run configuration. ``config()`` / ``set_config()``; validated live."""

    config_changed = Signal()
    validity_changed = Signal(bool)
    find_lr_requested = Signal()  # the Find LR button beside the LR field (issue 12)

    def __init__(self, parent: QWidget | None = None, config: RunConfig | None = None) -> None:
        super().__init__(parent)
        self._valid = True
        self._loading = False
        self._validating = False
        self.problem = ""

        self.name_form = ParamForm(_decls(NAME_FIELDS), owner="run")
        self.name_form.field("name").setPlaceholderText("empty: generated from the settings")
        self.model_form = ParamForm(_decls(MODEL_FIELDS), owner="run")
        self.dataset_form = ParamForm(DATASET_FIELDS, owner="data set")
        self.optimizer_combo = compact_combo(QComboBox())
        self.optimizer_combo.setObjectName("optimizer_name")
        for name, info in optimizers.OPTIMIZERS.items():
            self.optimizer_combo.addItem(getattr(info, "title", "") or name, name)
        self.optimizer_combo.currentIndexChanged.connect(self._on_optimizer_chosen)
        self._optimizer_holder = QVBoxLayout()
        self._optimizer_holder.setContentsMargins(0, 0, 0, 0)
        self.optimizer_form: ParamForm | None = None
        self.optimizer_error = QLabel()
        self.optimizer_error.setProperty("role", "error")
        self.optimizer_error.setWordWrap(True)
        self.optimizer_error.setVisible(False)
        self.lr_form = ParamForm(_decls(LR_FIELDS), owner="run")
        # True once the user has typed a learning rate: switching optimizer then keeps it; until
        # then each optimizer gets its own default (Adadelta's 1.0 is not Adam's 0.01; issue 9).
        self._lr_typed = False
        self.lr_form.field("lr").textEdited.connect(self._on_lr_typed)
        self.find_lr_button = _beside(self.lr_form.field("lr"), QPushButton("Find LR…"))
        self.find_lr_button.setObjectName("find_lr_button")
        self.find_lr_button.setToolTip("Run an LR range test on this configuration and pick a suggested "
                                       "learning rate (issue 12)")
        self.find_lr_button.clicked.connect(self.find_lr_requested)
        self.lr_note = QLabel()
        self.lr_note.setObjectName("lr_note")
        self.lr_note.setProperty("role", "hint")
        self.lr_note.setWordWrap(True)
        self.lr_note.setVisible(False)
        self.schedule_editor = ScheduleEditor(run_length=self._schedule_steps)
        self._fit_report: Any = None  # FitReport of the schedule against the run, None when unknown
        self.training_form = ParamForm(_decls(TRAINING_FIELDS), owner="run")
        self.advanced_form = ParamForm(_decls(ADVANCED_FIELDS), owner="run")
        self.advanced_form.field("val_every").setSpecialValueText("auto")  # 0: the tooltip says what auto does
        self.run_length_label = QLabel()
        self.run_length_label.setProperty("role", "hint")
        self.message_label = QLabel()
        self.message_label.setObjectName("config_message")
        self.message_label.setWordWrap(True)
        self.message_label.setProperty("role", "problem")
        self.message_label.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.name_form)
        layout.addWidget(_group("Model and data", self.model_form, self.dataset_form))
        opt_box = QWidget()
        opt_lay = QVBoxLayout(opt_box)
        opt_lay.setContentsMargins(0, 0, 0, 0)
        row = QFormLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addRow("Optimizer", self.optimizer_combo)
        opt_lay.addLayout(row)
        opt_lay.addLayout(self._optimizer_holder)
        opt_lay.addWidget(self.optimizer_error)
        layout.addWidget(_group("Optimizer", opt_box))
        layout.addWidget(_group("Learning rate and schedule", self.lr_form, self.lr_note, self.schedule_editor))
        layout.addWidget(_group("Training", self.training_form, self.run_length_label))
        layout.addWidget(_group("Advanced", self.advanced_form))
        layout.addWidget(self.message_label)
        layout.addStretch(1)

        for form in (self.name_form, self.model_form, self.dataset_form, self.lr_form, self.training_form,
                     self.advanced_form):
            form.changed.connect(self._on_edited)
        self.model_form.field("model").currentTextChanged.connect(self._on_model_changed)
        self.dataset_form.field("name").currentTextChanged.connect(self._on_dataset_changed)
        self.training_form.field("clip_mode").currentTextChanged.connect(self._on_clip_mode_changed)
        self.schedule_editor.changed.connect(self._on_edited)

        self._build_optimizer_form()
        self.set_config(config or starter_config())

    # -- public ------------------------------------------------------------------------------
    def config(self) -> RunConfig:
        """The configuration shown (fields that do not validate give their defaults)."""
        run_vals: dict[str, Any] = {}
        for form in (self.name_form, self.model_form, self.lr_form, self.training_form, self.advanced_form):
            run_vals.update(form.values())
        ds = DatasetConfig(**self.dataset_form.values())
        opt_params = self.optimizer_form.values() if self.optimizer_form is not None else {}
        return RunConfig(
            **run_vals,
            dataset=ds,
            optimizer={"name": self.optimizer_combo.currentData(), "params": opt_params},
            schedule=self.schedule_editor.value(),
        )

    def set_config(self, cfg: RunConfig) -> None:
        """Show ``cfg`` in the form.

        Raises :class:`~lrstudio.core.params.ParamError` (and leaves the form as it was) for a
        config the form cannot show faithfully: an unknown model, optimizer or schedule, a value
        out of its bounds (e.g. a stored config written by hand or by a newer lrstudio; issue 9).
        A config that is valid but does not fit its run (warm-up too long…) is shown, with the
        problem marked at its field.
        """
        cfg = cfg.validated()
        self._lr_typed = False
        self.lr_note.setVisible(False)
        self._loading = True
        try:
            self.name_form.set_values({"name": cfg.name})
            self.model_form.set_values({"model": cfg.model, "init": cfg.init})
            self._restrict_datasets(cfg.model)
            self.dataset_form.set_values(_dataset_dict(cfg.dataset))
            opt = dict(cfg.optimizer or {})
            idx = self.optimizer_combo.findData(opt.get("name", "sgd"))
            if idx >= 0 and idx != self.optimizer_combo.currentIndex():
                self.optimizer_combo.setCurrentIndex(idx)  # rebuilds the form
            if self.optimizer_form is not None:
                self.optimizer_form.set_values(opt.get("params") or {})
            self.lr_form.set_values({"lr": cfg.lr, "schedule_unit": cfg.schedule_unit})
            self.schedule_editor.set_value(cfg.schedule)
            self.training_form.set_values({n: getattr(cfg, n) for n in TRAINING_FIELDS})
            self.advanced_form.set_values({n: getattr(cfg, n) for n in ADVANCED_FIELDS})
        finally:
            self._loading = False
        self._update_visibility()
        self._on_edited()

    def try_set_config(self, cfg: RunConfig, context: str) -> bool:
        """:meth:`set_config`, or say why not (the one error dialog, ``gui.dialogs.errors``) and keep the form.

        ``context`` says what was being done, e.g. "This run's configuration cannot be copied into
        the form."
        """
        try:
            self.set_config(cfg)
        except LrstudioError as exc:
            errors.show_error(self.window(), exc, context=context)
            return False
        return True

    def clear_run_name(self) -> None:
        """Empty the run name: a typed name names the one run just started (issue 9)."""
        if self.name_form.values().get("name"):
            self.name_form.set_values({"name": ""})

    def use_lr(self, lr: float) -> str:
        """Put a learning rate (a range test's suggestion) into the form; a sentence saying where.

        The LR field, and the peak of every schedule that holds its own (a ``cyclic``'s
        ``max_lr``, with the base LR at a quarter of it; an absolute ``peak_value``), nested ones
        included: :func:`lrstudio.gui.lr_finder.use.place_lr`.
        """
        from lrstudio.gui.lr_finder.use import place_lr

        placed = place_lr(self.schedule_editor.value(), lr)
        self._lr_typed = True
        self.lr_note.setVisible(False)
        if placed.schedule is not None:
            self.schedule_editor.set_value(placed.schedule)
        self.lr_form.set_values({"lr": placed.lr})
        self._on_edited()
        return placed.where

    def is_valid(self) -> bool:
        return self._valid

    def preview_args(self) -> tuple[dict[str, Any] | None, float, int, str]:
        """(schedule spec or None when invalid, base LR, scheduling steps, note) for the preview."""
        cfg = self.config()
        spec = self.schedule_editor.value() if self.schedule_editor.is_valid() else None
        steps = _plan(cfg).schedule_steps
        note = "x = epochs" if cfg.schedule_unit == "epoch" else ""
        shares = shares_note(spec, steps)  # lengths given as shares of the run, resolved (issue 15)
        note = f"{note}; {shares}" if note and shares else (note or shares)
        try:
            info = schedules.SCHEDULES[self.schedule_editor.schedule_name()]
            if getattr(info, "metric_driven", False):
                note = (note + "; " if note else "") + "follows the validation loss (shown: no plateau)"
        except KeyError:
            pass
        return spec, cfg.lr, steps, note

    # -- does the schedule fit the run? (issue 9) -------------------------------------------
    def _schedule_steps(self) -> int | None:
        """Scheduling steps of the run, or None while the data set's size is unknown."""
        cfg = self.config()
        return _plan(cfg).schedule_steps if estimate_train_rows(cfg.dataset) is not None else None

    def fit_warnings(self) -> tuple[str, ...]:
        """Sentences saying how the schedule does not fit the run (``schedule_fit``); () when it fits."""
        return tuple(self._fit_report.warnings) if self._fit_report is not None else ()

    def can_fit(self) -> bool:
        """True when :meth:`fit_schedule_to_run` would change the schedule."""
        return bool(self._fit_report is not None and self._fit_report.fittable and self._fit_report.warnings)

    def fit_schedule_to_run(self) -> None:
        """Set the schedule's length parameters to the run length ("Fit to run")."""
        if not self.schedule_editor.is_valid():
            return
        steps = self._schedule_steps()
        if steps is None:
            return
        try:
            fitted = fit.fit_to_run(self.schedule_editor.value(), steps)
        except (LrstudioError, ValueError) as exc:
            self._set_message(str(exc))
            return
        self.schedule_editor.set_value(fitted)

    def _check_fit(self, cfg: RunConfig) -> None:
        self._fit_report = None
        if not self.schedule_editor.is_valid() or estimate_train_rows(cfg.dataset) is None:
            return  # no sentence about a guessed run length
        try:
            self._fit_report = fit.schedule_fit(self.schedule_editor.value(), _plan(cfg).schedule_steps,
                                                   unit=cfg.schedule_unit)
        except (LrstudioError, ValueError):
            pass  # an invalid spec is reported by the validation

    # -- validation --------------------------------------------------------------------------
    def _forms(self) -> list[ParamForm]:
        forms = [self.name_form, self.model_form, self.dataset_form, self.lr_form, self.training_form,
                 self.advanced_form]
        if self.optimizer_form is not None:
            forms.append(self.optimizer_form)
        return forms

    def _on_edited(self) -> None:
        if self._loading or self._validating:
            return
        self._validating = True
        try:
            self._revalidate()
        finally:
            self._validating = False
        self.config_changed.emit()

    def _revalidate(self) -> None:
        for form in self._forms():
            form.clear_external_errors()
        self.schedule_editor.revalidate()
        self._set_message("")
        self._set_optimizer_error("")
        ok = all(f.is_valid() for f in self._forms()) and self.schedule_editor.is_valid()
        cfg = self.config()
        plan = _plan(cfg)
        total, spe = plan.total_steps, plan.steps_per_epoch
        self.run_length_label.setText(
            f"≈ {total:,} optimizer steps ({spe:,} per epoch)" if total else "")
        self._check_fit(cfg)
        if ok:
            try:
                # The one pre-run gate (core), with the form's row estimate for CSV/MNIST files.
                check_runnable(cfg, n_train=estimate_train_rows(cfg.dataset))
            except ParamError as exc:
                ok = False
                self._place_error(exc)
            except (LrstudioError, ValueError) as exc:
                ok = False
                self._set_message(str(exc))
        if ok != self._valid:
            self._valid = ok
            self.validity_changed.emit(ok)

    def _place_error(self, exc: ParamError) -> None:
        owner = exc.owner or ""
        if owner.startswith("schedule"):
            self.schedule_editor.show_error(exc)  # there only: each message is shown once
            return
        if owner.startswith("optimizer"):
            if self.optimizer_form is None or not self.optimizer_form.set_external_error(exc.param, str(exc)):
                self._set_optimizer_error(str(exc))
            return
        if exc.param == "dataset":
            self.dataset_form.set_external_error("name", str(exc))
            return
        if owner == "data set" and self.dataset_form.set_external_error(exc.param, str(exc)):
            return
        for form in (self.name_form, self.model_form, self.lr_form, self.training_form):
            if form.set_external_error(exc.param, str(exc)):
                return
        if exc.param in ("warmup_steps", "total_steps", "T_max"):
            self.schedule_editor.show_error(exc)
            return
        self._set_message(str(exc))

    def _set_message(self, msg: str) -> None:
        self.problem = msg
        self.message_label.setText(msg)
        self.message_label.setVisible(bool(msg))

    def _set_optimizer_error(self, msg: str) -> None:
        self.optimizer_error.setText(msg)
        self.optimizer_error.setVisible(bool(msg))

    def errors(self) -> dict[str, str]:
        """Every message shown now, by field name (for tests and the status bar)."""
        out: dict[str, str] = {}
        for form in self._forms():
            out.update(form.errors())
        # Nested schedule editors show their own messages; the field that holds one is only
        # marked invalid ("nested"), which is no message for the user.
        for ed in [self.schedule_editor, *self.schedule_editor.findChildren(ScheduleEditor)]:
            where = "schedule" if ed is self.schedule_editor else f"schedule[{ed.depth}]"
            if ed.form is not None:
                out.update({f"{where}.{k}": v for k, v in ed.form.errors().items() if v != "nested"})
            if ed.error_label.text():
                out[where] = ed.error_label.text()
        for text in self.schedule_editor.findChildren(SpecTextEditor):
            if text.error_label.text():
                out["schedule[json]"] = text.error_label.text()
        if self.problem:
            out[""] = self.problem
        return out

    # -- dependent fields --------------------------------------------------------------------
    def _build_optimizer_form(self) -> None:
        if self.optimizer_form is not None:
            self.optimizer_form.setParent(None)
            self.optimizer_form.deleteLater()
            self.optimizer_form = None
        info = optimizers.OPTIMIZERS[self.optimizer_combo.currentData()]
        doc = getattr(info, "doc", "") or getattr(info, "title", "")
        self.optimizer_combo.setToolTip(doc)
        if info.params:
            self.optimizer_form = ParamForm(info.params, owner=f"optimizer {info.name!r}")
            self.optimizer_form.changed.connect(self._on_edited)
            names = {p.name for p in info.params}
            wd = self.optimizer_form.field("weight_decay") if "weight_decay" in names else None
            if isinstance(wd, QLineEdit):  # two "Weight decay" fields: say which one applies
                wd.setPlaceholderText("empty: Training's weight decay")
            self._optimizer_holder.addWidget(self.optimizer_form)

    def _on_optimizer_chosen(self, _index: int) -> None:
        self._build_optimizer_form()
        if not self._loading:
            self._offer_default_lr()
        self._on_edited()

    def _offer_default_lr(self) -> None:
        """Show the chosen optimizer's default LR, unless the user typed one (then keep theirs)."""
        if self._lr_typed:
            return
        info = optimizers.OPTIMIZERS[self.optimizer_combo.currentData()]
        lr = info.default_lr if getattr(info, "default_lr", None) is not None else _RUN["lr"].default
        self.lr_form.set_values({"lr": lr})
        title = getattr(info, "title", "") or info.name
        self.lr_note.setText(f"Learning rate {lr:g}: {title}'s default. Type another to keep it across "
                             "optimizers.")
        self.lr_note.setVisible(True)

    def _on_lr_typed(self, _text: str) -> None:
        self._lr_typed = True
        self.lr_note.setVisible(False)

    def _restrict_datasets(self, model: str) -> None:
        combo: QComboBox = self.dataset_form.field("name")
        allowed = MODEL_DATASETS.get(model, ())
        current = combo.currentText()
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(list(allowed))
        combo.setCurrentText(current if current in allowed else allowed[0])
        combo.blockSignals(False)

    def _on_model_changed(self, model: str) -> None:
        if self._loading:
            return
        self._restrict_datasets(model)
        self._update_visibility()
        self._on_edited()

    def _on_dataset_changed(self, _name: str) -> None:
        self._update_visibility()

    def _on_clip_mode_changed(self, _mode: str) -> None:
        self._update_visibility()

    def _update_visibility(self) -> None:
        ds = self.dataset_form.field("name").currentText()
        shown = DATASET_OPTIONS.get(ds, ())
        for p in DATASET_FIELDS:
            if p.name != "name":
                self.dataset_form.set_field_visible(p.name, p.name in shown)
        clip = self.training_form.field("clip_mode").currentText()
        self.training_form.set_field_enabled("clip_value", clip != "none")


def _plan(cfg: RunConfig) -> RunPlan:
    """The run plan of the form, the data set's size estimated without loading it (the one run
    plan, ``core.plan``; an unknown size counts as ``DEFAULT_ROWS`` rows)."""
    return plan_run(cfg, n_train=max(1, estimate_train_rows(cfg.dataset) or DEFAULT_ROWS))


def _dataset_dict(ds: DatasetConfig) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(ds)


def _group(title: str, *widgets: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(8, 6, 8, 8)
    lay.setSpacing(4)
    for w in widgets:
        lay.addWidget(w)
    return box


def _beside(editor: QWidget, button: QPushButton) -> QPushButton:
    """Put ``button`` right of a ParamForm field's editor, in the field's own container (issue 12)."""
    box = editor.parentWidget().layout()
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    box.removeWidget(editor)
    row.addWidget(editor, 1)
    row.addWidget(button)
    box.insertLayout(0, row)
    return button
