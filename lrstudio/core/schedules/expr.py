"""A safe arithmetic-expression evaluator for the ``lambda`` and ``multiplicative`` schedules.

Users type a factor such as ``0.95 ** epoch`` or ``1 if epoch < 10 else 0.1``. The text is parsed
with :mod:`ast` into a tree, every node is checked against a whitelist, and the tree is turned into
a small tree of Python closures that evaluate it *vectorised* over a numpy array of steps. Nothing
is ever passed to ``eval``/``exec``/``compile``: a name that is not a step variable, a whitelisted
function or constant is rejected, so are attributes, subscripts, strings, lambdas, comprehensions,
keyword arguments and everything else.

Limits (checked before any evaluation, so attacks are rejected in microseconds):

* at most :data:`MAX_LENGTH` characters and :data:`MAX_NODES` tree nodes;
* arithmetic is in float64: ``9**9**9**9`` cannot hang (it would be ``inf``); a constant part that is
  not finite is rejected when the expression is compiled;
* the variables are ``epoch``, ``step`` and ``t`` (all the same: the number of scheduler steps taken).

Allowed: numbers, ``+ - * / // % **``, unary ``-``/``+``, comparisons (``< <= > >= == !=``, chained),
``and``/``or``/``not``, ``a if cond else b``, and calls of :data:`FUNCTIONS`; constants ``pi``, ``e``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from lrstudio.core.schedules.base import ScheduleError, pow_scalar

MAX_LENGTH = 1000
MAX_NODES = 200
VARIABLES = ("epoch", "step", "t")
CONSTANTS = {"pi": math.pi, "e": math.e}

_Fn = Callable[[np.ndarray], np.ndarray]


def _nary(reduce: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable[..., np.ndarray]:
    def f(*args: np.ndarray) -> np.ndarray:
        out = args[0]
        for a in args[1:]:
            out = reduce(out, a)
        return out

    return f


#: name -> (numpy implementation, min args, max args, Python spelling for generated code)
FUNCTIONS: dict[str, tuple[Callable[..., np.ndarray], int, int, str]] = {
    "exp": (np.exp, 1, 1, "math.exp"),
    "log": (np.log, 1, 1, "math.log"),
    "log2": (np.log2, 1, 1, "math.log2"),
    "log10": (np.log10, 1, 1, "math.log10"),
    "sqrt": (np.sqrt, 1, 1, "math.sqrt"),
    "cos": (np.cos, 1, 1, "math.cos"),
    "sin": (np.sin, 1, 1, "math.sin"),
    "tan": (np.tan, 1, 1, "math.tan"),
    "tanh": (np.tanh, 1, 1, "math.tanh"),
    "abs": (np.abs, 1, 1, "abs"),
    "floor": (np.floor, 1, 1, "math.floor"),
    "ceil": (np.ceil, 1, 1, "math.ceil"),
    "min": (_nary(np.minimum), 2, 8, "min"),
    "max": (_nary(np.maximum), 2, 8, "max"),
}

_BINOPS: dict[type, tuple[Callable[..., np.ndarray], str]] = {
    ast.Add: (np.add, "+"),
    ast.Sub: (np.subtract, "-"),
    ast.Mult: (np.multiply, "*"),
    ast.Div: (np.true_divide, "/"),
    ast.FloorDiv: (np.floor_divide, "//"),
    ast.Mod: (np.mod, "%"),
    ast.Pow: (np.power, "**"),
}
_CMPOPS: dict[type, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], str]] = {
    ast.Lt: (np.less, "<"),
    ast.LtE: (np.less_equal, "<="),
    ast.Gt: (np.greater, ">"),
    ast.GtE: (np.greater_equal, ">="),
    ast.Eq: (np.equal, "=="),
    ast.NotEq: (np.not_equal, "!="),
}


# Temporaries (issue 15, lr_curve >= 100x faster than stepping torch's LambdaLR): a closure marked
# fresh (``_mark_fresh``) always returns a float64 array it allocated itself, the shape of its
# input, that nobody else holds; the operation applied to it next may then write its result into
# it (``out=``) instead of allocating another array. Elementwise ufuncs may write over an input.
# The variable (the caller's array) and constants are never fresh.
_FRESH = "_lrstudio_fresh"


def _mark_fresh(fn: Callable[..., Any]) -> _Fn:
    setattr(fn, _FRESH, True)
    return fn


def _is_fresh(fn: _Fn) -> bool:
    return bool(getattr(fn, _FRESH, False))


def _shaped(out: Any, x: Any) -> np.ndarray:
    """``out`` as a new float64 array of ``x``'s shape: what a fresh closure promises. A conditional,
    comparison or boolean whose parts do not depend on the step (``pi if pi < 0 else pi``: not folded
    to a constant) gives a 0-d array, which the next in-place operation could not write into."""
    out = np.asarray(out, dtype=np.float64)
    shape = np.shape(x)
    if out.shape != shape:
        out = np.array(np.broadcast_to(out, shape), dtype=np.float64)
    return out


def _into(fn: Any, out: Any, *args: Any) -> Any:
    """``fn(*args, out=out)`` when ``out`` is an array (a 0-d input gives numpy scalars: no ``out``)."""
    return fn(*args, out=out) if isinstance(out, np.ndarray) else fn(*args)


@dataclass(frozen=True)
class Expr:
    """A checked expression: ``evaluate(t)`` over a float array, ``python(var)`` as Python code.

    ``constant``: the value when the expression does not depend on the step (``0.95``), else None.
    """

    text: str
    _fn: _Fn
    _py: str
    constant: float | None = None
    #: the same tree, for an input array the expression may write over (None: the variable occurs
    #: more than once, so its values must stay)
    _fn_owned: _Fn | None = None

    def evaluate(self, t: np.ndarray | float, owned: bool = False) -> np.ndarray:
        """Value at each step of ``t`` (float64 array, same shape, the caller's to keep and change;
        inf/nan where undefined). ``owned``: the caller gives ``t`` (a float64 array) away, so the
        result may be computed in it (one array less for a 100k-step curve: issue 15)."""
        x = np.asarray(t, dtype=np.float64)
        fn = self._fn
        if self._fn_owned is not None and x.ndim and (owned or x is not t):
            fn = self._fn_owned  # x is ours (converted from t, or given away): the first operation may reuse it
        with np.errstate(all="ignore"):
            out = fn(x)
        if _is_fresh(fn) and isinstance(out, np.ndarray) and out.shape == x.shape:
            return out  # allocated by the expression itself (or x, ours): no copy needed
        return np.broadcast_to(np.asarray(out, dtype=np.float64), x.shape).astype(np.float64, copy=True)

    def python(self) -> str:
        """Equivalent Python source over a float variable ``epoch`` (uses ``math``)."""
        return self._py


class _Compiler:
    def __init__(self, text: str, pname: str, owner: str, var_fresh: bool = False) -> None:
        self.text = text
        self.pname = pname
        self.owner = owner
        self.var_fresh = var_fresh  # the input array is the expression's own (it occurs once)

    def fail(self, why: str) -> ScheduleError:
        shown = self.text if len(self.text) <= 80 else self.text[:77] + "..."
        return ScheduleError(self.pname, shown, f"an arithmetic expression of epoch ({why})", self.owner)

    # Each method returns (numpy closure, python source, constant value or None).
    def build(self, node: ast.AST) -> tuple[_Fn, str, float | None]:
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise self.fail(f"{v!r} is not a number")
            try:
                f = float(v)
            except OverflowError:
                raise self.fail("a number is too large") from None
            if not math.isfinite(f):
                raise self.fail("a number is too large")
            return (lambda x, f=f: f), repr(f), f
        if isinstance(node, ast.Name):
            if node.id in VARIABLES:
                if self.var_fresh:
                    return _mark_fresh(lambda x: x), "epoch", None
                return (lambda x: x), "epoch", None
            if node.id in CONSTANTS:
                c = CONSTANTS[node.id]
                return (lambda x, c=c: c), f"math.{node.id}", c
            allowed = ", ".join((*VARIABLES, *CONSTANTS))
            raise self.fail(f"unknown name {node.id!r}; names allowed: {allowed} and functions "
                            + ", ".join(FUNCTIONS))
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise self.fail(f"operator {type(node.op).__name__} is not allowed")
            fa, pa, ca = self.build(node.left)
            fb, pb, cb = self.build(node.right)
            fn, sym = op
            src = f"({pa} {sym} {pb})"
            if ca is not None and cb is not None:
                return self.const(fn(np.float64(ca), np.float64(cb)), src)
            if isinstance(node.op, ast.Pow) and ca is not None and ca > 0:
                # constant ** array: exp/log (numpy's scalar ** array pow is ~20x slower)
                return _mark_fresh(lambda x, fb=fb, ca=ca: pow_scalar(ca, np.asarray(fb(x), dtype=np.float64))), \
                    src, None
            if _is_fresh(fa):
                def left_in_place(x: np.ndarray, fa: _Fn = fa, fb: _Fn = fb, fn: Any = fn) -> np.ndarray:
                    a = fa(x)
                    return _into(fn, a, a, fb(x))

                return _mark_fresh(left_in_place), src, None
            if _is_fresh(fb):
                def right_in_place(x: np.ndarray, fa: _Fn = fa, fb: _Fn = fb, fn: Any = fn) -> np.ndarray:
                    a = fa(x)
                    b = fb(x)
                    return _into(fn, b, a, b)

                return _mark_fresh(right_in_place), src, None
            return _mark_fresh(lambda x, fa=fa, fb=fb, fn=fn: fn(fa(x), fb(x))), src, None
        if isinstance(node, ast.UnaryOp):
            fa, pa, ca = self.build(node.operand)
            if isinstance(node.op, ast.USub):
                fn, src = np.negative, f"(-{pa})"
            elif isinstance(node.op, ast.UAdd):
                fn, src = np.positive, f"(+{pa})"
            elif isinstance(node.op, ast.Not):
                fn, src = np.logical_not, f"(not {pa})"
            else:
                raise self.fail(f"operator {type(node.op).__name__} is not allowed")
            if ca is not None:
                return self.const(fn(np.float64(ca)), src)
            if fn is not np.logical_not and _is_fresh(fa):
                return _mark_fresh(lambda x, fa=fa, fn=fn: _into(fn, a := fa(x), a)), src, None
            return (lambda x, fa=fa, fn=fn: fn(fa(x))), src, None
        if isinstance(node, ast.Compare):
            parts = [self.build(node.left)] + [self.build(c) for c in node.comparators]
            ops = []
            for o in node.ops:
                if type(o) not in _CMPOPS:
                    raise self.fail(f"comparison {type(o).__name__} is not allowed")
                ops.append(_CMPOPS[type(o)])
            src = parts[0][1] + "".join(f" {sym} {p[1]}" for (_, sym), p in zip(ops, parts[1:]))
            fns = [p[0] for p in parts]
            cmp = [o[0] for o in ops]

            def compare(x: np.ndarray, fns: list[_Fn] = fns,
                        cmp: list[Callable[[np.ndarray, np.ndarray], np.ndarray]] = cmp) -> np.ndarray:
                vals = [f(x) for f in fns]
                out = cmp[0](vals[0], vals[1])
                for k in range(1, len(cmp)):
                    out = np.logical_and(out, cmp[k](vals[k], vals[k + 1]))
                return _shaped(out, x)

            return _mark_fresh(compare), f"({src})", None
        if isinstance(node, ast.BoolOp):
            parts = [self.build(v) for v in node.values]
            fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            word = " and " if isinstance(node.op, ast.And) else " or "
            fns = [p[0] for p in parts]

            def boolop(x: np.ndarray, fns: list[_Fn] = fns,
                       fn: Callable[[np.ndarray, np.ndarray], np.ndarray] = fn) -> np.ndarray:
                out = fns[0](x)
                for f in fns[1:]:
                    out = fn(out, f(x))
                return _shaped(out, x)

            return _mark_fresh(boolop), "(" + word.join(f"bool({p[1]})" for p in parts) + ")", None
        if isinstance(node, ast.IfExp):
            fc, pc, _ = self.build(node.test)
            fa, pa, _ = self.build(node.body)
            fb, pb, _ = self.build(node.orelse)
            return (_mark_fresh(lambda x, fc=fc, fa=fa, fb=fb: _shaped(np.where(np.asarray(fc(x)) != 0, fa(x), fb(x)),
                                                                        x)),
                    f"({pa} if {pc} else {pb})", None)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                what = node.func.id if isinstance(node.func, ast.Name) else "this call"
                raise self.fail(f"{what!s} is not an allowed function; allowed: " + ", ".join(FUNCTIONS))
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise self.fail("keyword and star arguments are not allowed")
            impl, lo, hi, py = FUNCTIONS[node.func.id]
            if not lo <= len(node.args) <= hi:
                raise self.fail(f"{node.func.id} takes {lo} argument{'s' if lo > 1 else ''}"
                                + (f" to {hi}" if hi != lo else ""))
            parts = [self.build(a) for a in node.args]
            src = f"{py}({', '.join(p[1] for p in parts)})"
            fns = [p[0] for p in parts]
            if all(p[2] is not None for p in parts):
                return self.const(impl(*[np.float64(p[2]) for p in parts]), src)
            if len(fns) == 1 and isinstance(impl, np.ufunc) and _is_fresh(fns[0]):
                return _mark_fresh(lambda x, f=fns[0], impl=impl: _into(impl, a := f(x), a)), src, None
            return _mark_fresh(lambda x, fns=fns, impl=impl: impl(*[f(x) for f in fns])), src, None
        raise self.fail(f"{type(node).__name__} is not allowed")

    def const(self, value: np.ndarray | float, src: str) -> tuple[_Fn, str, float]:
        v = float(value)
        if not math.isfinite(v):
            raise self.fail(f"the constant part {src} is not a finite number")
        return (lambda x, v=v: v), repr(v), v


def compile_expr(text: str, pname: str = "lr_lambda", owner: str = "") -> Expr:
    """Check and compile ``text``; raise :class:`ScheduleError` naming ``pname`` when it is not allowed."""
    if not isinstance(text, str):
        raise ScheduleError(pname, text, "an arithmetic expression (text)", owner)
    return _compile_cached(text, pname, owner)


def parse_bounded(text: str, fail: Callable[[str], Exception]) -> ast.Expression:
    """``text`` parsed as one expression (never run), within MAX_LENGTH characters and MAX_NODES
    parts; ``fail(reason)`` makes the error raised otherwise (the caller's, naming the parameter).
    Shared by the schedule expressions and the playground's surfaces."""
    if len(text) > MAX_LENGTH:
        raise fail(f"at most {MAX_LENGTH} characters, got {len(text)}")
    if not text.strip():
        raise fail("empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise fail(f"does not parse: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise fail("does not parse (too deeply nested or not plain text)") from None
    for count, _ in enumerate(ast.walk(tree), 1):
        if count > MAX_NODES:
            raise fail(f"at most {MAX_NODES} parts")
    return tree


@lru_cache(maxsize=256)
def _compile_cached(text: str, pname: str, owner: str) -> Expr:
    comp = _Compiler(text, pname, owner)
    tree = parse_bounded(text, comp.fail)
    try:
        with np.errstate(all="ignore"):
            fn, py, const = comp.build(tree.body)
            uses = sum(1 for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in VARIABLES)
            owned = _Compiler(text, pname, owner, var_fresh=True).build(tree.body)[0] if uses == 1 else None
    except RecursionError:
        raise comp.fail("too deeply nested") from None
    return Expr(text, fn, py, const, owned)
