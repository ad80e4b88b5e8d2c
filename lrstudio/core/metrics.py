"""The metric catalogue: what each recorded series key means.

The trainer records these keys (``StepLogged.values`` each optimizer step, ``EpochLogged.values``
each epoch); the store keeps them as series; the plots, the compare view and the CLI label them.
:data:`METRICS` says, per key, its label, unit, the plot it belongs to and its cadence, so no
front end repeats the facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "APP_KEY_NAMES", "EPOCH", "EPOCH_KEYS", "GRAD_NORM", "LR", "LR_PLANNED", "METRICS", "MOMENTUM", "STEP", "STEP_KEYS", "TRAIN_ACC",
    "TRAIN_LOSS", "TRAIN_LOSS_EPOCH", "VAL_ACC", "VAL_LOSS", "MetricInfo", "keys_in_group", "normalise_key",
]

STEP = "step"
EPOCH = "epoch"

TRAIN_LOSS = "train/loss"
LR = "lr"
LR_PLANNED = "lr/planned"
GRAD_NORM = "grad/norm"
MOMENTUM = "momentum"  # SGD momentum or Adam beta1, recorded when the schedule cycles it (issue 15)
TRAIN_LOSS_EPOCH = "train/loss_epoch"
TRAIN_ACC = "train/acc"
VAL_LOSS = "val/loss"
VAL_ACC = "val/acc"


@dataclass(frozen=True)
class MetricInfo:
    """One recorded series.

    ``group``: the plot it is drawn in (``loss``, ``lr``, ``acc``, ``grad``). ``cadence``:
    :data:`STEP` (recorded every optimizer step) or :data:`EPOCH` (once per epoch, at the epoch's
    last step). ``unit``: ``""`` for the loss (its kind depends on the data set:
    :func:`lrstudio.core.compare.loss_kind`), ``"fraction"`` for accuracies in [0, 1].
    ``classification_only``: recorded for classifiers only. ``needs_momentum_cycling``: recorded
    only when the run's schedule cycles the optimizer's momentum (one_cycle, cyclic).
    """

    key: str
    label: str
    unit: str
    group: str
    cadence: str
    classification_only: bool = False
    needs_validation: bool = False
    needs_momentum_cycling: bool = False


METRICS: dict[str, MetricInfo] = {m.key: m for m in (
    MetricInfo(TRAIN_LOSS, "train loss (per step)", "", "loss", STEP),
    MetricInfo(LR, "learning rate (applied)", "", "lr", STEP),
    MetricInfo(LR_PLANNED, "learning rate (planned)", "", "lr", STEP),
    MetricInfo(GRAD_NORM, "gradient norm", "", "grad", STEP),
    MetricInfo(MOMENTUM, "momentum (beta1 for Adam)", "", "momentum", STEP, needs_momentum_cycling=True),
    MetricInfo(TRAIN_LOSS_EPOCH, "train loss (epoch mean)", "", "loss", EPOCH),
    MetricInfo(TRAIN_ACC, "train accuracy", "fraction", "acc", EPOCH, classification_only=True),
    MetricInfo(VAL_LOSS, "validation loss", "", "loss", EPOCH, needs_validation=True),
    MetricInfo(VAL_ACC, "validation accuracy", "fraction", "acc", EPOCH, classification_only=True,
               needs_validation=True),
)}

STEP_KEYS: tuple[str, ...] = tuple(k for k, m in METRICS.items() if m.cadence == STEP)
EPOCH_KEYS: tuple[str, ...] = tuple(k for k, m in METRICS.items() if m.cadence == EPOCH)


def keys_in_group(group: str) -> tuple[str, ...]:
    """The keys drawn in the plot ``group`` (``loss``, ``lr``, ``acc``, ``grad``), catalogue order."""
    return tuple(k for k, m in METRICS.items() if m.group == group)


# The names other tools give the curves the app plots, compared lower-case with runs of '/', '_',
# '-', '.' and spaces as one space (:func:`normalise_key`); in order of preference. PyTorch's
# TensorBoard tutorial (Loss/train), Lightning's self.log names (train_loss, train_loss_step),
# Hugging Face's TensorBoardCallback (train/loss, eval/loss, train/learning_rate). Used by the
# importers and by the tracking API's aliases.
APP_KEY_NAMES: dict[str, tuple[str, ...]] = {
    TRAIN_LOSS: ("train loss", "loss train", "training loss", "loss training", "train loss step", "loss"),
    VAL_LOSS: ("val loss", "loss val", "validation loss", "loss validation", "valid loss", "loss valid",
               "eval loss", "val loss epoch"),
    LR: ("lr", "learning rate", "train learning rate", "train lr"),
}


def normalise_key(name: str) -> str:
    """``name`` lower-case with runs of '/', '_', '-', '.' and spaces as one space (``Loss/train``
    and ``loss_train`` are the same name)."""
    return re.sub(r"[\s/_.\-]+", " ", name.lower()).strip()
