"""sequential's ``recursive="continue"`` (issue 15): torch's ``SequentialLR`` behaviour for a
``MultiplicativeLR`` child after a milestone, checked against torch step by step."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lrstudio.core.schedules import lr_curve, validate_spec

torch = pytest.importorskip("torch")

from torch.optim.lr_scheduler import (  # noqa: E402
    ConstantLR,
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    MultiplicativeLR,
    SequentialLR,
    StepLR,
)


def _torch_lrs(make, n, base_lr):
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=base_lr)
    sched = make(opt)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(n):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return np.asarray(out)


F1 = "0.97 if epoch % 10 == 0 else 1"
F2 = "0.5 + 0.49 * cos(epoch)"  # f(0) = 0.99: the factor at the milestone shows


def _f1(e):
    return 0.97 if e % 10 == 0 else 1


def _f2(e):
    import math

    return 0.5 + 0.49 * math.cos(e)


CASES = {
    "step-then-mult": (
        lambda o: SequentialLR(o, [StepLR(o, 20, 0.5), MultiplicativeLR(o, _f2)], milestones=[50]),
        {"schedules": [{"name": "step", "params": {"step_size": 20, "gamma": 0.5}},
                       {"name": "multiplicative", "params": {"lr_lambda": F2}}], "milestones": [50]},
    ),
    "mult-mult-cos": (
        lambda o: SequentialLR(o, [MultiplicativeLR(o, _f1), MultiplicativeLR(o, _f2),
                                   CosineAnnealingLR(o, T_max=40)], milestones=[35, 90]),
        {"schedules": [{"name": "multiplicative", "params": {"lr_lambda": F1}},
                       {"name": "multiplicative", "params": {"lr_lambda": F2}},
                       {"name": "cosine", "params": {"T_max": 40}}], "milestones": [35, 90]},
    ),
    "const-exp-mult-linear-mult": (
        lambda o: SequentialLR(o, [ConstantLR(o, factor=0.25, total_iters=5), ExponentialLR(o, 0.98),
                                   MultiplicativeLR(o, _f1), LinearLR(o, 0.5, 1.0, 30),
                                   MultiplicativeLR(o, _f2)], milestones=[10, 60, 150, 200]),
        {"schedules": [{"name": "constant", "params": {"factor": 0.25, "total_iters": 5}},
                       {"name": "exponential", "params": {"gamma": 0.98}},
                       {"name": "multiplicative", "params": {"lr_lambda": F1}},
                       {"name": "linear", "params": {"start_factor": 0.5, "end_factor": 1.0, "total_iters": 30}},
                       {"name": "multiplicative", "params": {"lr_lambda": F2}}], "milestones": [10, 60, 150, 200]},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_continue_matches_torch_sequential_lr(case):
    make, params = CASES[case]
    n, base = 320, 0.2
    ref = _torch_lrs(make, n, base)
    ours = lr_curve({"name": "sequential", "params": {**params, "recursive": "continue"}}, n, base)
    np.testing.assert_allclose(ours, ref, rtol=1e-13, atol=0)
    # the default restarts each child from the base LR: different from the milestone on
    restart = lr_curve({"name": "sequential", "params": params}, n, base)
    m = params["milestones"][0] if params["schedules"][1]["name"] == "multiplicative" else params["milestones"][1]
    np.testing.assert_array_equal(restart[:m], ours[:m])
    assert restart[m] != ours[m]


def test_continue_at_arbitrary_steps_equals_the_run():
    from lrstudio.core.schedules import curve_at

    _, params = CASES["const-exp-mult-linear-mult"]
    norm = validate_spec({"name": "sequential", "params": {**params, "recursive": "continue"}})
    full = lr_curve(norm, 300, 0.2)
    t = np.asarray([299, 0, 60, 59, 200, 201, 150, 61, 10], dtype=np.int64)
    np.testing.assert_array_equal(curve_at(norm, t, 0.2), full[t])
    # a window that starts after a milestone (a nested or chunked evaluation)
    np.testing.assert_array_equal(curve_at(norm, np.arange(100, 300, dtype=np.int64), 0.2), full[100:])


def test_restart_is_the_default_and_is_documented():
    from lrstudio.core.schedules import SCHEDULES

    assert validate_spec("sequential")["params"]["recursive"] == "restart"
    doc = SCHEDULES["sequential"].doc
    assert "continue" in doc and "f(0)" in doc


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("wrap", [False, True])
def test_continue_exports_to_torch(case, wrap):
    """The snippet reproduces the curve: SequentialLR itself, or (inside a warm-up, which torch has
    no class for) LambdaLR over the generated function."""
    from lrstudio.core.schedules.pytorch_code import to_pytorch_code

    _, params = CASES[case]
    spec = {"name": "sequential", "params": {**params, "recursive": "continue"}}
    if wrap:
        spec = {"name": "linear_warmup", "params": {"inner": spec, "warmup_steps": 7}}
    n, base = 320, 0.2
    code = to_pytorch_code(spec, base)
    assert ("SequentialLR(" in code) != wrap

    def make(o):
        ns = {"optimizer": o}
        exec(compile(code, "<to_pytorch_code>", "exec"), ns)  # tests only: our own generated snippet
        return ns["scheduler"]

    np.testing.assert_allclose(_torch_lrs(make, n, base), lr_curve(spec, n, base), rtol=1e-12, atol=0)
