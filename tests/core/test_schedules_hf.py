"""The HF transformers families against transformers' own get_scheduler (issue 15).

Each case steps a real ``torch.optim.SGD`` under the scheduler transformers builds and compares the
LR of every update with ``lr_curve`` over >= 300 steps: t = 0, the warm-up's end, the end of
training and past it included.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lrstudio.core.schedules import ScheduleError, lr_curve  # noqa: E402

N = 400  # steps compared; every case's num_training_steps is below, so "past the end" is covered


def hf_curve(name: str, base_lr: float, n: int = N, **kwargs) -> np.ndarray:
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=base_lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = transformers.get_scheduler(name, opt, **kwargs)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.asarray(out)


def _split(kwargs: dict) -> dict:
    """get_scheduler's signature: warm-up and training steps apart, the rest as specific kwargs."""
    specific = {k: v for k, v in kwargs.items() if k not in ("num_warmup_steps", "num_training_steps")}
    top = {k: v for k, v in kwargs.items() if k in ("num_warmup_steps", "num_training_steps")}
    return {**top, "scheduler_specific_kwargs": specific} if specific else top


CASES = [
    # (lrstudio name, HF get_scheduler name, params, base_lr)
    ("hf_linear", "linear", {"num_warmup_steps": 30, "num_training_steps": 300}, 0.1),
    ("hf_linear", "linear", {"num_warmup_steps": 0, "num_training_steps": 350}, 3e-4),
    ("hf_cosine", "cosine", {"num_warmup_steps": 25, "num_training_steps": 310}, 0.1),
    ("hf_cosine", "cosine", {"num_warmup_steps": 7, "num_training_steps": 200, "num_cycles": 1.75}, 2e-3),
    ("hf_cosine_with_restarts", "cosine_with_restarts",
     {"num_warmup_steps": 20, "num_training_steps": 320, "num_cycles": 3}, 0.1),
    ("hf_cosine_with_restarts", "cosine_with_restarts",
     {"num_warmup_steps": 0, "num_training_steps": 301, "num_cycles": 7}, 1e-3),
    ("hf_polynomial", "polynomial",
     {"num_warmup_steps": 40, "num_training_steps": 300, "lr_end": 1e-4, "power": 2.0}, 0.1),
    ("hf_polynomial", "polynomial", {"num_warmup_steps": 0, "num_training_steps": 333}, 5e-3),
    ("hf_polynomial", "polynomial",
     {"num_warmup_steps": 15, "num_training_steps": 250, "lr_end": 0.0, "power": 0.5}, 0.3),
    ("hf_constant_with_warmup", "constant_with_warmup", {"num_warmup_steps": 50}, 0.1),
    ("hf_constant_with_warmup", "constant_with_warmup", {"num_warmup_steps": 0}, 0.02),
    ("hf_cosine_with_min_lr", "cosine_with_min_lr",
     {"num_warmup_steps": 30, "num_training_steps": 300, "min_lr_rate": 0.05}, 0.1),
    ("hf_cosine_with_min_lr", "cosine_with_min_lr",
     {"num_warmup_steps": 10, "num_training_steps": 280, "num_cycles": 1.0, "min_lr": 1e-5, "min_lr_rate": None},
     1e-3),
    ("hf_cosine_warmup_with_min_lr", "cosine_warmup_with_min_lr",
     {"num_warmup_steps": 30, "num_training_steps": 300, "min_lr_rate": 0.1}, 0.1),
    ("hf_cosine_warmup_with_min_lr", "cosine_warmup_with_min_lr",
     {"num_warmup_steps": 12, "num_training_steps": 260, "min_lr": 2e-4, "min_lr_rate": None,
      "warmup_lr_rate": 0.2}, 1e-2),
    # lrstudio's existing inverse_sqrt and wsd are HF's functions already
    ("inverse_sqrt", "inverse_sqrt", {"num_warmup_steps": 25}, 0.1),
    ("inverse_sqrt", "inverse_sqrt", {"num_warmup_steps": 0, "timescale": 40}, 0.05),
    ("inverse_sqrt", "inverse_sqrt", {"num_warmup_steps": 30, "timescale": 75}, 0.05),
    ("wsd", "warmup_stable_decay", {"num_warmup_steps": 30, "num_stable_steps": 100, "num_decay_steps": 120,
                                    "warmup_type": "cosine", "decay_type": "1-sqrt", "min_lr_ratio": 0.1}, 0.1),
    ("wsd", "warmup_stable_decay", {"num_warmup_steps": 20, "num_stable_steps": 50, "num_decay_steps": 200,
                                    "warmup_type": "1-sqrt", "decay_type": "cosine", "num_cycles": 0.75}, 0.01),
    ("wsd", "warmup_stable_decay", {"num_warmup_steps": 0, "num_stable_steps": 90, "num_decay_steps": 150,
                                    "decay_type": "linear", "min_lr_ratio": 0.3}, 0.2),
    # HF's get_scheduler convention: num_training_steps, the stable phase what is left
    ("hf_warmup_stable_decay", "warmup_stable_decay",
     {"num_warmup_steps": 30, "num_decay_steps": 100, "num_training_steps": 320, "decay_type": "1-sqrt",
      "min_lr_ratio": 0.05}, 0.1),
    ("hf_warmup_stable_decay", "warmup_stable_decay",
     {"num_warmup_steps": 0, "num_decay_steps": 250, "num_training_steps": 300, "warmup_type": "cosine",
      "num_cycles": 0.7}, 0.02),
]


def _hf_kwargs(name: str, params: dict) -> dict:
    kw = {k: v for k, v in params.items() if v is not None or k == "min_lr_rate"}
    if name == "cosine_with_min_lr" or name == "cosine_warmup_with_min_lr":
        kw = {k: v for k, v in kw.items() if v is not None}
    if name == "inverse_sqrt":
        kw = {"num_warmup_steps": params["num_warmup_steps"],
              **({"timescale": params["timescale"]} if "timescale" in params else {})}
    return _split(kw)


@pytest.mark.parametrize("ours,theirs,params,base_lr", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_equals_transformers_get_scheduler(ours, theirs, params, base_lr):
    ref = hf_curve(theirs, base_lr, **_hf_kwargs(theirs, params))
    got = lr_curve({"name": ours, "params": params}, N, base_lr)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-18)
    # the boundaries by name: t = 0, the warm-up's end, the end of training, past it
    w = params.get("num_warmup_steps", 0)
    for t in {0, w, max(w - 1, 0), min(N - 1, params.get("num_training_steps", N - 1)), N - 1}:
        assert got[t] == pytest.approx(ref[t], rel=1e-13, abs=1e-18), t


def test_polynomial_past_hfs_refusal_is_the_same_formula_and_zero_base_is_zero():
    # HF raises for lr_end >= the base LR; lrstudio draws the formula (from the base LR to lr_end)
    model = torch.nn.Linear(2, 1)
    with pytest.raises(ValueError):
        transformers.get_scheduler("polynomial", torch.optim.SGD(model.parameters(), lr=0.1), num_warmup_steps=0,
                                   num_training_steps=10, scheduler_specific_kwargs={"lr_end": 0.2})
    c = lr_curve({"name": "hf_polynomial", "params": {"lr_end": 0.2, "num_training_steps": 10}}, 12, 0.1)
    np.testing.assert_allclose(c, 0.1 + (0.2 - 0.1) * np.minimum(np.arange(12), 10) / 10, rtol=1e-14)
    assert not lr_curve({"name": "hf_polynomial", "params": {}}, 5, 0.0).any()
    assert not lr_curve({"name": "hf_cosine_with_min_lr", "params": {"min_lr": 1e-3, "min_lr_rate": None}},
                        5, 0.0).any()


@pytest.mark.parametrize("params,word", [
    ({"min_lr": 1e-5, "min_lr_rate": 0.1}, "only one"),
    ({"min_lr": None, "min_lr_rate": None}, "one of the two"),
])
def test_min_lr_needs_exactly_one_of_the_two(params, word):
    with pytest.raises(ScheduleError, match=word):
        lr_curve({"name": "hf_cosine_with_min_lr", "params": params}, 10, 0.1)
