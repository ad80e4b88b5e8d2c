"""Build a real ``torch.optim.Optimizer`` from an optimizer spec.

The declarations (:data:`~lrstudio.core.optimizers.OPTIMIZERS`, their parameters, validation and the
keyword arguments of each ``torch.optim`` class) live in :mod:`lrstudio.core.optimizers`, which
imports no torch; this module only looks the class up and calls it.

Fast start (issue 11). In torch 2.x the first ``torch.optim`` call imports ``torch._dynamo`` (and
with it sympy and the fx machinery): ~1.1-1.2 s of a CLI run. Three places do it, all in
``torch/optim/optimizer.py``:

* ``Optimizer.__init__`` calls ``self.add_param_group``, which is decorated with
  ``torch._disable_dynamo`` (``torch/_compile.py``): that wrapper imports ``torch._dynamo`` on its
  first call to build ``torch._dynamo.disable(fn)``; ``zero_grad``, ``state_dict`` and
  ``load_state_dict`` are decorated the same way;
* ``step`` is wrapped by ``_use_grad_for_differentiable``, whose ``_use_grad`` runs
  ``import torch._dynamo`` and ``torch._dynamo.graph_break()`` on *every* call, inside
  ``Optimizer.profile_hook_step`` (a ``record_function`` plus the step hooks);
* the functional kernels (``adam``, ``sgd``...) are wrapped by ``_disable_dynamo_if_unsupported``,
  which only reaches ``torch._dynamo`` while compiling (``torch.compiler.is_compiling()``).

torch offers no switch to skip the import (``TORCH_COMPILE_DISABLE`` and
``torch._dynamo.config.disable`` are read by dynamo itself, after the import). What it does offer
is the undecorated functions, kept by ``functools.wraps`` as ``__wrapped__``: this module builds
the optimizer with the undecorated ``add_param_group`` bound on the instance for the duration of
``__init__`` only (no global patch of torch), and :func:`lean_step` / :func:`clear_grads` give the
training loop the undecorated ``step`` under ``no_grad`` and a plain ``grad = None``. Nothing is
compiled in lrstudio, so the dynamo guards have nothing to guard; when the structure is not the
one described (another torch, a ``differentiable`` optimizer, step hooks registered), the public
methods are used instead.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import optimizer as _torch_optimizer

from lrstudio.core.optimizers import OPTIMIZERS, OptimizerError, torch_kwargs, validate_spec

__all__ = ["build_optimizer", "clear_grads", "lean_step"]


def build_optimizer(spec: Any, parameters: Iterable[Any], lr: float,
                    weight_decay: float | None = 0.0) -> torch.optim.Optimizer:
    """Build the ``torch.optim.Optimizer`` that ``spec`` describes.

    Parameters
    ----------
    spec:
        ``{"name": ..., "params": {...}}`` (or just a name).
    parameters:
        Model parameters (or param groups) as torch accepts them.
    lr:
        Initial learning rate (a schedule then drives ``group["lr"]``).
    weight_decay:
        The run's weight decay; used when the spec leaves ``weight_decay`` empty. ``None`` means
        the optimizer's own default (0.01 for AdamW).
    """
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr >= 0 or lr == float("inf"):
        raise OptimizerError("lr", lr, "a finite number >= 0", "optimizer")
    kwargs = torch_kwargs(spec, lr, weight_decay)
    name = validate_spec(spec)["name"]
    cls = getattr(torch.optim, OPTIMIZERS[name].torch_class)
    raw_add = getattr(torch.optim.Optimizer.add_param_group, "__wrapped__", None)
    if raw_add is None:  # another torch: the public constructor
        return cls(parameters, **kwargs)
    opt = cls.__new__(cls)
    # Bound on the instance for __init__ only: __init__'s self.add_param_group finds it first.
    opt.add_param_group = types.MethodType(raw_add, opt)
    try:
        cls.__init__(opt, parameters, **kwargs)
    finally:
        opt.__dict__.pop("add_param_group", None)
    return opt


def lean_step(opt: torch.optim.Optimizer) -> Callable[[], Any]:
    """``opt.step`` without ``torch._dynamo`` and the profiler record: the undecorated step under
    ``no_grad`` (what ``_use_grad_for_differentiable`` does, minus its ``graph_break`` calls).

    Falls back to ``opt.step`` when the optimizer is differentiable, step hooks are registered, or
    the decorators are not the ones this was written against (torch 2.x)."""
    fn: Any = type(opt).step
    use_grad: Any = getattr(fn, "__wrapped__", None)
    raw: Any = getattr(use_grad, "__wrapped__", None)
    if (raw is None or getattr(getattr(fn, "__code__", None), "co_name", None) != "wrapper"
            or getattr(getattr(use_grad, "__code__", None), "co_name", None) != "_use_grad"
            or opt.defaults.get("differentiable") or opt._optimizer_step_pre_hooks
            or opt._optimizer_step_post_hooks or _torch_optimizer._global_optimizer_pre_hooks
            or _torch_optimizer._global_optimizer_post_hooks):
        return opt.step
    set_grad = torch._C._set_grad_enabled
    is_enabled = torch.is_grad_enabled

    def step() -> Any:
        prev = is_enabled()
        set_grad(False)
        try:
            return raw(opt)
        finally:
            set_grad(prev)

    return step


def clear_grads(params: list[Any]) -> None:
    """``zero_grad(set_to_none=True)`` for a flat parameter list, without the dynamo wrapper."""
    for p in params:
        p.grad = None
