"""TorchScheduleAdapter applies exactly lr_curve to a real optimizer (the to_pytorch_code tests are in
tests/core/test_pytorch_code.py)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrstudio.core.schedules import SCHEDULES, ScheduleError, lr_curve  # noqa: E402
from lrstudio.trainer.schedule_adapter import TorchScheduleAdapter  # noqa: E402

N = 320

# One non-default spec per schedule (small periods so every feature shows within N steps).
SPECS = {
    "constant": {"factor": 0.25, "total_iters": 30},
    "piecewise_constant": {"boundaries": [50, 120, 121], "values": [0.1, 0.05, 0.02, 0.01],
                           "switch": "after_boundary"},
    "step": {"step_size": 40, "gamma": 0.5},
    "multistep": {"milestones": [30, 80, 200], "gamma": 0.3},
    "exponential": {"gamma": 0.5, "decay_steps": 60, "staircase": True},
    "natural_exp": {"gamma": 0.5, "decay_steps": 50},
    "inverse_time": {"gamma": 0.7, "decay_steps": 20, "staircase": True},
    "polynomial": {"decay_steps": 90, "end_lr": 0.001, "power": 2.0, "cycle": True},
    "linear": {"start_factor": 0.2, "end_factor": 0.9, "total_iters": 100},
    "factor": {"factor": 0.99, "stop_factor_lr": 0.02, "step_size": 2},
    "multi_factor": {"steps": [50, 100], "factor": 0.5},
    "noam": {"d_model": 64.0, "warmup_steps": 40},
    "inverse_sqrt": {"num_warmup_steps": 25},
    "wsd": {"num_warmup_steps": 30, "num_stable_steps": 100, "num_decay_steps": 120, "decay_type": "1-sqrt",
            "min_lr_ratio": 0.1},
    "lambda": {"lr_lambda": "0.5 * (1 + cos(pi * min(epoch, 200) / 200))"},
    "multiplicative": {"lr_lambda": "0.97 if epoch % 10 == 0 else 1"},
    "linear_warmup": {"inner": {"name": "cosine", "params": {"T_max": 200}}, "warmup_steps": 20,
                      "start_lr": 0.001},
    "sequential": {"schedules": [{"name": "constant"}, {"name": "step", "params": {"step_size": 20}},
                                 {"name": "linear_warmup", "params": {"warmup_steps": 10,
                                                                      "inner": {"name": "exponential"}}}],
                   "milestones": [50, 150]},
    "cosine": {"T_max": 150, "eta_min": 0.001, "after_end": "hold", "warmup_steps": 10},
    "cosine_restarts": {"T_0": 20, "T_mult": 1.5, "m_mul": 0.8, "alpha": 0.1},
    "linear_cosine": {"decay_steps": 250, "num_periods": 2.0},
    "noisy_linear_cosine": {"decay_steps": 250, "seed": 7},
    "cyclic": {"max_lr": 0.3, "step_size_up": 30, "mode": "triangular2"},
    "one_cycle": {"total_steps": 300, "three_phase": True, "end_lr": 1e-4},
    "reduce_on_plateau": {"patience": 3, "cooldown": 2, "factor": 0.5, "cooldown_convention": "paddle"},
}


def _metrics(n: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.exp(-np.arange(n) / 40) + 0.05 * rng.standard_normal(n)


def test_specs_cover_the_catalogue():
    assert set(SPECS) == set(SCHEDULES)


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("total_steps", [N, 50])  # 50: the run goes past the planned length
@pytest.mark.parametrize("which", ["custom", "default"])
def test_adapter_applies_lr_curve_at_every_step(name, total_steps, which):
    torch.set_num_threads(1)
    spec = {"name": name, "params": SPECS[name] if which == "custom" else {}}
    base_lr = 0.1
    metrics = _metrics(N) if SCHEDULES[name].metric_driven else None
    expected = lr_curve(spec, N, base_lr, metrics=metrics)
    w = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([w, ], lr=123.0)  # the adapter must overwrite it
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 7.0})
    adapter = TorchScheduleAdapter(opt, spec, base_lr, total_steps)
    applied, planned = [], []
    for i in range(N):
        planned.append(adapter.planned_lr)
        applied.append([g["lr"] for g in opt.param_groups])
        w.grad = torch.ones_like(w)
        opt.step()
        adapter.step(metrics[i] if metrics is not None else None)
    applied = np.asarray(applied)
    np.testing.assert_array_equal(applied[:, 0], expected)
    np.testing.assert_array_equal(applied[:, 1], expected)
    np.testing.assert_array_equal(np.asarray(planned), expected)


def test_adapter_plateau_without_metric_holds():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    a = TorchScheduleAdapter(opt, {"name": "reduce_on_plateau", "params": {"patience": 0}}, 0.1, 10)
    for _ in range(5):
        a.step()
    assert a.planned_lr == 0.1
    a.step(1.0)
    a.step(2.0)  # worse: patience 0 -> reduce
    assert a.planned_lr == pytest.approx(0.01)


def test_adapter_rejects_bad_input():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ScheduleError):
        TorchScheduleAdapter(opt, {"name": "nope"}, 0.1, 10)
    with pytest.raises(ScheduleError):
        TorchScheduleAdapter(opt, "cosine", -1.0, 10)
    with pytest.raises(ScheduleError):
        TorchScheduleAdapter(opt, "cosine", 0.1, -3)


def test_adapter_step_is_cheap():
    import time

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    a = TorchScheduleAdapter(opt, "cosine", 0.1, 100_000)
    t0 = time.perf_counter()
    for _ in range(100_000):
        a.step()
    per_step = (time.perf_counter() - t0) / 100_000
    assert per_step < 20e-6  # ~0.3 us on a quiet machine; generous for a shared one
