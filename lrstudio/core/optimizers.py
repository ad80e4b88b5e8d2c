"""Registry of optimizers over ``torch.optim`` with declared, validated hyper-parameters.

An optimizer spec is plain JSON-able data, ``{"name": "adam", "params": {"beta1": 0.9}}``, stored
with each run. :data:`OPTIMIZERS` declares every optimizer's parameters as
:class:`~lrstudio.core.params.Param` objects (the GUI forms and ``lrstudio optimizers`` are generated
from them); :func:`validate_spec` checks a spec and fills defaults; :func:`torch_kwargs` gives the keyword
arguments of its ``torch.optim`` class. This module imports no torch (it is part of
:mod:`lrstudio.core`); :func:`lrstudio.trainer.optimizers.build_optimizer` turns a spec into a real
``torch.optim.Optimizer``.

Weight decay
    Each optimizer declares an optional ``weight_decay`` parameter. When it is set in the spec it
    wins; when it is empty, the ``weight_decay`` argument of :func:`torch_kwargs` (the run's
    setting) is used when it is > 0, and otherwise the optimizer's own default
    (:attr:`OptimizerInfo.default_weight_decay`: 0 everywhere, 0.01 for AdamW as in torch).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lrstudio.core.params import Param, ParamError, validate_params

__all__ = [
    "OPTIMIZERS",
    "OptimizerError",
    "OptimizerInfo",
    "torch_kwargs",
    "validate_spec",
]


class OptimizerError(ParamError):
    """An optimizer spec is not valid (unknown name, bad hyper-parameter, bad combination)."""


@dataclass(frozen=True)
class OptimizerInfo:
    """Declaration of one optimizer.

    ``torch_class`` is the name in ``torch.optim``; ``fixed`` are keyword arguments that a preset
    always passes (``momentum`` = SGD with ``momentum=0.9`` by default, ``nesterov`` = SGD with
    ``nesterov=True``); ``to_kwargs`` maps validated params to the torch constructor's keywords.

    ``default_lr`` is the LR to offer when the user picks this optimizer without typing one (the
    form, and ``lrstudio train`` without ``--lr``): the run's default LR (``RUN_FIELDS`` "lr", 0.01)
    unless the optimizer declares its own (Adadelta: 1.0, as in torch; its step is already scaled
    by a ratio of running averages, so 0.01 barely learns).
    """

    name: str
    title: str
    torch_class: str
    params: tuple[Param, ...]
    doc: str = ""
    default_lr: float = 0.01
    default_weight_decay: float = 0.0
    fixed: Mapping[str, Any] = field(default_factory=dict)
    to_kwargs: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    check: Callable[[dict[str, Any]], None] | None = None


OPTIMIZERS: dict[str, OptimizerInfo] = {}


def _register(info: OptimizerInfo) -> OptimizerInfo:
    OPTIMIZERS[info.name] = info
    return info


def _wd(default: float | None = None) -> Param:
    return Param(
        "weight_decay", "float", default,
        "Weight decay (L2 penalty; decoupled for AdamW). Empty: the run's weight decay",
        low=0.0, high=1.0, optional=True, title="Weight decay",
    )


_MOMENTUM = Param("momentum", "float", 0.0, "Momentum factor", low=0.0, high=1.0, high_open=True)
_DAMPENING = Param("dampening", "float", 0.0, "Dampening for momentum", low=0.0, high=1.0)
_NESTEROV = Param("nesterov", "bool", False, "Nesterov momentum (needs momentum > 0 and dampening = 0)")


def _check_sgd(p: dict[str, Any], owner: str) -> None:
    if p["nesterov"] and (p["momentum"] <= 0 or p["dampening"] != 0):
        raise OptimizerError(
            "nesterov", True,
            f"nesterov only with momentum > 0 and dampening = 0 (got momentum={p['momentum']!r}, "
            f"dampening={p['dampening']!r})",
            owner,
        )


def _sgd_kwargs(p: dict[str, Any]) -> dict[str, Any]:
    return {"momentum": p["momentum"], "dampening": p["dampening"], "nesterov": p["nesterov"]}


_register(OptimizerInfo(
    "sgd", "SGD", "SGD",
    (_MOMENTUM, _DAMPENING, _NESTEROV, _wd()),
    doc="Stochastic gradient descent, torch.optim.SGD: v = mu*v + (1 - dampening)*g; p -= lr*v "
        "(nesterov: p -= lr*(g + mu*v)).",
    to_kwargs=_sgd_kwargs,
    check=lambda p: _check_sgd(p, "optimizer 'sgd'"),
))
_register(OptimizerInfo(
    "momentum", "SGD with momentum", "SGD",
    (Param("momentum", "float", 0.9, "Momentum factor", low=0.0, high=1.0, high_open=True),
     _DAMPENING, _wd()),
    doc="Preset of torch.optim.SGD with momentum 0.9 (heavy ball).",
    to_kwargs=lambda p: {"momentum": p["momentum"], "dampening": p["dampening"], "nesterov": False},
))


def _check_nesterov(p: dict[str, Any]) -> None:
    if p["momentum"] <= 0:
        raise OptimizerError("momentum", p["momentum"], "a number > 0 (Nesterov needs momentum)",
                             "optimizer 'nesterov'")


_register(OptimizerInfo(
    "nesterov", "SGD with Nesterov momentum", "SGD",
    (Param("momentum", "float", 0.9, "Momentum factor (> 0)", low=0.0, high=1.0, low_open=True,
           high_open=True), _wd()),
    doc="Preset of torch.optim.SGD with nesterov=True, dampening 0, momentum 0.9.",
    to_kwargs=lambda p: {"momentum": p["momentum"], "dampening": 0.0, "nesterov": True},
    check=_check_nesterov,
))
_register(OptimizerInfo(
    "adagrad", "AdaGrad", "Adagrad",
    (Param("lr_decay", "float", 0.0, "Learning-rate decay: lr / (1 + (t-1)*lr_decay)", low=0.0, high=1.0),
     Param("initial_accumulator_value", "float", 0.0, "Initial value of the squared-gradient sum",
           low=0.0, high=1e6),
     Param("eps", "float", 1e-10, "Term added to the denominator", low=0.0, high=1.0, low_open=True),
     _wd()),
    doc="torch.optim.Adagrad: s += g^2; p -= lr*g/(sqrt(s) + eps).",
    to_kwargs=lambda p: {"lr_decay": p["lr_decay"], "initial_accumulator_value": p["initial_accumulator_value"],
                         "eps": p["eps"]},
))
_register(OptimizerInfo(
    "rmsprop", "RMSProp", "RMSprop",
    (Param("alpha", "float", 0.99, "Smoothing constant of the squared-gradient average", low=0.0, high=1.0),
     Param("eps", "float", 1e-8, "Term added to the denominator", low=0.0, high=1.0, low_open=True),
     Param("momentum", "float", 0.0, "Momentum factor", low=0.0, high=1.0, high_open=True),
     Param("centered", "bool", False, "Normalise by the estimated variance of the gradient"),
     _wd()),
    doc="torch.optim.RMSprop: v = alpha*v + (1-alpha)*g^2; p -= lr*g/(sqrt(v) + eps).",
    to_kwargs=lambda p: {"alpha": p["alpha"], "eps": p["eps"], "momentum": p["momentum"],
                         "centered": p["centered"]},
))
_register(OptimizerInfo(
    "adadelta", "Adadelta", "Adadelta",
    (Param("rho", "float", 0.9, "Decay of the running averages", low=0.0, high=1.0),
     Param("eps", "float", 1e-6, "Term added inside the square roots", low=0.0, high=1.0, low_open=True),
     _wd()),
    doc="torch.optim.Adadelta; default lr 1.0 as in torch.",
    default_lr=1.0,
    to_kwargs=lambda p: {"rho": p["rho"], "eps": p["eps"]},
))

_ADAM_PARAMS = (
    Param("beta1", "float", 0.9, "Decay of the first-moment average", low=0.0, high=1.0, high_open=True),
    Param("beta2", "float", 0.999, "Decay of the second-moment average", low=0.0, high=1.0, high_open=True),
    Param("eps", "float", 1e-8, "Term added to the denominator", low=0.0, high=1.0, low_open=True),
    Param("amsgrad", "bool", False, "Use the AMSGrad variant (max of past second moments)"),
)


def _adam_kwargs(p: dict[str, Any]) -> dict[str, Any]:
    return {"betas": (p["beta1"], p["beta2"]), "eps": p["eps"], "amsgrad": p["amsgrad"]}


_register(OptimizerInfo(
    "adam", "Adam", "Adam", (*_ADAM_PARAMS, _wd()),
    doc="torch.optim.Adam: m, v moment averages with bias correction; p -= lr*m_hat/(sqrt(v_hat) + eps). "
        "weight_decay is L2 added to the gradient.",
    to_kwargs=_adam_kwargs,
))
_register(OptimizerInfo(
    "adamw", "AdamW", "AdamW", (*_ADAM_PARAMS, _wd()),
    doc="torch.optim.AdamW: Adam with decoupled weight decay p -= lr*wd*p; torch's default wd is 0.01.",
    default_weight_decay=0.01,
    to_kwargs=_adam_kwargs,
))


def _get_info(spec: Any) -> tuple[OptimizerInfo, Mapping[str, Any]]:
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping):
        raise OptimizerError("", spec, 'an optimizer spec {"name": ..., "params": {...}}', "optimizer")
    unknown = sorted(set(spec) - {"name", "params"})
    if unknown:
        raise OptimizerError(unknown[0], spec[unknown[0]], 'only the keys "name" and "params"', "optimizer")
    name = spec.get("name")
    if name not in OPTIMIZERS:
        raise OptimizerError("name", name, "one of " + ", ".join(OPTIMIZERS), "optimizer")
    params = spec.get("params") or {}
    if not isinstance(params, Mapping):
        raise OptimizerError("params", params, "an object of parameter values", f"optimizer {name!r}")
    return OPTIMIZERS[name], params


def validate_spec(spec: Any) -> dict[str, Any]:
    """Check an optimizer spec; return ``{"name": ..., "params": {...every param filled...}}``.

    Raises
    ------
    OptimizerError
        Unknown name or parameter, a value out of bounds, or a bad combination (Nesterov without
        momentum or with dampening). The message names the parameter, the value and what is allowed.
    """
    info, params = _get_info(spec)
    owner = f"optimizer {info.name!r}"
    values = validate_params(info.params, params, owner, OptimizerError)
    if info.check is not None:
        info.check(values)
    return {"name": info.name, "params": values}


def torch_kwargs(spec: Any, lr: float, weight_decay: float | None = None) -> dict[str, Any]:
    """Keyword arguments for the torch constructor (without the parameters), after validation."""
    norm = validate_spec(spec)
    info = OPTIMIZERS[norm["name"]]
    p = norm["params"]
    kwargs = dict(info.to_kwargs(p)) if info.to_kwargs else {}
    kwargs.update(info.fixed)
    wd = p.get("weight_decay")
    if wd is None:
        # The run's weight decay when it sets one (> 0), else the optimizer's own default
        # (AdamW: 0.01 as in torch). A run-level value must never be ignored silently.
        wd = weight_decay if weight_decay else info.default_weight_decay
    kwargs["weight_decay"] = float(wd)
    kwargs["lr"] = float(lr)
    return kwargs
