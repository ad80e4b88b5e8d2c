"""Trajectories of the real ``torch.optim`` optimizers on a playground function (issue 16).

Each :class:`~lrstudio.core.playground.TrajectorySpec` gets its own optimizer from the registry
(:func:`~lrstudio.trainer.optimizers.build_optimizer`: every declared hyper-parameter) over one
float64 leaf tensor, the point ``x``; its schedule drives ``group["lr"]`` through the training
loop's :class:`~lrstudio.trainer.schedule_adapter.TorchScheduleAdapter`. The function is the
compiled expression of :mod:`lrstudio.core.playground` evaluated on torch tensors
(:data:`TORCH_OPS`), so every gradient, built-in function or user expression, comes from autograd.

All trajectories of one call advance together, one step at a time: their points are the rows of
one ``(k, dim)`` tensor, each optimizer's parameter a view of its row; the function is evaluated
once on a leaf sharing that storage and one ``backward`` gives every row's gradient; then each
optimizer takes its step. The same storage, read through numpy, gives the iterates (one copy per
step for all trajectories) and the divergence check. Gradient noise (d2l's noisy SGD)
enters the same backward as a linear term ``sum(noise_i * x)``, whose gradient is exactly the noise.

Divergence: a trajectory whose point or loss is not finite, or whose point left the function's
bound box (:meth:`~lrstudio.core.playground.FunctionInfo.bound_box`), is stopped there: it keeps the
iterates before that step and is marked ``diverged`` at it. The loop writes every row's iterate and
loss into preallocated arrays (one copy a step) and looks for bad iterates only every
:data:`CHECK_EVERY` steps; a row that went bad meanwhile has been stepped on harmlessly (rows share
only the backward), and its result is cut at its first bad iterate, as a per-step check would.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lrstudio.core.playground import (
    MAX_TRAJECTORIES,
    FunctionInfo,
    PlaygroundError,
    Surface,
    TrajectorySpec,
    gradient_noise,
    resolve_function,
    validate_trajectory,
)
from lrstudio.core.schedules import SCHEDULES
from lrstudio.trainer.optimizers import build_optimizer, lean_step
from lrstudio.trainer.schedule_adapter import TorchScheduleAdapter

__all__ = ["TORCH_OPS", "Trajectory", "compute_trajectories"]

_F64 = torch.float64


def _t(v: Any) -> Any:
    return torch.as_tensor(v, dtype=_F64) if isinstance(v, (float, int)) else v


def _nary(fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def f(*args: Any) -> Any:
        out = _t(args[0])
        for a in args[1:]:
            out = fn(out, _t(a))
        return out

    return f


def _unary(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda a: fn(_t(a))


class _TorchOps:
    """The expression compiler's backend on torch tensors (autograd follows every operation)."""

    functions: Mapping[str, Callable[..., Any]] = {
        "exp": _unary(torch.exp), "log": _unary(torch.log), "log2": _unary(torch.log2),
        "log10": _unary(torch.log10), "sqrt": _unary(torch.sqrt), "cos": _unary(torch.cos),
        "sin": _unary(torch.sin), "tan": _unary(torch.tan), "tanh": _unary(torch.tanh),
        "abs": _unary(torch.abs), "floor": _unary(torch.floor), "ceil": _unary(torch.ceil),
        "min": _nary(torch.minimum), "max": _nary(torch.maximum),
    }

    def as_float(self, x: Any) -> Any:
        return x.to(_F64) if isinstance(x, torch.Tensor) else float(x)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        c = _t(cond) != 0
        return torch.where(c, _t(a), _t(b))

    def logical_and(self, a: Any, b: Any) -> Any:
        return torch.logical_and(_t(a), _t(b)).to(_F64)

    def logical_or(self, a: Any, b: Any) -> Any:
        return torch.logical_or(_t(a), _t(b)).to(_F64)

    def logical_not(self, a: Any) -> Any:
        return torch.logical_not(_t(a)).to(_F64)

    def finish(self, value: Any, like: Any) -> Any:
        return torch.full_like(like, float(value))


TORCH_OPS = _TorchOps()


@dataclass(frozen=True)
class Trajectory:
    """The iterates of one trajectory.

    ``xs[k]`` is the point after ``k`` updates (``xs[0]`` the start), ``loss[k]`` the function there;
    ``lr[k - 1]`` is the LR of update ``k``. A diverged trajectory ends at its last good iterate and
    ``diverged_step`` is the update that left the box (or made the point or the loss not finite).
    """

    spec: TrajectorySpec
    xs: np.ndarray
    loss: np.ndarray
    lr: np.ndarray
    status: str  # "completed" | "diverged"
    diverged_step: int | None = None
    reason: str = ""

    @property
    def steps_done(self) -> int:
        return len(self.xs) - 1

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"


class _Run:
    """One trajectory being computed: its parameter (a row of the shared points), its optimizer,
    step function and LR schedule."""

    __slots__ = ("spec", "param", "opt", "step", "adapter", "lr", "metric")

    def __init__(self, spec: TrajectorySpec, param: torch.Tensor) -> None:
        self.spec = spec
        self.param = param
        self.opt = build_optimizer(spec.optimizer, [param], spec.lr, weight_decay=None)
        # What torch picks on the CPU anyway (the single-tensor kernels); set, so each step skips
        # torch's per-call choice (_default_to_fused_or_foreach: ~8 us a step, bench_playground.py).
        for group in self.opt.param_groups:
            if group.get("foreach") is None and "foreach" in group:
                group["foreach"] = False
        self.step = lean_step(self.opt)
        self.adapter: TorchScheduleAdapter | None = None
        self.metric = False
        if spec.schedule is not None:
            self.adapter = TorchScheduleAdapter(self.opt, spec.schedule, spec.lr, spec.steps)
            self.metric = SCHEDULES[spec.schedule["name"]].metric_driven
        # the LR of each update: constant, or written by the loop from the schedule
        self.lr = np.full(spec.steps, float(spec.lr))


def compute_trajectories(function: FunctionInfo | str, specs: Sequence[TrajectorySpec], *,
                         surface: Surface | None = None) -> list[Trajectory]:
    """Run every spec's optimizer on ``function``; one :class:`Trajectory` per spec, in order.

    ``function`` is a catalogue name or a resolved :class:`FunctionInfo` (with ``surface`` its
    compiled formula; resolved here when not given).

    Raises
    ------
    PlaygroundError
        A spec that is not valid (optimizer, LR, schedule, start, steps, noise, seed), a start point
        outside the bound box, or a function that is not finite at a start point.
    """
    if isinstance(function, str):
        function, surface = resolve_function(function)
    elif surface is None:
        surface = resolve_function(function.name, function.formula if function.user else None,
                                   function.domain)[1]
    dim = function.dim
    if len(specs) > MAX_TRAJECTORIES:
        raise PlaygroundError("trajectories", len(specs), f"at most {MAX_TRAJECTORIES} at once", "playground")
    specs = [validate_trajectory(s, dim) for s in specs]
    if not specs:
        return []
    box = np.array(function.bound_box())  # (dim, 2)
    lo, hi = box[:, 0], box[:, 1]
    for j, s in enumerate(specs):
        if not np.all((np.array(s.start) >= lo) & (np.array(s.start) <= hi)):
            raise PlaygroundError("start", list(s.start), "a point inside the bound box "
                                  + " x ".join(f"[{a:g}, {b:g}]" for a, b in box), f"trajectory {j + 1}")
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only cost (QT-NOTES: never slower on 2 cores)
    try:
        return _compute(function, surface, specs, lo, hi)
    finally:
        torch.set_num_threads(prev_threads)


#: Divergence is looked for in blocks of this many steps: a row that diverged inside a block keeps
#: being stepped (harmlessly: rows share nothing but the backward) until the block ends, and its
#: result is cut at the first bad iterate, exactly where a per-step check would have stopped it.
CHECK_EVERY = 64


def _compute(function: FunctionInfo, surface: Surface, specs: list[TrajectorySpec],
             lo: np.ndarray, hi: np.ndarray) -> list[Trajectory]:
    dim = function.dim
    k = len(specs)
    # The points of all trajectories, one row each. Each optimizer owns a row as its parameter (a
    # view: its in-place update writes here); each step differentiates the function at a fresh
    # leaf sharing this storage, so one backward with a single gradient accumulator serves all.
    points = torch.tensor([s.start for s in specs], dtype=_F64)
    runs = [_Run(s, points[j]) for j, s in enumerate(specs)]
    # every optimizer reads its gradient from a row of one buffer, filled by one copy a step
    grads = torch.zeros_like(points)
    for j, run in enumerate(runs):
        run.param.grad = grads[j]
    view = points.numpy()
    nmax = max(s.steps for s in specs)
    # every iterate and loss is written here, one copy per step for all rows; a row's results are
    # cut afterwards (at its own number of steps, or before its first bad iterate)
    xs = np.full((k, nmax + 1, dim), np.nan)
    loss = np.full((k, nmax + 1), np.nan)
    noise: torch.Tensor | None = None
    if any(s.noise for s in specs):
        noise_np = np.zeros((nmax + 1, k, dim))
        for j, s in enumerate(specs):
            n = gradient_noise(s.seed, s.noise, s.steps, dim)
            if n is not None:
                noise_np[:s.steps, j] = n
        noise = torch.from_numpy(noise_np)
    active = list(range(k))  # trajectories still stepping
    plain, scheduled = _steppers(runs, active)
    checked = 0  # iterates before this one have been looked at for divergence
    xs[:, 0] = view
    for i in range(nmax + 1):
        X = points.detach().requires_grad_()
        f = surface.evaluate(TORCH_OPS, *X.unbind(1))
        fv = f.detach().numpy()
        loss[:, i] = fv
        if i == 0:
            for r in np.flatnonzero(~np.isfinite(fv)).tolist():
                raise PlaygroundError("start", list(specs[r].start),
                                      f"a point where the function is finite (it is {float(fv[r])!r} there)",
                                      f"trajectory {r + 1}")
        changed = False
        if i - checked + 1 >= CHECK_EVERY or i == nmax:
            bad = _bad_rows(xs[active, checked:i + 1], loss[active, checked:i + 1], lo, hi)
            checked = i + 1
            if bad.any():
                active = [j for r, j in enumerate(active) if not bad[r]]
                changed = True
        if any(specs[j].steps == i for j in active):
            active = [j for j in active if specs[j].steps > i]
            changed = True
        if not active:
            break
        if changed:
            plain, scheduled = _steppers(runs, active)
        # rows that stopped keep being evaluated (the function is row-wise, so their values, even
        # inf or nan, touch no other row's gradient) but are never stepped again
        total = f.sum()
        if noise is not None:
            total = total + (X * noise[i]).sum()
        total.backward()
        assert X.grad is not None
        grads.copy_(X.grad)
        for step in plain:
            step()
        for step, adapter, lrs, metric, j in scheduled:
            lrs[i] = adapter.planned_lr
            step()
            if metric:
                m = float(fv[j])
                adapter.step(m if math.isfinite(m) else None)
            else:
                adapter.step()
        xs[:, i + 1] = view
    return [_result(run, xs[j, :run.spec.steps + 1], loss[j, :run.spec.steps + 1], lo, hi)
            for j, run in enumerate(runs)]


def _steppers(runs: list[_Run], active: list[int]) -> tuple[list[Callable[[], Any]], list[tuple[Any, ...]]]:
    """The step functions of the ``active`` runs: those at a constant LR, and the scheduled ones
    with what their schedule needs each step."""
    plain = [runs[j].step for j in active if runs[j].adapter is None]
    scheduled = [(runs[j].step, runs[j].adapter, runs[j].lr, runs[j].metric, j) for j in active
                 if runs[j].adapter is not None]
    return plain, scheduled


def _bad_rows(xs: np.ndarray, loss: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``bad[r, i]`` for iterates ``xs`` (rows, steps, dim) and their ``loss``: not finite, or
    outside the bound box ``[lo, hi]``; with 2-D input, ``bad[r]``: any of the row's."""
    good = (xs >= lo).all(axis=-1) & (xs <= hi).all(axis=-1) & np.isfinite(loss)
    # a nan coordinate fails both comparisons; an infinite one is outside the box
    return ~good.all(axis=-1) if good.ndim == 2 else ~good


def _result(run: _Run, xs: np.ndarray, loss: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Trajectory:
    """The trajectory of ``run`` from its iterates ``xs[0..steps]``: completed, or diverged at its
    first bad iterate (keeping the iterates before it)."""
    bad = _bad_rows(xs, loss, lo, hi)
    if not bad.any():
        n = len(xs) - 1
        return Trajectory(run.spec, xs.copy(), loss.copy(), run.lr[:n].copy(), "completed")
    b = int(np.argmax(bad))
    why = ("the point is not finite" if not np.isfinite(xs[b]).all()
           else "the loss is not finite" if not math.isfinite(float(loss[b]))
           else "the point left the bound box")
    return Trajectory(run.spec, xs[:b].copy(), loss[:b].copy(), run.lr[:b - 1].copy(), "diverged", b, why)
