"""The playground's core (issue 16): functions, the safe expression compiler, contours, presets."""

from __future__ import annotations

import numpy as np
import pytest

from lrstudio.core.playground import (
    FUNCTIONS,
    PRESETS,
    PlaygroundError,
    TrajectorySpec,
    compile_surface,
    contour_grid,
    contour_levels,
    contour_segments,
    gradient_noise,
    playground_config,
    resolve_function,
    validate_trajectory,
)
from lrstudio.core.schedules.expr import FUNCTIONS as EXPR_FUNCTIONS


def test_catalogue_has_the_issue_functions_with_domains():
    assert {"x2", "xcos", "x3", "expr1d"} <= {n for n, f in FUNCTIONS.items() if f.dim == 1}
    assert {"quad", "quad_ill", "rosenbrock", "saddle", "himmelblau", "expr2d"} <= {
        n for n, f in FUNCTIONS.items() if f.dim == 2}
    assert FUNCTIONS["xcos"].domain == ((-1.0, 2.0),)
    for f in FUNCTIONS.values():
        info, surface = resolve_function(f.name)
        value = surface.numpy(*[np.array([s]) for s in info.start])
        assert np.isfinite(value).all(), f.name


@pytest.mark.parametrize(("name", "point", "value"), [
    ("rosenbrock", (1.0, 1.0), 0.0), ("rosenbrock", (0.0, 0.0), 1.0), ("himmelblau", (3.0, 2.0), 0.0),
    ("saddle", (1.0, 2.0), -3.0), ("quad_ill", (1.0, 1.0), 2.1), ("xcos", (1.0,), -1.0), ("x3", (2.0,), 8.0),
])
def test_builtin_formulas(name, point, value):
    _, surface = resolve_function(name)
    assert surface.numpy(*[np.array([p]) for p in point])[0] == pytest.approx(value, abs=1e-12)


def test_every_function_of_the_schedule_evaluator_is_allowed_and_nothing_else():
    for name, (_, lo, _, _) in EXPR_FUNCTIONS.items():
        args = ", ".join(["x"] * lo)
        compile_surface(f"{name}({args}) + 1", ("x",))
    for bad, why in [
        ("__import__('os').system('true')", "not an allowed function"),
        ("x.real", "Attribute is not allowed"),
        ("y + 1", "unknown name 'y'"),
        ("[x]", "List is not allowed"),
        ("(lambda: 1)()", "not an allowed function"),
        ("'a'", "is not a number"),
        ("x if x else", "does not parse"),
        ("1 / 0 + x", "not a finite number"),
        ("x" + " + x" * 600, "at most 1000 characters"),
        ("(" * 50 + "x" + ")" * 50 + "+1" * 150, "at most 200 parts"),
        ("", "empty"),
    ]:
        with pytest.raises(PlaygroundError, match="expression") as exc:
            compile_surface(bad, ("x",))
        assert why in str(exc.value), (bad, str(exc.value))


def test_expressions_evaluate_like_python_on_numpy():
    s = compile_surface("max(x1, 0) + (1 if x2 > 0 else 2) + (x1 < x2 < 3) - abs(x2) ** 0.5", ("x1", "x2"))
    x1, x2 = np.array([-1.0, 2.0, 0.5]), np.array([1.0, -1.0, 2.0])
    expected = [max(a, 0) + (1 if b > 0 else 2) + (a < b < 3) - abs(b) ** 0.5 for a, b in zip(x1, x2)]
    np.testing.assert_allclose(s.numpy(x1, x2), expected)
    assert compile_surface("3", ("x",)).numpy(np.zeros(4)).shape == (4,)


def test_user_function_takes_expression_and_domain_builtins_refuse_an_expression():
    info, surface = resolve_function("expr1d", "sin(x)", [[0, 3]])
    assert info.formula == "sin(x)" and info.domain == ((0.0, 3.0),)
    with pytest.raises(PlaygroundError, match="domain"):
        resolve_function("expr2d", "x1", [[0, 1]])
    with pytest.raises(PlaygroundError, match="expr1d or expr2d"):
        resolve_function("x2", "x**4")
    with pytest.raises(PlaygroundError, match="one of"):
        resolve_function("nope")


def test_contour_segments_lie_on_their_levels():
    _, surface = resolve_function("expr2d", "x1**2 + x2**2")
    xs, ys, z = contour_grid(surface, ((-2.0, 2.0), (-2.0, 2.0)), 81)
    px, py = contour_segments(xs, ys, z, [1.0])
    assert len(px) > 40 and len(px) % 2 == 0
    # linear interpolation on a 0.05 grid: within 1% of the true circle of radius 1
    np.testing.assert_allclose(np.hypot(px, py), 1.0, atol=0.01)


def test_contour_saddle_cells_make_two_segments():
    xs = ys = np.array([0.0, 1.0])
    z = np.array([[1.0, 0.0], [0.0, 1.0]])  # corners 00 and 11 high: a saddle cell at level 0.5
    px, py = contour_segments(xs, ys, z, [0.5])
    assert len(px) == 4


def test_contour_levels_are_increasing_and_inside_the_values():
    _, surface = resolve_function("rosenbrock")
    _, _, z = contour_grid(surface, FUNCTIONS["rosenbrock"].domain, 50)
    levels = contour_levels(z)
    assert np.all(np.diff(levels) > 0) and z.min() < levels[0] and levels[-1] < z.max()


def test_presets_name_catalogue_functions_valid_specs_and_a_text():
    assert {"gd_lr_good", "gd_lr_small", "gd_lr_large", "local_minima", "gd_2d", "sgd_constant",
            "sgd_exponential", "sgd_polynomial", "momentum", "adagrad", "rmsprop", "adam"} <= set(PRESETS)
    for p in PRESETS.values():
        assert p.function in FUNCTIONS and p.text and p.trajectories
        for spec in p.trajectories:
            validate_trajectory(spec, FUNCTIONS[p.function].dim)


def test_validate_trajectory_messages():
    for spec, word in [
        (TrajectorySpec("sgd", -1.0, (0.0,), 5), "lr"),
        (TrajectorySpec("sgd", 0.1, (float("nan"),), 5), "start"),
        (TrajectorySpec("sgd", 0.1, (0.0,), 10**9), "steps"),
        (TrajectorySpec("sgd", 0.1, (0.0,), 5, noise=-1.0), "noise"),
        (TrajectorySpec("sgd", 0.1, (0.0,), 5, seed=-3), "seed"),
        (TrajectorySpec("sgd", 0.1, (0.0,), 5, schedule={"name": "nope"}), "name"),
    ]:
        with pytest.raises(PlaygroundError if word != "name" else Exception, match=word):
            validate_trajectory(spec, 1)
    norm = validate_trajectory(TrajectorySpec("adam", 0.1, 3, 5), 1)
    assert norm.start == (3.0,) and norm.optimizer["params"]["beta1"] == 0.9


def test_gradient_noise_is_the_documented_draw():
    n = gradient_noise(7, 0.5, 10, 2)
    np.testing.assert_array_equal(n, np.random.default_rng(7).normal(0.0, 0.5, (10, 2)))
    assert gradient_noise(7, 0.0, 10, 2) is None


def test_playground_config_fills_the_runs_table_columns():
    info, _ = resolve_function("rosenbrock")
    cfg = playground_config(info, validate_trajectory(TrajectorySpec("adam", 0.01, (-1.5, 2.0), 200), 2))
    assert cfg["function"] == "rosenbrock" and cfg["optimizer"]["name"] == "adam" and cfg["lr"] == 0.01
    assert cfg["start"] == [-1.5, 2.0] and cfg["steps"] == 200 and cfg["schedule"] is None
