"""Optimizer registry: declarations, validation messages, and the torch objects it builds."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lrstudio.core.optimizers import OPTIMIZERS, OptimizerError, validate_spec
from lrstudio.core.params import ParamError
from lrstudio.trainer.optimizers import build_optimizer

torch = pytest.importorskip("torch")


def test_names():
    assert set(OPTIMIZERS) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw"}
    assert OPTIMIZERS["adadelta"].default_lr == 1.0
    assert OPTIMIZERS["adamw"].default_weight_decay == 0.01


def test_every_optimizer_declares_a_default_lr_the_run_accepts():
    from lrstudio.core.config import RUN_FIELDS, RunConfig

    run_lr = next(p for p in RUN_FIELDS if p.name == "lr")
    for name, info in OPTIMIZERS.items():
        assert isinstance(info.default_lr, float), name
        assert run_lr.coerce(info.default_lr) == info.default_lr
        RunConfig(optimizer={"name": name, "params": {}}, lr=info.default_lr).validated()
    assert OPTIMIZERS["adadelta"].default_lr == 1.0
    assert {info.default_lr for n, info in OPTIMIZERS.items() if n != "adadelta"} == {run_lr.default}


def test_import_does_not_import_torch():
    code = "import sys, lrstudio.core.optimizers, lrstudio.core.schedules, lrstudio.core.schedules.pytorch_code; " \
           "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_defaults_fill_and_build(name):
    spec = validate_spec({"name": name})
    assert set(spec["params"]) == {p.name for p in OPTIMIZERS[name].params}
    w = torch.nn.Parameter(torch.zeros(3))
    opt = build_optimizer(spec, [w], lr=0.05)
    assert type(opt).__name__ == OPTIMIZERS[name].torch_class
    assert opt.param_groups[0]["lr"] == 0.05
    w.grad = torch.ones_like(w)
    opt.step()
    assert torch.isfinite(w).all()


def test_torch_keywords():
    w = [torch.nn.Parameter(torch.zeros(1))]
    o = build_optimizer({"name": "sgd", "params": {"momentum": 0.8, "dampening": 0.1}}, w, 0.1, weight_decay=0.3)
    g = o.param_groups[0]
    assert (g["momentum"], g["dampening"], g["nesterov"], g["weight_decay"]) == (0.8, 0.1, False, 0.3)
    o = build_optimizer("nesterov", w, 0.1)
    assert o.param_groups[0]["nesterov"] is True and o.param_groups[0]["momentum"] == 0.9
    o = build_optimizer("momentum", w, 0.1)
    assert o.param_groups[0]["momentum"] == 0.9 and o.param_groups[0]["nesterov"] is False
    o = build_optimizer({"name": "rmsprop", "params": {"alpha": 0.9, "centered": True, "momentum": 0.5}}, w, 0.1)
    assert (o.param_groups[0]["alpha"], o.param_groups[0]["centered"], o.param_groups[0]["momentum"]) == (0.9, True, 0.5)
    o = build_optimizer({"name": "adam", "params": {"beta1": 0.8, "beta2": 0.99, "amsgrad": True}}, w, 0.1)
    assert o.param_groups[0]["betas"] == (0.8, 0.99) and o.param_groups[0]["amsgrad"] is True
    o = build_optimizer({"name": "adadelta", "params": {"rho": 0.95, "eps": 1e-5}}, w, 1.0)
    assert (o.param_groups[0]["rho"], o.param_groups[0]["eps"]) == (0.95, 1e-5)


def test_weight_decay_precedence():
    w = [torch.nn.Parameter(torch.zeros(1))]
    # AdamW: its declared default 0.01 (torch's) unless the spec says otherwise
    assert build_optimizer("adamw", w, 0.1, weight_decay=0.0).param_groups[0]["weight_decay"] == 0.01
    # ...and the run's weight decay is not ignored when the AdamW form leaves its own field empty
    assert build_optimizer("adamw", w, 0.1, weight_decay=0.2).param_groups[0]["weight_decay"] == 0.2
    assert build_optimizer({"name": "adamw", "params": {"weight_decay": 0.0}}, w, 0.1,
                           weight_decay=0.2).param_groups[0]["weight_decay"] == 0.0
    spec = {"name": "adamw", "params": {"weight_decay": None}}
    assert build_optimizer(spec, w, 0.1, weight_decay=0.2).param_groups[0]["weight_decay"] == 0.2
    assert build_optimizer(spec, w, 0.1, weight_decay=None).param_groups[0]["weight_decay"] == 0.01
    # others: the run's weight decay unless the spec sets one
    assert build_optimizer("adam", w, 0.1, weight_decay=0.2).param_groups[0]["weight_decay"] == 0.2
    spec = {"name": "adam", "params": {"weight_decay": 0.05}}
    assert build_optimizer(spec, w, 0.1, weight_decay=0.2).param_groups[0]["weight_decay"] == 0.05


@pytest.mark.parametrize("spec,param,words", [
    ({"name": "sgd", "params": {"nesterov": True}}, "nesterov", "momentum > 0"),
    ({"name": "sgd", "params": {"nesterov": True, "momentum": 0.9, "dampening": 0.1}}, "nesterov", "dampening = 0"),
    ({"name": "sgd", "params": {"momentum": 1.5}}, "momentum", "in [0, 1)"),
    ({"name": "nesterov", "params": {"momentum": 0.0}}, "momentum", "in (0, 1)"),
    ({"name": "adam", "params": {"beta1": 1.0}}, "beta1", "in [0, 1)"),
    ({"name": "adam", "params": {"eps": 0}}, "eps", "in (0, 1]"),
    ({"name": "adam", "params": {"betas": [0.9, 0.9]}}, "betas", "one of the parameters"),
    ({"name": "rmsprop", "params": {"centered": "maybe"}}, "centered", "true or false"),
    ({"name": "lbfgs"}, "name", "one of sgd"),
    ({"name": "sgd", "extra": 1}, "extra", '"name" and "params"'),
    ("adam ", "name", "one of"),
    (42, "", "optimizer spec"),
])
def test_validation_messages(spec, param, words):
    with pytest.raises(OptimizerError) as exc:
        validate_spec(spec)
    assert isinstance(exc.value, ParamError) and isinstance(exc.value, ValueError)
    assert exc.value.param == param
    assert words in str(exc.value)


def test_bad_lr():
    with pytest.raises(OptimizerError, match="lr"):
        build_optimizer("sgd", [torch.nn.Parameter(torch.zeros(1))], float("nan"))
