"""Playground trajectories (issue 16) against independent numpy transcriptions of the update rules.

Each rule below is d2l's equation (chapter 12) written out by hand in numpy, with the gradient of
the preset's function written out by hand too, and with torch's exact placement of eps (stated per
rule); nothing here calls torch. The first 20 iterates of every preset must agree to 1e-9.

* GD / SGD (d2l 12.3, 12.4):     x <- x - eta_t * (grad f(x) + n_t)
  with n_t = default_rng(seed).normal(0, sigma, (steps, dim))[t] (lrstudio's documented noise
  draw; d2l draws N(0, 1) per coordinate with torch.normal) and eta_t the schedule's LR.
* momentum (d2l 12.6, torch SGD momentum, dampening 0):   v <- beta v + g  (v_1 = g);  x <- x - eta v
* AdaGrad (d2l 12.7; torch puts eps OUTSIDE the root, eps = 1e-10):
      s <- s + g^2;  x <- x - eta * g / (sqrt(s) + eps)     (book: eta / sqrt(s + eps) * g)
* RMSProp (d2l 12.8; torch: eps OUTSIDE the root, eps = 1e-8, gamma is torch's alpha):
      s <- gamma s + (1 - gamma) g^2;  x <- x - eta * g / (sqrt(s) + eps)
* Adam (d2l 12.10; torch: eps added to sqrt(v_hat), eps = 1e-8):
      v <- b1 v + (1 - b1) g;  s <- b2 s + (1 - b2) g^2;
      x <- x - eta * (v / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lrstudio.core.playground import PRESETS, FunctionInfo, PlaygroundError, TrajectorySpec, resolve_function
from lrstudio.trainer.playground import compute_trajectories

# Gradients by hand (not through the expression compiler or autograd).
GRADS = {
    "x2": lambda x: np.array([2 * x[0]]),
    "xcos": lambda x: np.array([math.cos(math.pi * x[0]) - math.pi * x[0] * math.sin(math.pi * x[0])]),
    "quad": lambda x: np.array([2 * x[0], 4 * x[1]]),
    "quad_ill": lambda x: np.array([0.2 * x[0], 4 * x[1]]),
}


def _lr_at(spec: TrajectorySpec, t: int) -> float:
    """LR of update t + 1 (t = 0, 1, ...), the schedule written out: d2l's lr() functions."""
    if spec.schedule is None:
        return spec.lr
    text = spec.schedule["params"]["lr_lambda"]
    if text == "exp(-0.1 * (epoch + 2))":  # d2l exponential_lr: t = 1; t += 1; exp(-0.1 t)
        return spec.lr * math.exp(-0.1 * (t + 2))
    if text == "(1 + 0.1 * (epoch + 2)) ** -0.5":  # d2l polynomial_lr
        return spec.lr * (1 + 0.1 * (t + 2)) ** -0.5
    raise AssertionError(f"no transcription for schedule {text!r}")


def transcribe(rule: str, function: str, spec: TrajectorySpec, n: int) -> np.ndarray:
    """The first n + 1 iterates by the rule, in numpy."""
    grad = GRADS[function]
    p = dict(spec.optimizer["params"])
    x = np.array(spec.start, dtype=np.float64)
    noise = (np.random.default_rng(spec.seed).normal(0.0, spec.noise, (spec.steps, len(x)))
             if spec.noise else np.zeros((spec.steps, len(x))))
    v = np.zeros_like(x)
    s = np.zeros_like(x)
    out = [x.copy()]
    name = spec.optimizer["name"]
    for t in range(n):
        g = grad(x) + noise[t]
        eta = _lr_at(spec, t)
        if name == "sgd" and rule in ("gd", "sgd", "momentum"):
            x = x - eta * g
        elif name == "momentum":
            beta = p["momentum"]
            v = g.copy() if t == 0 else beta * v + g
            x = x - eta * v
        elif name == "adagrad":
            s = s + g * g
            x = x - eta * g / (np.sqrt(s) + 1e-10)
        elif name == "rmsprop":
            gamma = p["alpha"]
            s = gamma * s + (1 - gamma) * g * g
            x = x - eta * g / (np.sqrt(s) + 1e-8)
        elif name == "adam":
            b1, b2 = 0.9, 0.999
            v = b1 * v + (1 - b1) * g
            s = b2 * s + (1 - b2) * g * g
            k = t + 1
            x = x - eta * (v / (1 - b1**k)) / (np.sqrt(s / (1 - b2**k)) + 1e-8)
        else:
            raise AssertionError(f"no transcription for {name} under rule {rule}")
        out.append(x.copy())
    return np.array(out)


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_first_20_iterates_equal_the_numpy_transcription(name):
    preset = PRESETS[name]
    results = compute_trajectories(preset.function, preset.trajectories)
    assert len(results) == len(preset.trajectories)
    for spec, res in zip(preset.trajectories, results):
        n = min(20, res.steps_done)
        # a diverged trajectory is compared up to where it was stopped, which must be after 10 steps
        assert n >= 10, (spec.label, res.status, res.steps_done)
        expected = transcribe(preset.rule, preset.function, spec, n)
        np.testing.assert_allclose(res.xs[: n + 1], expected, rtol=1e-9, atol=1e-9, err_msg=spec.label)


def test_preset_texts_say_where_torch_differs_from_the_book():
    for name in ("adagrad", "rmsprop"):
        text = PRESETS[name].text
        assert "outside the root" in text and "book" in text


def test_lr_too_large_diverges_and_is_stopped_at_the_box():
    (res,) = compute_trajectories("x2", PRESETS["gd_lr_large"].trajectories)
    assert res.diverged and res.reason == "the point left the bound box"
    lo, hi = resolve_function("x2")[0].bound_box()[0]
    assert np.all((res.xs >= lo) & (res.xs <= hi))
    assert res.diverged_step == res.steps_done + 1 == 22  # 10 * 1.2**22 > 550
    assert len(res.lr) == res.steps_done and np.all(np.isfinite(res.loss))


def test_momentum_preset_gd_06_diverges_momentum_converges():
    res = compute_trajectories("quad_ill", PRESETS["momentum"].trajectories)
    assert [r.status for r in res] == ["completed", "diverged", "completed", "completed"]
    assert res[2].loss[-1] < 1e-3 and res[3].loss[-1] < 0.1


def test_loss_and_lr_series_follow_the_schedule():
    (res,) = compute_trajectories("quad", PRESETS["sgd_exponential"].trajectories)
    spec = PRESETS["sgd_exponential"].trajectories[0]
    np.testing.assert_allclose(res.lr[:5], [0.1 * math.exp(-0.1 * (t + 2)) for t in range(5)], rtol=1e-12)
    np.testing.assert_allclose(res.loss, res.xs[:, 0] ** 2 + 2 * res.xs[:, 1] ** 2, rtol=1e-12)
    assert res.steps_done == spec.steps == 1000


def test_user_expression_gradients_come_from_autograd():
    info, surface = resolve_function("expr2d", "x1**2 + 3*x2**2 + max(x1, 0)")
    (res,) = compute_trajectories(info, [TrajectorySpec("sgd", 0.1, (1.0, 1.0), 3)], surface=surface)
    x = np.array([1.0, 1.0])
    for _ in range(3):
        x = x - 0.1 * np.array([2 * x[0] + (1.0 if x[0] > 0 else 0.0), 6 * x[1]])
    np.testing.assert_allclose(res.xs[-1], x, rtol=1e-12)


def test_every_declared_hyper_parameter_reaches_torch():
    # nesterov momentum with weight decay vs the rule: g' = g + wd x; v = mu v + g'; x -= lr (g' + mu v)
    spec = TrajectorySpec({"name": "nesterov", "params": {"momentum": 0.8, "weight_decay": 0.1}}, 0.05,
                          (2.0,), 5)
    (res,) = compute_trajectories("x2", [spec])
    x, v = 2.0, 0.0
    for t in range(5):
        g = 2 * x + 0.1 * x
        v = g if t == 0 else 0.8 * v + g
        x = x - 0.05 * (g + 0.8 * v)
    assert res.xs[-1, 0] == pytest.approx(x, rel=1e-12)


def test_non_finite_loss_is_diverged_and_a_bad_start_is_refused():
    info, surface = resolve_function("expr1d", "log(x)", [[-1, 5]])
    (res,) = compute_trajectories(info, [TrajectorySpec("sgd", 2.0, (1.0,), 5)], surface=surface)
    assert res.diverged and res.diverged_step == 1 and res.steps_done == 0
    with pytest.raises(PlaygroundError, match="finite"):
        compute_trajectories(info, [TrajectorySpec("sgd", 0.1, (-0.5,), 5)], surface=surface)
    with pytest.raises(PlaygroundError, match="bound box"):
        compute_trajectories("x2", [TrajectorySpec("sgd", 0.1, (1e6,), 5)])


def test_bad_specs_name_what_is_wrong():
    with pytest.raises(PlaygroundError, match="steps"):
        compute_trajectories("x2", [TrajectorySpec("sgd", 0.1, (1.0,), 0)])
    with pytest.raises(PlaygroundError, match="start"):
        compute_trajectories("quad", [TrajectorySpec("sgd", 0.1, (1.0,), 5)])
    with pytest.raises(Exception, match="one of"):
        compute_trajectories("quad", [TrajectorySpec("nope", 0.1, (1.0, 1.0), 5)])


def test_function_info_is_accepted_without_surface():
    info: FunctionInfo = resolve_function("rosenbrock")[0]
    (res,) = compute_trajectories(info, [TrajectorySpec("adam", 0.01, (-1.5, 2.0), 5)])
    assert res.steps_done == 5


def test_trajectories_computed_together_equal_each_computed_alone():
    # one backward serves every trajectory: a diverged row (nan/inf after it stops) and different
    # optimizers, LRs, schedules and noise must not change the others' iterates
    info, surface = resolve_function("expr1d", "log(x) + x**2", [[0.01, 4]])
    specs = [TrajectorySpec("sgd", 5.0, (1.0,), 30),  # jumps to x < 0: log is nan there
             TrajectorySpec("adam", 0.05, (2.0,), 30, {"name": "cosine", "params": {"T_max": 30}}),
             TrajectorySpec("rmsprop", 0.01, (3.0,), 12, noise=0.5, seed=3)]
    together = compute_trajectories(info, specs, surface=surface)
    assert together[0].diverged
    for spec, res in zip(specs, together):
        (alone,) = compute_trajectories(info, [spec], surface=surface)
        np.testing.assert_array_equal(res.xs, alone.xs)
        np.testing.assert_array_equal(res.lr, alone.lr)
        assert res.status == alone.status


def test_a_trajectory_is_stopped_where_it_first_left_the_box_even_if_it_comes_back():
    # x -> x (1 - 2 lr): lr 1.6 for three updates (x 10 -> -22 -> 48.4 -> -106.5, outside the bound
    # box [-50, 50] of the domain [-1, 1]), then lr 0.5 puts it at 0, inside again; and a long
    # second trajectory, so the loop runs on well past the excursion
    info, surface = resolve_function("expr1d", "x**2", [[-1, 1]])
    back = TrajectorySpec("sgd", 1.0, (10.0,), 200,
                          {"name": "lambda", "params": {"lr_lambda": "1.6 if epoch < 3 else 0.5"}})
    res, other = compute_trajectories(info, [back, TrajectorySpec("sgd", 0.1, (0.5,), 300)], surface=surface)
    assert res.diverged and res.diverged_step == 3 and res.reason == "the point left the bound box"
    np.testing.assert_allclose(res.xs[:, 0], [10.0, -22.0, 48.4], rtol=1e-12)
    assert len(res.lr) == 2 and len(res.loss) == 3
    assert other.status == "completed" and other.steps_done == 300


def test_a_plateau_schedule_reads_its_own_trajectory_s_loss():
    # x2 with lr 1: x -> -x, the loss stays at 4 (a plateau): after patience + 1 steps the LR is
    # cut by factor (torch's ReduceLROnPlateau rule, as the training loop uses it); beside it, a
    # trajectory whose loss keeps falling keeps its LR, so each schedule sees its own row's loss
    plateau = {"name": "reduce_on_plateau", "params": {"patience": 2, "factor": 0.5}}
    stuck = TrajectorySpec("sgd", 1.0, (2.0,), 8, plateau)
    falling = TrajectorySpec("sgd", 0.1, (-3.0,), 8, plateau)
    together = compute_trajectories("x2", [falling, stuck])
    for spec, res in zip([falling, stuck], together):
        (alone,) = compute_trajectories("x2", [spec])
        np.testing.assert_array_equal(res.lr, alone.lr)
        np.testing.assert_array_equal(res.xs, alone.xs)
    assert np.all(together[0].lr == 0.1)
    assert together[1].lr[0] == 1.0 and together[1].lr[-1] < 1.0


def test_at_most_max_trajectories_at_once():
    from lrstudio.core.playground import MAX_TRAJECTORIES

    spec = TrajectorySpec("sgd", 0.1, (1.0,), 1)
    assert len(compute_trajectories("x2", [spec] * MAX_TRAJECTORIES)) == MAX_TRAJECTORIES
    with pytest.raises(PlaygroundError, match=f"at most {MAX_TRAJECTORIES}"):
        compute_trajectories("x2", [spec] * (MAX_TRAJECTORIES + 1))


_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw")


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_trajectories_computed_together_equal_each_computed_alone(data):
    # the Playground tab computes only trajectories it has not computed before and reuses the
    # others: that is right only if a trajectory's iterates do not depend on its companions
    function = data.draw(st.sampled_from(["quad_ill", "rosenbrock", "himmelblau", "saddle"]))
    info, surface = resolve_function(function)
    (x0, x1), (y0, y1) = info.domain
    specs = []
    for _ in range(data.draw(st.integers(2, 5))):
        start = (data.draw(st.floats(x0, x1)), data.draw(st.floats(y0, y1)))
        assume(np.isfinite(surface.numpy(np.array([start[0]]), np.array([start[1]]))).all())
        schedule = data.draw(st.sampled_from([None, {"name": "cosine", "params": {"T_max": 20}},
                                              {"name": "reduce_on_plateau", "params": {"patience": 1}}]))
        specs.append(TrajectorySpec({"name": data.draw(st.sampled_from(_OPTIMIZERS)), "params": {}},
                                    data.draw(st.sampled_from([1e-3, 0.05, 0.5, 3.0])), start,
                                    data.draw(st.integers(1, 90)), schedule,
                                    data.draw(st.sampled_from([0.0, 0.5])), data.draw(st.integers(0, 3))))
    together = compute_trajectories(info, specs, surface=surface)
    for spec, res in zip(specs, together):
        (alone,) = compute_trajectories(info, [spec], surface=surface)
        assert (res.status, res.diverged_step, res.reason) == (alone.status, alone.diverged_step, alone.reason)
        np.testing.assert_array_equal(res.xs, alone.xs)
        np.testing.assert_array_equal(res.loss, alone.loss)
        np.testing.assert_array_equal(res.lr, alone.lr)


def _visible_oscillation(xs: np.ndarray, domain) -> bool:
    """Some coordinate swings across the minimum at 0 and back, by more than 1% of the domain's
    width each side (what one sees as an oscillation on the quadratics)."""
    for k, (lo, hi) in enumerate(domain):
        v = xs[:, k]
        far = np.abs(v) > 0.01 * (hi - lo)
        signs = np.sign(v[far])
        if np.count_nonzero(signs[1:] != signs[:-1]) >= 2:
            return True
    return False


@pytest.mark.parametrize("name", [n for n, p in PRESETS.items() if "oscillat" in p.text])
def test_a_preset_text_that_speaks_of_oscillation_shows_one(name):
    preset = PRESETS[name]
    assert preset.function in ("x2", "quad", "quad_ill")  # the minimum at 0 the check relies on
    info, _ = resolve_function(preset.function)
    results = compute_trajectories(preset.function, preset.trajectories)
    assert any(_visible_oscillation(r.xs, info.domain) for r in results), preset.text


def test_the_rmsprop_text_states_what_is_drawn():
    (rms,) = compute_trajectories("quad_ill", PRESETS["rmsprop"].trajectories)
    slow, _ = compute_trajectories("quad_ill", PRESETS["adagrad"].trajectories)
    text = PRESETS["rmsprop"].text
    assert rms.xs[-1, 0] == pytest.approx(-0.01, abs=0.002) and "-0.01" in text
    assert slow.xs[-1, 0] == pytest.approx(-2.4, abs=0.05) and "-2.4" in text
