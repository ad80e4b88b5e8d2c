"""The data-set catalogue: what each data set offers, in one place.

:data:`DATASETS` maps a name (``DatasetConfig.name``) to a :class:`DatasetInfo`: its title, task
(regression or classification), the loss the trainer minimises on it, its size when it is fixed
(the shipped files) or ``None`` (a user's file, a generated set), the models it fits, the
``DatasetConfig`` fields that apply to it, and its loader. :func:`load_dataset` and
:func:`known_train_size` dispatch through it; the config's choices, the Configure form and the
trainer read it instead of repeating the facts.

numpy only (the loaders are in :mod:`lrstudio.core.data`); the GUI imports it before its window shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lrstudio.core import data
from lrstudio.core.data import Dataset
from lrstudio.core.errors import DataError

__all__ = ["DATASETS", "DatasetInfo", "known_train_size", "load_dataset", "model_datasets"]


@dataclass(frozen=True)
class DatasetInfo:
    """What one data set offers.

    ``rows``: rows of the shipped file (before the split), ``None`` when the size depends on the
    user's file or the config. ``typical_rows``: the rows assumed for planning before a user's
    files are read (MNIST's standard training files), else ``None``. ``loss``: ``"mse"`` or
    ``"cross_entropy"``. ``options``: the ``DatasetConfig`` fields that apply (the rest are
    ignored and hidden). ``loader(ds, seed) -> Dataset`` loads it from a ``DatasetConfig``.
    """

    name: str
    title: str
    task: str
    loss: str
    rows: int | None
    models: tuple[str, ...]
    options: tuple[str, ...]
    loader: Callable[[Any, int], Dataset]
    needs_path: bool = False
    typical_rows: int | None = None

    @property
    def classifies(self) -> bool:
        return self.task == "classification"


def _windsor(ds: Any, seed: int) -> Dataset:
    return data.load_windsor(target=ds.target or "price", features=ds.feature_list(),
                             val_fraction=ds.val_fraction, seed=seed, limit=ds.limit)


def _synthetic(ds: Any, seed: int) -> Dataset:
    return data.make_synthetic(n_samples=ds.n_samples, true_w=ds.true_w, true_b=ds.true_b, noise=ds.noise,
                               extra_features=ds.extra_features, unscaled=ds.unscaled,
                               val_fraction=ds.val_fraction, seed=seed, limit=ds.limit)


def _csv(ds: Any, seed: int) -> Dataset:
    return data.load_csv(ds.path, target=ds.target, features=ds.feature_list(), val_fraction=ds.val_fraction,
                         seed=seed, limit=ds.limit)


def _digits(ds: Any, seed: int) -> Dataset:
    return data.load_digits(val_fraction=ds.val_fraction, seed=seed, limit=ds.limit)


def _mnist(ds: Any, seed: int) -> Dataset:
    return data.load_mnist(ds.path, variant=ds.variant, val_fraction=ds.val_fraction, seed=seed, limit=ds.limit)


DATASETS: dict[str, DatasetInfo] = {info.name: info for info in (
    DatasetInfo("windsor", f"Windsor house prices ({data.WINDSOR_ROWS} sales, 1987)", "regression", "mse",
                data.WINDSOR_ROWS, ("linear",), ("target", "features", "val_fraction", "limit"), _windsor),
    DatasetInfo("synthetic", "Synthetic linear data (known w, b)", "regression", "mse", None, ("linear",),
                ("n_samples", "true_w", "true_b", "noise", "extra_features", "unscaled", "val_fraction"),
                _synthetic),
    DatasetInfo("csv", "CSV file", "regression", "mse", None, ("linear",),
                ("path", "target", "features", "val_fraction", "limit"), _csv, needs_path=True),
    DatasetInfo("digits", f"Handwritten digits, 8x8 ({sum(data.DIGITS_CLASS_SIZES)} images, UCI)",
                "classification", "cross_entropy", sum(data.DIGITS_CLASS_SIZES), ("cnn",),
                ("val_fraction", "limit"), _digits),
    DatasetInfo("mnist", "MNIST / Fashion-MNIST (IDX files)", "classification", "cross_entropy", None, ("cnn",),
                ("path", "variant", "val_fraction", "limit"), _mnist, needs_path=True,
                typical_rows=data.MNIST_TRAIN_ROWS),
)}


def model_datasets(model: str) -> tuple[str, ...]:
    """Names of the data sets ``model`` fits, in catalogue order."""
    return tuple(name for name, info in DATASETS.items() if model in info.models)


def load_dataset(ds: Any, seed: int = 0) -> Dataset:
    """Load the data set described by a :class:`~lrstudio.core.config.DatasetConfig`."""
    info = DATASETS.get(ds.name)
    if info is None:
        *rest, last = DATASETS
        raise DataError(f"unknown data set {ds.name!r}; expected {', '.join(rest)} or {last}")
    return info.loader(ds, seed)


def known_train_size(ds: Any) -> int | None:
    """Training examples that :func:`load_dataset` will give for ``ds``, without loading anything.

    Exact for the built-in data sets (windsor, digits, synthetic); ``None`` for csv and mnist, whose
    size is known only once their files are read.
    """
    name = ds.name
    if name == "windsor":
        n_train = data.WINDSOR_ROWS - data.val_rows(data.WINDSOR_ROWS, ds.val_fraction)
    elif name == "synthetic":
        n_train = int(ds.n_samples) - data.val_rows(int(ds.n_samples), ds.val_fraction)
    elif name == "digits":
        vf = ds.val_fraction
        n_train = sum(c - (int(round(c * vf)) if vf > 0 else 0) for c in data.DIGITS_CLASS_SIZES)
    else:
        return None
    return min(n_train, ds.limit) if ds.limit else n_train
