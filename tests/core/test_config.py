import json
from dataclasses import replace

import pytest

from lrstudio.core.config import SCHEMA_VERSION, DatasetConfig, RunConfig, check_runnable, migrate
from lrstudio.core.datasets import known_train_size, load_dataset
from lrstudio.core.params import ParamError


def test_json_round_trip_preserves_every_field():
    cfg = RunConfig(
        name="wd sweep ü", model="cnn", dataset=DatasetConfig(name="digits", val_fraction=0.25),
        optimizer={"name": "adam", "params": {"beta1": 0.8}}, lr=3e-4,
        schedule={"name": "linear_warmup", "params": {"warmup_steps": 10, "inner": {"name": "cosine", "params": {}}}},
        epochs=3, batch_size=64, seed=7, clip_mode="norm", clip_value=0.5,
    )
    text = cfg.to_json()
    assert json.loads(text)["schema_version"] == SCHEMA_VERSION
    assert RunConfig.from_json(text) == cfg


def test_unknown_field_is_refused_with_its_name():
    data = RunConfig().to_dict() | {"learning_rate": 0.1}
    with pytest.raises(ParamError, match="learning_rate"):
        RunConfig.from_dict(data)
    data = RunConfig().to_dict()
    data["dataset"]["colour"] = "red"
    with pytest.raises(ParamError, match="colour"):
        RunConfig.from_dict(data)


def test_newer_schema_is_refused_with_both_versions():
    with pytest.raises(ParamError, match="newer lrstudio") as info:
        migrate({"schema_version": SCHEMA_VERSION + 1})
    assert str(SCHEMA_VERSION) in str(info.value)


def test_bad_json_message_says_where():
    with pytest.raises(ParamError, match="valid JSON"):
        RunConfig.from_json("{not json")


def test_validated_checks_run_and_dataset_fields():
    with pytest.raises(ParamError, match="lr = 0"):
        RunConfig(lr=0).validated()
    with pytest.raises(ParamError, match="val_fraction"):
        RunConfig(dataset=DatasetConfig(val_fraction=1.5)).validated()
    with pytest.raises(ParamError, match="a data set for model 'cnn'"):
        RunConfig(model="cnn", dataset=DatasetConfig(name="windsor")).validated()
    with pytest.raises(ParamError, match="a path for data set 'csv'"):
        RunConfig(dataset=DatasetConfig(name="csv")).validated()


def test_validated_coerces_text_values():
    cfg = RunConfig(epochs="3", lr="1e-2", batch_size="16").validated()  # type: ignore[arg-type]
    assert cfg.epochs == 3 and cfg.lr == 0.01 and cfg.batch_size == 16


def test_starter_config_is_valid_and_its_schedule_spans_the_run():
    from lrstudio.core.config import starter_config
    from lrstudio.core.plan import run_length
    from lrstudio.core.schedules import lr_curve

    cfg = starter_config().validated()
    _, total, _ = run_length(437, cfg.batch_size, cfg.epochs, cfg.max_steps)  # Windsor's 80 % split
    curve = lr_curve(cfg.schedule, total, cfg.lr)
    assert curve[0] == 0.0 and curve.max() == cfg.lr  # warm-up from 0 to the base LR
    assert curve[-1] < 1e-3 * cfg.lr  # the cosine ends with the run, not before or after
    assert (curve[1:] > 0).all()


# -- check_runnable: the one pre-run gate ---------------------------------------------------------
def _run(**kw):
    return RunConfig(**{"model": "linear", "dataset": DatasetConfig(name="windsor"), **kw})


def test_check_runnable_refuses_a_warmup_longer_than_the_run():
    # windsor: 546 rows, 437 for training; full batch x 10 epochs = 10 steps
    cfg = _run(epochs=10, schedule={"name": "linear_warmup", "params": {"warmup_steps": 40}})
    with pytest.raises(ParamError, match=r"warmup_steps = 40 .*at most the run length \(10 steps\)"):
        check_runnable(cfg)
    ok = check_runnable(replace(cfg, epochs=40))
    assert ok.schedule["params"]["warmup_steps"] == 40
    # per-epoch schedules count epochs, minibatches count steps
    check_runnable(replace(cfg, epochs=2, batch_size=16))  # 28 steps an epoch
    with pytest.raises(ParamError, match="warmup_steps"):
        check_runnable(replace(cfg, epochs=20, batch_size=16, schedule_unit="epoch"))


def test_check_runnable_refuses_a_lambda_that_turns_negative_within_the_run():
    cfg = _run(epochs=50, schedule={"name": "lambda", "params": {"lr_lambda": "1 - epoch / 30.5"}})
    with pytest.raises(ParamError, match=r"schedule 'lambda': the learning rate at step 31 is -"):
        check_runnable(cfg)
    check_runnable(replace(cfg, epochs=30))


def test_check_runnable_uses_n_train_when_given_and_skips_unknown_sizes():
    cfg = _run(dataset=DatasetConfig(name="csv", path="/nowhere.csv"), epochs=5,
               schedule={"name": "linear_warmup", "params": {"warmup_steps": 40}})
    check_runnable(cfg)  # size unknown before the file is read
    with pytest.raises(ParamError, match="warmup_steps"):
        check_runnable(cfg, n_train=100)
    check_runnable(replace(cfg, batch_size=10), n_train=100)  # 10 steps an epoch
    with pytest.raises(ParamError, match="limit"):
        check_runnable(cfg, n_train=0)


def test_check_runnable_runs_the_model_checks_before_data():
    with pytest.raises(ParamError, match="init"):
        check_runnable(RunConfig(model="cnn", init="zeros", dataset=DatasetConfig(name="digits")))


@pytest.mark.parametrize("ds", [
    DatasetConfig(name="windsor"), DatasetConfig(name="windsor", val_fraction=0.0),
    DatasetConfig(name="windsor", val_fraction=0.33, limit=100),
    DatasetConfig(name="digits"), DatasetConfig(name="digits", val_fraction=0.5),
    DatasetConfig(name="digits", limit=50), DatasetConfig(name="digits", val_fraction=0.0),
    DatasetConfig(name="synthetic", n_samples=37, val_fraction=0.3), DatasetConfig(name="synthetic", limit=5),
])
def test_known_train_size_equals_the_loaded_size(ds):
    assert known_train_size(ds) == load_dataset(ds, seed=3).n_train


def test_a_config_stored_before_the_cadence_options_loads_with_their_defaults():
    # Issue 11 added val_every / grad_norm_every without a schema bump: a config stored before
    # (no such keys, schema_version 1) loads, validates and keeps its meaning for the training.
    old = {"name": "r1", "model": "linear", "init": "default",
           "dataset": {"name": "windsor", "val_fraction": 0.2}, "optimizer": {"name": "adam", "params": {}},
           "lr": 0.01, "schedule": {"name": "constant", "params": {}}, "schedule_unit": "step", "epochs": 10,
           "max_steps": None, "batch_size": 0, "seed": 0, "clip_mode": "none", "clip_value": 1.0,
           "weight_decay": 0.0, "divergence_factor": 10000.0, "device": "cpu", "schema_version": 1}
    cfg = RunConfig.from_json(json.dumps(old)).validated()
    assert (cfg.val_every, cfg.grad_norm_every) == (0, 10)
    assert RunConfig.from_json(cfg.to_json()) == cfg


def test_cadence_options_are_checked():
    with pytest.raises(ParamError, match="grad_norm_every"):
        RunConfig(grad_norm_every=0).validated()
    with pytest.raises(ParamError, match="val_every"):
        RunConfig(val_every=-1).validated()
