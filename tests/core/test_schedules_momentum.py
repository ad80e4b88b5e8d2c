"""Momentum cycling (issue 15): momentum_curve against torch's OneCycleLR / CyclicLR param groups,
step by step, with SGD (``momentum``) and Adam (``betas[0]``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lrstudio.core.schedules import ScheduleError, lr_curve, validate_spec
from lrstudio.core.schedules.momentum import check_momentum, cycles_momentum, momentum_curve

torch = pytest.importorskip("torch")


def _torch_run(make_sched, opt_name, n, base_lr):
    w = torch.nn.Parameter(torch.zeros(2))
    if opt_name == "sgd":
        opt = torch.optim.SGD([w], lr=base_lr, momentum=0.9)
    elif opt_name == "sgd0":
        opt = torch.optim.SGD([w], lr=base_lr)  # momentum 0: torch cycles it anyway
    elif opt_name == "rmsprop":
        opt = torch.optim.RMSprop([w], lr=base_lr)
    else:
        opt = torch.optim.Adam([w], lr=base_lr, betas=(0.9, 0.99))
    sched = make_sched(opt)
    lrs, moms = [], []
    g = opt.param_groups[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(n):
            lrs.append(g["lr"])
            moms.append(g["betas"][0] if "betas" in g else g["momentum"])
            w.grad = torch.ones_like(w)
            opt.step()
            sched.step()
    if "betas" in g:
        assert g["betas"][1] == 0.99  # beta2 untouched
    return np.asarray(lrs), np.asarray(moms)


ONE_CYCLE = [
    {"total_steps": 300},
    {"total_steps": 250, "three_phase": True, "anneal_strategy": "linear", "pct_start": 0.25},
    {"total_steps": 301, "pct_start": 0.41, "base_momentum": 0.7, "max_momentum": 0.99, "div_factor": 10.0},
]
CYCLIC = [
    {"max_lr": 0.5, "step_size_up": 40},
    {"max_lr": 0.5, "step_size_up": 30, "step_size_down": 50, "mode": "triangular2", "base_momentum": 0.6},
    {"max_lr": 0.5, "step_size_up": 25, "mode": "exp_range", "gamma": 0.995, "max_momentum": 0.97},
]


def _one_cycle(p, base_lr):
    from torch.optim.lr_scheduler import OneCycleLR

    q = validate_spec({"name": "one_cycle", "params": p})["params"]
    return lambda o: OneCycleLR(
        o, max_lr=base_lr, total_steps=q["total_steps"], pct_start=q["pct_start"],
        anneal_strategy=q["anneal_strategy"], div_factor=q["div_factor"], final_div_factor=q["final_div_factor"],
        three_phase=q["three_phase"], base_momentum=q["base_momentum"], max_momentum=q["max_momentum"])


def _cyclic(p, base_lr):
    from torch.optim.lr_scheduler import CyclicLR

    q = validate_spec({"name": "cyclic", "params": p})["params"]
    return lambda o: CyclicLR(
        o, base_lr=base_lr, max_lr=q["max_lr"], step_size_up=q["step_size_up"], step_size_down=q["step_size_down"],
        mode=q["mode"], gamma=q["gamma"], base_momentum=q["base_momentum"], max_momentum=q["max_momentum"])


@pytest.mark.parametrize("opt", ["sgd", "adam", "sgd0", "rmsprop"])
@pytest.mark.parametrize("i", range(3))
@pytest.mark.parametrize("name", ["one_cycle", "cyclic"])
def test_momentum_curve_matches_torch_param_groups(name, i, opt):
    p = (ONE_CYCLE if name == "one_cycle" else CYCLIC)[i]
    base_lr = 0.1
    n = p["total_steps"] if name == "one_cycle" else 320  # OneCycleLR raises past total_steps
    make = _one_cycle(p, base_lr) if name == "one_cycle" else _cyclic(p, base_lr)
    lrs, moms = _torch_run(make, opt, n, base_lr)
    spec = {"name": name, "params": p}
    np.testing.assert_allclose(lr_curve(spec, n, base_lr), lrs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(momentum_curve(spec, n), moms, rtol=1e-12, atol=1e-15)


def test_torch_defaults():
    one = validate_spec("one_cycle")["params"]
    assert (one["cycle_momentum"], one["base_momentum"], one["max_momentum"]) == (True, 0.85, 0.95)
    cyc = validate_spec("cyclic")["params"]
    assert (cyc["cycle_momentum"], cyc["base_momentum"], cyc["max_momentum"]) == (True, 0.8, 0.9)


def test_one_cycle_momentum_holds_past_total_steps():
    m = momentum_curve({"name": "one_cycle", "params": {"total_steps": 100}}, 300)
    assert m[0] == 0.95 and m[99] == pytest.approx(0.95) and (m[100:] == 0.95).all()
    assert m.min() == pytest.approx(0.85, abs=1e-3)


def test_no_momentum_curve_without_cycling():
    assert momentum_curve({"name": "one_cycle", "params": {"cycle_momentum": False}}, 10) is None
    assert momentum_curve("cosine", 10) is None
    # nested: only the run's own schedule cycles momentum
    assert momentum_curve({"name": "linear_warmup", "params": {"inner": {"name": "one_cycle"}}}, 10) is None
    assert not cycles_momentum({"name": "sequential", "params": {"schedules": [{"name": "one_cycle"}], "milestones": []}})


def test_momentum_curve_values_at_arbitrary_steps_equal_the_range():
    from lrstudio.core.schedules.cyclic import cyclic_momentum, one_cycle_momentum

    for fn, name, p in ((one_cycle_momentum, "one_cycle", ONE_CYCLE[1]), (cyclic_momentum, "cyclic", CYCLIC[1])):
        q = validate_spec({"name": name, "params": p})["params"]
        full = momentum_curve({"name": name, "params": p}, 400)
        t = np.asarray([399, 0, 62, 63, 124, 125, 249, 250, 7], dtype=np.int64)
        np.testing.assert_array_equal(fn(q, t), full[t])


@pytest.mark.parametrize("opt,cls", [("adagrad", "Adagrad"), ("adadelta", "Adadelta")])
def test_an_optimizer_without_momentum_is_refused_with_a_clear_message(opt, cls):
    with pytest.raises(ScheduleError, match=r"cycle_momentum.*false with optimizer .*neither momentum nor beta1"):
        check_momentum("one_cycle", opt, cls)
    check_momentum({"name": "one_cycle", "params": {"cycle_momentum": False}}, opt, cls)  # allowed
    check_momentum("one_cycle", "adam", "Adam")


@pytest.mark.parametrize("steps", [-1, 1.5, True, "3"])
def test_momentum_curve_steps_must_be_a_count(steps):
    with pytest.raises(ScheduleError, match="steps"):
        momentum_curve("one_cycle", steps)


@pytest.mark.parametrize("name,p", [("one_cycle", ONE_CYCLE[0]), ("cyclic", CYCLIC[2])])
def test_exported_snippet_cycles_momentum_like_lrstudio(name, p):
    from lrstudio.core.schedules.pytorch_code import to_pytorch_code

    n = 300
    code = to_pytorch_code({"name": name, "params": p}, 0.1, steps=n)
    assert "cycle_momentum=True" in code

    def make(o):
        ns = {"optimizer": o}
        exec(compile(code, "<to_pytorch_code>", "exec"), ns)  # tests only: our own generated snippet
        return ns["scheduler"]

    _, moms = _torch_run(make, "adam", n, 0.1)
    np.testing.assert_allclose(momentum_curve({"name": name, "params": p}, n), moms, rtol=1e-12, atol=1e-15)


def test_momentum_curve_resolves_shares_of_the_run_like_lr_curve():
    n = 240
    share = momentum_curve({"name": "one_cycle", "params": {"total_steps": "auto", "pct_start": 0.25}}, n)
    steps = momentum_curve({"name": "one_cycle", "params": {"total_steps": n, "pct_start": 0.25}}, n)
    np.testing.assert_array_equal(share, steps)
