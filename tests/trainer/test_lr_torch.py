"""TorchScheduleAdapter applies exactly lr_curve to a real optimizer (the to_pytorch_code tests are in
tests/core/test_pytorch_code.py)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from schedule_specs import SPECS, N, plateau_metrics  # noqa: E402

from lrstudio.core.schedules import SCHEDULES, ScheduleError, lr_curve  # noqa: E402
from lrstudio.trainer.schedule_adapter import TorchScheduleAdapter  # noqa: E402


def test_specs_cover_the_catalogue():
    assert set(SPECS) == set(SCHEDULES)


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("total_steps", [N, 50])  # 50: the run goes past the planned length
@pytest.mark.parametrize("which", ["custom", "default"])
def test_adapter_applies_lr_curve_at_every_step(name, total_steps, which):
    torch.set_num_threads(1)
    spec = {"name": name, "params": SPECS[name] if which == "custom" else {}}
    base_lr = 0.1
    metrics = plateau_metrics(N) if SCHEDULES[name].metric_driven else None
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


def test_adapter_step_computes_nothing_within_the_planned_length(monkeypatch):
    """The hot path indexes a precomputed curve; past the planned length it recomputes once (doubling).
    (How fast that is, is bench/bench_engine.py's business, not a timed unit test's.)"""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    a = TorchScheduleAdapter(opt, "cosine", 0.1, 1000)
    calls: list[tuple[int, int]] = []
    compute = TorchScheduleAdapter._compute

    def counting(self, start: int, stop: int) -> list[float]:
        calls.append((start, stop))
        return compute(self, start, stop)

    monkeypatch.setattr(TorchScheduleAdapter, "_compute", counting)
    for _ in range(1000):
        a.step()
    assert calls == []
    a.step()
    assert calls == [(0, 2002)]
    assert a.planned_lr == lr_curve("cosine", 1002, 0.1)[1001]
