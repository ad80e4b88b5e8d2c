"""Momentum cycling (issue 15): the momentum curve that goes with an LR schedule.

torch's ``OneCycleLR`` and ``CyclicLR`` cycle the optimizer's momentum inversely to the LR by
default (``cycle_momentum=True``): SGD's / RMSprop's ``momentum``, or Adam's beta1 (``betas[0]``)
for optimizers with ``betas``. lrstudio's ``one_cycle`` and ``cyclic`` do the same with torch's
parameters and defaults. A schedule that cycles momentum registers its closed form here with
:func:`register_momentum`; :func:`momentum_curve` is the counterpart of
:func:`~lrstudio.core.schedules.lr_curve`: element ``i`` is the momentum of update ``i + 1``.

Only the run's own schedule cycles momentum: a ``one_cycle`` nested in a warm-up or a
``sequential`` changes the LR only (torch has no warm-up class, and a ``SequentialLR`` of
``OneCycleLR`` children cannot be exported, see ``sequential``'s torch_native).

Which optimizer parameter moves (torch's rule, ``torch/optim/lr_scheduler.py``): beta1 when the
optimizer has ``betas`` (adam, adamw), else ``momentum`` when it has one (sgd, momentum, nesterov,
rmsprop; plain sgd's momentum 0 becomes the cycled value, as in torch); an optimizer with neither
(adagrad, adadelta) cannot cycle momentum: torch raises, lrstudio refuses the run before it starts
(:func:`check_momentum`) and asks for ``cycle_momentum`` false.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lrstudio.core.schedules.base import MAX_STEPS, ScheduleError, resolve_lengths, validate_spec

__all__ = ["MOMENTUM_TARGETS", "check_momentum", "cycles_momentum", "momentum_curve", "momentum_target",
           "register_momentum"]

#: ``fn(p, t) -> ndarray``: the momentum at the int64 steps ``t`` (validated params ``p``), or None
#: when these parameters do not cycle momentum (``cycle_momentum`` false).
MomentumFn = Callable[[dict[str, Any], np.ndarray], np.ndarray | None]

MOMENTUM_CURVES: dict[str, MomentumFn] = {}

#: torch optimizer class -> the parameter momentum cycling moves ("beta1": ``betas[0]``).
MOMENTUM_TARGETS: dict[str, str] = {"SGD": "momentum", "RMSprop": "momentum", "Adam": "beta1", "AdamW": "beta1"}


def register_momentum(name: str) -> Callable[[MomentumFn], MomentumFn]:
    """Register the momentum curve of schedule ``name`` (beside its LR curve)."""

    def deco(fn: MomentumFn) -> MomentumFn:
        MOMENTUM_CURVES[name] = fn
        return fn

    return deco


def cycles_momentum(spec: Any) -> bool:
    """True when the (run's) schedule ``spec`` cycles the optimizer's momentum."""
    norm = validate_spec(spec)
    fn = MOMENTUM_CURVES.get(norm["name"])
    return fn is not None and bool(norm["params"].get("cycle_momentum"))


def momentum_curve(spec: Any, steps: int) -> np.ndarray | None:
    """The momentum (beta1 for Adam-like optimizers) of each of ``steps`` updates, or None when the
    schedule does not cycle momentum (the optimizer keeps its own).

    Element ``i`` is the momentum used for update ``i + 1``, as in :func:`lr_curve`; e.g. for
    ``one_cycle``: ``max_momentum`` down to ``base_momentum`` while the LR rises, back up while it
    falls, held at the end. Lengths given as shares of the run are shares of ``steps``, as in
    :func:`lr_curve`.

    Raises
    ------
    ScheduleError
        For an invalid spec or ``steps``.
    """
    validate_spec(spec)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps <= MAX_STEPS:
        raise ScheduleError("steps", steps, f"an integer in [0, {MAX_STEPS}]", "momentum_curve")
    norm = resolve_lengths(spec, max(1, int(steps)))
    fn = MOMENTUM_CURVES.get(norm["name"])
    if fn is None or not norm["params"].get("cycle_momentum"):
        return None
    return fn(norm["params"], np.arange(int(steps), dtype=np.int64))


def momentum_target(torch_class: str) -> str | None:
    """``"momentum"``, ``"beta1"`` or None: what cycling moves in an optimizer of ``torch_class``."""
    return MOMENTUM_TARGETS.get(torch_class)


def check_momentum(spec: Any, optimizer_name: str, torch_class: str) -> None:
    """Refuse a schedule that cycles momentum with an optimizer that has none (torch raises
    "optimizer must support momentum or beta1 with `cycle_momentum` option enabled")."""
    if cycles_momentum(spec) and momentum_target(torch_class) is None:
        name = validate_spec(spec)["name"]
        raise ScheduleError(
            "cycle_momentum", True,
            f"false with optimizer {optimizer_name!r}, which has neither momentum nor beta1 (momentum "
            "cycling needs sgd, momentum, nesterov, rmsprop, adam or adamw)", f"schedule {name!r}")
