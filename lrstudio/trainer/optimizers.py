"""Build a real ``torch.optim.Optimizer`` from an optimizer spec.

The declarations (:data:`~lrstudio.core.optimizers.OPTIMIZERS`, their parameters, validation and the
keyword arguments of each ``torch.optim`` class) live in :mod:`lrstudio.core.optimizers`, which
imports no torch; this module only looks the class up and calls it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from lrstudio.core.optimizers import OPTIMIZERS, OptimizerError, torch_kwargs, validate_spec

__all__ = ["build_optimizer"]


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
    return cls(parameters, **kwargs)
