"""The training loop, driven directly with in-memory reporters (no threads, no database)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.events import (
    BatchingReporter,
    EpochLogged,
    ListReporter,
    RunFinished,
    RunStarted,
    StepLogged,
)
from lrstudio.core.plan import run_length
from lrstudio.core.schedules import SCHEDULES, PlateauState, check_run_length, lr_curve, validate_spec
from lrstudio.trainer.loop import train


def synthetic(**kw) -> DatasetConfig:
    return DatasetConfig(name="synthetic", **kw)


def check_life_cycle(reporter: ListReporter) -> None:
    ev = reporter.events
    assert isinstance(ev[0], RunStarted) and isinstance(ev[-1], RunFinished)
    assert sum(isinstance(e, (RunStarted, RunFinished)) for e in ev) == 2
    steps = [e.step for e in reporter.steps()]
    assert steps == list(range(1, len(steps) + 1))


# -- life cycle: completed, stopped, failed ----------------------------------------------------------
def test_completed_run_reports_every_step_and_epoch():
    cfg = RunConfig(dataset=synthetic(n_samples=50), optimizer={"name": "sgd"}, lr=0.05, epochs=3, batch_size=8)
    rep = ListReporter()
    s = train(cfg, rep)
    check_life_cycle(rep)
    spe, total, epochs = run_length(40, 8, 3, None)
    assert (spe, total) == (5, 15)
    assert s.status == "completed" and s.steps == 15 and s.epochs == 3
    assert rep.events[0].total_steps == 15 and rep.events[0].steps_per_epoch == 5
    assert set(rep.steps()[0].values) == {"train/loss", "lr", "lr/planned", "grad/norm"}
    epochs_ev = rep.epochs()
    assert [e.step for e in epochs_ev] == [5, 10, 15] and [e.epoch for e in epochs_ev] == [0, 1, 2]
    assert set(epochs_ev[0].values) == {"train/loss_epoch", "val/loss"}
    assert epochs_ev[1].values["train/loss_epoch"] == pytest.approx(
        np.mean(rep.series("train/loss")[5:10]))
    assert s.final_loss == rep.series("train/loss")[-1] and s.final_val_loss == rep.series("val/loss")[-1]
    assert s.extra["r2"] > 0.5 and s.extra["metrics_on"] == "val"


def test_stop_after_n_steps_keeps_everything_so_far():
    cfg = RunConfig(dataset=DatasetConfig(name="windsor"), optimizer={"name": "adam"}, epochs=5, batch_size=16)
    rep = ListReporter(stop_after_steps=5)
    s = train(cfg, rep)
    check_life_cycle(rep)
    assert s.status == "stopped" and s.steps == 5 and rep.last_step == 5
    assert len(rep.series("train/loss")) == 5 and s.final_loss == rep.series("train/loss")[-1]
    assert rep.events[-1].summary is s


def test_failed_before_start_still_emits_start_and_finish(tmp_path):
    cfg = RunConfig(dataset=DatasetConfig(name="csv", path=str(tmp_path / "missing.csv")))
    rep = ListReporter()
    s = train(cfg, rep)
    check_life_cycle(rep)
    assert s.status == "failed" and "does not exist" in s.error and s.steps == 0


class _ExplodingReporter(ListReporter):
    def emit(self, event):
        if isinstance(event, StepLogged) and event.step == 4:
            raise RuntimeError("disk full")
        super().emit(event)


def test_exception_mid_run_ends_failed_with_its_message():
    cfg = RunConfig(dataset=synthetic(), optimizer={"name": "sgd"}, lr=0.05, max_steps=20)
    rep = _ExplodingReporter()
    s = train(cfg, rep)
    check_life_cycle(rep)
    assert s.status == "failed" and s.error == "RuntimeError: disk full"
    assert rep.last_step == 3 and len(rep.series("train/loss")) == 3


def test_invalid_config_fails_with_the_field_named():
    rep = ListReporter()
    s = train(RunConfig(model="cnn", init="zeros", dataset=DatasetConfig(name="digits")), rep)
    assert s.status == "failed" and "zeros" in s.error
    s = train(RunConfig(lr=-1.0), ListReporter())
    assert s.status == "failed" and "lr = -1.0 is not allowed" in s.error


# -- divergence and convergence on the synthetic house prices -----------------------------------------
def test_unscaled_sgd_with_lr_0_1_diverges_at_a_reported_step():
    cfg = RunConfig(dataset=synthetic(unscaled=True), optimizer={"name": "sgd"}, lr=0.1, epochs=100)
    rep = ListReporter()
    s = train(cfg, rep)
    check_life_cycle(rep)
    losses = rep.series("train/loss")
    assert s.status == "diverged" and s.diverged_step == rep.last_step == len(losses) and s.steps == len(losses)
    assert losses[-1] > cfg.divergence_factor * losses[0]
    assert s.diverged_step <= 5


def test_non_finite_losses_are_reported_as_they_are():
    # A divergence factor too large to trigger: the run goes on until the loss is no longer finite.
    cfg = RunConfig(dataset=synthetic(unscaled=True), optimizer={"name": "sgd"}, lr=0.1, epochs=200,
                    divergence_factor=1e300)
    rep = ListReporter()
    s = train(cfg, rep)
    losses = rep.series("train/loss")
    assert s.status == "diverged" and s.diverged_step == len(losses)
    assert not math.isfinite(losses[-1])  # inf or NaN, not clamped
    assert not math.isfinite(s.final_loss)
    assert all(math.isfinite(v) for v in losses[:-1])
    assert s.best_loss == min(losses[:-1])


def test_scaled_synthetic_sgd_recovers_true_w_and_b_in_original_units():
    cfg = RunConfig(dataset=synthetic(), optimizer={"name": "sgd"}, lr=0.1, max_steps=300)
    s = train(cfg, ListReporter())
    assert s.status == "completed"
    assert s.extra["true_w"] == [2.0] and s.extra["true_b"] == 300.0
    assert s.extra["learned_w"][0] == pytest.approx(2.0, abs=0.05)
    assert s.extra["learned_b"] == pytest.approx(300.0, abs=6.0)


def test_unscaled_small_lr_converges_near_true_w_and_b():
    # Raw m² make the loss surface badly conditioned (curvature ~10^4 along w, ~1 along b): LR 0.1
    # diverges, a stable LR (1e-4) converges; heavy-ball momentum gets b there in a few thousand steps.
    cfg = RunConfig(dataset=synthetic(unscaled=True), init="zeros", optimizer={"name": "momentum",
                    "params": {"momentum": 0.99}}, lr=1e-4, max_steps=2500)
    s = train(cfg, ListReporter())
    assert s.status == "completed"
    assert s.extra["learned_w"][0] == pytest.approx(2.0, abs=0.05)
    assert s.extra["learned_b"] == pytest.approx(300.0, abs=10.0)


# -- determinism --------------------------------------------------------------------------------------
def _curves(cfg: RunConfig) -> dict[str, list[float]]:
    rep = ListReporter()
    train(cfg, rep)
    return {k: rep.series(k) for k in ("train/loss", "lr", "grad/norm", "val/loss")}


def test_same_config_and_seed_give_bit_identical_curves():
    cfg = RunConfig(dataset=DatasetConfig(name="windsor"), optimizer={"name": "adam"}, lr=0.01, epochs=3,
                    batch_size=32, seed=7, schedule={"name": "cosine", "params": {"T_max": 42}})
    a, b = _curves(cfg), _curves(cfg)
    assert a == b and len(a["train/loss"]) == 42
    cfg.seed = 8
    assert _curves(cfg)["train/loss"] != a["train/loss"]


# -- learning rates: applied == planned == the schedule's curve ----------------------------------------
def _catalogue_specs(total: int):
    for name in sorted(SCHEDULES):
        spec = validate_spec({"name": name, "params": {}})
        try:
            check_run_length(spec, total)
        except ValueError:
            continue
        yield name, spec


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_applied_lr_equals_planned_lr_for_every_schedule(name):
    total = 150
    specs = dict(_catalogue_specs(total))
    if name not in specs:
        pytest.skip(f"{name}: default params do not fit a {total}-step run")
    spec = specs[name]
    # No validation split: a metric-driven schedule then gets the train loss of each step.
    cfg = RunConfig(dataset=synthetic(n_samples=60, val_fraction=0.0), optimizer={"name": "sgd"}, lr=0.02,
                    max_steps=total, schedule=spec)
    rep = ListReporter()
    s = train(cfg, rep)
    assert s.status == "completed", s.error
    applied, planned = rep.series("lr"), rep.series("lr/planned")
    assert len(applied) == total and applied == planned
    metrics = rep.series("train/loss") if SCHEDULES[name].metric_driven else None
    np.testing.assert_allclose(applied, lr_curve(spec, total, 0.02, metrics=metrics), rtol=1e-12, atol=0)


def test_epoch_unit_holds_the_lr_within_each_epoch():
    spec = {"name": "step", "params": {"step_size": 2, "gamma": 0.5}}
    cfg = RunConfig(dataset=synthetic(n_samples=50), optimizer={"name": "adam"}, lr=0.1, epochs=6, batch_size=10,
                    schedule=spec, schedule_unit="epoch")
    rep = ListReporter()
    s = train(cfg, rep)
    assert s.status == "completed" and s.steps == 24
    applied = rep.series("lr")
    assert applied == rep.series("lr/planned")
    expected = np.repeat(lr_curve(spec, 6, 0.1), 4)
    np.testing.assert_allclose(applied, expected, rtol=1e-12)


def test_plateau_per_step_with_validation_sees_only_validation_losses():
    spec = {"name": "reduce_on_plateau", "params": {"patience": 0, "factor": 0.5}}
    cfg = RunConfig(dataset=synthetic(n_samples=50), optimizer={"name": "sgd"}, lr=0.5, epochs=8, batch_size=10,
                    schedule=spec)
    rep = ListReporter()
    s = train(cfg, rep)
    assert s.status == "completed"
    lrs = np.array(rep.series("lr"))
    val = rep.series("val/loss")
    # The LR may change only at epoch boundaries (4 steps per epoch), by the plateau rule on val/loss.
    state = PlateauState(validate_spec(spec)["params"], 0.5)
    expected = [0.5] * 4
    for v in val[:-1]:
        expected += [state.step(v)] * 4
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)


# -- clipping --------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["norm", "value"])
def test_clipping_limits_the_update_and_reports_the_norm_before(mode):
    cfg = RunConfig(dataset=synthetic(unscaled=True, val_fraction=0.0), init="zeros", optimizer={"name": "sgd"},
                    lr=1.0, max_steps=1, clip_mode=mode, clip_value=0.001)
    rep = ListReporter()
    s = train(cfg, rep)
    w, b = s.extra["learned_w"][0], s.extra["learned_b"]
    assert rep.series("grad/norm")[0] > 1e3  # before clipping
    if mode == "norm":
        assert math.hypot(w, b) == pytest.approx(0.001, rel=1e-3)
    else:
        assert w == pytest.approx(0.001, rel=1e-6) and b == pytest.approx(0.001, rel=1e-6)


# -- real data and reporting cost -----------------------------------------------------------------------
def test_windsor_adam_reaches_validation_r2_0_6():
    cfg = RunConfig(dataset=DatasetConfig(name="windsor"), optimizer={"name": "adam"}, lr=0.05, max_steps=300)
    s = train(cfg, ListReporter())
    assert s.status == "completed"
    assert s.extra["metrics_on"] == "val" and s.extra["r2"] >= 0.6
    assert 10_000 < s.extra["rmse"] < 25_000  # price units (CAD), not standard units
    assert len(s.extra["learned_w"]) == 11


def test_batching_reporter_is_called_far_less_often_than_once_per_step():
    batches: list[list] = []
    rep = BatchingReporter(batches.append, interval_s=0.1)
    # val_every=1: every epoch validated (the cadence before issue 11), so one epoch event per step.
    cfg = RunConfig(dataset=synthetic(), optimizer={"name": "sgd"}, lr=0.05, max_steps=2000, val_every=1)
    s = train(cfg, rep)
    events = [e for b in batches for e in b]
    assert s.status == "completed" and sum(isinstance(e, StepLogged) for e in events) == 2000
    assert sum(isinstance(e, EpochLogged) for e in events) == 2000  # full batch: one epoch per step
    assert rep.batches_sent == len(batches) < 2000 / 20
    assert isinstance(events[-1], RunFinished)


def test_classifier_reports_accuracies():
    cfg = RunConfig(model="cnn", dataset=DatasetConfig(name="digits", limit=256), optimizer={"name": "adam"},
                    lr=0.01, epochs=2, batch_size=64)
    rep = ListReporter()
    s = train(cfg, rep)
    assert s.status == "completed" and s.steps == 8
    ep = rep.epochs()[-1].values
    assert {"train/acc", "val/acc", "val/loss", "train/loss_epoch"} <= set(ep)
    assert 0.0 <= ep["val/acc"] <= 1.0 and s.best_accuracy == max(rep.series("val/acc"))
    assert s.extra["val_acc"] == ep["val/acc"]


# -- cadences (issue 11): validation and gradient norm ------------------------------------------------
def test_full_batch_default_cadence_validates_every_200_steps_and_at_the_end():
    cfg = RunConfig(dataset=synthetic(), optimizer={"name": "sgd"}, lr=0.05, max_steps=450)
    rep = ListReporter()
    s = train(cfg, rep)
    assert s.status == "completed" and s.steps == 450 and s.epochs == 450
    # No redundant per-step epoch events: one for each validation, the last one at the end.
    assert [e.step for e in rep.epochs()] == [1, 201, 401, 450]
    assert all("val/loss" in e.values for e in rep.epochs())
    assert s.final_val_loss == rep.series("val/loss")[-1]
    # The gradient norm at steps 1, 11, 21... and at the last step.
    norm_steps = [e.step for e in rep.steps() if "grad/norm" in e.values]
    assert norm_steps == list(range(1, 450, 10)) + [450]


def test_minibatch_default_cadence_validates_first_then_every_200_steps_and_at_the_end():
    cfg = RunConfig(dataset=synthetic(n_samples=200), optimizer={"name": "sgd"}, lr=0.05, epochs=50,
                    batch_size=16)  # 160 training rows: 10 steps an epoch
    rep = ListReporter()
    s = train(cfg, rep)
    ev = rep.epochs()
    assert len(ev) == 50  # an epoch event (mean loss) for every epoch of a minibatch run
    assert [e.step for e in ev if "val/loss" in e.values] == [10, 210, 410, 500]
    assert s.final_val_loss == rep.series("val/loss")[-1]


def test_auto_validation_gap_keeps_a_pass_near_one_percent_of_the_steps():
    from lrstudio.trainer.loop import AUTO_VAL_STEPS, auto_val_gap

    assert auto_val_gap(160, 40, 16) == AUTO_VAL_STEPS == 200  # small validation sets: the floor
    assert auto_val_gap(1000, 250, 0) == auto_val_gap(1000, 250, 5000) == 200  # full batch
    # MNIST, batches of 64: a pass over 10,000 images ~ 52 steps' work -> every ~5,209 steps.
    assert auto_val_gap(60_000, 10_000, 64) == 5209
    assert auto_val_gap(60_000, 10_000, 640) == 521


def test_a_metric_driven_schedule_still_validates_every_epoch_by_default():
    cfg = RunConfig(dataset=synthetic(n_samples=200), optimizer={"name": "sgd"}, lr=0.05, epochs=12,
                    batch_size=16, schedule={"name": "reduce_on_plateau", "params": {}})
    rep = ListReporter()
    train(cfg, rep)
    assert [e.epoch for e in rep.epochs() if "val/loss" in e.values] == list(range(12))


def test_explicit_cadences_every_k_epochs_and_every_step():
    cfg = RunConfig(dataset=synthetic(n_samples=50), optimizer={"name": "sgd"}, lr=0.05, epochs=7, batch_size=8,
                    val_every=3, grad_norm_every=1)
    rep = ListReporter()
    train(cfg, rep)
    assert [e.epoch for e in rep.epochs() if "val/loss" in e.values] == [2, 5, 6]
    assert all("grad/norm" in e.values for e in rep.steps())


@pytest.mark.parametrize("batch_size", [0, 8])
def test_cadence_changes_no_loss_or_lr(batch_size):
    base = dict(dataset=synthetic(n_samples=50), optimizer={"name": "adam"}, lr=0.05, epochs=30,
                batch_size=batch_size, seed=3, schedule={"name": "cosine", "params": {}})
    old, new = ListReporter(), ListReporter()
    train(RunConfig(**base, val_every=1, grad_norm_every=1), old)
    train(RunConfig(**base), new)
    for key in ("train/loss", "lr", "lr/planned"):
        assert old.series(key) == new.series(key)
    sparse = {e.step: e.values["grad/norm"] for e in new.steps() if "grad/norm" in e.values}
    dense = {e.step: e.values["grad/norm"] for e in old.steps()}
    assert sparse == {k: dense[k] for k in sparse} and len(sparse) < len(dense)


def test_clipping_by_norm_records_the_norm_at_every_step():
    cfg = RunConfig(dataset=synthetic(), optimizer={"name": "sgd"}, lr=0.05, max_steps=30, clip_mode="norm",
                    clip_value=0.5)
    rep = ListReporter()
    train(cfg, rep)
    assert all("grad/norm" in e.values for e in rep.steps())


def test_training_never_imports_torch_dynamo(tmp_path):
    # Fast start: torch.optim's decorators import torch._dynamo (and sympy), ~1.2 s, on first use.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from lrstudio.core.config import DatasetConfig, RunConfig\n"
        "from lrstudio.core.events import ListReporter\n"
        "from lrstudio.trainer.loop import train\n"
        "for opt in ('sgd', 'adam', 'adamw', 'rmsprop'):\n"
        "    s = train(RunConfig(dataset=DatasetConfig(name='synthetic'), optimizer={'name': opt},\n"
        "              max_steps=5), ListReporter())\n"
        "    assert s.status == 'completed', s\n"
        "print('torch._dynamo' in sys.modules, 'sympy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.split() == ["False", "False"]
