"""lrstudio: a native desktop lab for learning rates.

Public Python API (stable names; each imports what it needs on first call, so ``import lrstudio``
stays cheap):

- :func:`torch_scheduler` — a schedule designed in lrstudio as a real PyTorch LR scheduler.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "torch_scheduler"]


def torch_scheduler(spec: Any, optimizer: Any, total_steps: int | None = None) -> Any:
    """A real ``torch.optim.lr_scheduler.LRScheduler`` whose LRs equal ``lr_curve(spec, ...)``.

    ``spec`` is a schedule spec (``{"name": "cosine", "params": {"T_max": 1000}}``, or the JSON the
    app's preview shows); the optimizer's LR is the base LR. See
    :func:`lrstudio.trainer.schedule_adapter.torch_scheduler`.
    """
    from lrstudio.trainer.schedule_adapter import torch_scheduler as make

    return make(spec, optimizer, total_steps)
