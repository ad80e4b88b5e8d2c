"""The safe expression evaluator: correct values, attacks rejected without running code (each with
the reason it is refused), evaluation vectorised. Speed is measured in bench/bench_schedules.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrstudio.core.schedules import ScheduleError, compile_expr, lr_curve, validate_spec
from lrstudio.core.schedules import expr as expr_module

T = np.arange(0, 50, dtype=np.float64)


@pytest.mark.parametrize("text,fn", [
    ("0.95 ** epoch", lambda e: 0.95 ** e),
    ("1 if epoch < 10 else 0.1", lambda e: 1 if e < 10 else 0.1),
    ("exp(-step / 10) + 0.5 * cos(pi * t / 20)", lambda e: math.exp(-e / 10) + 0.5 * math.cos(math.pi * e / 20)),
    ("min(1, (epoch + 1) / 5) * max(0.1, 1 - epoch / 40)", lambda e: min(1, (e + 1) / 5) * max(0.1, 1 - e / 40)),
    ("0.5 ** (epoch // 10)", lambda e: 0.5 ** (e // 10)),
    ("epoch % 7 + abs(-2) + floor(epoch / 3) - ceil(epoch / 4)", lambda e: e % 7 + 2 + math.floor(e / 3) - math.ceil(e / 4)),
    ("sqrt(epoch + 1) * log(epoch + 2) + sin(e)", lambda x: math.sqrt(x + 1) * math.log(x + 2) + math.sin(math.e)),
    ("1 if 3 <= epoch < 9 and not epoch == 5 else 2", lambda e: 1 if 3 <= e < 9 and not e == 5 else 2),
    ("-epoch + +3 if epoch != 2 or epoch > 40 else 7", lambda e: -e + 3 if e != 2 or e > 40 else 7),
    ("tanh(epoch / 10) + tan(0.1) + log2(8) + log10(100)", lambda e: math.tanh(e / 10) + math.tan(0.1) + 3 + 2),
])
def test_values_match_python(text, fn):
    got = compile_expr(text).evaluate(T)
    np.testing.assert_allclose(got, [fn(e) for e in T], rtol=1e-13)
    # the Python spelling used by to_pytorch_code gives the same numbers
    py = compile_expr(text).python()
    ns = {"math": math}
    vals = [eval(f"lambda epoch: {py}", ns)(float(e)) for e in T]  # tests only
    np.testing.assert_allclose(got, vals, rtol=1e-13)


CALLS = "is not an allowed function; allowed: exp, log"
TOO_LONG = "at most 1000 characters, got "

# (text, the reason the message gives): every attack is refused while compiling, before any step is
# evaluated; the huge ones by the length or node cap before they are parsed or built.
ATTACKS = [
    ("__import__('os').system('x')", "this call " + CALLS),
    ("().__class__.__bases__", "Attribute is not allowed"),
    ("().__class__.__bases__[0].__subclasses__()", "this call " + CALLS),
    ("9**9**9**9", "the constant part (9.0 ** 387420489.0) is not a finite number"),  # float, not int, power
    ("(lambda: 1)()", "this call " + CALLS),
    ("[x for x in range(10)]", "ListComp is not allowed"),
    ("open('/etc/passwd')", "open " + CALLS),
    ("epoch.__class__", "Attribute is not allowed"),
    ("globals()", "globals " + CALLS),
    ("exec('1')", "exec " + CALLS),
    ("'a' * 10", "'a' is not a number"),
    ("b'x'", "b'x' is not a number"),
    ("{1: 2}", "Dict is not allowed"),
    ("epoch[0]", "Subscript is not allowed"),
    ("exp(x=1)", "keyword and star arguments are not allowed"),
    ("exp(*[1])", "keyword and star arguments are not allowed"),
    ("min(1)", "min takes 2 arguments to 8"),
    ("import os", "does not parse: invalid syntax"),
    ("epoch = 1", "does not parse: invalid syntax"),
    ("10 ** 400", "the constant part (10.0 ** 400.0) is not a finite number"),
    ("1" * 400, "a number is too large"),
    ("1e400", "a number is too large"),
    ("-" * 900 + "1", "at most 200 parts"),  # deep unary chain: over the node cap
    ("(" * 5000 + "1" + ")" * 5000, TOO_LONG + "10001"),
    ("+".join(["epoch"] * 300), TOO_LONG + "1799"),
    ("1 +", "does not parse: invalid syntax"),
    ("", "(empty)"),
    ("   ", "(empty)"),
    ("exp(1000)", "the constant part math.exp(1000.0) is not a finite number"),
    ("epoch if True else 1", "True is not a number"),
    ("x" * 100_000, TOO_LONG + "100000"),
    ("1 " * 50_000, TOO_LONG + "100000"),
]


@pytest.mark.parametrize("text,reason", ATTACKS, ids=range(len(ATTACKS)))
def test_attacks_are_rejected_with_the_reason(text, reason):
    with pytest.raises(ScheduleError) as exc:
        compile_expr(text, "lr_lambda", "schedule 'lambda'")
    assert exc.value.param == "lr_lambda"
    assert "expected an arithmetic expression of epoch" in str(exc.value)
    assert reason in str(exc.value)


@pytest.mark.parametrize("text", ["x" * 100_000, "(" * 5000 + "1" + ")" * 5000, "1 " * 50_000])
def test_over_long_text_is_refused_before_it_is_parsed(monkeypatch, text):
    parsed = []
    monkeypatch.setattr(expr_module.ast, "parse", lambda *a, **k: parsed.append(a))
    expr_module._compile_cached.cache_clear()
    with pytest.raises(ScheduleError, match=f"at most {expr_module.MAX_LENGTH} characters"):
        compile_expr(text)
    assert parsed == []


def test_too_many_parts_are_refused_before_anything_is_built(monkeypatch):
    built = []
    monkeypatch.setattr(expr_module._Compiler, "build", lambda self, node: built.append(node))
    expr_module._compile_cached.cache_clear()
    with pytest.raises(ScheduleError, match=f"at most {expr_module.MAX_NODES} parts"):
        compile_expr("+".join(["epoch"] * 150))  # 299 nodes in 899 characters
    assert built == []


def test_attack_through_the_spec_is_a_schedule_error():
    for text, reason in [("__import__('os').system('x')", CALLS), ("9**9**9**9", "is not a finite number"),
                         ("x" * 100_000, TOO_LONG + "100000")]:
        with pytest.raises(ScheduleError, match="lr_lambda") as exc:
            validate_spec({"name": "lambda", "params": {"lr_lambda": text}})
        assert reason in str(exc.value)


def test_redundant_parentheses_are_fine():
    assert compile_expr("(" * 150 + "epoch" + ")" * 150).evaluate(np.array([3.0]))[0] == 3.0


def test_non_string_is_rejected():
    with pytest.raises(ScheduleError):
        validate_spec({"name": "lambda", "params": {"lr_lambda": 3}})


def test_message_names_the_problem():
    with pytest.raises(ScheduleError, match="does not parse"):
        compile_expr("0.95 **")
    with pytest.raises(ScheduleError, match="unknown name 'x'"):
        compile_expr("x + 1")
    with pytest.raises(ScheduleError, match="not an allowed function"):
        compile_expr("eval('1')")


def test_non_finite_values_are_reported_with_the_step():
    with pytest.raises(ScheduleError, match="step 0"):
        lr_curve({"name": "lambda", "params": {"lr_lambda": "1 / epoch"}}, 10, 0.1)
    with pytest.raises(ScheduleError, match="step 3"):
        lr_curve({"name": "lambda", "params": {"lr_lambda": "3 - epoch - 0.5"}}, 10, 0.1)
    with pytest.raises(ScheduleError, match=r"step 2 is inf; expected a finite number >= 0"):
        lr_curve({"name": "multiplicative", "params": {"lr_lambda": "1e300"}}, 10, 0.1)


class _CountedEvaluate:
    """Wraps Expr.evaluate: records the shape of every array it is called with."""

    def __init__(self, monkeypatch):
        self.shapes = []
        real = expr_module.Expr.evaluate

        def evaluate(expr, t, *args, **kwargs):
            self.shapes.append(np.shape(t))
            return real(expr, t, *args, **kwargs)

        monkeypatch.setattr(expr_module.Expr, "evaluate", evaluate)


def test_big_exponent_at_run_time_is_caught_after_one_vectorised_evaluation(monkeypatch):
    calls = _CountedEvaluate(monkeypatch)
    # 9 ** 9 ** 2 = 2e77 is finite, 9 ** 9 ** 3 overflows float64: refused with the first bad step
    with pytest.raises(ScheduleError, match=r"step 3 is inf; expected a finite number >= 0"):
        lr_curve({"name": "lambda", "params": {"lr_lambda": "9 ** (9 ** epoch)"}}, 100_000, 0.1)
    assert calls.shapes == [(100_000,)]  # the whole run at once, never a step at a time


@pytest.mark.parametrize("name", ["lambda", "multiplicative"])
def test_a_curve_evaluates_its_expression_once_over_all_steps(monkeypatch, name):
    calls = _CountedEvaluate(monkeypatch)
    text = "0.5 * (1 + cos(pi * min(epoch, 5000) / 5000)) if epoch > 10 else (epoch + 1) / 11"
    curve = lr_curve({"name": name, "params": {"lr_lambda": text}}, 100_000, 0.1)
    assert len(calls.shapes) == 1 and calls.shapes[0][0] >= 99_999
    # equals a scalar loop over the same steps (every 97th: the loop is slow on purpose)
    e = compile_expr(text)
    steps = np.arange(0, 100_000, 97)
    if name == "lambda":
        want = [0.1 * float(e.evaluate(float(k))) for k in steps]
    else:
        lr, want = 0.1, []
        for k in range(100_000):
            if k:
                lr *= float(e.evaluate(float(k)))
            if k % 97 == 0:
                want.append(lr)
    np.testing.assert_allclose(curve[steps], want, rtol=1e-12)


def test_evaluation_is_vectorised(monkeypatch):
    # every function of the tree is called once, with the whole array (no per-step Python loop)
    seen = []
    cos = expr_module.FUNCTIONS["cos"]
    monkeypatch.setitem(expr_module.FUNCTIONS, "cos", (lambda x: seen.append(np.shape(x)) or np.cos(x), *cos[1:]))
    expr_module._compile_cached.cache_clear()
    e = compile_expr("0.5 * (1 + cos(pi * min(epoch, 5000) / 5000)) if epoch > 10 else epoch / 10")
    t = np.arange(100_000, dtype=np.float64)
    got = e.evaluate(t)
    assert seen == [(100_000,)]
    want = [0.5 * (1 + math.cos(math.pi * min(k, 5000) / 5000)) if k > 10 else k / 10 for k in t.tolist()]
    np.testing.assert_allclose(got, want, rtol=1e-13)
    expr_module._compile_cached.cache_clear()  # drop the expression compiled with the counting cos


def test_a_constant_power_of_a_number_is_a_constant_curve():
    # found by hypothesis: the expression folds to a 0-d array and pow_scalar returned a numpy scalar
    from lrstudio.core.schedules import lr_curve

    got = lr_curve({"name": "lambda", "params": {"lr_lambda": "2.0 ** (pi if 0.0 < 0.0 else pi)"}}, 3, 0.1)
    np.testing.assert_allclose(got, [0.1 * 2.0 ** np.pi] * 3, rtol=1e-12)


IN_PLACE_CASES = ["epoch", "-epoch", "epoch * 2", "2 * epoch", "epoch / (epoch + 1)", "(epoch + 1) / epoch",
                  "abs(-epoch)", "min(epoch, 5)", "max(epoch * 2, epoch + 3)", "1 if epoch < 3 else epoch",
                  "cos(epoch) ** 2", "2 ** -epoch", "epoch % 7 + epoch // 3", "not epoch",
                  "(epoch > 2) and (epoch < 9)", "exp(-(epoch - 3) ** 2) * sqrt(epoch + 1) - log(epoch + 2)",
                  "0.95", "-(+(epoch * 0.5))",
                  # a step-free part that is not folded to a constant (a conditional, a comparison, a
                  # boolean of constants) gave a 0-d array that an in-place + epoch wrote into: ValueError
                  # (found by tests/core/test_schedules_hypothesis.py with 3,000 examples)
                  "(pi if pi < 0.0 else pi) + epoch", "--((pi if pi < 0.0 else pi) + epoch)",
                  "epoch * (2 if 1 < 0 else 3)", "(1 < 2) + epoch", "(1 < 2 and 2 < 3) * epoch",
                  "abs(1 if 0 < 1 else 2) + epoch", "2 ** (1 if 0 < 1 else 2) * epoch",
                  "min(epoch, 1 if 0 < 1 else 2) - (0 if epoch < 0 else 1)"]


@pytest.mark.parametrize("text", IN_PLACE_CASES)
def test_in_place_evaluation_equals_step_by_step_and_keeps_the_input(text):
    """Issue 15: temporaries are reused (out=) inside an expression; the values are those of a
    scalar evaluation and the caller's array is never written."""
    e = compile_expr(text)
    x = np.arange(0.0, 40.0)
    keep = x.copy()
    got = e.evaluate(x)
    np.testing.assert_array_equal(x, keep)
    want = [float(e.evaluate(float(k))) for k in x]
    np.testing.assert_array_equal(got, want)
    got[:] = -1.0  # the result is the caller's: a second evaluation is not affected
    np.testing.assert_array_equal(e.evaluate(x), want)
    assert (e.constant is not None) == (text == "0.95")
    # an int array is converted into an array of the expression's own, which it may write over
    steps = np.arange(40)
    np.testing.assert_array_equal(e.evaluate(steps), want)
    np.testing.assert_array_equal(steps, np.arange(40))
    given = x.copy()  # owned=True: the caller gives the array away
    np.testing.assert_array_equal(e.evaluate(given, owned=True), want)
