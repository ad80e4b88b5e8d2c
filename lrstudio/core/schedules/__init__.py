"""The learning-rate schedule catalogue.

Public API (see ``docs/ARCHITECTURE.md``)::

    SCHEDULES: dict[str, ScheduleInfo]       # every schedule, its declared params, formula, source
    validate_spec(spec) -> dict              # normalised spec, raises ScheduleError (a ParamError)
    lr_curve(spec, steps, base_lr, metrics=None) -> np.ndarray   # element i: LR of update i + 1
    check_run_length(spec, total_steps)      # e.g. warm-up longer than the run
    compile_expr(text)                       # the safe evaluator behind lambda/multiplicative
    schedule_fit(spec, total) -> FitReport   # does the schedule's own length fit the run? (words)
    fit_to_run(spec, total) -> dict          # the spec with its length parameters set to the run
    resolve_lengths(spec, total) -> dict     # lengths given as shares of the run ("auto", "10%") in steps

Importing this package imports numpy but not torch.
"""

from lrstudio.core.schedules import basic, chained, composite, cyclic, hf, noise, optax_, plateau, timm  # noqa: F401  (register the catalogue)  # noqa: F401,I001  (issue 15 families)
from lrstudio.core.schedules.base import (
    SCHEDULES,
    ScheduleError,
    ScheduleInfo,
    check_run_length,
    curve_at,
    has_shares,
    lr_curve,
    register_schedule,
    resolve_lengths,
    share_steps,
    validate_spec,
)
from lrstudio.core.schedules.expr import compile_expr
from lrstudio.core.schedules.fit import FitReport, fit_to_run, schedule_fit
from lrstudio.core.schedules.plateau import PlateauState

__all__ = [
    "FitReport",
    "SCHEDULES",
    "PlateauState",
    "ScheduleError",
    "ScheduleInfo",
    "check_run_length",
    "compile_expr",
    "curve_at",
    "fit_to_run",
    "has_shares",
    "lr_curve",
    "register_schedule",
    "resolve_lengths",
    "schedule_fit",
    "share_steps",
    "validate_spec",
]
