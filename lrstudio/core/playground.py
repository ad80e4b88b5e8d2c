"""The optimizer playground (issue 16): test functions, trajectory specs and the d2l presets.

The d2l optimization chapter tells gradient descent, SGD, momentum, AdaGrad, RMSProp and Adam with
small pictures: the iterates of an optimizer drawn on a 1-D curve or on the contour plot of a 2-D
function. This module holds everything about those pictures that needs no torch:

* :data:`FUNCTIONS`: the catalogue of test functions (1-D: ``x2``, ``xcos``, ``x3``, ``expr1d``;
  2-D: ``quad``, ``quad_ill``, ``rosenbrock``, ``saddle``, ``himmelblau``, ``expr2d``), each with its
  formula, a domain to draw and a start point. Every function, built in or typed by the user, is an
  arithmetic expression compiled by :func:`compile_surface`, so both kinds take one path;
* :func:`compile_surface`: user text -> a function of ``x`` (or ``x1``, ``x2``), through the same
  safe evaluator as the ``lambda`` schedule (:mod:`lrstudio.core.schedules.expr`: its whitelist of
  operators, functions and constants, its length and node limits; never ``eval``/``exec``). The
  parsed tree is turned into closures over an *ops backend*: :data:`NUMPY_OPS` here (contours), a
  torch backend in :mod:`lrstudio.trainer.playground` (iterates, gradients by autograd);
* :class:`TrajectorySpec` and :func:`validate_trajectory`: optimizer (any of the registry, every
  declared hyper-parameter), LR, schedule (any of the catalogue), start, steps, gradient noise
  N(0, sigma^2) and its seed;
* :func:`gradient_noise`: the noise of a trajectory, ``default_rng(seed).normal(0, sigma, (steps,
  dim))``, row ``i`` added to the gradient of update ``i + 1`` (d2l's ``sgd`` adds N(0, 1) to each
  coordinate of every gradient);
* :func:`contour_grid`, :func:`contour_levels` and :func:`contour_segments` (vectorised marching
  squares): the contour lines as line segments a plot draws in one item;
* :data:`PRESETS`: the chapter's figures, one click each, with a line saying what to look at.

Divergence: a trajectory stops at the first iterate whose coordinates or loss are not finite, or
that leaves the *bound box*: the function's domain grown :data:`BOUND_FACTOR` times about its centre.
It is then drawn up to its last iterate inside the box and marked, not drawn off to infinity.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import numpy as np

from lrstudio.core.optimizers import validate_spec as validate_optimizer
from lrstudio.core.params import ParamError
from lrstudio.core.schedules import validate_spec as validate_schedule
from lrstudio.core.schedules.expr import _BINOPS, _CMPOPS, CONSTANTS, parse_bounded
from lrstudio.core.schedules.expr import FUNCTIONS as EXPR_FUNCTIONS

__all__ = [
    "BOUND_FACTOR",
    "FUNCTIONS",
    "MAX_STEPS",
    "MAX_TRAJECTORIES",
    "NUMPY_OPS",
    "PRESETS",
    "FunctionInfo",
    "PlaygroundError",
    "Preset",
    "Surface",
    "TrajectorySpec",
    "compile_surface",
    "contour_grid",
    "contour_levels",
    "contour_segments",
    "gradient_noise",
    "playground_config",
    "resolve_function",
    "validate_trajectory",
]

#: A trajectory leaves its bound box (and is stopped as diverged) beyond this many domains.
BOUND_FACTOR = 50.0
MAX_STEPS = 100_000
MAX_TRAJECTORIES = 32


class PlaygroundError(ParamError):
    """A playground setting is not allowed (the message names it, the value and what is allowed)."""


# -- the expression compiler, over a backend ---------------------------------------------------------
class Ops(Protocol):
    """What a backend gives the compiled expression: array maths on its own array type."""

    functions: Mapping[str, Callable[..., Any]]

    def as_float(self, x: Any) -> Any: ...            # a boolean array as 0.0/1.0
    def where(self, cond: Any, a: Any, b: Any) -> Any: ...
    def logical_and(self, a: Any, b: Any) -> Any: ...
    def logical_or(self, a: Any, b: Any) -> Any: ...
    def logical_not(self, a: Any) -> Any: ...
    def finish(self, value: Any, like: Any) -> Any: ...  # broadcast a constant to the inputs' shape


class _NumpyOps:
    functions: Mapping[str, Callable[..., Any]] = {name: f[0] for name, f in EXPR_FUNCTIONS.items()}

    def as_float(self, x: Any) -> Any:
        return np.asarray(x, dtype=np.float64)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        return np.where(np.asarray(cond) != 0, a, b)

    def logical_and(self, a: Any, b: Any) -> Any:
        return np.logical_and(a, b).astype(np.float64)

    def logical_or(self, a: Any, b: Any) -> Any:
        return np.logical_or(a, b).astype(np.float64)

    def logical_not(self, a: Any) -> Any:
        return np.logical_not(a).astype(np.float64)

    def finish(self, value: Any, like: Any) -> Any:
        return np.broadcast_to(np.asarray(value, dtype=np.float64), np.shape(like)).astype(np.float64)


NUMPY_OPS: Ops = _NumpyOps()

# Arithmetic through Python's operators: numpy arrays and torch tensors both implement them, so
# one compiled tree serves both backends. The whitelist itself is the schedule evaluator's.
_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_PY_BINOPS = {k: _OPERATORS[k] for k in _BINOPS}  # exactly the evaluator's whitelist
_PY_CMPOPS = {k: _OPERATORS[k] for k in _CMPOPS}

# A node evaluates to a float constant (folded at compile time) or to a closure over (ops, vars).
_Node = Callable[[Ops, Sequence[Any]], Any]


@dataclass(frozen=True)
class Surface:
    """A checked function of ``variables``: ``evaluate(ops, *values)`` on any backend's arrays."""

    text: str
    variables: tuple[str, ...]
    _fn: _Node

    @property
    def dim(self) -> int:
        return len(self.variables)

    def evaluate(self, ops: Ops, *values: Any) -> Any:
        """The function at ``values`` (one array per variable, all of one shape), on ``ops``."""
        out = self._fn(ops, values)
        return ops.finish(out, values[0]) if isinstance(out, float) else out

    def numpy(self, *values: Any) -> np.ndarray:
        """The function on numpy arrays (float64; inf/nan where undefined)."""
        arrays = [np.asarray(v, dtype=np.float64) for v in values]
        with np.errstate(all="ignore"):
            return np.asarray(self.evaluate(NUMPY_OPS, *arrays), dtype=np.float64)


class _SurfaceCompiler:
    def __init__(self, text: str, variables: tuple[str, ...], pname: str) -> None:
        self.text = text
        self.variables = variables
        self.pname = pname

    def fail(self, why: str) -> PlaygroundError:
        shown = self.text if len(self.text) <= 80 else self.text[:77] + "..."
        return PlaygroundError(self.pname, shown,
                               f"an arithmetic expression of {', '.join(self.variables)} ({why})", "playground")

    def const(self, value: Any, src: str) -> float:
        try:
            v = float(value)
        except (TypeError, ValueError, OverflowError):
            raise self.fail(f"the constant part {src} is not a number") from None
        if not math.isfinite(v):
            raise self.fail(f"the constant part {src} is not a finite number")
        return v

    def fold(self, fn: _Node, built: list[float | _Node], node: ast.AST) -> float | _Node:
        """A comparison or boolean of constants is a constant (backends need an array otherwise)."""
        if all(isinstance(b, float) for b in built):
            return self.const(fn(NUMPY_OPS, ()), _source(node))
        return fn

    def build(self, node: ast.AST) -> float | _Node:
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise self.fail(f"{v!r} is not a number")
            try:
                return self.const(float(v), repr(v))
            except OverflowError:
                raise self.fail("a number is too large") from None
        if isinstance(node, ast.Name):
            if node.id in self.variables:
                i = self.variables.index(node.id)
                return _var(i)
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            allowed = ", ".join((*self.variables, *CONSTANTS))
            raise self.fail(f"unknown name {node.id!r}; names allowed: {allowed} and functions "
                            + ", ".join(EXPR_FUNCTIONS))
        if isinstance(node, ast.BinOp):
            op = _PY_BINOPS.get(type(node.op))
            if op is None:
                raise self.fail(f"operator {type(node.op).__name__} is not allowed")
            a, b = self.build(node.left), self.build(node.right)
            if isinstance(a, float) and isinstance(b, float):
                with np.errstate(all="ignore"):
                    try:
                        return self.const(_BINOPS[type(node.op)][0](np.float64(a), np.float64(b)),
                                          _source(node))
                    except ZeroDivisionError:
                        raise self.fail("a constant part divides by zero") from None
            fa, fb = _lift(a), _lift(b)
            return _binop(op, fa, fb)
        if isinstance(node, ast.UnaryOp):
            a = self.build(node.operand)
            if isinstance(node.op, ast.USub):
                if isinstance(a, float):
                    return -a
                return _neg(a)
            if isinstance(node.op, ast.UAdd):
                return a
            if isinstance(node.op, ast.Not):
                if isinstance(a, float):
                    return float(not a)
                return _not(a)
            raise self.fail(f"operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.Compare):
            built = [self.build(node.left)] + [self.build(c) for c in node.comparators]
            parts = [_lift(b) for b in built]
            cmps = []
            for o in node.ops:
                if type(o) not in _PY_CMPOPS:
                    raise self.fail(f"comparison {type(o).__name__} is not allowed")
                cmps.append(_PY_CMPOPS[type(o)])

            def compare(ops: Ops, xs: Sequence[Any], parts: list[_Node] = parts,
                        cmps: list[Callable[[Any, Any], Any]] = cmps) -> Any:
                vals = [p(ops, xs) for p in parts]
                out = ops.as_float(cmps[0](vals[0], vals[1]))
                for k in range(1, len(cmps)):
                    out = ops.logical_and(out, ops.as_float(cmps[k](vals[k], vals[k + 1])))
                return out

            return self.fold(compare, built, node)
        if isinstance(node, ast.BoolOp):
            built = [self.build(v) for v in node.values]
            parts = [_lift(b) for b in built]
            is_and = isinstance(node.op, ast.And)

            def boolop(ops: Ops, xs: Sequence[Any], parts: list[_Node] = parts, is_and: bool = is_and) -> Any:
                join = ops.logical_and if is_and else ops.logical_or
                out = ops.as_float(parts[0](ops, xs) != 0)
                for p in parts[1:]:
                    out = join(out, ops.as_float(p(ops, xs) != 0))
                return out

            return self.fold(boolop, built, node)
        if isinstance(node, ast.IfExp):
            c, a, b = self.build(node.test), self.build(node.body), self.build(node.orelse)
            if isinstance(c, float):
                return a if c != 0 else b
            fa, fb = _lift(a), _lift(b)
            return _where(c, fa, fb)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in EXPR_FUNCTIONS:
                what = node.func.id if isinstance(node.func, ast.Name) else "this call"
                raise self.fail(f"{what!s} is not an allowed function; allowed: " + ", ".join(EXPR_FUNCTIONS))
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise self.fail("keyword and star arguments are not allowed")
            name = node.func.id
            impl, lo, hi, _ = EXPR_FUNCTIONS[name]
            if not lo <= len(node.args) <= hi:
                raise self.fail(f"{name} takes {lo} argument{'s' if lo > 1 else ''}"
                                + (f" to {hi}" if hi != lo else ""))
            args = [self.build(a) for a in node.args]
            if all(isinstance(a, float) for a in args):
                with np.errstate(all="ignore"):
                    return self.const(impl(*[np.float64(cast(float, a)) for a in args]), _source(node))
            fns = [_lift(a) for a in args]
            return _call(name, fns)
        raise self.fail(f"{type(node).__name__} is not allowed")


def _source(node: ast.AST) -> str:
    """The text of a (checked) node, for messages: ``ast.unparse`` only prints the tree."""
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def _lift(node: float | _Node) -> _Node:
    if isinstance(node, float):
        value = node

        def const(ops: Ops, xs: Sequence[Any]) -> Any:
            return value

        return const
    return node


def _var(i: int) -> _Node:
    def var(ops: Ops, xs: Sequence[Any]) -> Any:
        return xs[i]

    return var


def _binop(op: Callable[[Any, Any], Any], fa: _Node, fb: _Node) -> _Node:
    def binop(ops: Ops, xs: Sequence[Any]) -> Any:
        return op(fa(ops, xs), fb(ops, xs))

    return binop


def _neg(fa: _Node) -> _Node:
    def neg(ops: Ops, xs: Sequence[Any]) -> Any:
        return -fa(ops, xs)

    return neg


def _not(fa: _Node) -> _Node:
    def not_(ops: Ops, xs: Sequence[Any]) -> Any:
        return ops.logical_not(fa(ops, xs))

    return not_


def _where(fc: _Node, fa: _Node, fb: _Node) -> _Node:
    def where(ops: Ops, xs: Sequence[Any]) -> Any:
        return ops.where(fc(ops, xs), fa(ops, xs), fb(ops, xs))

    return where


def _call(name: str, fns: list[_Node]) -> _Node:
    def call(ops: Ops, xs: Sequence[Any]) -> Any:
        return ops.functions[name](*[f(ops, xs) for f in fns])

    return call


def compile_surface(text: Any, variables: Sequence[str], pname: str = "expression") -> Surface:
    """Check and compile ``text``, an arithmetic expression of ``variables``.

    The same whitelist and limits as the ``lambda`` schedule's evaluator
    (:mod:`lrstudio.core.schedules.expr`): numbers, ``+ - * / // % **``, comparisons, ``and``/``or``/
    ``not``, ``a if c else b``, the functions ``exp log log2 log10 sqrt cos sin tan tanh abs floor
    ceil min max`` and the constants ``pi``, ``e``; at most ``MAX_LENGTH`` characters and
    ``MAX_NODES`` parts. The text is parsed with :mod:`ast` and never run.

    Raises
    ------
    PlaygroundError
        Naming ``pname``, the text and what is wrong.
    """
    variables = tuple(variables)
    comp = _SurfaceCompiler(text if isinstance(text, str) else repr(text), variables, pname)
    if not isinstance(text, str):
        raise comp.fail("text expected")
    tree = parse_bounded(text, comp.fail)
    try:
        built = comp.build(tree.body)
    except RecursionError:
        raise comp.fail("too deeply nested") from None
    return Surface(text.strip(), variables, _lift(built))


# -- the function catalogue ------------------------------------------------------------------------
Domain = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class FunctionInfo:
    """One test function: ``formula`` (an expression of ``variables``), a domain to draw, a start."""

    name: str
    title: str
    formula: str
    domain: Domain
    start: tuple[float, ...]
    doc: str = ""
    user: bool = False  # the formula is the user's (``expression`` in the config)

    @property
    def dim(self) -> int:
        return len(self.domain)

    @property
    def variables(self) -> tuple[str, ...]:
        return ("x",) if self.dim == 1 else ("x1", "x2")

    def bound_box(self) -> Domain:
        """The box outside which an iterate counts as diverged."""
        return tuple((c - BOUND_FACTOR * h, c + BOUND_FACTOR * h)
                     for c, h in (((lo + hi) / 2, (hi - lo) / 2) for lo, hi in self.domain))


FUNCTIONS: dict[str, FunctionInfo] = {f.name: f for f in (
    FunctionInfo("x2", "f(x) = x²", "x**2", ((-11.0, 11.0),), (10.0,),
                 "d2l's gradient descent in one dimension (x0 = 10)."),
    FunctionInfo("xcos", "f(x) = x·cos(πx)", "x * cos(pi * x)", ((-1.0, 2.0),), (-0.8,),
                 "Local minima (d2l 12.1): a local minimum near x = -0.3 and the global one near x = 1.1."),
    FunctionInfo("x3", "f(x) = x³", "x**3", ((-2.0, 2.0),), (1.0,),
                 "A saddle point at x = 0: the gradient vanishes there, though it is no minimum."),
    FunctionInfo("expr1d", "f(x) = your expression", "x**2", ((-5.0, 5.0),), (4.0,),
                 "An expression of x you type.", user=True),
    FunctionInfo("quad", "f = x1² + 2x2²", "x1**2 + 2*x2**2", ((-6.0, 3.0), (-3.0, 3.0)), (-5.0, -2.0),
                 "d2l's 2-D quadratic (gradient descent, SGD)."),
    FunctionInfo("quad_ill", "f = 0.1x1² + 2x2²", "0.1*x1**2 + 2*x2**2", ((-6.0, 3.0), (-3.0, 3.0)),
                 (-5.0, -2.0), "d2l's ill-conditioned quadratic (momentum, AdaGrad, RMSProp)."),
    FunctionInfo("rosenbrock", "Rosenbrock", "(1 - x1)**2 + 100*(x2 - x1**2)**2",
                 ((-2.0, 2.0), (-1.0, 3.0)), (-1.5, 2.0), "A curved valley; minimum at (1, 1)."),
    FunctionInfo("saddle", "Saddle f = x1² - x2²", "x1**2 - x2**2", ((-2.0, 2.0), (-2.0, 2.0)), (1.5, 0.01),
                 "A saddle at (0, 0): unbounded below along x2."),
    FunctionInfo("himmelblau", "Himmelblau", "(x1**2 + x2 - 11)**2 + (x1 + x2**2 - 7)**2",
                 ((-5.0, 5.0), (-5.0, 5.0)), (0.0, 0.0), "Four minima of value 0, e.g. (3, 2)."),
    FunctionInfo("expr2d", "f(x1, x2) = your expression", "x1**2 + x2**2", ((-5.0, 5.0), (-5.0, 5.0)),
                 (4.0, 4.0), "An expression of x1 and x2 you type.", user=True),
)}


def _domain(value: Any, dim: int) -> Domain:
    """A domain as given in a config ([lo, hi] per variable), checked."""
    allowed = f"{dim} pair{'s' if dim > 1 else ''} [low, high] of finite numbers with low < high"
    try:
        pairs = tuple((float(lo), float(hi)) for lo, hi in value)
    except (TypeError, ValueError):
        raise PlaygroundError("domain", value, allowed, "playground") from None
    if len(pairs) != dim or not all(math.isfinite(lo) and math.isfinite(hi) and lo < hi for lo, hi in pairs):
        raise PlaygroundError("domain", value, allowed, "playground")
    return pairs


def resolve_function(name: Any, expression: str | None = None, domain: Any = None) -> tuple[FunctionInfo, Surface]:
    """The catalogue entry ``name`` (with the user's ``expression``/``domain`` for ``expr1d``/``expr2d``)
    and its compiled surface."""
    if name not in FUNCTIONS:
        raise PlaygroundError("function", name, "one of " + ", ".join(FUNCTIONS), "playground")
    info = FUNCTIONS[name]
    if info.user:
        formula = info.formula if expression is None else expression
        dom = info.domain if domain is None else _domain(domain, info.dim)
        info = FunctionInfo(info.name, info.title, formula, dom, _mid_start(dom, info), info.doc, user=True)
    elif expression not in (None, "", info.formula):
        raise PlaygroundError("expression", expression,
                              "no expression for a built-in function (use expr1d or expr2d)", "playground")
    elif domain is not None:
        dom = _domain(domain, info.dim)
        info = FunctionInfo(info.name, info.title, info.formula, dom, info.start, info.doc)
    return info, compile_surface(info.formula, info.variables)


def _mid_start(dom: Domain, info: FunctionInfo) -> tuple[float, ...]:
    if dom == info.domain:
        return info.start
    return tuple(lo + 0.8 * (hi - lo) for lo, hi in dom)


# -- trajectories ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrajectorySpec:
    """One optimizer run on the function: what :mod:`lrstudio.trainer.playground` computes.

    ``optimizer`` is a registry spec (``{"name": "rmsprop", "params": {"alpha": 0.9}}``), ``schedule``
    a catalogue spec (``None``: constant LR); ``noise`` is sigma of the Gaussian noise added to each
    gradient coordinate (d2l's noisy SGD), drawn by :func:`gradient_noise` from ``seed``.
    """

    optimizer: Any
    lr: float
    start: tuple[float, ...]
    steps: int
    schedule: Any = None
    noise: float = 0.0
    seed: int = 0
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer, "lr": self.lr, "start": list(self.start), "steps": self.steps,
                "schedule": self.schedule, "noise": self.noise, "seed": self.seed, "label": self.label}


def _number(name: str, value: Any, low: float, high: float, allowed: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise PlaygroundError(name, value, allowed, "playground") from None
    if isinstance(value, bool) or not (math.isfinite(v) and low <= v <= high):
        raise PlaygroundError(name, value, allowed, "playground")
    return v


def validate_trajectory(spec: TrajectorySpec, dim: int) -> TrajectorySpec:
    """``spec`` with its optimizer and schedule specs normalised (defaults filled); raises
    :class:`PlaygroundError` (or the optimizer's / schedule's own ``ParamError``) naming what is wrong."""
    opt = validate_optimizer(spec.optimizer)
    lr = _number("lr", spec.lr, 0.0, 1e6, "a finite number in [0, 1e6]")
    sched = None if spec.schedule in (None, "", "constant") else validate_schedule(spec.schedule)
    if sched is not None:  # one_cycle / cyclic cycle momentum: refused with adagrad/adadelta (issue 15)
        from lrstudio.core.optimizers import OPTIMIZERS
        from lrstudio.core.schedules.momentum import check_momentum

        check_momentum(sched, opt["name"], OPTIMIZERS[opt["name"]].torch_class)
    start = spec.start
    if isinstance(start, (int, float)):
        start = (start,)
    try:
        start_t = tuple(_number("start", s, -1e12, 1e12, "finite numbers") for s in start)
    except TypeError:
        raise PlaygroundError("start", start, f"{dim} finite number(s)", "playground") from None
    if len(start_t) != dim:
        raise PlaygroundError("start", list(start_t), f"{dim} finite number{'s' if dim > 1 else ''} "
                              f"(one per variable)", "playground")
    if isinstance(spec.steps, bool) or not isinstance(spec.steps, (int, np.integer)) or not (
            1 <= spec.steps <= MAX_STEPS):
        raise PlaygroundError("steps", spec.steps, f"a whole number in [1, {MAX_STEPS}]", "playground")
    noise = _number("noise", spec.noise, 0.0, 1e6, "a finite number >= 0 (sigma of the gradient noise)")
    if isinstance(spec.seed, bool) or not isinstance(spec.seed, (int, np.integer)) or not 0 <= spec.seed < 2**63:
        raise PlaygroundError("seed", spec.seed, "a whole number >= 0", "playground")
    return TrajectorySpec(opt, lr, start_t, int(spec.steps), sched, noise, int(spec.seed), str(spec.label))


def gradient_noise(seed: int, sigma: float, steps: int, dim: int) -> np.ndarray | None:
    """The gradient noise of a trajectory: row ``i`` is added to the gradient of update ``i + 1``.

    ``numpy.random.default_rng(seed).normal(0, sigma, (steps, dim))``; ``None`` when ``sigma`` is 0.
    """
    if sigma == 0:
        return None
    return np.random.default_rng(seed).normal(0.0, sigma, (steps, dim))


def describe(spec: TrajectorySpec) -> str:
    """A short legend for a trajectory: ``adam lr=0.01`` plus what is not default."""
    if spec.label:
        return spec.label
    opt = spec.optimizer if isinstance(spec.optimizer, str) else spec.optimizer.get("name", "?")
    text = f"{opt} lr={spec.lr:g}"
    if spec.schedule:
        text += f" {spec.schedule['name'] if isinstance(spec.schedule, Mapping) else spec.schedule}"
    if spec.noise:
        text += f" σ={spec.noise:g}"
    return text


def playground_config(function: FunctionInfo, spec: TrajectorySpec) -> dict[str, Any]:
    """The JSON config of a saved playground run (also fills the runs table's columns)."""
    opt = spec.optimizer if isinstance(spec.optimizer, Mapping) else {"name": spec.optimizer, "params": {}}
    cfg: dict[str, Any] = {
        "function": function.name,
        "expression": function.formula,
        "domain": [list(d) for d in function.domain],
        "start": list(spec.start),
        "optimizer": dict(opt),
        "lr": spec.lr,
        "schedule": spec.schedule,
        "steps": spec.steps,
        "noise": spec.noise,
        "seed": spec.seed,
        "label": describe(spec),
        "model": "playground",
        "dataset": function.name,
    }
    return cfg


# -- contours ----------------------------------------------------------------------------------------
def contour_grid(surface: Surface, domain: Domain, n: int = 160) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(xs, ys, z)``: the function on an ``n x n`` grid over a 2-D ``domain``; ``z[i, j]`` is at
    ``(xs[i], ys[j])`` (pyqtgraph's image order: first index along x)."""
    (x0, x1), (y0, y1) = domain
    xs = np.linspace(x0, x1, n)
    ys = np.linspace(y0, y1, n)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    return xs, ys, surface.numpy(gx, gy)


def contour_levels(z: np.ndarray, count: int = 14) -> np.ndarray:
    """Contour levels that show the shape near the minimum as well as far from it: quantiles of the
    finite values (a quadratic's levels then come out about evenly spaced in distance)."""
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        return np.empty(0)
    qs = np.linspace(0.0, 1.0, count + 2)[1:-1] ** 2
    return np.unique(np.quantile(finite, qs))


def contour_segments(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, levels: Sequence[float]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Contour lines of ``z`` (as :func:`contour_grid` returns it) by vectorised marching squares.

    Returns ``(px, py)``: consecutive pairs of points are the two ends of one segment (pyqtgraph's
    ``connect="pairs"``). Saddle cells are split by the value at the cell's centre.
    """
    out_x: list[np.ndarray] = []
    out_y: list[np.ndarray] = []
    v00, v10, v11, v01 = z[:-1, :-1], z[1:, :-1], z[1:, 1:], z[:-1, 1:]
    ii, jj = np.meshgrid(np.arange(len(xs) - 1), np.arange(len(ys) - 1), indexing="ij")
    xa, xb = xs[ii], xs[ii + 1]
    ya, yb = ys[jj], ys[jj + 1]
    ok = np.isfinite(v00) & np.isfinite(v10) & np.isfinite(v11) & np.isfinite(v01)
    with np.errstate(all="ignore"):
        for level in levels:
            b00, b10, b11, b01 = v00 > level, v10 > level, v11 > level, v01 > level
            # the four edges: bottom (00-10), right (10-11), top (01-11), left (00-01)
            cross = [b00 != b10, b10 != b11, b01 != b11, b00 != b01]
            t = [(level - v00) / (v10 - v00), (level - v10) / (v11 - v10),
                 (level - v01) / (v11 - v01), (level - v00) / (v01 - v00)]
            ex = [xa + t[0] * (xb - xa), xb, xa + t[2] * (xb - xa), xa]
            ey = [ya, ya + t[1] * (yb - ya), yb, ya + t[3] * (yb - ya)]
            n = cross[0].astype(np.int8) + cross[1] + cross[2] + cross[3]
            two = ok & (n == 2)
            four = ok & (n == 4)
            if two.any():
                # the first and the last crossing edge of each cell
                c = np.stack([cr[two] for cr in cross])
                first = np.argmax(c, axis=0)
                last = 3 - np.argmax(c[::-1], axis=0)
                X = np.stack([e[two] for e in ex])
                Y = np.stack([e[two] for e in ey])
                k = np.arange(X.shape[1])
                out_x.append(np.column_stack([X[first, k], X[last, k]]).ravel())
                out_y.append(np.column_stack([Y[first, k], Y[last, k]]).ravel())
            if four.any():
                centre = (v00[four] + v10[four] + v11[four] + v01[four]) / 4 > level
                same = centre == b00[four]
                fx = [e[four] for e in ex]
                fy = [e[four] for e in ey]
                # centre on corner 00's side: 00 and 11 join through it, the segments cut off
                # corners 10 (edges 0-1) and 01 (edges 2-3); else they cut off 00 (0-3) and 11 (1-2)
                pairs = [((0, 3), (1, 2)), ((0, 1), (2, 3))]
                for m in (False, True):
                    sel = same == m
                    if not sel.any():
                        continue
                    for p, q in pairs[int(m)]:
                        out_x.append(np.column_stack([fx[p][sel], fx[q][sel]]).ravel())
                        out_y.append(np.column_stack([fy[p][sel], fy[q][sel]]).ravel())
    if not out_x:
        return np.empty(0), np.empty(0)
    return np.concatenate(out_x), np.concatenate(out_y)


# -- presets: the chapter's figures ------------------------------------------------------------------
@dataclass(frozen=True)
class Preset:
    """One of the chapter's figures: a function, its trajectories and what to look at.

    ``rule`` names the update rule the trajectories follow (``gd``, ``sgd``, ``momentum``,
    ``adagrad``, ``rmsprop``, ``adam``): the acceptance test checks each preset against an
    independent numpy transcription of that rule.
    """

    name: str
    title: str
    function: str
    trajectories: tuple[TrajectorySpec, ...]
    text: str
    rule: str
    domain: Domain | None = None
    source: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


def _gd(lr: float, start: Sequence[float], steps: int, label: str = "", **kw: Any) -> TrajectorySpec:
    return TrajectorySpec({"name": "sgd", "params": {}}, lr, tuple(start), steps, label=label or f"GD η={lr:g}", **kw)


_EPS_ADAGRAD = ("torch's Adagrad divides by sqrt(s) + eps (eps = 1e-10, outside the root); the book writes "
                "1/sqrt(s + eps) with eps = 1e-6.")
_EPS_RMSPROP = ("torch's RMSprop divides by sqrt(s) + eps (eps = 1e-8, outside the root); the book writes "
                "1/sqrt(s + eps) with eps = 1e-6; torch calls the book's γ alpha.")

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("gd_lr_good", "GD on x², η = 0.2", "x2", (_gd(0.2, (10.0,), 10),),
           "η = 0.2: each step multiplies x by 1 - 2η = 0.6, so x shrinks steadily towards the minimum at 0.",
           "gd", source="d2l 12.3.1"),
    Preset("gd_lr_small", "GD on x², η = 0.05 (too slow)", "x2", (_gd(0.05, (10.0,), 10),),
           "η = 0.05: x only shrinks by 0.9 a step; after 10 steps it is still far from 0.",
           "gd", source="d2l 12.3.1"),
    Preset("gd_lr_large", "GD on x², η = 1.1 (too large)", "x2", (_gd(1.1, (10.0,), 30),),
           "η = 1.1: each step multiplies x by 1 - 2η = -1.2: the iterates jump across the minimum "
           "and grow until they leave the plot; the trajectory is marked diverged.",
           "gd", source="d2l 12.3.1"),
    Preset("local_minima", "Local minima of x·cos(πx)", "xcos",
           (_gd(0.05, (-0.8,), 30, "start -0.8"), _gd(0.05, (0.4,), 30, "start 0.4")),
           "Gradient descent ends in the minimum whose basin it starts in: from -0.8 the local minimum "
           "near -0.3, from 0.4 the global one near 1.1.",
           "gd", source="d2l 12.1.2"),
    Preset("gd_2d", "GD on x1² + 2x2², η = 0.1", "quad", (_gd(0.1, (-5.0, -2.0), 20),),
           "20 steps of η = 0.1 from (-5, -2): x2 (curvature 4) shrinks faster than x1 (curvature 2).",
           "gd", source="d2l 12.3.2"),
    Preset("sgd_constant", "Noisy SGD, constant LR", "quad",
           (_gd(0.1, (-5.0, -2.0), 50, "SGD η=0.1 σ=1", noise=1.0, seed=0),),
           "Gradient noise N(0, 1) and a constant η = 0.1: the iterates reach the minimum and keep "
           "jittering around it; they never settle.",
           "sgd", source="d2l 12.4.2"),
    Preset("sgd_exponential", "Noisy SGD, exponential LR", "quad",
           (TrajectorySpec({"name": "sgd", "params": {}}, 0.1, (-5.0, -2.0), 1000,
                           {"name": "lambda", "params": {"lr_lambda": "exp(-0.1 * (epoch + 2))"}},
                           1.0, 0, "SGD η=0.1·exp(-0.1t)"),),
           "η(t) = 0.1·exp(-0.1 t) (t from 2, as d2l's counter): the noise dies out, but so does the "
           "LR: after ~50 steps the iterates freeze, short of the minimum.",
           "sgd", source="d2l 12.4.3"),
    Preset("sgd_polynomial", "Noisy SGD, polynomial LR", "quad",
           (TrajectorySpec({"name": "sgd", "params": {}}, 0.1, (-5.0, -2.0), 50,
                           {"name": "lambda", "params": {"lr_lambda": "(1 + 0.1 * (epoch + 2)) ** -0.5"}},
                           1.0, 0, "SGD η=0.1·(1+0.1t)^-½"),),
           "η(t) = 0.1·(1 + 0.1 t)^(-1/2): decays slowly enough to reach the minimum and fast enough "
           "to calm the noise.",
           "sgd", source="d2l 12.4.3"),
    Preset("momentum", "Momentum on 0.1x1² + 2x2²", "quad_ill",
           (_gd(0.4, (-5.0, -2.0), 20),
            _gd(0.6, (-5.0, -2.0), 20),
            TrajectorySpec({"name": "momentum", "params": {"momentum": 0.5}}, 0.6, (-5.0, -2.0), 20,
                           label="momentum η=0.6 β=0.5"),
            TrajectorySpec({"name": "momentum", "params": {"momentum": 0.25}}, 0.6, (-5.0, -2.0), 20,
                           label="momentum η=0.6 β=0.25")),
           "GD η = 0.4 crawls along x1 and η = 0.6 diverges along x2 (1 - 0.6·4 = -1.4); momentum with "
           "η = 0.6 and β = 0.5 or 0.25 converges: the velocity averages out x2's oscillation. torch's "
           "SGD momentum v = βv + g, x -= ηv is the book's rule.",
           "momentum", source="d2l 12.6.1"),
    Preset("adagrad", "AdaGrad, η = 0.4 vs 2", "quad_ill",
           (TrajectorySpec({"name": "adagrad", "params": {}}, 0.4, (-5.0, -2.0), 20, label="AdaGrad η=0.4"),
            TrajectorySpec({"name": "adagrad", "params": {}}, 2.0, (-5.0, -2.0), 20, label="AdaGrad η=2")),
           "AdaGrad's per-coordinate step shrinks as squared gradients add up: with η = 0.4 the "
           "trajectory is smooth but slows down early; η = 2 gets to the minimum. " + _EPS_ADAGRAD,
           "adagrad", source="d2l 12.7.3"),
    Preset("rmsprop", "RMSProp, η = 0.4", "quad_ill",
           (TrajectorySpec({"name": "rmsprop", "params": {"alpha": 0.9}}, 0.4, (-5.0, -2.0), 20,
                           label="RMSProp η=0.4 γ=0.9"),),
           "RMSProp with γ = 0.9 keeps a leaky average of g² instead of AdaGrad's sum, so the step "
           "does not decay to nothing: x2 (curvature 4) is at 0 after ~8 steps and x1 (curvature 0.2) "
           "follows at nearly the same pace, at about -0.01 after 20 steps, where AdaGrad with the "
           "same η = 0.4 is still near -2.4. " + _EPS_RMSPROP,
           "rmsprop", source="d2l 12.8.2"),
    Preset("adam", "Adam, η = 0.4", "quad_ill",
           (TrajectorySpec({"name": "adam", "params": {}}, 0.4, (-5.0, -2.0), 40, label="Adam η=0.4"),),
           "Adam's bias-corrected m̂/√v̂ is about ±1 at first, so each coordinate moves by about η "
           "whatever its curvature; momentum then overshoots and oscillates around the minimum. torch "
           "divides by sqrt(v̂) + eps (eps = 1e-8) as the book does (the book uses eps = 1e-6).",
           "adam", source="d2l 12.10"),
)}
