"""Momentum cycling applied in training (issue 15): the adapter moves SGD's momentum / Adam's beta1
exactly as torch's OneCycleLR / CyclicLR do (param groups and the trained weights, step by step),
the loop records it as the series ``momentum``, and an optimizer without momentum is refused
before the run exists."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrstudio.core.config import DatasetConfig, RunConfig, check_runnable  # noqa: E402
from lrstudio.core.events import ListReporter  # noqa: E402
from lrstudio.core.metrics import MOMENTUM  # noqa: E402
from lrstudio.core.params import ParamError  # noqa: E402
from lrstudio.core.schedules import ScheduleError, lr_curve  # noqa: E402
from lrstudio.core.schedules.momentum import momentum_curve  # noqa: E402
from lrstudio.trainer.loop import train  # noqa: E402
from lrstudio.trainer.schedule_adapter import TorchScheduleAdapter, torch_scheduler  # noqa: E402


def _opt(kind, params, lr):
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=False)
    if kind == "nesterov":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.98))


CASES = {
    "one_cycle": ({"total_steps": 120, "pct_start": 0.35},
                  lambda o, lr: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=lr, total_steps=120, pct_start=0.35)),
    "one_cycle-3": ({"total_steps": 120, "three_phase": True, "anneal_strategy": "linear", "base_momentum": 0.6},
                    lambda o, lr: torch.optim.lr_scheduler.OneCycleLR(
                        o, max_lr=lr, total_steps=120, three_phase=True, anneal_strategy="linear",
                        base_momentum=0.6)),
    "cyclic": ({"max_lr": 0.05, "step_size_up": 15, "step_size_down": 25, "mode": "triangular2"},
               lambda o, lr: torch.optim.lr_scheduler.CyclicLR(
                   o, base_lr=lr, max_lr=0.05, step_size_up=15, step_size_down=25, mode="triangular2")),
}


@pytest.mark.parametrize("opt_kind", ["sgd", "nesterov", "adamw"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_adapter_trains_exactly_like_torch_scheduler(case, opt_kind):
    """Same model, same data: lrstudio's adapter and torch's scheduler give the same param groups
    (lr, momentum / betas) at every step, and so the same weights."""
    torch.manual_seed(0)
    x, y = torch.randn(64, 3), torch.randn(64, 1)
    params, groups = {}, {}
    name = case.split("-")[0]
    p, make = CASES[case]
    lr = 0.01
    for who in ("lrstudio", "torch"):
        torch.manual_seed(1)
        model = torch.nn.Linear(3, 1)
        opt = _opt(opt_kind, model.parameters(), lr)
        if who == "lrstudio":
            adapter = TorchScheduleAdapter(opt, {"name": name, "params": p}, lr, 120)
            step = adapter.step
        else:
            sched = make(opt, lr)
            step = sched.step
        seen = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            for i in range(120):
                g = opt.param_groups[0]
                seen.append((g["lr"], g["betas"] if "betas" in g else g["momentum"]))
                xb, yb = x[(i * 8) % 64:(i * 8) % 64 + 8], y[(i * 8) % 64:(i * 8) % 64 + 8]
                opt.zero_grad()
                torch.nn.functional.mse_loss(model(xb), yb).backward()
                opt.step()
                step()
        params[who] = [t.detach().clone() for t in model.parameters()]
        groups[who] = seen
    ours, theirs = groups["lrstudio"], groups["torch"]
    for i, ((lr_a, m_a), (lr_b, m_b)) in enumerate(zip(ours, theirs)):
        assert lr_a == pytest.approx(lr_b, rel=1e-12, abs=1e-18), i
        assert np.allclose(m_a, m_b, rtol=1e-12, atol=0), (i, m_a, m_b)
    for a, b in zip(params["lrstudio"], params["torch"]):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_adapter_without_cycling_leaves_momentum_alone():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0, momentum=0.5)
    a = TorchScheduleAdapter(opt, {"name": "one_cycle", "params": {"total_steps": 50, "cycle_momentum": False}},
                             0.1, 50)
    for _ in range(20):
        a.step()
    assert opt.param_groups[0]["momentum"] == 0.5 and a.planned_momentum is None


def test_adapter_extends_the_momentum_curve_past_the_planned_length():
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    spec = {"name": "cyclic", "params": {"max_lr": 0.5, "step_size_up": 7}}
    a = TorchScheduleAdapter(opt, spec, 0.1, 10)
    seen = [a.planned_momentum]
    for _ in range(99):
        a.step()
        seen.append(opt.param_groups[0]["betas"][0])
    np.testing.assert_array_equal(seen, momentum_curve(spec, 100))


@pytest.mark.parametrize("opt", ["adagrad", "adadelta"])
def test_optimizer_without_momentum_is_refused_before_the_run(opt):
    cfg = RunConfig(dataset=DatasetConfig(name="synthetic", n_samples=40), optimizer={"name": opt},
                    lr=0.01, max_steps=20, schedule={"name": "one_cycle", "params": {"total_steps": 20}})
    with pytest.raises(ParamError, match="cycle_momentum"):
        check_runnable(cfg)
    with pytest.raises(ScheduleError, match="cycle_momentum"):
        TorchScheduleAdapter(getattr(torch.optim, {"adagrad": "Adagrad", "adadelta": "Adadelta"}[opt])(
            [torch.nn.Parameter(torch.zeros(1))], lr=0.1), "one_cycle", 0.1, 10)
    off = {"name": "one_cycle", "params": {"total_steps": 20, "cycle_momentum": False}}
    assert train(RunConfig(**{**cfg.__dict__, "schedule": off}), ListReporter()).status == "completed"


@pytest.mark.parametrize("opt,key", [("momentum", "momentum"), ("adam", "beta1"), ("sgd", "momentum")])
def test_training_records_the_momentum_series(opt, key):
    spec = {"name": "one_cycle", "params": {"total_steps": 60, "three_phase": True}}
    cfg = RunConfig(dataset=DatasetConfig(name="synthetic", n_samples=60, val_fraction=0.0),
                    optimizer={"name": opt}, lr=0.02, max_steps=80, schedule=spec)
    rep = ListReporter()
    s = train(cfg, rep)
    assert s.status == "completed", s.error
    np.testing.assert_array_equal(rep.series(MOMENTUM), momentum_curve(spec, 80))
    np.testing.assert_allclose(rep.series("lr"), lr_curve(spec, 80, 0.02), rtol=1e-12)


def test_no_momentum_series_when_the_schedule_does_not_cycle():
    cfg = RunConfig(dataset=DatasetConfig(name="synthetic", n_samples=60), optimizer={"name": "momentum"},
                    lr=0.02, max_steps=30, schedule={"name": "cosine", "params": {"T_max": 30}})
    rep = ListReporter()
    assert train(cfg, rep).status == "completed"
    assert rep.series(MOMENTUM) == []


def test_torch_scheduler_cycles_momentum_like_torch():
    w = torch.nn.Parameter(torch.zeros(1))
    a, b = torch.optim.SGD([w], lr=0.1, momentum=0.9), torch.optim.SGD([w], lr=0.1, momentum=0.9)
    ours = torch_scheduler({"name": "one_cycle", "params": {"total_steps": 50}}, a)
    theirs = torch.optim.lr_scheduler.OneCycleLR(b, max_lr=0.1, total_steps=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(50):
            assert a.param_groups[0]["momentum"] == pytest.approx(b.param_groups[0]["momentum"], rel=1e-12)
            assert a.param_groups[0]["lr"] == pytest.approx(b.param_groups[0]["lr"], rel=1e-12)
            ours.step()
            theirs.step()


@pytest.mark.parametrize("name,params", [("one_cycle", {"total_steps": 40}),
                                         ("cyclic", {"max_lr": 0.05, "step_size_up": 5})])
def test_a_config_stored_before_momentum_cycling_keeps_training_as_it_did(name, params):
    """Schema 1 (before issue 15): one_cycle/cyclic changed the LR only. Such a stored config loads
    with cycle_momentum false, trains with the optimizer's own momentum and records no series;
    with adagrad (no momentum) it still runs."""
    from lrstudio.core.schedules import validate_spec

    stored = validate_spec({"name": name, "params": params})
    for k in ("cycle_momentum", "base_momentum", "max_momentum"):
        stored["params"].pop(k)
    for opt in ("momentum", "adagrad"):
        data = {"schema_version": 1, "model": "linear", "dataset": {"name": "synthetic", "n_samples": 40},
                "optimizer": {"name": opt, "params": {}}, "lr": 0.01, "max_steps": 40,
                "schedule": stored}
        cfg = RunConfig.from_dict(data)
        assert cfg.validated().schedule["params"]["cycle_momentum"] is False
        assert momentum_curve(cfg.schedule, 10) is None
        rep = ListReporter()
        assert train(cfg, rep).status == "completed"
        assert rep.series(MOMENTUM) == []
    nested = RunConfig.from_dict({**data, "schedule": {"name": "linear_warmup", "params": {"inner": stored}}})
    assert nested.validated().schedule["params"]["inner"]["params"]["cycle_momentum"] is False
    # the same spec written today (no schema 1) follows torch's default
    assert RunConfig.from_dict({**data, "schema_version": 2, "optimizer": {"name": "sgd"},
                                "schedule": stored}).validated().schedule["params"]["cycle_momentum"] is True


@pytest.mark.parametrize("schedule", ["one_cycle", {"name": "cyclic"}, {"name": "one_cycle", "params": None}])
def test_schema_1_bare_specs_are_migrated_too(schedule):
    cfg = RunConfig.from_dict({"schema_version": 1, "schedule": schedule, "max_steps": 30})
    assert cfg.validated().schedule["params"]["cycle_momentum"] is False


def test_a_one_cycle_that_lasts_the_run_cycles_momentum_over_the_run():
    spec = {"name": "one_cycle", "params": {"total_steps": "auto"}}
    cfg = RunConfig(dataset=DatasetConfig(name="synthetic", n_samples=60, val_fraction=0.0),
                    optimizer={"name": "adam"}, lr=0.02, max_steps=70, schedule=spec)
    rep = ListReporter()
    assert train(cfg, rep).status == "completed"
    want = momentum_curve({"name": "one_cycle", "params": {"total_steps": 70}}, 70)
    np.testing.assert_array_equal(rep.series(MOMENTUM), want)
    assert want[-1] > 0.94 and want.min() < 0.86


def test_playground_refuses_momentum_cycling_without_momentum_when_validating():
    from lrstudio.core.playground import TrajectorySpec, validate_trajectory

    bad = TrajectorySpec({"name": "adagrad", "params": {}}, 0.1, (1.0, 1.0), 50,
                         {"name": "one_cycle", "params": {"total_steps": 50}})
    with pytest.raises(ParamError, match="cycle_momentum"):
        validate_trajectory(bad, 2)
    ok = TrajectorySpec({"name": "adagrad", "params": {}}, 0.1, (1.0, 1.0), 50,
                        {"name": "one_cycle", "params": {"total_steps": 50, "cycle_momentum": False}})
    assert validate_trajectory(ok, 2).schedule["params"]["cycle_momentum"] is False
