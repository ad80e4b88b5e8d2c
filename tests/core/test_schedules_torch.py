"""Every torch-sourced schedule equals the torch scheduler stepping a real optimizer.

For each schedule: >= 2 parameter sets, >= 300 steps, relative tolerance 1e-12. The torch side is
driven the way a training loop drives it: read ``param_groups[0]["lr"]``, ``optimizer.step()``,
``scheduler.step()`` (``scheduler.step(metric)`` for ReduceLROnPlateau).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.optim import lr_scheduler as tls  # noqa: E402

from lrstudio.core.schedules import lr_curve  # noqa: E402

RTOL = 1e-12
N = 360


def torch_curve(factory, n, base_lr, metrics=None):
    torch.set_num_threads(1)
    w = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.SGD([w], lr=base_lr, momentum=0.9)
    sched = factory(opt)
    out = []
    for i in range(n):
        out.append(float(opt.param_groups[0]["lr"]))
        opt.zero_grad()
        w.grad = torch.ones_like(w)
        opt.step()
        if metrics is not None:
            sched.step(float(metrics[i]))
        else:
            sched.step()
    return np.asarray(out)


def assert_same(ours, theirs, base_lr):
    # rtol 1e-12; the tiny atol (1e-14 of the base LR) only absorbs torch's own rounding noise
    # where the exact value is 0: LinearLR(end_factor=0) steps to -4.3e-18 by its recursive form.
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-14 * base_lr)


CASES = [
    # (spec, torch factory, base_lr)
    ({"name": "constant", "params": {"factor": 1 / 3, "total_iters": 5}},
     lambda o: tls.ConstantLR(o, factor=1 / 3, total_iters=5), 0.1),
    ({"name": "constant", "params": {"factor": 0.5, "total_iters": 40}},
     lambda o: tls.ConstantLR(o, factor=0.5, total_iters=40), 0.3),
    ({"name": "step", "params": {"step_size": 30, "gamma": 0.1}},
     lambda o: tls.StepLR(o, step_size=30, gamma=0.1), 0.1),
    ({"name": "step", "params": {"step_size": 7, "gamma": 0.8}},
     lambda o: tls.StepLR(o, step_size=7, gamma=0.8), 1.5),
    ({"name": "multistep", "params": {"milestones": [30, 80], "gamma": 0.1}},
     lambda o: tls.MultiStepLR(o, milestones=[30, 80], gamma=0.1), 0.1),
    ({"name": "multistep", "params": {"milestones": [1, 50, 51, 200], "gamma": 0.5}},
     lambda o: tls.MultiStepLR(o, milestones=[1, 50, 51, 200], gamma=0.5), 0.02),
    ({"name": "exponential", "params": {"gamma": 0.95}},
     lambda o: tls.ExponentialLR(o, gamma=0.95), 0.1),
    ({"name": "exponential", "params": {"gamma": 0.999}},
     lambda o: tls.ExponentialLR(o, gamma=0.999), 2.0),
    ({"name": "polynomial", "params": {"decay_steps": 100, "end_lr": 0.0, "power": 1.0}},
     lambda o: tls.PolynomialLR(o, total_iters=100, power=1.0), 0.1),
    ({"name": "polynomial", "params": {"decay_steps": 250, "end_lr": 0.0, "power": 2.5}},
     lambda o: tls.PolynomialLR(o, total_iters=250, power=2.5), 0.05),
    ({"name": "lambda", "params": {"lr_lambda": "0.95 ** epoch"}},
     lambda o: tls.LambdaLR(o, lambda e: 0.95 ** e), 0.1),
    ({"name": "lambda", "params": {"lr_lambda": "1 if epoch < 10 else 0.1 * exp(-epoch / 100) + min(epoch, 5) % 3"}},
     lambda o: tls.LambdaLR(o, lambda e: 1 if e < 10 else 0.1 * math.exp(-e / 100) + min(e, 5) % 3), 0.01),
    ({"name": "multiplicative", "params": {"lr_lambda": "0.99"}},
     lambda o: tls.MultiplicativeLR(o, lambda e: 0.99), 0.1),
    ({"name": "multiplicative", "params": {"lr_lambda": "0.9 if epoch % 50 == 0 else 1.0 + 0.001 * sin(epoch)"}},
     lambda o: tls.MultiplicativeLR(o, lambda e: 0.9 if e % 50 == 0 else 1.0 + 0.001 * math.sin(e)), 0.1),
    ({"name": "linear", "params": {}},
     lambda o: tls.LinearLR(o), 0.1),
    ({"name": "linear", "params": {"start_factor": 0.1, "end_factor": 0.0, "total_iters": 200}},
     lambda o: tls.LinearLR(o, start_factor=0.1, end_factor=0.0, total_iters=200), 0.4),
    ({"name": "cosine", "params": {"T_max": 100}},
     lambda o: tls.CosineAnnealingLR(o, T_max=100), 0.1),
    ({"name": "cosine", "params": {"T_max": 37, "eta_min": 0.001}},
     lambda o: tls.CosineAnnealingLR(o, T_max=37, eta_min=0.001), 0.05),
    ({"name": "cosine_restarts", "params": {"T_0": 10}},
     lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=10), 0.1),
    ({"name": "cosine_restarts", "params": {"T_0": 7, "T_mult": 2, "eta_min": 0.001}},
     lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=2, eta_min=0.001), 0.1),
    ({"name": "cosine_restarts", "params": {"T_0": 3, "T_mult": 3}},
     lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=3), 0.1),
    ({"name": "cyclic", "params": {"max_lr": 0.1, "step_size_up": 20, "step_size_down": 10}},
     lambda o: tls.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=20, step_size_down=10,
                            cycle_momentum=False), 0.01),
    ({"name": "cyclic", "params": {"max_lr": 0.5, "step_size_up": 15, "mode": "triangular2"}},
     lambda o: tls.CyclicLR(o, base_lr=0.001, max_lr=0.5, step_size_up=15, mode="triangular2",
                            cycle_momentum=False), 0.001),
    ({"name": "cyclic", "params": {"max_lr": 0.2, "step_size_up": 25, "mode": "exp_range", "gamma": 0.995}},
     lambda o: tls.CyclicLR(o, base_lr=0.02, max_lr=0.2, step_size_up=25, mode="exp_range", gamma=0.995,
                            cycle_momentum=False), 0.02),
    ({"name": "one_cycle", "params": {"total_steps": N}},
     lambda o: tls.OneCycleLR(o, max_lr=0.1, total_steps=N, cycle_momentum=False), 0.1),
    ({"name": "one_cycle", "params": {"total_steps": N, "pct_start": 0.25, "anneal_strategy": "linear",
                                      "three_phase": True, "div_factor": 10.0, "final_div_factor": 100.0}},
     lambda o: tls.OneCycleLR(o, max_lr=0.3, total_steps=N, pct_start=0.25, anneal_strategy="linear",
                              three_phase=True, div_factor=10.0, final_div_factor=100.0,
                              cycle_momentum=False), 0.3),
    ({"name": "multi_factor", "params": {"steps": [15, 30], "factor": 0.5, "convention": "d2l_class"}},
     lambda o: tls.MultiStepLR(o, milestones=[15, 30], gamma=0.5), 0.5),  # the d2l book's PyTorch tab
    ({"name": "multi_factor", "params": {"steps": [1, 99, 100], "factor": 0.3, "convention": "mxnet_gluon"}},
     lambda o: tls.MultiStepLR(o, milestones=[1, 99, 100], gamma=0.3), 0.1),
    ({"name": "sequential", "params": {}},
     lambda o: tls.SequentialLR(o, [tls.ConstantLR(o, factor=0.1, total_iters=2), tls.ExponentialLR(o, gamma=0.9)],
                                milestones=[2]), 0.1),
    ({"name": "sequential", "params": {
        "schedules": [{"name": "linear", "params": {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 10}},
                      {"name": "cosine", "params": {"T_max": 100, "eta_min": 0.001}},
                      {"name": "step", "params": {"step_size": 50, "gamma": 0.5}}],
        "milestones": [10, 150]}},
     lambda o: tls.SequentialLR(o, [tls.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10),
                                    tls.CosineAnnealingLR(o, T_max=100, eta_min=0.001),
                                    tls.StepLR(o, step_size=50, gamma=0.5)], milestones=[10, 150]), 0.1),
]


@pytest.mark.parametrize("spec,factory,base_lr", CASES, ids=[f"{c[0]['name']}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch_scheduler(spec, factory, base_lr):
    assert_same(lr_curve(spec, N, base_lr), torch_curve(factory, N, base_lr), base_lr)


def test_every_torch_sourced_schedule_is_covered_twice():
    from lrstudio.core.schedules import SCHEDULES

    # a schedule with a torch equivalent carries it in its registration (torch_native, issue 10)
    torch_sourced = {name for name, info in SCHEDULES.items() if info.torch_native is not None}
    counts = {}
    for spec, _, _ in CASES:
        counts[spec["name"]] = counts.get(spec["name"], 0) + 1
    for _params, _kind in PLATEAU_CASES:
        counts["reduce_on_plateau"] = counts.get("reduce_on_plateau", 0) + 1
    assert {n for n, c in counts.items() if c >= 2} >= torch_sourced


def _metric(kind: str, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    if kind == "noisy_decay":
        return np.exp(-t / 60) + 0.2 + 0.02 * rng.standard_normal(n)
    if kind == "steps":  # flat stretches with exact ties, then drops
        return np.repeat(np.linspace(1.0, 0.1, n // 20 + 1), 20)[:n]
    if kind == "acc":
        return np.minimum(0.95, 0.5 + t / 500) + 0.01 * rng.standard_normal(n)
    if kind == "negative":
        return -1.0 - np.exp(-t / 50) + 0.05 * rng.standard_normal(n)
    if kind == "nan":
        m = np.exp(-t / 60) + 0.02 * rng.standard_normal(n)
        m[::17] = np.nan
        m[:3] = np.nan
        return m
    raise AssertionError(kind)


PLATEAU_CASES = [
    ({}, "noisy_decay"),
    ({"patience": 3, "factor": 0.5}, "noisy_decay"),
    ({"patience": 2, "cooldown": 3, "factor": 0.5, "min_lr": 1e-4}, "steps"),
    ({"patience": 0, "threshold": 0.0, "eps": 0.0, "factor": 0.9}, "steps"),
    ({"mode": "max", "threshold_mode": "abs", "threshold": 0.001, "patience": 4, "cooldown": 2}, "acc"),
    ({"mode": "max", "patience": 5}, "acc"),
    ({"threshold_mode": "rel", "patience": 3}, "negative"),  # negative metrics: the step-by-step path
    ({"threshold_mode": "abs", "threshold": 0.01, "patience": 3, "cooldown": 5}, "negative"),
    ({"patience": 2}, "nan"),
]


@pytest.mark.parametrize("params,kind", PLATEAU_CASES)
def test_reduce_on_plateau_matches_torch(params, kind):
    m = _metric(kind, N)
    spec = {"name": "reduce_on_plateau", "params": params}
    keys = {k: v for k, v in params.items()}
    theirs = torch_curve(lambda o: tls.ReduceLROnPlateau(o, **keys), N, 0.1, metrics=m)
    assert_same(lr_curve(spec, N, 0.1, metrics=m), theirs, 0.1)
