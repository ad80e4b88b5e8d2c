"""lrstudio: a native desktop lab for learning rates.

Public Python API (stable names; each imports what it needs on first call, so ``import lrstudio``
stays cheap):

- :func:`torch_scheduler` — a schedule designed in lrstudio as a real PyTorch LR scheduler.
- :func:`start_run` — log your own training loop into the lrstudio database (the tracking API).
- :func:`find_lr` — the LR range test on your own ``torch.nn.Module``, stored like the app's.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "find_lr", "start_run", "torch_scheduler"]


def torch_scheduler(spec: Any, optimizer: Any, total_steps: int | None = None) -> Any:
    """A real ``torch.optim.lr_scheduler.LRScheduler`` whose LRs equal ``lr_curve(spec, ...)``.

    ``spec`` is a schedule spec (``{"name": "cosine", "params": {"T_max": 1000}}``, or the JSON the
    app's preview shows); the optimizer's LR is the base LR. See
    :func:`lrstudio.trainer.schedule_adapter.torch_scheduler`.
    """
    from lrstudio.trainer.schedule_adapter import torch_scheduler as make

    return make(spec, optimizer, total_steps)


def start_run(name: str | None = None, config: Any = None, db: Any = None, tags: Any = ()) -> Any:
    """Start logging your own training into the lrstudio database; a ``TrackedRun``.

    ``with lrstudio.start_run(name, config={...}) as run: run.log({"train/loss": x}, step=i)``.
    See :func:`lrstudio.services.tracking.start_run`.
    """
    from lrstudio.services.tracking import start_run as start

    return start(name=name, config=config, db=db, tags=tags)


def find_lr(model: Any, loss_fn: Any, train_loader: Any, **options: Any) -> Any:
    """LR range test on any ``torch.nn.Module``: the suggestions (a ``FindLRResult``), the test stored.

    ``lrstudio.find_lr(model, loss_fn, train_loader, optimizer_factory=lambda p: torch.optim.Adam(p),
    start_lr=1e-7, end_lr=10, num_it=100, db=None, name=None)``; model and optimizer state are as
    before afterwards. See :func:`lrstudio.services.range_test_run.find_lr`.
    """
    from lrstudio.services.range_test_run import find_lr as run

    return run(model, loss_fn, train_loader, **options)
