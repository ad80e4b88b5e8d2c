"""torch ChainedScheduler (against torch) and timm's LR noise wrapper (its rule, transcribed from
timm/scheduler/scheduler.py ``_add_noise`` / ``_is_apply_noise``, and lrstudio's reproducibility
rule: the noise of a step depends on the seed and the step only)."""

from __future__ import annotations

import numpy as np
import pytest

from lrstudio.core.schedules import ScheduleError, curve_at, lr_curve, validate_spec
from lrstudio.core.schedules.noise import noise_at

N = 400


# -- chained -------------------------------------------------------------------------------------
CHAINS = [
    # (lrstudio children, torch factories)
    ([{"name": "constant", "params": {"factor": 0.5, "total_iters": 40}},
      {"name": "exponential", "params": {"gamma": 0.99}}],
     lambda o, S: [S.ConstantLR(o, factor=0.5, total_iters=40), S.ExponentialLR(o, gamma=0.99)]),
    ([{"name": "linear", "params": {"start_factor": 0.1, "total_iters": 30}},
      {"name": "step", "params": {"step_size": 70, "gamma": 0.5}},
      {"name": "multistep", "params": {"milestones": [100, 250, 300], "gamma": 0.7}}],
     lambda o, S: [S.LinearLR(o, start_factor=0.1, total_iters=30), S.StepLR(o, step_size=70, gamma=0.5),
                   S.MultiStepLR(o, milestones=[100, 250, 300], gamma=0.7)]),
]


@pytest.mark.parametrize("children,make", CHAINS, ids=["constant-exp", "linear-step-multistep"])
def test_chained_equals_torch_chained_scheduler(children, make):
    torch = pytest.importorskip("torch")
    base = 0.1
    opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=base)
    sched = torch.optim.lr_scheduler.ChainedScheduler(make(opt, torch.optim.lr_scheduler), optimizer=opt)
    ref = []
    for _ in range(N):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    got = lr_curve({"name": "chained", "params": {"schedules": children}}, N, base)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)
    assert got[0] == pytest.approx(ref[0], rel=1e-15)


def test_chained_is_the_product_of_the_factors_and_zero_for_a_zero_base():
    kids = CHAINS[1][0]
    prod = np.prod([lr_curve(k, N, 0.3) / 0.3 for k in kids], axis=0) * 0.3
    np.testing.assert_allclose(lr_curve({"name": "chained", "params": {"schedules": kids}}, N, 0.3), prod,
                               rtol=1e-15)
    assert not lr_curve({"name": "chained", "params": {"schedules": kids}}, 10, 0.0).any()


# -- noise: timm's rule ---------------------------------------------------------------------------
def timm_add_noise(lrs, t, noise_range_t, noise):
    """timm Scheduler._add_noise with _is_apply_noise (timm/scheduler/scheduler.py), the draw given."""
    apply_noise = False
    if noise_range_t is not None:
        if isinstance(noise_range_t, (list, tuple)):
            apply_noise = noise_range_t[0] <= t < noise_range_t[1]
        else:
            apply_noise = t >= noise_range_t
    if apply_noise:
        lrs = [v + v * noise for v in lrs]
    return lrs


INNER = {"name": "timm_cosine", "params": {"t_initial": 100, "cycle_limit": 5, "warmup_t": 10}}


@pytest.mark.parametrize("rng,timm_range", [([], None), ([0], 0), ([50], 50), ([30, 200], (30, 200))])
@pytest.mark.parametrize("kind", ["normal", "uniform"])
@pytest.mark.parametrize("draws", ["timm", "fast"])
def test_noise_follows_timm_add_noise(rng, timm_range, kind, draws):
    params = {"inner": INNER, "noise_range_t": rng, "noise_type": kind, "noise_pct": 0.4, "noise_seed": 7,
              "noise_draws": draws}
    got = lr_curve({"name": "noise", "params": params}, N, 0.1)
    clean = lr_curve(INNER, N, 0.1)
    n = noise_at(np.arange(N), 7, kind, 0.4, 1.0, draws=draws)
    ref = [timm_add_noise([clean[t]], t, timm_range, n[t])[0] for t in range(N)]
    np.testing.assert_array_equal(got, ref)
    if timm_range is not None:
        assert (got != clean).sum() > 0.9 * (N - (rng[0] if rng else 0) - (N - rng[1] if len(rng) == 2 else 0))


@pytest.mark.parametrize("draws", ["timm", "fast"])
@pytest.mark.parametrize("kind,pct,std", [("normal", 0.67, 1.0), ("normal", 0.2, 0.5), ("uniform", 0.3, 1.0)])
def test_noise_draws_have_timms_distribution(kind, pct, std, draws):
    n = noise_at(np.arange(200_000 if draws == "fast" else 50_000), 42, kind, pct, std, draws=draws)
    assert np.all(np.abs(n) < pct)
    assert abs(n.mean()) < 0.005
    if kind == "uniform":
        # uniform on (-pct, pct): variance pct^2 / 3
        assert n.var() == pytest.approx(pct**2 / 3, rel=0.02)
    else:
        # normal(0, std) truncated to (-pct, pct): variance std^2 (1 - 2 a phi(a) / (2 Phi(a) - 1)), a = pct/std
        from math import erf, exp, pi, sqrt

        a = pct / std
        phi = exp(-a * a / 2) / sqrt(2 * pi)
        var = std**2 * (1 - 2 * a * phi / erf(a / sqrt(2)))
        assert n.var() == pytest.approx(var, rel=0.02)


@pytest.mark.parametrize("draws", ["timm", "fast"])
def test_noise_is_a_function_of_seed_and_step_only(draws):
    spec = {"name": "noise", "params": {"inner": INNER, "noise_seed": 3, "noise_draws": draws}}
    full = lr_curve(spec, 5000, 0.1)
    # a longer run, scattered steps and a later window repeat the same values
    np.testing.assert_array_equal(lr_curve(spec, 9000, 0.1)[:5000], full)
    steps = np.asarray([4999, 3, 1234, 0, 777])
    np.testing.assert_array_equal(curve_at(validate_spec(spec), steps, 0.1), full[steps])
    np.testing.assert_array_equal(curve_at(validate_spec(spec), np.arange(2000, 2500), 0.1), full[2000:2500])
    other = lr_curve({"name": "noise", "params": {"inner": INNER, "noise_seed": 4, "noise_draws": draws}}, 5000, 0.1)
    if draws == "fast":
        assert (other[:500] != full[:500]).mean() > 0.99  # (the inner schedule is 0 after 500 steps)
    else:  # timm seeds step t with noise_seed + t: seed 4 at step t is seed 3 at step t + 1
        np.testing.assert_array_equal(noise_at(np.arange(499), 4, "normal", 0.67, 1.0, draws="timm"),
                                      noise_at(np.arange(1, 500), 3, "normal", 0.67, 1.0, draws="timm"))
        assert (other[1:500] != full[1:500]).mean() > 0.99
        return
    # the documented rule: block t // 8192 of Philox(key=seed, counter=[0, 0, 0, block]), element t % 8192
    g = np.random.Generator(np.random.Philox(key=3, counter=[0, 0, 0, 2]))
    u = g.random(8192)
    assert noise_at(np.asarray([2 * 8192 + 17]), 3, "uniform", 0.5, 1.0)[0] == (u[17] - 0.5) * 1.0
    g = np.random.Generator(np.random.Philox(key=3, counter=[0, 0, 0, 1]))
    x = g.standard_normal(100_000)
    kept = x[np.abs(x) < 0.4 / 2.0][:8192] * 2.0
    np.testing.assert_array_equal(noise_at(np.arange(8192, 2 * 8192), 3, "normal", 0.4, 2.0), kept)


@pytest.mark.parametrize("params,word", [
    ({"noise_range_t": [50, 20]}, "end > start"),
    ({"noise_range_t": [1, 2, 3]}, "at most 2"),
    ({"noise_pct": 0.001, "noise_std": 1.0}, "noise_pct"),
    ({"noise_type": "cauchy"}, "normal"),
])
def test_noise_refuses_bad_parameters_in_words(params, word):
    with pytest.raises(ScheduleError, match=word):
        validate_spec({"name": "noise", "params": params})


@pytest.mark.parametrize("draws", ["timm", "fast"])
def test_a_long_run_draws_in_chunks_with_the_same_numbers(monkeypatch, draws):
    from lrstudio.core.schedules import noise as noise_mod

    monkeypatch.setattr(noise_mod, "_TIMM_STEPS_AT_ONCE", 1000)
    monkeypatch.setattr(noise_mod, "_CACHE_MAX", 2000)  # a run longer than this is not cached
    spec = {"name": "noise", "params": {"inner": {"name": "constant"}, "noise_draws": draws, "noise_seed": 9}}
    noise_mod._noise_range.cache_clear()
    whole = lr_curve(spec, 20_000, 1.0)  # 20 chunks of timm's draws, 3 blocks of fast draws
    assert noise_mod._noise_range.cache_info().currsize == 0  # a range this long is not kept
    pieces = np.concatenate([curve_at(validate_spec(spec), np.arange(a, a + 700), 1.0) for a in range(0, 20_000, 700)])
    np.testing.assert_array_equal(whole, pieces[:20_000])
    assert noise_mod._noise_range.cache_info().currsize > 0  # short ones are
