"""The data-set and metric catalogues (issue 10): one place for the facts, checked against the loaders
and the training loop."""

from __future__ import annotations

import pytest

from lrstudio.core.config import DATASETS, MODEL_DATASETS, MODELS, DatasetConfig, RunConfig
from lrstudio.core.datasets import DATASETS as CATALOGUE
from lrstudio.core.datasets import known_train_size, load_dataset, model_datasets
from lrstudio.core.errors import DataError
from lrstudio.core.events import EpochLogged, StepLogged
from lrstudio.core.metrics import EPOCH, EPOCH_KEYS, METRICS, STEP, STEP_KEYS, keys_in_group
from lrstudio.core.params import ParamError


def test_config_choices_come_from_the_catalogue():
    assert DATASETS == tuple(CATALOGUE) == ("windsor", "synthetic", "csv", "digits", "mnist")
    assert MODEL_DATASETS == {"linear": ("windsor", "synthetic", "csv"), "cnn": ("digits", "mnist")}
    for model in MODELS:
        assert model_datasets(model) == MODEL_DATASETS[model]
    assert {n for n, i in CATALOGUE.items() if i.needs_path} == {"csv", "mnist"}
    with pytest.raises(ParamError, match="a path for data set 'mnist'"):
        RunConfig(model="cnn", dataset=DatasetConfig(name="mnist")).validated()


@pytest.mark.parametrize("name", ["windsor", "synthetic", "digits"])
def test_shipped_sizes_tasks_and_losses_match_what_the_loader_gives(name):
    info = CATALOGUE[name]
    ds = load_dataset(DatasetConfig(name=name, val_fraction=0.0), seed=0)
    assert ds.task == info.task and info.classifies == (info.loss == "cross_entropy")
    assert info.loss == ("cross_entropy" if ds.task == "classification" else "mse")
    if info.rows is not None:
        assert ds.n_train == info.rows
    assert known_train_size(DatasetConfig(name=name, val_fraction=0.0)) == ds.n_train
    assert set(info.options) <= set(DatasetConfig.__dataclass_fields__)
    assert CATALOGUE["windsor"].rows == 546 and CATALOGUE["digits"].rows == 1797
    assert CATALOGUE["mnist"].typical_rows == 60_000


def test_unknown_data_set_is_a_data_error():
    with pytest.raises(DataError, match="expected windsor, synthetic, csv, digits or mnist"):
        load_dataset(DatasetConfig(name="nope"))


def test_metric_catalogue_cadence_and_groups():
    assert STEP_KEYS == ("train/loss", "lr", "lr/planned", "grad/norm", "momentum")
    assert set(EPOCH_KEYS) == {"train/loss_epoch", "train/acc", "val/loss", "val/acc"}
    assert keys_in_group("lr") == ("lr", "lr/planned")
    assert keys_in_group("acc") == ("train/acc", "val/acc")
    assert all(m.cadence in (STEP, EPOCH) and m.label for m in METRICS.values())


def test_the_training_loop_records_exactly_the_catalogued_keys():
    pytest.importorskip("torch")
    from lrstudio.trainer.loop import train

    class Collect:
        def __init__(self):
            self.step_keys, self.epoch_keys = set(), set()

        def emit(self, ev):
            if isinstance(ev, StepLogged):
                self.step_keys |= set(ev.values)
            elif isinstance(ev, EpochLogged):
                self.epoch_keys |= set(ev.values)

        def should_stop(self):
            return False

    rep = Collect()
    cfg = RunConfig(model="cnn", dataset=DatasetConfig(name="digits", limit=64), epochs=2, batch_size=32)
    assert train(cfg, rep).status == "completed"
    # the default schedule cycles no momentum, so no "momentum" series (tests/trainer/test_momentum_cycling.py)
    assert rep.step_keys == {k for k in STEP_KEYS if not METRICS[k].needs_momentum_cycling}
    assert rep.epoch_keys == set(EPOCH_KEYS)
