"""A Hugging Face ``transformers`` ``TrainerCallback`` that writes to the lrstudio database (issue 14).

Install with ``pip install "lrstudio[transformers]"``. Usage::

    from lrstudio.integrations.transformers import LrstudioCallback

    trainer = Trainer(model=model, args=args, train_dataset=ds, callbacks=[LrstudioCallback(name="ft")])
    trainer.train()

Life cycle: ``on_train_begin`` starts the run (kind ``external``, :mod:`lrstudio.services.tracking`)
with the ``TrainingArguments`` as its config (``lr``, ``optimizer``, ``schedule`` and ``model``
filled from ``learning_rate``, ``optim``, ``lr_scheduler_type`` and the model's class, so the runs
table can sort by them), plus the ``config`` given here. ``on_step_begin`` records each param
group's LR for the step about to be taken (``lr``, ``lr/group1`` ...), at the step number the
Trainer's logs give that step (``state.global_step`` after it). ``on_log`` stores what the Trainer
logs (every ``logging_steps``): ``loss`` as ``train/loss``, ``eval_loss`` as ``val/loss``,
``eval_<x>`` as ``val/<x>`` (``eval_accuracy`` as ``val/acc``), ``grad_norm`` as ``grad/norm``;
the ``learning_rate`` it logs is left out (``lr`` has it, at every step, not only every
``logging_steps``), and so are the end-of-training timings. ``on_train_end`` finishes the run
``completed``. What the Trainer logs outside ``train()`` (``trainer.evaluate()`` after it) goes
to a run of its own, with the same name (so ``"ft (2)"``) and config, completed at once: a
finished run is never written again.

An exception inside ``train()`` reaches no callback (the Trainer has no exception hook). Put
``train()`` inside ``with callback:`` to end the run at once, ``failed`` with the exception's
message (``stopped`` for Ctrl-C)::

    with callback:
        trainer.train()

Without it, a run whose ``train()`` raised stays open until the next ``train()`` with the same
callback or the end of the process, which finish it ``failed`` ("train() did not finish"; with
the exception's message when it ended the script).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from transformers import TrainerCallback

from lrstudio.core.events import FAILED
from lrstudio.services.tracking import TrackedRun, jsonable, start_run

__all__ = ["LrstudioCallback"]

RENAMED = {"loss": "train/loss", "eval_loss": "val/loss", "eval_accuracy": "val/acc", "grad_norm": "grad/norm"}
# Logged once at the end (or per evaluation) about speed, not learning: not stored as series.
SKIPPED = {"learning_rate", "epoch", "total_flos", "train_runtime", "train_samples_per_second",
           "train_steps_per_second", "train_loss", "eval_runtime", "eval_samples_per_second",
           "eval_steps_per_second"}
# A run left open: its train() raised (no callback sees that) or the process ended inside it.
UNFINISHED = ("train() did not finish: an exception inside it (caught by the script), or the process "
              "ended during training; `with callback: trainer.train()` keeps the exception's message")


class LrstudioCallback(TrainerCallback):
    """``TrainerCallback`` writing one lrstudio run per ``trainer.train()`` (see the module doc).

    ``name``, ``config``, ``db`` and ``tags`` are :func:`lrstudio.start_run`'s; the name
    defaults to ``TrainingArguments.run_name``.
    """

    def __init__(self, name: str | None = None, config: Mapping[str, Any] | None = None, db: Any = None,
                 tags: tuple[str, ...] | list[str] = ()) -> None:
        self.name = name
        self.config = dict(config or {})
        self.db = db
        self.tags = list(tags)
        self.run: TrackedRun | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        if self.run is not None and not self.run.finished:
            self.run.finish(FAILED, UNFINISHED)  # the last train() raised: it never reached on_train_end
        self.run = self._start(args, model)
        self.run.at_exit = (FAILED, UNFINISHED)  # on_train_end finishes it completed before that

    def _start(self, args: Any, model: Any) -> TrackedRun:
        config: dict[str, Any] = {
            "model": type(model).__name__ if model is not None else None,
            "lr": args.learning_rate,
            "optimizer": str(getattr(args.optim, "value", args.optim)),
            "schedule": str(getattr(args.lr_scheduler_type, "value", args.lr_scheduler_type)),
            "training_args": jsonable(args.to_dict()),
            **jsonable(self.config),
        }
        run_name = getattr(args, "run_name", None)
        return start_run(name=self.name or (run_name if isinstance(run_name, str) else None),
                         config=config, db=self.db, tags=self.tags)

    def on_step_begin(self, args: Any, state: Any, control: Any, optimizer: Any = None, **kwargs: Any) -> None:
        if self.run is None or self.run.finished or optimizer is None:
            return
        self.run.log_lr(optimizer, step=state.global_step + 1)

    def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None,
               model: Any = None, **kwargs: Any) -> None:
        if not logs or not state.is_world_process_zero:
            return
        values: dict[str, float] = {}
        for key, value in logs.items():
            if key in SKIPPED or isinstance(value, (str, bool)) or not isinstance(value, (int, float)):
                continue
            if key in RENAMED:
                values[RENAMED[key]] = value
            elif key.startswith("eval_"):
                values["val/" + key[5:]] = value
            else:
                values[key] = value
        epoch = logs.get("epoch")
        # The Trainer's epoch is how far it got (1.0 at the last step of the first epoch): the
        # 0-based epoch a step belongs to is ceil(epoch) - 1.
        at_epoch = (max(0, math.ceil(epoch) - 1) if isinstance(epoch, (int, float)) and math.isfinite(epoch)
                    else None)
        if not values:
            return
        run, outside = self.run, False
        if run is None or run.finished:  # evaluate() outside train(): a run of its own
            run, outside = self._start(args, model), True
            self.run = run
        run.log(values, step=state.global_step, epoch=at_epoch)
        if outside:
            run.finish("completed")

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.run is not None and not self.run.finished:
            self.run.finish("completed")

    # -- ``with callback: trainer.train()`` ----------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """End a run the block left open: with the exception that left the block (``failed``,
        ``stopped`` for Ctrl-C); without one, ``train()`` did not finish (:data:`UNFINISHED`)."""
        run = self.run
        if run is None or run.finished:
            return
        if isinstance(exc, KeyboardInterrupt):
            run.finish("stopped", "stopped by the user (KeyboardInterrupt)")
        elif exc is not None:
            run.finish(FAILED, f"{type(exc).__name__}: {exc}")
        else:
            run.finish(FAILED, UNFINISHED)
