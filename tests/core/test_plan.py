"""The one run plan: lengths, scheduling steps, planned LR and the row estimates (issue 10)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.datasets import known_train_size, load_dataset
from lrstudio.core.params import ParamError
from lrstudio.core.plan import DEFAULT_ROWS, RunPlan, estimate_train_rows, plan_run, run_length
from lrstudio.core.schedules import lr_curve


def test_plan_of_a_builtin_data_set_is_exact_and_matches_the_loaded_size():
    cfg = RunConfig(batch_size=32, epochs=3)
    plan = plan_run(cfg)
    n = load_dataset(cfg.dataset, seed=cfg.seed).n_train
    assert plan.exact and plan.n_train == n == known_train_size(cfg.dataset)
    assert (plan.steps_per_epoch, plan.total_steps, plan.epochs) == run_length(n, 32, 3, None)
    assert plan.schedule_steps == plan.total_steps and plan.unit == "step" and plan.batch_size == 32


def test_max_steps_decides_and_epoch_unit_counts_epochs():
    cfg = RunConfig(batch_size=10, epochs=50, max_steps=25, schedule_unit="epoch")
    plan = plan_run(cfg, n_train=100)
    assert (plan.steps_per_epoch, plan.total_steps, plan.epochs) == (10, 25, 3)
    assert plan.schedule_steps == 3 and plan.unit == "epoch"
    full = plan_run(replace(cfg, batch_size=0, max_steps=None), n_train=100)
    assert (full.steps_per_epoch, full.total_steps, full.batch_size) == (1, 50, 100)


def test_planned_lr_per_step_and_per_epoch():
    spec = {"name": "step", "params": {"step_size": 2, "gamma": 0.5}}
    cfg = RunConfig(batch_size=40, epochs=5, lr=0.1, schedule=spec)
    plan = plan_run(cfg, n_train=100)  # 3 steps an epoch, 15 steps
    np.testing.assert_array_equal(plan.planned_lr(), lr_curve(spec, 15, 0.1))
    per_epoch = plan_run(replace(cfg, schedule_unit="epoch"), n_train=100)
    lr = per_epoch.planned_lr()
    assert lr.shape == (15,)
    np.testing.assert_array_equal(lr, np.repeat(lr_curve(spec, 5, 0.1), 3))
    np.testing.assert_array_equal(per_epoch.schedule_lr(), lr_curve(spec, 5, 0.1))


def test_unknown_sizes_are_estimated_or_refused(tmp_path):
    mnist = RunConfig(model="cnn", dataset=DatasetConfig(name="mnist", path=str(tmp_path)))
    with pytest.raises(LookupError):
        plan_run(mnist, estimate=False)
    plan = plan_run(mnist)
    assert plan.n_train is None and not plan.exact
    assert estimate_train_rows(mnist.dataset) == 60_000 - 12_000  # default 20 % validation
    csv = tmp_path / "d.csv"
    csv.write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(50)))
    ds = DatasetConfig(name="csv", path=str(csv), val_fraction=0.2)
    assert estimate_train_rows(ds) == 40
    assert estimate_train_rows(replace(ds, limit=7)) == 7
    missing = RunConfig(dataset=DatasetConfig(name="csv", path=str(tmp_path / "nope.csv")), batch_size=0)
    assert estimate_train_rows(missing.dataset) is None
    assert plan_run(missing).batch_size == DEFAULT_ROWS


def test_no_training_example_is_a_param_error():
    with pytest.raises(ParamError, match="limit"):
        plan_run(RunConfig(), n_train=0)


def test_plan_is_frozen():
    plan = plan_run(RunConfig())
    assert isinstance(plan, RunPlan)
    with pytest.raises(AttributeError):
        plan.total_steps = 3  # type: ignore[misc]


def test_planned_lr_of_an_announced_length_equals_the_plans():
    from lrstudio.core.plan import planned_lr

    spec = {"name": "cosine", "params": {"T_max": 7}}
    cfg = RunConfig(batch_size=30, epochs=7, lr=0.2, schedule=spec, schedule_unit="epoch")
    plan = plan_run(cfg, n_train=100)  # 4 steps an epoch, 28 steps
    got = planned_lr(spec, 0.2, "epoch", plan.total_steps, plan.epochs, plan.steps_per_epoch)
    np.testing.assert_array_equal(got, plan.planned_lr())
    np.testing.assert_array_equal(planned_lr(spec, 0.2, "step", 10, 1, 10), lr_curve(spec, 10, 0.2))
