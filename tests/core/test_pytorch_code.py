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

from schedule_specs import SPECS, plateau_metrics  # noqa: E402

from lrstudio.core.schedules import SCHEDULES, ScheduleError, lr_curve  # noqa: E402
from lrstudio.core.schedules.pytorch_code import to_pytorch_code  # noqa: E402


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
    metrics = plateau_metrics(n) if SCHEDULES[name].metric_driven else None
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
# every registered schedule with its defaults, and with the custom parameters of SPECS where it has some
_CATALOGUE = [{"name": n, "params": p} for n in sorted(SCHEDULES) for p in ({}, SPECS.get(n)) if p is not None] + [
    # shorter than the run: OneCycleLR raises past total_steps (and overshoots at t = total_steps),
    # lrstudio holds the final LR there
    {"name": "one_cycle", "params": {"total_steps": 120, "anneal_strategy": "linear"}},
]
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
    + [("continue", {"name": "sequential", "params": {
        "schedules": [{"name": "step", "params": {"step_size": 9, "gamma": 0.7}}, s], "milestones": [25],
        "recursive": "continue"}})
       for s in _LEAVES]
)
# What torch cannot do, and the words the exporter must use for it.
REFUSED = {"reduce_on_plateau": "Paddle-style cooldown"}


def _case_id(case):
    where, spec = case
    inner = spec
    if where == "warmup":
        inner = spec["params"]["inner"]
    elif where in ("first", "second", "continue"):
        inner = spec["params"]["schedules"][0 if where == "first" else 1]
    short = " short" if inner["params"].get("total_steps") == 120 else ""
    return f"{where}-{inner['name']}-{'custom' if inner['params'] else 'default'}{short}"


def test_nested_cases_cover_the_catalogue():
    assert {_case_id(c).split("-")[1] for c in NESTED_CASES} == set(SCHEDULES)
    assert {c[0] for c in NESTED_CASES} == {"alone", "warmup", "first", "second", "continue"}


@pytest.mark.parametrize("case", NESTED_CASES, ids=[_case_id(c) for c in NESTED_CASES])
def test_exported_snippet_runs_every_schedule_in_torch(case):
    """Every snippet, exported for a run of n steps, gives lr_curve's n values (issue 15: the whole
    run, also past one_cycle's total_steps, where OneCycleLR would raise)."""
    _, spec = case
    base_lr = 0.1
    n = 300
    metrics = plateau_metrics(n) if SCHEDULES[spec["name"]].metric_driven else None
    params = spec["params"]
    if spec["name"] in REFUSED and params.get("cooldown_convention", "torch") != "torch":
        with pytest.raises(ScheduleError, match=REFUSED[spec["name"]]):
            to_pytorch_code(spec, base_lr, steps=n)
        return
    code = to_pytorch_code(spec, base_lr, steps=n)
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


def test_one_cycle_export_says_when_its_torch_class_stops_following():
    spec = {"name": "one_cycle", "params": {"total_steps": 100}}
    unknown = to_pytorch_code(spec, 0.1)
    assert "scheduler = OneCycleLR(" in unknown and "at most 100 steps" in unknown
    fits = to_pytorch_code(spec, 0.1, steps=100)
    assert "scheduler = OneCycleLR(" in fits and "at most" not in fits
    longer = to_pytorch_code(spec, 0.1, steps=101)
    assert "scheduler = LambdaLR(" in longer and "OneCycleLR raises when stepped past total_steps" in longer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = _run_snippet(longer, 0.1, 400)
    np.testing.assert_allclose(got, lr_curve(spec, 400, 0.1), rtol=1e-9, atol=1e-14)
    assert got[-1] == lr_curve(spec, 100, 0.1)[-1]  # held


@pytest.mark.parametrize("steps", [0, -3, 1.5, True, "100", 10**12])
def test_export_steps_must_be_a_run_length(steps):
    with pytest.raises(ScheduleError, match="steps"):
        to_pytorch_code("cosine", 0.1, steps=steps)


def test_export_for_a_run_length_resolves_shares_of_the_run():
    spec = {"name": "linear_warmup", "params": {"warmup_steps": "10%", "inner": {
        "name": "one_cycle", "params": {"total_steps": "auto"}}}}
    with pytest.raises(ScheduleError, match="share of the run"):
        to_pytorch_code(spec, 0.1)
    code = to_pytorch_code(spec, 0.1, steps=250)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = _run_snippet(code, 0.1, 250)
    np.testing.assert_allclose(got, lr_curve(spec, 250, 0.1), rtol=1e-9, atol=1e-14)
    alone = to_pytorch_code({"name": "one_cycle", "params": {"total_steps": "auto"}}, 0.1, steps=250)
    assert "OneCycleLR(optimizer, max_lr=0.1, total_steps=250," in alone
