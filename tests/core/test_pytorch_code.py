"""to_pytorch_code: the exported snippet, run with real torch, gives lr_curve's numbers for every
schedule of the catalogue, nested ones included; where torch cannot follow a schedule the exporter
says why. (Moved from tests/core/test_lr_torch.py when the export became a generic driver over the
registry, issue 10.)"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrstudio.core.schedules import SCHEDULES, ScheduleError, lr_curve  # noqa: E402
from lrstudio.core.schedules.pytorch_code import to_pytorch_code  # noqa: E402

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



def _metrics(n: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.exp(-np.arange(n) / 40) + 0.05 * rng.standard_normal(n)


# -- to_pytorch_code -----------------------------------------------------------------------------
def _run_snippet(code: str, base_lr: float, n: int, metrics=None) -> np.ndarray:
    torch.set_num_threads(1)
    w = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([w], lr=base_lr)
    ns = {"optimizer": optimizer}
    exec(compile(code, "<to_pytorch_code>", "exec"), ns)  # tests only: run the generated snippet
    scheduler = ns["scheduler"]
    out = []
    for i in range(n):
        out.append(optimizer.param_groups[0]["lr"])
        w.grad = torch.ones_like(w)
        optimizer.step()
        if metrics is not None:
            scheduler.step(float(metrics[i]))
        else:
            scheduler.step()
    return np.asarray(out)


EXPORT_CASES = [(name, SPECS[name]) for name in sorted(SPECS)] + [
    (name, {}) for name in sorted(SPECS)
]


@pytest.mark.parametrize("name,params", EXPORT_CASES, ids=[f"{n}-{'custom' if p else 'default'}"
                                                          for n, p in EXPORT_CASES])
def test_pytorch_code_reproduces_curve(name, params):
    spec = {"name": name, "params": params}
    if name == "reduce_on_plateau" and params.get("cooldown_convention") == "paddle":
        with pytest.raises(ScheduleError):
            to_pytorch_code(spec, 0.1)
        spec = {"name": name, "params": {**params, "cooldown_convention": "torch"}}
    base_lr = 0.1
    n = 300 if name != "one_cycle" else min(300, (params or {}).get("total_steps", 1000))
    metrics = _metrics(n) if SCHEDULES[name].metric_driven else None
    code = to_pytorch_code(spec, base_lr)
    assert "import os" not in code and len(code.splitlines()) < 60
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = _run_snippet(code, base_lr, n, metrics)
    np.testing.assert_allclose(got, lr_curve(spec, n, base_lr, metrics=metrics), rtol=1e-9, atol=1e-14)


def test_pytorch_code_is_valid_python_standalone():
    code = to_pytorch_code({"name": "wsd", "params": {"num_warmup_steps": 10}}, 0.01)
    out = subprocess.run([sys.executable, "-c", "import ast,sys; ast.parse(sys.stdin.read())"], input=code,
                         text=True, capture_output=True)
    assert out.returncode == 0, out.stderr
    assert "LambdaLR" in code and "def lr_at(step):" in code


# -- every schedule, alone and nested ---------------------------------------------------------------
# Each schedule with its default and its custom parameters, alone, inside a linear warm-up, and as
# either of the two children of a sequential: the snippet (native torch classes where the
# registration offers one, LambdaLR otherwise) must give lr_curve's numbers at every step.
_CATALOGUE = [{"name": n, "params": p} for n in sorted(SPECS) for p in ({}, SPECS[n])]
_LEAVES = [s for s in _CATALOGUE if not SCHEDULES[s["name"]].metric_driven]
NESTED_CASES = (
    [("alone", s) for s in _CATALOGUE]
    + [("warmup", {"name": "linear_warmup", "params": {"inner": s, "warmup_steps": 7}}) for s in _LEAVES]
    + [("first", {"name": "sequential", "params": {
        "schedules": [s, {"name": "step", "params": {"step_size": 9, "gamma": 0.7}}], "milestones": [120]}})
       for s in _LEAVES]
    + [("second", {"name": "sequential", "params": {
        "schedules": [{"name": "constant", "params": {"factor": 0.5, "total_iters": 3}}, s], "milestones": [25]}})
       for s in _LEAVES]
)
# What torch cannot do, and the words the exporter must use for it.
REFUSED = {"reduce_on_plateau": "Paddle-style cooldown"}


def _case_id(case):
    where, spec = case
    inner = spec
    if where == "warmup":
        inner = spec["params"]["inner"]
    elif where in ("first", "second"):
        inner = spec["params"]["schedules"][0 if where == "first" else 1]
    return f"{where}-{inner['name']}-{'custom' if inner['params'] else 'default'}"


def _cover(spec: dict, n: int) -> int:
    """Steps to run: one_cycle's torch class raises when stepped past its total_steps."""
    if spec["name"] == "one_cycle":
        return min(n, spec["params"].get("total_steps", 1000))
    return n


def test_nested_cases_cover_the_catalogue():
    assert {_case_id(c).split("-")[1] for c in NESTED_CASES} == set(SCHEDULES)
    assert {c[0] for c in NESTED_CASES} == {"alone", "warmup", "first", "second"}


@pytest.mark.parametrize("case", NESTED_CASES, ids=[_case_id(c) for c in NESTED_CASES])
def test_exported_snippet_runs_every_schedule_in_torch(case):
    _, spec = case
    base_lr = 0.1
    n = _cover(spec, 300)
    metrics = _metrics(n) if SCHEDULES[spec["name"]].metric_driven else None
    params = spec["params"]
    if spec["name"] in REFUSED and params.get("cooldown_convention", "torch") != "torch":
        with pytest.raises(ScheduleError, match=REFUSED[spec["name"]]):
            to_pytorch_code(spec, base_lr)
        return
    code = to_pytorch_code(spec, base_lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = _run_snippet(code, base_lr, n, metrics)
    np.testing.assert_allclose(got, lr_curve(spec, n, base_lr, metrics=metrics), rtol=1e-9, atol=1e-14)


def test_export_does_not_run_user_text():
    # an expression the safe evaluator refuses never reaches the snippet
    with pytest.raises(ScheduleError):
        to_pytorch_code({"name": "lambda", "params": {"lr_lambda": "__import__('os').getcwd()"}}, 0.1)


def test_exporter_knows_no_schedule_by_name():
    """The driver is generic: every schedule's pieces come from its registration (issue 10)."""
    import inspect

    import lrstudio.core.schedules.pytorch_code as pc

    text = inspect.getsource(pc)
    named = sorted(n for n in SCHEDULES if f'"{n}"' in text or f"'{n}'" in text)
    assert named == []
    for name, info in SCHEDULES.items():
        assert info.torch_native is not None or info.scalar_source is not None, name


@pytest.mark.parametrize("children,native", [
    (["constant", "cosine"], True),
    (["multiplicative", "step"], True),     # first: nothing to restart
    (["constant", "multiplicative"], False),  # step(0) would continue from the current LR
    (["one_cycle", "step"], False),         # OneCycleLR overwrites initial_lr
    (["constant", "sequential"], False),    # SequentialLR.step() takes no epoch
    (["constant", "natural_exp"], False),   # no torch class at all
])
def test_sequential_uses_torch_classes_only_where_sequentiallr_can_chain_them(children, native):
    first = {"name": children[0], "params": {"factor": 0.5, "total_iters": 3} if children[0] == "constant" else {}}
    spec = {"name": "sequential", "params": {"schedules": [first, {"name": children[1]}], "milestones": [25]}}
    code = to_pytorch_code(spec, 0.1)
    assert ("scheduler = SequentialLR(" in code) is native
    assert ("scheduler = LambdaLR(optimizer, lr_factor)" in code) is not native
    n = 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = _run_snippet(code, 0.1, n)
    np.testing.assert_allclose(got, lr_curve(spec, n, 0.1), rtol=1e-9, atol=1e-14)
