"""Does a schedule fit the run it is used for? Warnings in words, and "Fit to run".

A schedule's own length (cosine ``T_max``, one-cycle ``total_steps``, polynomial ``decay_steps``…)
is a separate number from the run's length (epochs × steps per epoch), and nothing keeps them in
step: a user who switches to a longer run keeps a cosine that reaches 0 after a third of it, or a
one-cycle cut off before its decay. Such a schedule is *valid* (torch would run it), so it is not
an error; :func:`schedule_fit` says what will happen in a sentence the preview (GUI) and ``train``
(CLI) both print, and :func:`fit_to_run` sets the length parameters to the run length.

Lengths are in *scheduling steps*: optimizer updates, or epochs when the schedule advances once per
epoch (``unit="epoch"``); the caller passes the matching ``total``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from lrstudio.core.schedules.base import SCHEDULES, curve_at, resolve_lengths, validate_spec

__all__ = ["FitReport", "fit_to_run", "schedule_fit", "schedule_length"]

#: A schedule whose length is within this fraction of the run (or 1 step) fits it.
TOLERANCE = 0.01


@dataclass(frozen=True)
class FitReport:
    """What :func:`schedule_fit` found.

    Attributes
    ----------
    total:
        The run length in scheduling steps.
    length:
        The schedule's own length, when it declares one (``None``: it runs for ever, e.g. ``step``).
    warnings:
        Sentences for the user; empty when the schedule fits the run.
    fittable:
        True when :func:`fit_to_run` would change the spec.
    """

    total: int
    length: int | None
    warnings: tuple[str, ...]
    fittable: bool

    @property
    def fits(self) -> bool:
        return not self.warnings


# -- the length of each schedule family: asked of its registration (ScheduleInfo.lengths) -------------
def _own_length(norm: dict[str, Any]) -> int | None:
    """Steps after which the schedule has done what it was declared to do, or None."""
    own = SCHEDULES[norm["name"]].lengths.own
    return None if own is None else own(norm["params"], _own_length)


def schedule_length(spec: Any) -> int | None:
    """The schedule's own length in scheduling steps (``None`` when it declares none)."""
    return _own_length(validate_spec(spec))


def _fit(norm: dict[str, Any], total: int) -> dict[str, Any]:
    """``norm`` with its length parameters set so that it lasts ``total`` steps (a new dict)."""
    fit = SCHEDULES[norm["name"]].lengths.fit
    params = dict(norm["params"]) if fit is None else fit(dict(norm["params"]), total, _fit)
    return {"name": norm["name"], "params": params}


def fit_to_run(spec: Any, total: int) -> dict[str, Any]:
    """Return ``spec`` (normalised) with its length parameters set to a run of ``total`` steps.

    cosine ``T_max``, one-cycle ``total_steps``, polynomial / linear-cosine ``decay_steps`` become
    ``total``; ``wsd`` keeps its warm-up and splits the rest between stable and decay in their
    old proportions; ``linear_warmup`` fits its inner schedule to ``total - warmup_steps``;
    ``sequential`` fits its last schedule to what follows the last milestone. Schedules without a
    length (step, exponential, cyclic…) come back unchanged.
    """
    if total < 1:
        return validate_spec(spec)
    norm = resolve_lengths(spec, int(total))  # shares of the run become steps of this run
    return validate_spec(_fit(copy.deepcopy(norm), int(total)))


# -- warnings ------------------------------------------------------------------------------------
def _n(x: float) -> str:
    return f"{x:,.0f}"


def _after_end(norm: dict[str, Any], length: int, total: int) -> str:
    """What the LR does between the schedule's end and the run's end, in words."""
    after = SCHEDULES[norm["name"]].lengths.after
    said = None if after is None else after(norm["params"], total)
    if said is not None:
        return said
    try:
        tail = curve_at(norm, np.asarray([length, total - 1], dtype=np.int64), 1.0)
    except Exception:  # a curve that cannot be evaluated is reported by validation, not here
        return "the LR is held afterwards"
    if tail[0] == 0.0 and tail[1] == 0.0:
        return "LR is 0 afterwards"
    if tail[0] == tail[1]:
        return f"LR stays at {tail[0]:.3g} × the base LR afterwards"
    return "the LR keeps changing afterwards"


def _unused_milestones(norm: dict[str, Any], total: int, unit: str) -> list[str]:
    """Milestones (and the like) of ``norm`` and its nested schedules that fall after the run."""
    lengths = SCHEDULES[norm["name"]].lengths
    p = norm["params"]
    out: list[str] = []
    for key, steps, consequence in lengths.milestones(p) if lengths.milestones else []:
        late = [int(m) for m in steps if int(m) >= total]
        if late:
            shown = ", ".join(_n(m) for m in late[:4]) + (" …" if len(late) > 4 else "")
            verb = "falls" if len(late) == 1 else "fall"
            never = consequence or ("it never applies" if len(late) == 1 else "they never apply")
            out.append(f"{key} {shown} {verb} after the run's end ({_n(total)} {unit}s): {never}")
    for start, child in lengths.children(p) if lengths.children else []:
        if total - start >= 1:
            out += _unused_milestones(child, total - start, unit)
    return out


def schedule_fit(spec: Any, total: int, unit: str = "step") -> FitReport:
    """Say whether ``spec`` fits a run of ``total`` scheduling steps.

    Warnings (sentences) are given when the schedule ends noticeably before the run does ("schedule
    ends at step 420 of 1,350 (31 % of the run); LR is 0 afterwards"), when the run stops before the
    schedule's end ("cut off at 35 % of its length: …"), and when milestones or boundaries lie past
    the run's end. Within :data:`TOLERANCE` of the run length (or one step) a schedule fits.

    Raises
    ------
    ScheduleError
        For an invalid spec (the same error :func:`validate_spec` raises).
    """
    total = int(total)
    norm = resolve_lengths(spec, total) if total >= 1 else validate_spec(spec)  # shares of the run: steps
    length = _own_length(norm)
    warnings: list[str] = []
    fitted = _fit(copy.deepcopy(norm), total) if total >= 1 else norm
    fittable = fitted != norm
    if total >= 1 and length is not None and abs(length - total) > max(1.0, TOLERANCE * total):
        if length < total:
            warnings.append(
                f"schedule ends at {unit} {_n(length)} of {_n(total)} ({100 * length / total:.0f} % of the run); "
                + _after_end(norm, length, total)
            )
        else:
            warnings.append(
                f"schedule is cut off at {100 * total / length:.0f} % of its length: it lasts {_n(length)} "
                f"{unit}s, the run {_n(total)}"
            )
    if total >= 1:
        warnings += _unused_milestones(norm, total, unit)
    return FitReport(total=total, length=length, warnings=tuple(warnings), fittable=fittable)
