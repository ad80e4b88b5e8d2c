"""lrstudio's LR noise against timm's own draws (torch.Generator seeded with noise_seed + t, as in
timm/scheduler/scheduler.py ``_calculate_noise``): lrstudio does not reproduce torch's numbers (core
has no torch; see lrstudio/core/schedules/noise.py) but its draws have the same distribution."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

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
    ours = noise_at(np.arange(n), 42, kind, pct, 1.0)
    assert np.all(np.abs(ours) < pct) and np.all(np.abs(theirs) < pct)
    # two-sample Kolmogorov-Smirnov statistic: the critical value at alpha = 0.001 is 1.95 * sqrt(2 / n)
    grid = np.sort(np.concatenate([ours, theirs]))
    d = np.max(np.abs(np.searchsorted(np.sort(ours), grid, side="right") / n
                      - np.searchsorted(np.sort(theirs), grid, side="right") / n))
    assert d < 1.95 * np.sqrt(2 / n)
    assert not np.array_equal(ours, theirs)  # the draws themselves are lrstudio's own (documented)
