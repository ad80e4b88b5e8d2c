"""lrstudio's LR noise against timm's own draws (torch.Generator seeded with noise_seed + t, as in
timm/scheduler/scheduler.py ``_calculate_noise``): noise_draws='timm' gives timm's numbers (made in
numpy, core has no torch), noise_draws='fast' the same distribution."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrstudio.core.schedules import lr_curve  # noqa: E402
from lrstudio.core.schedules.noise import noise_at  # noqa: E402


def timm_calculate_noise(t, noise_seed, noise_type, noise_pct):
    """timm Scheduler._calculate_noise, verbatim but for self."""
    g = torch.Generator()
    g.manual_seed(noise_seed + t)
    if noise_type == "normal":
        while True:
            noise = torch.randn(1, generator=g).item()
            if abs(noise) < noise_pct:
                return noise
    else:
        noise = 2 * (torch.rand(1, generator=g).item() - 0.5) * noise_pct
    return noise


@pytest.mark.parametrize("kind,pct", [("normal", 0.67), ("uniform", 0.3)])
def test_same_distribution_as_timms_draws(kind, pct):
    n = 6000
    theirs = np.asarray([timm_calculate_noise(t, 42, kind, pct) for t in range(n)])
    ours = noise_at(np.arange(n), 42, kind, pct, 1.0, draws="fast")
    assert np.all(np.abs(ours) < pct) and np.all(np.abs(theirs) < pct)
    # two-sample Kolmogorov-Smirnov statistic: the critical value at alpha = 0.001 is 1.95 * sqrt(2 / n)
    grid = np.sort(np.concatenate([ours, theirs]))
    d = np.max(np.abs(np.searchsorted(np.sort(ours), grid, side="right") / n
                      - np.searchsorted(np.sort(theirs), grid, side="right") / n))
    assert d < 1.95 * np.sqrt(2 / n)
    assert not np.array_equal(ours, theirs)  # the draws themselves are lrstudio's own (documented)


@pytest.mark.parametrize("kind,pct,seed", [("normal", 0.67, 42), ("normal", 0.1, 7), ("uniform", 0.5, 42),
                                           ("uniform", 0.05, 2**32 - 3)])
def test_timm_draws_are_timms_numbers(kind, pct, seed):
    n = 3000
    theirs = [timm_calculate_noise(t, seed, kind, pct) for t in range(n)]
    ours = noise_at(np.arange(n), seed, kind, pct, 1.0, draws="timm")
    np.testing.assert_array_equal(ours, theirs)  # bit for bit, resampled steps included
    # scattered steps (no cached range) too
    steps = np.asarray([2999, 0, 17, 1234])
    np.testing.assert_array_equal(noise_at(steps, seed, kind, pct, 1.0, draws="timm"), [theirs[i] for i in steps])


def test_the_wrapper_with_timm_draws_is_timms_add_noise():
    inner = {"name": "timm_cosine", "params": {"t_initial": 200, "warmup_t": 20}}
    spec = {"name": "noise", "params": {"inner": inner, "noise_range_t": [30, 350], "noise_seed": 42}}
    clean = lr_curve(inner, 400, 0.1)
    ref = [v + v * timm_calculate_noise(t, 42, "normal", 0.67) if 30 <= t < 350 else v for t, v in enumerate(clean)]
    np.testing.assert_array_equal(lr_curve(spec, 400, 0.1), ref)
