"""Schedules whose source is not torch, against formulas written here from the source's code/docs.

Each reference below is a direct transcription of the source (Paddle ``paddle/optimizer/lr.py``,
TF ``tf.compat.v1.train.*_decay`` / Keras ``LearningRateSchedule``s, d2l ``CosineScheduler`` /
``FactorScheduler``, MXNet ``lr_scheduler``, HF ``transformers.optimization``), evaluated one step
at a time in plain Python. Boundary cases: t = 0, t at each boundary, t past the end, cycle on/off,
warm-up of 0 steps.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrstudio.core.schedules import ScheduleError, lr_curve

RTOL = 1e-12


def curve(name, params, n, base_lr=0.1, metrics=None):
    return lr_curve({"name": name, "params": params}, n, base_lr, metrics=metrics)


def check(ours, ref):
    np.testing.assert_allclose(ours, np.asarray(ref, dtype=float), rtol=RTOL, atol=1e-15)


# -- piecewise -----------------------------------------------------------------------------------
def paddle_piecewise(boundaries, values, epoch):
    for i in range(len(boundaries)):
        if epoch < boundaries[i]:
            return values[i]
    return values[len(values) - 1]


def tf_piecewise(boundaries, values, x):
    if x <= boundaries[0]:
        return values[0]
    for i in range(1, len(boundaries)):
        if boundaries[i - 1] < x <= boundaries[i]:
            return values[i]
    return values[-1]


@pytest.mark.parametrize("relative", [False, True])
def test_piecewise_paddle_and_tf(relative):
    b, v = [3, 6, 9], [0.1, 0.05, 0.01, 0.001]
    n = 14  # t = 0, each boundary, boundary +- 1, past the end
    scale = 0.5 if relative else 1.0
    ours = curve("piecewise_constant", {"boundaries": b, "values": v, "relative": relative}, n, base_lr=0.5)
    check(ours, [paddle_piecewise(b, v, t) * scale for t in range(n)])
    ours_tf = curve("piecewise_constant", {"boundaries": b, "values": v, "switch": "after_boundary",
                                           "relative": relative}, n, base_lr=0.5)
    check(ours_tf, [tf_piecewise(b, v, t) * scale for t in range(n)])
    # the conventions differ exactly at the boundaries
    assert ours[3] == 0.05 * scale and ours_tf[3] == 0.1 * scale and ours_tf[4] == 0.05 * scale


def test_piecewise_validation_messages():
    with pytest.raises(ScheduleError, match=r"values.*4 values for 3 boundaries"):
        curve("piecewise_constant", {"boundaries": [1, 2, 3], "values": [1, 2]}, 5)
    with pytest.raises(ScheduleError, match=r"boundaries.*strictly increasing.*got 5 then 5"):
        curve("piecewise_constant", {"boundaries": [5, 5], "values": [1, 2, 3]}, 5)


# -- exponential / natural exp / inverse time (Paddle per-step, TF with decay_steps/staircase) ---
@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("decay_steps", [1, 7])
def test_exponential_family(staircase, decay_steps):
    n, lr0, g = 60, 0.3, 0.8

    def p_(t):
        return (t // decay_steps) if staircase else t / decay_steps

    prm = {"gamma": g, "decay_steps": decay_steps, "staircase": staircase}
    check(curve("exponential", prm, n, lr0), [lr0 * g ** p_(t) for t in range(n)])  # TF exponential_decay
    check(curve("natural_exp", prm, n, lr0), [lr0 * math.exp(-g * p_(t)) for t in range(n)])
    check(curve("inverse_time", prm, n, lr0), [lr0 / (1 + g * p_(t)) for t in range(n)])


def test_paddle_per_step_forms():
    n, lr0, g = 40, 0.5, 0.3
    check(curve("natural_exp", {"gamma": g}, n, lr0), [lr0 * math.exp(-1 * g * t) for t in range(n)])
    check(curve("inverse_time", {"gamma": g}, n, lr0), [lr0 / (1 + g * t) for t in range(n)])
    check(curve("exponential", {"gamma": 0.9}, n, lr0), [lr0 * 0.9 ** t for t in range(n)])


# -- polynomial (Paddle PolynomialDecay.get_lr == TF polynomial_decay) ---------------------------
def paddle_polynomial(base_lr, decay_steps, end_lr, power, cycle, last_epoch):
    tmp_epoch_num = last_epoch
    tmp_decay_steps = decay_steps
    if cycle:
        div_res = math.ceil(float(last_epoch) / float(decay_steps))
        if last_epoch == 0:
            div_res = 1
        tmp_decay_steps = decay_steps * div_res
    else:
        tmp_epoch_num = min(last_epoch, decay_steps)
    return (base_lr - end_lr) * ((1 - float(tmp_epoch_num) / float(tmp_decay_steps)) ** power) + end_lr


@pytest.mark.parametrize("cycle", [False, True])
@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_polynomial(cycle, power):
    n, d = 45, 10  # t = 0, 10, 20, 30 and past them
    prm = {"decay_steps": d, "end_lr": 0.001, "power": power, "cycle": cycle}
    ours = curve("polynomial", prm, n, 0.1)
    check(ours, [paddle_polynomial(0.1, d, 0.001, power, cycle, t) for t in range(n)])
    assert ours[d] == pytest.approx(0.001)
    if cycle:
        assert ours[d + 1] > ours[d]  # restarted
    else:
        assert np.all(ours[d:] == ours[d])


# -- cosine: TF cosine_decay (alpha, hold) and d2l CosineScheduler (final_lr, warm-up) -----------
def tf_cosine_decay(lr, step, decay_steps, alpha):
    step = min(step, decay_steps)
    completed_fraction = step / decay_steps
    cosine_decayed = 0.5 * (1.0 + math.cos(math.pi * completed_fraction))
    decayed = (1 - alpha) * cosine_decayed + alpha
    return lr * decayed


class D2lCosineScheduler:
    def __init__(self, max_update, base_lr=0.01, final_lr=0, warmup_steps=0, warmup_begin_lr=0):
        self.base_lr_orig = base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.warmup_steps = warmup_steps
        self.warmup_begin_lr = warmup_begin_lr
        self.max_steps = self.max_update - self.warmup_steps

    def get_warmup_lr(self, epoch):
        increase = (self.base_lr_orig - self.warmup_begin_lr) * float(epoch) / float(self.warmup_steps)
        return self.warmup_begin_lr + increase

    def __call__(self, epoch):
        if epoch < self.warmup_steps:
            return self.get_warmup_lr(epoch)
        if epoch <= self.max_update:
            self.base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * (
                1 + math.cos(math.pi * (epoch - self.warmup_steps) / self.max_steps)) / 2
        return self.base_lr


@pytest.mark.parametrize("alpha", [0.0, 0.2])
def test_cosine_tf_hold(alpha):
    n, d = 80, 50
    ours = curve("cosine", {"T_max": d, "alpha": alpha, "after_end": "hold"}, n, 0.3)
    check(ours, [tf_cosine_decay(0.3, t, d, alpha) for t in range(n)])


@pytest.mark.parametrize("warmup", [0, 5])
def test_cosine_d2l(warmup):
    n, T = 40, 20
    sched = D2lCosineScheduler(max_update=T, base_lr=0.3, final_lr=0.01, warmup_steps=warmup,
                               warmup_begin_lr=0.001 if warmup else 0)
    ref = [sched(t) for t in range(n)]  # d2l plots scheduler(t) for t = 0, 1, ...
    ours = curve("cosine", {"T_max": T, "eta_min": 0.01, "after_end": "hold", "warmup_steps": warmup,
                            "warmup_begin_lr": 0.001 if warmup else 0.0}, n, 0.3)
    check(ours, ref)


def test_cosine_rise_is_periodic_like_paddle():
    T = 10
    ours = curve("cosine", {"T_max": T}, 4 * T + 1, 1.0)
    check(ours[: 2 * T + 1], [0.5 * (1 + math.cos(math.pi * t / T)) for t in range(2 * T + 1)])
    assert ours[2 * T] == pytest.approx(1.0) and ours[T] == 0.0


def test_cosine_validation():
    with pytest.raises(ScheduleError, match="T_max = 0"):
        curve("cosine", {"T_max": 0}, 5)
    with pytest.raises(ScheduleError, match="warmup_steps"):
        curve("cosine", {"T_max": 10, "warmup_steps": 10}, 5)


# -- TF cosine_decay_restarts --------------------------------------------------------------------
def tf_cosine_decay_restarts(lr, step, first_decay_steps, t_mul, m_mul, alpha):
    completed_fraction = step / first_decay_steps
    if t_mul == 1.0:
        i_restart = math.floor(completed_fraction)
        completed_fraction -= i_restart
    else:
        i_restart = math.floor(math.log(1.0 - completed_fraction * (1.0 - t_mul)) / math.log(t_mul))
        sum_r = (1.0 - t_mul ** i_restart) / (1.0 - t_mul)
        completed_fraction = (completed_fraction - sum_r) / t_mul ** i_restart
    m_fac = m_mul ** i_restart
    cosine_decayed = 0.5 * m_fac * (1.0 + math.cos(math.pi * completed_fraction))
    decayed = (1 - alpha) * cosine_decayed + alpha
    return lr * decayed


@pytest.mark.parametrize("t_mul,m_mul,alpha", [(1.0, 1.0, 0.0), (2.0, 0.5, 0.1), (1.5, 0.9, 0.0), (3.0, 1.0, 0.05)])
def test_cosine_restarts_tf(t_mul, m_mul, alpha):
    n, first = 300, 10
    ours = curve("cosine_restarts", {"T_0": first, "T_mult": t_mul, "m_mul": m_mul, "alpha": alpha}, n, 0.2)
    ref = [tf_cosine_decay_restarts(0.2, t, first, t_mul, m_mul, alpha) for t in range(n)]
    # TF finds the restart index with a float log; exactly at a restart (t = 10, 30, 70, ... for
    # t_mul = 2) that log can round either way, giving the end of one cycle (~alpha) or the start of
    # the next (the peak). lrstudio places restarts exactly. Everywhere else the values agree.
    ok = np.isclose(ours, ref, rtol=1e-9, atol=1e-15)
    starts, s, length = set(), 0.0, float(first)
    while s < n:
        starts.add(round(s, 6))
        s, length = s + length, length * t_mul
    bad = {int(i) for i in np.flatnonzero(~ok)}
    assert all(float(i) in starts for i in bad), sorted(bad)
    assert len(bad) <= 3


# -- TF linear cosine / noisy linear cosine ------------------------------------------------------
def tf_linear_cosine(lr, step, decay_steps, num_periods, alpha, beta, noise=0.0, initial_variance=0.0,
                     variance_decay=0.55):
    step = min(step, decay_steps)
    linear_decayed = (decay_steps - step) / decay_steps
    if initial_variance:
        variance = initial_variance / ((1.0 + step) ** variance_decay)
        linear_decayed = linear_decayed + noise * math.sqrt(variance)
    fraction = 2.0 * num_periods * step / decay_steps
    cosine_decayed = 0.5 * (1.0 + math.cos(math.pi * fraction))
    return lr * ((alpha + linear_decayed) * cosine_decayed + beta)


@pytest.mark.parametrize("num_periods,alpha,beta", [(0.5, 0.0, 0.001), (2.0, 0.1, 0.01)])
def test_linear_cosine(num_periods, alpha, beta):
    n, d = 130, 100
    ours = curve("linear_cosine", {"decay_steps": d, "num_periods": num_periods, "alpha": alpha, "beta": beta},
                 n, 0.1)
    check(ours, [tf_linear_cosine(0.1, t, d, num_periods, alpha, beta) for t in range(n)])


def test_noisy_linear_cosine_formula_and_reproducible():
    n, d, seed = 150, 100, 42
    prm = {"decay_steps": d, "seed": seed, "initial_variance": 0.5, "variance_decay": 0.55}
    ours = curve("noisy_linear_cosine", prm, n, 0.1)
    eps = np.random.default_rng(seed).standard_normal(n)
    ref = [max(0.0, tf_linear_cosine(0.1, t, d, 0.5, 0.0, 0.001, eps[t], 0.5, 0.55)) for t in range(n)]
    check(ours, ref)
    # same seed -> same values, for any curve length (prefix property); other seed -> other values
    np.testing.assert_array_equal(curve("noisy_linear_cosine", prm, 40, 0.1), ours[:40])
    assert not np.array_equal(curve("noisy_linear_cosine", {**prm, "seed": 43}, n, 0.1), ours)
    assert np.all(ours >= 0)
    # no noise -> linear_cosine
    quiet = curve("noisy_linear_cosine", {"decay_steps": d, "initial_variance": 0.0}, n, 0.1)
    check(quiet, curve("linear_cosine", {"decay_steps": d}, n, 0.1))


# -- Noam (Paddle NoamDecay.get_lr) --------------------------------------------------------------
def paddle_noam(base_lr, d_model, warmup_steps, last_epoch):
    a = 1 if last_epoch == 0 else last_epoch ** -0.5
    b = warmup_steps ** -1.5 * last_epoch
    return base_lr * (d_model ** -0.5) * min(a, b)


@pytest.mark.parametrize("d_model,warmup", [(512.0, 40), (0.01, 100)])
def test_noam(d_model, warmup):
    n = 300
    check(curve("noam", {"d_model": d_model, "warmup_steps": warmup}, n, 1.0),
          [paddle_noam(1.0, d_model, warmup, t) for t in range(n)])


# -- Paddle LinearWarmup around another schedule -------------------------------------------------
@pytest.mark.parametrize("warmup", [0, 1, 20])
def test_linear_warmup_paddle(warmup):
    n, start, end = 120, 0.0, 0.5
    inner = {"name": "step", "params": {"step_size": 30, "gamma": 0.5}}

    def paddle(t):
        if t < warmup:
            return (end - start) * float(t) / float(warmup) + start
        return 0.5 * 0.5 ** ((t - warmup) // 30)  # inner StepDecay(0.5, 30, 0.5) stepped with t - warmup

    ours = curve("linear_warmup", {"inner": inner, "warmup_steps": warmup, "start_lr": start, "end_lr": end}, n, 0.5)
    check(ours, [paddle(t) for t in range(n)])


def test_linear_warmup_end_lr_defaults_to_base_and_rejects_metric_inner():
    c = curve("linear_warmup", {"warmup_steps": 4, "start_lr": 0.0}, 6, 0.8)
    check(c, [0.0, 0.2, 0.4, 0.6, 0.8, 0.8])
    with pytest.raises(ScheduleError, match="inner.*not metric-driven"):
        curve("linear_warmup", {"inner": {"name": "reduce_on_plateau"}}, 6, 0.8)


# -- d2l FactorScheduler / MXNet FactorScheduler -------------------------------------------------
class D2lFactorScheduler:
    def __init__(self, factor=1, stop_factor_lr=1e-7, base_lr=0.1):
        self.factor = factor
        self.stop_factor_lr = stop_factor_lr
        self.base_lr = base_lr

    def __call__(self, num_update):
        self.base_lr = max(self.stop_factor_lr, self.base_lr * self.factor)
        return self.base_lr


class MxFactorScheduler:
    def __init__(self, step, factor=1, stop_factor_lr=1e-8, base_lr=0.01):
        self.step, self.factor, self.stop_factor_lr, self.base_lr = step, factor, stop_factor_lr, base_lr
        self.count = 0

    def __call__(self, num_update):
        while num_update > self.count + self.step:
            self.count += self.step
            self.base_lr *= self.factor
            if self.base_lr < self.stop_factor_lr:
                self.base_lr = self.stop_factor_lr
        return self.base_lr


def test_factor_d2l_applies_factor_before_first_value():
    n = 60
    s = D2lFactorScheduler(factor=0.9, stop_factor_lr=1e-2, base_lr=2.0)
    ref = [s(t) for t in range(n)]
    ours = curve("factor", {"factor": 0.9, "stop_factor_lr": 1e-2}, n, 2.0)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    assert ours[0] == pytest.approx(1.8)


@pytest.mark.parametrize("step", [1, 5])
def test_factor_mxnet_starts_at_base(step):
    n = 80
    s = MxFactorScheduler(step=step, factor=0.8, stop_factor_lr=1e-3, base_lr=0.5)
    ref = [s(t + 1) for t in range(n)]  # MXNet's num_update of update t + 1 is t + 1
    ours = curve("factor", {"factor": 0.8, "stop_factor_lr": 1e-3, "step_size": step, "convention": "mxnet"}, n, 0.5)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    assert ours[0] == 0.5


class MxMultiFactorScheduler:
    def __init__(self, step, factor=1, base_lr=0.01):
        self.step, self.factor, self.base_lr = step, factor, base_lr
        self.cur_step_ind = 0
        self.count = 0

    def __call__(self, num_update):
        while self.cur_step_ind <= len(self.step) - 1:
            if num_update > self.step[self.cur_step_ind]:
                self.count = self.step[self.cur_step_ind]
                self.cur_step_ind += 1
                self.base_lr *= self.factor
            else:
                return self.base_lr
        return self.base_lr


def test_multi_factor_d2l_and_mxnet():
    n, steps = 50, [15, 30]
    d2l = MxMultiFactorScheduler(step=steps, factor=0.5, base_lr=0.5)
    ref_d2l = [d2l(t) for t in range(n)]  # the book: scheduler(t) for t in range(num_epochs)
    check(curve("multi_factor", {"steps": steps, "factor": 0.5}, n, 0.5), ref_d2l)
    mx = MxMultiFactorScheduler(step=steps, factor=0.5, base_lr=0.5)
    ref_mx = [mx(t + 1) for t in range(n)]
    check(curve("multi_factor", {"steps": steps, "factor": 0.5, "convention": "mxnet"}, n, 0.5), ref_mx)
    # the mxnet convention is torch's MultiStepLR
    check(ref_mx, curve("multistep", {"milestones": steps, "gamma": 0.5}, n, 0.5))


# -- HF transformers -----------------------------------------------------------------------------
def hf_inverse_sqrt(current_step, num_warmup_steps, timescale=None):
    if timescale is None:
        timescale = num_warmup_steps or 10_000
    if current_step < num_warmup_steps:
        return float(current_step) / float(max(1, num_warmup_steps))
    shift = timescale - num_warmup_steps
    return 1.0 / math.sqrt((current_step + shift) / timescale)


@pytest.mark.parametrize("warmup,timescale", [(0, None), (10, None), (10, 50), (1, 3)])
def test_inverse_sqrt(warmup, timescale):
    n = 200
    ours = curve("inverse_sqrt", {"num_warmup_steps": warmup, "timescale": timescale}, n, 0.1)
    check(ours, [0.1 * hf_inverse_sqrt(t, warmup, timescale) for t in range(n)])


def hf_wsd(current_step, num_warmup_steps, num_stable_steps, num_decay_steps, warmup_type, decay_type,
           min_lr_ratio, num_cycles):
    if current_step < num_warmup_steps:
        progress = float(current_step) / float(max(1, num_warmup_steps))
        if warmup_type == "linear":
            factor = progress
        elif warmup_type == "cosine":
            factor = 0.5 * (1.0 - math.cos(math.pi * progress))
        else:
            factor = 1.0 - math.sqrt(1.0 - progress)
        factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
        return max(0.0, factor)
    if current_step < num_warmup_steps + num_stable_steps:
        return 1.0
    if current_step < num_warmup_steps + num_stable_steps + num_decay_steps:
        progress = float(current_step - num_warmup_steps - num_stable_steps) / float(max(1, num_decay_steps))
        if decay_type == "linear":
            factor = 1.0 - progress
        elif decay_type == "cosine":
            factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
        else:
            factor = 1.0 - math.sqrt(progress)
        factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
        return max(0.0, factor)
    return min_lr_ratio


@pytest.mark.parametrize("wt", ["linear", "cosine", "1-sqrt"])
@pytest.mark.parametrize("dt", ["linear", "cosine", "1-sqrt"])
@pytest.mark.parametrize("w", [0, 10])
def test_wsd(wt, dt, w):
    n, s, d, r, c = 120, 30, 50, 0.1, 0.5
    prm = {"num_warmup_steps": w, "num_stable_steps": s, "num_decay_steps": d, "warmup_type": wt,
           "decay_type": dt, "min_lr_ratio": r, "num_cycles": c}
    check(curve("wsd", prm, n, 0.2), [0.2 * hf_wsd(t, w, s, d, wt, dt, r, c) for t in range(n)])


# -- Paddle OneCycleLR (absolute end LR) ---------------------------------------------------------
def paddle_one_cycle(max_lr, total_steps, divide_factor, end_lr, phase_pct, anneal, three_phase, step):
    initial_lr = max_lr / float(divide_factor)
    if three_phase:
        cfg = [0, phase_pct * total_steps - 1, 2 * phase_pct * total_steps - 2, total_steps - 1, total_steps - 1]
        size = [cfg[1] - cfg[0], cfg[2] - cfg[1], cfg[3] - cfg[2], cfg[3] - cfg[2]]
        lrs = [initial_lr, max_lr, initial_lr, end_lr]
    else:
        cfg = [0, phase_pct * total_steps - 1, total_steps - 1, total_steps - 1]
        size = [cfg[1] - cfg[0], cfg[2] - cfg[1], cfg[2] - cfg[1]]
        lrs = [initial_lr, max_lr, end_lr]
    for i, (end_step, step_size) in enumerate(zip(cfg[1:], size)):
        if step <= end_step or i == len(lrs) - 2:
            pct = (step - cfg[i]) / step_size
            if anneal == "cos":
                return lrs[i + 1] + (lrs[i] - lrs[i + 1]) / 2.0 * (math.cos(math.pi * pct) + 1)
            return (lrs[i + 1] - lrs[i]) * pct + lrs[i]


@pytest.mark.parametrize("three_phase,anneal", [(False, "cos"), (True, "linear"), (True, "cos")])
def test_one_cycle_paddle_end_lr(three_phase, anneal):
    T = 200
    prm = {"total_steps": T, "pct_start": 0.3, "anneal_strategy": anneal, "three_phase": three_phase,
           "div_factor": 25.0, "end_lr": 1e-4}
    ours = curve("one_cycle", prm, T, 1.0)
    check(ours, [paddle_one_cycle(1.0, T, 25.0, 1e-4, 0.3, anneal, three_phase, t) for t in range(T)])
    assert ours[T - 1] == pytest.approx(1e-4)
    # t >= total_steps: hold the final LR (the sources overshoot at t = total_steps, then raise)
    past = curve("one_cycle", prm, T + 20, 1.0)
    assert np.all(past[T:] == 1e-4)


# -- Paddle ReduceOnPlateau (cooldown ignores metrics) -------------------------------------------
class PaddlePlateau:
    def __init__(self, lr, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, epsilon=1e-8):
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.min_lr, self.epsilon = cooldown, min_lr, epsilon
        self.cooldown_counter, self.best, self.num_bad_epochs = 0, None, 0
        self.last_lr = float(lr)

    def _is_better(self, current, best):
        if self.mode == "min" and self.threshold_mode == "rel":
            return current < best - best * self.threshold
        if self.mode == "min" and self.threshold_mode == "abs":
            return current < best - self.threshold
        if self.mode == "max" and self.threshold_mode == "rel":
            return current > best + best * self.threshold
        return current > best + self.threshold

    def step(self, metrics):
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
        else:
            if self.best is None or self._is_better(metrics, self.best):
                self.best = metrics
                self.num_bad_epochs = 0
            else:
                self.num_bad_epochs += 1
            if self.num_bad_epochs > self.patience:
                self.cooldown_counter = self.cooldown
                self.num_bad_epochs = 0
                new_lr = max(self.last_lr * self.factor, self.min_lr)
                if self.last_lr - new_lr > self.epsilon:
                    self.last_lr = new_lr


@pytest.mark.parametrize("kw", [
    {"patience": 2, "cooldown": 4, "factor": 0.5},
    {"patience": 3, "cooldown": 0, "factor": 0.5, "threshold_mode": "abs", "threshold": 0.01},
    {"mode": "max", "patience": 1, "cooldown": 2, "factor": 0.7, "min_lr": 0.01},
])
def test_reduce_on_plateau_paddle(kw):
    n = 400
    rng = np.random.default_rng(5)
    m = np.exp(-np.arange(n) / 80) + 0.03 * rng.standard_normal(n)
    if kw.get("mode") == "max":
        m = 1 - m
    ref = PaddlePlateau(0.1, **kw)
    expected = [0.1]
    for x in m[: n - 1]:
        ref.step(float(x))
        expected.append(ref.last_lr)
    ours = curve("reduce_on_plateau", {**kw, "cooldown_convention": "paddle"}, n, 0.1, metrics=m)
    check(ours, expected)
    assert len(set(expected)) > 2


def test_plateau_conventions_differ_during_cooldown():
    # after a reduction, an improvement inside the cooldown counts for torch but not for Paddle
    # m: reduction at step 3; 0.5 arrives in the cooldown; then 0.8 (worse than 0.5, better than 1)
    m = [1.0, 1.0, 1.0, 0.5, 0.8, 0.8, 0.8, 0.8, 0.8]
    kw = {"patience": 1, "cooldown": 2, "threshold": 0.0, "factor": 0.5}
    t = curve("reduce_on_plateau", {**kw, "cooldown_convention": "torch"}, 10, 1.0, metrics=m)
    p = curve("reduce_on_plateau", {**kw, "cooldown_convention": "paddle"}, 10, 1.0, metrics=m)
    # torch: best = 0.5 from step 4, so 0.8 is bad and the 2nd reduction comes at step 7;
    # Paddle ignored 0.5, so 0.8 at step 6 improves on 1.0 and the 2nd reduction comes at step 8.
    assert list(t) == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    assert list(p) == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25]
