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

from lrstudio.core.params import MAX_SHARE_PERCENT, is_share, resolve_share
from lrstudio.core.schedules.base import (
    SCHEDULES,
    ScheduleError,
    curve_at,
    has_shares,
    resolve_lengths,
    validate_spec,
)

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
    length (step, exponential, cyclic…) come back unchanged. A length given as a share of the run
    stays a share: as given when the fit keeps its steps, else the share of the fitted length
    (``"auto"`` when that is the whole of its part of the run); lengths in steps stay steps.
    """
    if total < 1:
        return validate_spec(spec)
    given = validate_spec(spec)
    norm = resolve_lengths(given, int(total))  # shares of the run become steps of this run
    fitted = validate_spec(_fit(copy.deepcopy(norm), int(total)))
    if not has_shares(given):
        return fitted
    # Lengths given as shares of the run stay shares (issue 15): the share as typed where the fit left
    # its steps alone, else the share of the new length ("auto": the whole of its part of the run).
    # Steps stay steps. Kept only when it resolves to exactly the fitted steps for this run.
    kept = _keep_shares(given, fitted, int(total))
    try:
        if resolve_lengths(kept, int(total)) == fitted:
            return validate_spec(kept)
    except ScheduleError:
        pass
    return fitted


def _share_for(given: Any, steps: Any, total: int, low: float | None, high: float | None) -> Any:
    """``given`` (a share) when it still makes ``steps`` in a run of ``total``, else a share that does
    ("auto", "12.5%"), else ``steps``; a length given in steps comes back as the fitted steps."""
    if not is_share(given) or isinstance(steps, bool) or not isinstance(steps, int):
        return steps
    if resolve_share(given, total, low, high) == steps:
        return given
    pct = 100.0 * steps / total
    for cand in ("auto", f"{pct:.6g}%"):
        if cand != "auto" and not 0 < pct <= MAX_SHARE_PERCENT:
            continue
        if resolve_share(cand, total, low, high) == steps:
            return cand
    return steps


def _keep_shares(given: dict[str, Any], fitted: dict[str, Any], total: int) -> dict[str, Any]:
    """``fitted`` (all steps) with the lengths ``given`` as shares written back as shares, level by
    level; a nested schedule's shares are shares of its part of the run (as ``resolve_lengths``)."""
    if given["name"] != fitted["name"]:
        return fitted
    info = SCHEDULES[fitted["name"]]
    gp, fp = given["params"], dict(fitted["params"])
    starts: dict[int, int] = {}
    if info.lengths.children is not None:
        starts = {id(c): int(start) for start, c in info.lengths.children(fp)}
    for decl in info.params:
        g, f = gp.get(decl.name), fp[decl.name]
        if decl.is_length:
            if isinstance(g, list) and isinstance(f, list) and len(g) == len(f):
                fp[decl.name] = [_share_for(a, b, total, decl.low, decl.high) for a, b in zip(g, f)]
            elif not isinstance(g, list):
                fp[decl.name] = _share_for(g, f, total, decl.low, decl.high)
        elif decl.kind == "schedule" and isinstance(g, dict):
            fp[decl.name] = _keep_shares(g, f, max(1, total - starts.get(id(f), 0)))
        elif decl.kind == "schedule_list" and isinstance(g, list) and len(g) == len(f):
            fp[decl.name] = [_keep_shares(a, b, max(1, total - starts.get(id(b), 0))) for a, b in zip(g, f)]
    return {"name": fitted["name"], "params": fp}


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
