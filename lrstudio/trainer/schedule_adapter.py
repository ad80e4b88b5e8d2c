"""Drive a real ``torch.optim`` optimizer from a schedule spec; a real torch LR scheduler.

:class:`TorchScheduleAdapter` is on the training hot path (thousands of steps per second), so it
does no math per step: the closed-form curve is computed once with
:func:`~lrstudio.core.schedules.lr_curve` for the planned number of steps and indexed; only
``reduce_on_plateau`` keeps incremental state (:class:`~lrstudio.core.schedules.PlateauState`), whose
numbers equal ``lr_curve(spec, n, base_lr, metrics)`` step for step. When a run goes past the
planned length the curve is extended (doubling), so a wrong estimate costs nothing but a recompute.

Momentum cycling (issue 15): when the schedule cycles momentum (``one_cycle``, ``cyclic`` with
``cycle_momentum``, torch's default), the adapter also writes
:func:`~lrstudio.core.schedules.momentum.momentum_curve` to each group's ``betas[0]`` (optimizers with
``betas``) or ``momentum``, torch's rule; an optimizer with neither is refused, as torch refuses it.

This module imports torch (it belongs to :mod:`lrstudio.trainer`); the code export that needs no
torch is :func:`lrstudio.core.schedules.pytorch_code.to_pytorch_code`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch.optim.lr_scheduler import LRScheduler

from lrstudio.core.schedules import (
    SCHEDULES,
    PlateauState,
    ScheduleError,
    curve_at,
    resolve_lengths,
    validate_spec,
)
from lrstudio.core.schedules.base import _check_base_lr
from lrstudio.core.schedules.momentum import MOMENTUM_CURVES, cycles_momentum, momentum_curve

__all__ = ["LrstudioScheduler", "TorchScheduleAdapter", "torch_scheduler"]


class TorchScheduleAdapter:
    """Set ``group["lr"]`` of every param group of ``optimizer`` to the planned LR before each update.

    Usage (one scheduling step per optimizer step or per epoch, as the run decides)::

        adapter = TorchScheduleAdapter(opt, spec, base_lr=0.1, total_steps=n)
        for ...:
            loss.backward(); opt.step()          # uses adapter.planned_lr
            adapter.step()                       # or adapter.step(metric) for reduce_on_plateau

    Parameters
    ----------
    optimizer:
        A ``torch.optim.Optimizer`` (anything with ``param_groups``).
    spec:
        Schedule spec (validated here; raises :class:`~lrstudio.core.schedules.ScheduleError`).
    base_lr:
        The run's base learning rate.
    total_steps:
        Planned number of scheduling steps (the curve is precomputed for this many; going past it
        is allowed).
    """

    __slots__ = ("optimizer", "spec", "base_lr", "total_steps", "step_count", "_curve", "_plateau",
                 "_groups", "_lr", "_mom_curve", "_beta1", "_mom")

    def __init__(self, optimizer: Any, spec: Any, base_lr: float, total_steps: int) -> None:
        self.spec = validate_spec(spec)
        self.base_lr = _check_base_lr(base_lr)
        if isinstance(total_steps, bool) or not isinstance(total_steps, (int, np.integer)) or total_steps < 0:
            raise ScheduleError("total_steps", total_steps, "an integer >= 0", "schedule adapter")
        self.total_steps = int(total_steps)
        self.spec = resolve_lengths(self.spec, max(1, self.total_steps))  # shares of the run (issue 15)
        self.optimizer = optimizer
        self._groups = list(optimizer.param_groups)
        self.step_count = 0
        info = SCHEDULES[self.spec["name"]]
        if info.metric_driven:
            self._plateau: PlateauState | None = PlateauState(self.spec["params"], self.base_lr)
            self._curve: list[float] = []
            self._lr = self.base_lr
        else:
            self._plateau = None
            self._curve = self._compute(0, max(self.total_steps, 1) + 1)
            self._lr = self._curve[0]
        self._mom_curve: list[float] | None = None
        self._mom: float | None = None
        self._beta1 = False
        if self._plateau is None and cycles_momentum(self.spec):
            self._beta1 = _momentum_target(optimizer, self.spec["name"])
            self._mom_curve = self._momentum(len(self._curve))
            self._mom = self._mom_curve[0]
            self._apply_momentum(self._mom)
        self._apply(self._lr)

    def _momentum(self, n: int) -> list[float]:
        m = momentum_curve(self.spec, n)
        assert m is not None  # cycles_momentum said so
        return m.tolist()

    def _apply_momentum(self, m: float) -> None:
        for g in self._groups:
            if self._beta1:
                g["betas"] = (m, *g["betas"][1:])
            else:
                g["momentum"] = m

    @property
    def planned_momentum(self) -> float | None:
        """Momentum (beta1) of the coming update when the schedule cycles it, else None."""
        return self._mom

    def _compute(self, start: int, stop: int) -> list[float]:
        return curve_at(self.spec, np.arange(start, stop, dtype=np.int64), self.base_lr).tolist()

    def _apply(self, lr: float) -> None:
        for g in self._groups:
            g["lr"] = lr

    @property
    def planned_lr(self) -> float:
        """LR of the coming update (already written to the optimizer's param groups)."""
        return self._lr

    def step(self, metric: float | None = None) -> float:
        """Advance one scheduling step; return (and apply) the LR of the next update.

        ``metric`` feeds ``reduce_on_plateau`` (a loss or an accuracy, per its ``mode``); a step
        without a metric leaves the plateau state and the LR unchanged. Other schedules ignore it.
        """
        self.step_count += 1
        if self._plateau is not None:
            if metric is not None:
                self._lr = self._plateau.step(float(metric))
        else:
            i = self.step_count
            curve = self._curve
            if i >= len(curve):
                # recompute from step 0 (not just the new chunk): the values are then exactly those
                # of lr_curve(spec, n) for the longer n; amortised O(1) per step
                curve[:] = self._compute(0, 2 * len(curve))
            self._lr = curve[i]
            mom = self._mom_curve
            if mom is not None:
                if i >= len(mom):
                    mom[:] = self._momentum(len(curve))
                self._mom = mom[i]
                self._apply_momentum(self._mom)
        self._apply(self._lr)
        return self._lr


def _momentum_target(optimizer: Any, name: str) -> bool:
    """True for beta1 (the optimizer has ``betas``), False for ``momentum``; torch's rule
    (``OneCycleLR`` / ``CyclicLR``): an optimizer with neither cannot cycle momentum."""
    defaults = getattr(optimizer, "defaults", {})
    if "betas" in defaults:
        return True
    if "momentum" in defaults:
        return False
    raise ScheduleError(
        "cycle_momentum", True,
        f"false with {type(optimizer).__name__}, which has neither momentum nor beta1", f"schedule {name!r}")


# -- a real torch scheduler -----------------------------------------------------------------------
_CHUNK = 1024


class LrstudioScheduler(LRScheduler):
    """A ``torch.optim.lr_scheduler.LRScheduler`` whose LRs are lrstudio's closed form.

    Group ``k`` with initial LR ``b_k`` gets ``b_k * lr(t) / b_0`` at scheduler step ``t``,
    where ``lr`` is ``lr_curve(spec, ..., base_lr=b_0)`` of the first group: the first group
    follows the schedule exactly and every other group keeps its ratio to it. Metric-driven
    schedules (``reduce_on_plateau``) take the metric in ``step(metric)``.
    """

    def __init__(self, optimizer: Any, spec: Any, total_steps: int | None = None,
                 last_epoch: int = -1) -> None:
        self.spec = validate_spec(spec)
        if total_steps is not None and (isinstance(total_steps, bool) or not isinstance(
                total_steps, (int, np.integer)) or total_steps < 1):
            raise ScheduleError("total_steps", total_steps, "an integer >= 1 or None", "torch_scheduler")
        self.total_steps = None if total_steps is None else int(total_steps)
        if self.total_steps is not None:  # lengths given as shares of the run (issue 15)
            self.spec = resolve_lengths(self.spec, self.total_steps)
        self._cache: dict[int, list[float]] = {}
        self._plateau: PlateauState | None = None
        self._metric_driven = SCHEDULES[self.spec["name"]].metric_driven
        # momentum cycling as torch's OneCycleLR / CyclicLR (None: the schedule does not cycle it)
        self._mom_beta1: bool | None = None
        self._mom_cache: dict[int, list[float]] = {}
        if not self._metric_driven and cycles_momentum(self.spec):
            self._mom_beta1 = _momentum_target(optimizer, self.spec["name"])
        super().__init__(optimizer, last_epoch)

    # -- the closed form, a chunk of 1,024 steps at a time (no per-step numpy call) ----------
    def _lead_lr(self, t: int) -> float:
        b0 = float(self.base_lrs[0])
        if self._metric_driven:
            if self._plateau is None:
                self._plateau = PlateauState(self.spec["params"], b0)
            return self._plateau.lr
        k, i = divmod(t, _CHUNK)
        chunk = self._cache.get(k)
        if chunk is None:
            if len(self._cache) > 64:
                self._cache.clear()
            steps = np.arange(k * _CHUNK, (k + 1) * _CHUNK, dtype=np.int64)
            chunk = self._cache[k] = curve_at(self.spec, steps, b0).tolist()
        return chunk[i]

    def _lrs_at(self, t: int) -> list[Any]:  # floats (torch declares list[float | Tensor])
        lead = self._lead_lr(t)
        b0 = float(self.base_lrs[0])
        if b0 == 0.0:
            return [lead for _ in self.base_lrs]
        return [lead if j == 0 else float(b) * lead / b0 for j, b in enumerate(self.base_lrs)]

    def get_lr(self) -> list[Any]:  # torch API: LRs for step self.last_epoch
        return self._lrs_at(max(0, self.last_epoch))

    def _get_closed_form_lr(self) -> list[Any]:  # torch API (step(epoch) form)
        return self._lrs_at(max(0, self.last_epoch))

    def step(self, metric: Any = None, epoch: int | None = None) -> None:  # type: ignore[override]
        """One scheduling step; ``metric`` feeds ``reduce_on_plateau`` (ignored otherwise)."""
        if self._metric_driven and metric is not None and self.last_epoch >= 0:
            if self._plateau is None:
                self._plateau = PlateauState(self.spec["params"], float(self.base_lrs[0]))
            self._plateau.step(float(metric))
        if epoch is None:
            super().step()
        else:
            super().step(epoch)
        self._apply_momentum()

    def _apply_momentum(self) -> None:
        if self._mom_beta1 is None:
            return
        t = max(0, self.last_epoch)
        k, i = divmod(t, _CHUNK)
        chunk = self._mom_cache.get(k)
        if chunk is None:
            if len(self._mom_cache) > 64:
                self._mom_cache.clear()
            steps = np.arange(k * _CHUNK, (k + 1) * _CHUNK, dtype=np.int64)
            m = MOMENTUM_CURVES[self.spec["name"]](self.spec["params"], steps)
            chunk = self._mom_cache[k] = np.asarray(m, dtype=np.float64).tolist()
        for group in self.optimizer.param_groups:
            if self._mom_beta1:
                group["betas"] = (chunk[i], *group["betas"][1:])
            else:
                group["momentum"] = chunk[i]

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_cache", "_plateau", "_mom_cache")}
        if self._plateau is not None:
            state["_plateau_state"] = {k: getattr(self._plateau, k)
                                       for k in ("lr", "best", "num_bad", "cooldown_counter", "_first")}
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        plateau = state.pop("_plateau_state", None)
        self.__dict__.update(state)
        self._cache = {}
        self._mom_cache = {}
        self._plateau = None
        if plateau is not None:
            self._plateau = PlateauState(self.spec["params"], float(self.base_lrs[0]))
            for k, v in plateau.items():
                setattr(self._plateau, k, v)
        # unlike torch's own schedulers, put the restored step's LRs into the optimizer at once,
        # so resuming works whichever of optimizer and scheduler state is loaded first
        lrs = self._lrs_at(max(0, self.last_epoch))
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = lrs
        self._apply_momentum()


def torch_scheduler(spec: Any, optimizer: Any, total_steps: int | None = None) -> Any:
    """A real ``torch.optim.lr_scheduler.LRScheduler`` that follows ``spec``.

    Use it like any torch scheduler: create the optimizer with the base LR, call
    ``scheduler.step()`` after each ``optimizer.step()`` (``scheduler.step(metric)`` for
    ``reduce_on_plateau``); ``get_last_lr()``, ``state_dict()`` and ``load_state_dict()`` work. The
    LR of update ``i + 1`` equals ``lr_curve(spec, n, base_lr)[i]`` for the first param group; other
    groups keep their ratio to it. ``total_steps`` is informative (the closed form needs no length).

    Raises
    ------
    ScheduleError
        For an invalid spec or ``total_steps``.
    """
    return LrstudioScheduler(optimizer, spec, total_steps)
