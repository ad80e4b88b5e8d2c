"""A PyTorch Lightning logger that writes to the lrstudio database (issue 14).

Install with ``pip install "lrstudio[lightning]"``. Usage::

    from lrstudio.integrations.lightning import LrstudioLogger

    logger = LrstudioLogger(name="my fit", config={"batch": 64})
    trainer = L.Trainer(logger=logger, callbacks=[logger.lr_callback()], max_epochs=10)
    trainer.fit(model, data)

Life cycle: the run (kind ``external``, :mod:`lrstudio.services.tracking`) is created at the first
``log_metrics`` call (or at ``finalize`` if nothing was logged), so the hyper-parameters Lightning
logs at the start of ``fit`` (``save_hyperparameters()``) join the config given here. Every
``self.log(...)`` value goes to the run at Lightning's step; the ``epoch`` Lightning adds becomes
the points' epoch. Lightning's usual names ``train_loss``, ``val_loss``, ``val_acc`` and
``train_acc`` are stored under the keys the app plots (``train/loss`` ...); log those keys
directly to skip the renaming. Other usual names (``loss``, ``train_loss_step``, ``valid_loss``,
``learning_rate`` ...) follow :func:`lrstudio.start_run`'s rules (:mod:`lrstudio.services.tracking`).

The learning rate, every step: :meth:`LrstudioLogger.lr_callback` is a callback that records each
param group's LR at the start of every training batch (``lr``, ``lr/group1`` ...; a second
optimizer's as ``lr/opt1``, ``lr/opt1/group1`` ...). Lightning's own
``LearningRateMonitor(logging_interval="step")`` works too: its ``lr-<Optimizer>`` key (and
``lr-<Optimizer>/pg<k>``) are stored as ``lr`` (and ``lr/group<k-1>``).

``finalize`` (Lightning calls it at the end of every trainer call: ``fit``, ``validate``,
``test``, ``predict``) finishes the run: ``completed`` after success; after an exception
``failed`` with that exception's message (Lightning calls ``finalize("failed")`` while handling
it), ``stopped`` after Ctrl-C or for a SLURM requeue. Metrics logged after that, by a later call with the same logger
(``trainer.validate`` / ``trainer.test`` after ``fit``, a second ``fit``), start a run of their
own with the same name (so ``"my fit (2)"``) and config: a finished run is never written again.
"""

from __future__ import annotations

import re
import sys
from argparse import Namespace
from collections.abc import Mapping
from typing import Any

from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

from lrstudio.services.tracking import TrackedRun, jsonable, start_run

__all__ = ["LrstudioLRCallback", "LrstudioLogger"]

# Lightning's customary metric names -> the keys lrstudio's plots use.
RENAMED = {"train_loss": "train/loss", "val_loss": "val/loss", "val_acc": "val/acc", "train_acc": "train/acc"}
# LearningRateMonitor's keys: lr-Adam, lr-Adam/pg2, lr-Adam-1 (a second Adam), lr-SGD/<group name>.
_MONITOR_KEY = re.compile(r"^lr-(?P<opt>[^/]+?)(?:/pg(?P<pg>\d+))?$")


class LrstudioLogger(Logger):
    """Lightning ``Logger`` writing one lrstudio run per fit (see the module doc).

    ``name``, ``config``, ``db`` and ``tags`` are :func:`lrstudio.start_run`'s.
    """

    def __init__(self, name: str | None = None, config: Mapping[str, Any] | None = None,
                 db: Any = None, tags: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__()
        self._name = name
        self._config: dict[str, Any] = dict(jsonable(dict(config or {})))
        self._db = db
        self._tags = list(tags)
        self._run: TrackedRun | None = None
        self._monitor_opt: str | None = None  # the optimizer LearningRateMonitor named first

    # -- Logger API ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name or "lrstudio"

    @property
    def version(self) -> int | str:
        """The run's id once it exists (Lightning shows it), else ``""``."""
        return self._run.id if self._run is not None else ""

    @property
    def save_dir(self) -> str | None:
        return None  # checkpoints go to the Trainer's default_root_dir

    @property
    def experiment(self) -> TrackedRun | None:
        """The :class:`~lrstudio.services.tracking.TrackedRun` (None before the first metrics)."""
        return self._run

    @property
    def run(self) -> TrackedRun:
        """The run, created on first use."""
        if self._run is None:
            self._run = start_run(name=self._name, config=self._config, db=self._db, tags=self._tags)
        return self._run

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        if isinstance(params, Namespace):
            params = vars(params)
        if self._run is not None:
            return  # the run's config is fixed once it exists; Lightning logs them before any metric
        self._config.update(jsonable(dict(params or {})))

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        values: dict[str, Any] = {}
        epoch = None
        for key, value in metrics.items():
            if key == "epoch":
                epoch = int(value)
                continue
            values[self._key(key)] = value
        if values:
            self._live_run().log(values, step=step, epoch=epoch)

    @rank_zero_only
    def save(self) -> None:
        if self._run is not None and not self._run.finished:
            self._run.flush()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._run is not None and self._run.finished:
            return
        run = self.run  # a fit that logged nothing still leaves its run
        if status == "success":
            run.finish("completed")
            return
        # Lightning calls finalize("failed") from its except block (trainer/call.py, _interrupt):
        # the exception being handled is the run's error.
        exc = sys.exc_info()[1]
        if status == "finished":  # the SLURM requeue handler (signal_connector.py); a new process resumes
            run.finish("stopped", "stopped for a cluster requeue (Lightning's status 'finished')")
        elif isinstance(exc, KeyboardInterrupt):
            run.finish("stopped", "stopped by the user (KeyboardInterrupt)")
        elif exc is not None:
            run.finish("failed", f"{type(exc).__name__}: {exc}")
        else:
            run.finish("failed", f"the Lightning fit ended with status {status!r}")

    # -- the LR, every step --------------------------------------------------------------------
    def lr_callback(self) -> LrstudioLRCallback:
        """A callback recording each param group's LR at every training batch into this run."""
        return LrstudioLRCallback(self)

    def log_lrs(self, optimizers: list[Any], step: int) -> None:
        values: dict[str, float] = {}
        for j, opt in enumerate(optimizers):
            prefix = "lr" if j == 0 else f"lr/opt{j}"
            for k, group in enumerate(opt.param_groups):
                values[prefix if k == 0 else f"{prefix}/group{k}"] = group["lr"]
        if values:
            self._live_run().log(values, step=step)

    # -- internals -----------------------------------------------------------------------------
    def _live_run(self) -> TrackedRun:
        if self._run is not None and self._run.finished:
            # A later trainer call with this logger (validate/test after fit, another fit): its
            # metrics start a run of their own, same name and config (see the module doc).
            self._run = None
        return self.run

    def _key(self, key: str) -> str:
        if key in RENAMED:
            return RENAMED[key]
        m = _MONITOR_KEY.match(key)
        if m is None:
            return key
        if self._monitor_opt is None:
            self._monitor_opt = m["opt"]
        if m["opt"] != self._monitor_opt:
            return key  # a second optimizer keeps LearningRateMonitor's name
        pg = int(m["pg"] or 1)
        return "lr" if pg == 1 else f"lr/group{pg - 1}"


class LrstudioLRCallback(Callback):
    """Records every optimizer's param-group LRs at the start of each training batch (the LR that
    batch uses), at the step Lightning logs that batch's metrics with."""

    def __init__(self, logger: LrstudioLogger) -> None:
        self.logger = logger

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        if trainer.global_rank == 0:
            self.logger.log_lrs(list(trainer.optimizers), trainer.global_step)
