"""Debiased EMA: agrees with the plain recurrence, skips non-finite values (speed: bench/bench_smoothing.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrstudio.core.smoothing import debiased_ema


def _reference(values, w):
    """The TensorBoard loop, one point at a time."""
    out = np.array(values, dtype=float)
    last, count = 0.0, 0
    for i, v in enumerate(values):
        if not math.isfinite(v):
            continue
        last = last * w + (1 - w) * v
        count += 1
        out[i] = last / (1 - w**count)
    return out


@pytest.mark.parametrize("w", [1e-9, 0.05, 0.3, 0.6, 0.9, 0.99, 0.999, 0.9999])
@pytest.mark.parametrize("n", [1, 2, 17, 5_000])
def test_matches_reference_recurrence(w, n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=n) * 3 + np.linspace(10, 0, n)
    np.testing.assert_allclose(debiased_ema(x, w), _reference(x, w), rtol=1e-9, atol=1e-9)


def test_weight_zero_is_identity_and_first_point_is_unbiased():
    x = np.array([3.0, 1.0, 2.0])
    np.testing.assert_array_equal(debiased_ema(x, 0.0), x)
    assert debiased_ema(x, 0.9)[0] == pytest.approx(3.0)


def test_constant_series_stays_constant():
    x = np.full(50_000, 0.25)
    np.testing.assert_allclose(debiased_ema(x, 0.95), x, rtol=1e-12)


def test_non_finite_values_are_skipped_not_spread():
    x = np.array([1.0, np.nan, 3.0, np.inf, -np.inf, 5.0])
    y = debiased_ema(x, 0.5)
    assert np.isnan(y[1]) and y[3] == np.inf and y[4] == -np.inf  # raw value kept in place
    finite = np.isfinite(x)
    np.testing.assert_allclose(y[finite], _reference(x[finite], 0.5))
    assert np.isfinite(y[finite]).all()


def test_all_nan_and_empty():
    assert np.isnan(debiased_ema([np.nan, np.nan], 0.9)).all()
    assert debiased_ema([], 0.9).shape == (0,)


def test_huge_finite_values_do_not_overflow():
    x = np.array([1e300, 1e300, 1e-300, 1e300] * 1000)
    y = debiased_ema(x, 0.3)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y[:50], _reference(x[:50], 0.3), rtol=1e-9)


def test_long_series_with_many_blocks_matches_reference():
    rng = np.random.default_rng(1)
    x = rng.lognormal(size=30_000)
    x[rng.integers(0, x.size, 300)] = np.nan
    np.testing.assert_allclose(debiased_ema(x, 0.7), _reference(x, 0.7), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("w", [-0.1, 1.0, 1.5, float("nan")])
def test_bad_weight_raises(w):
    with pytest.raises(ValueError, match="smoothing weight"):
        debiased_ema([1.0, 2.0], w)


def test_rejects_2d():
    with pytest.raises(ValueError, match="one-dimensional"):
        debiased_ema(np.zeros((2, 2)), 0.5)


@pytest.mark.parametrize("w", [0.6, 0.9, 0.99, 0.999])
def test_100k_points_match_the_reference(w):
    # many blocks of the vectorised path (w = 0.6: ~450 points each) carried into each other
    x = np.random.default_rng(0).normal(size=100_000).cumsum()
    np.testing.assert_allclose(debiased_ema(x, w), _reference(x.tolist(), w), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("w", [0.0, 0.3, 0.6, 0.9, 0.999])
def test_running_ema_fed_in_chunks_equals_the_whole_series(w):
    from lrstudio.core.smoothing import RunningEMA

    rng = np.random.default_rng(7)
    values = 1.0 / np.arange(1, 3_001) + 0.1 * rng.random(3_000)
    values[[5, 6, 700, 2_999]] = [math.nan, math.inf, -math.inf, math.nan]
    ema = RunningEMA(w)
    cuts = np.sort(rng.choice(np.arange(1, 3_000), size=40, replace=False))
    chunks = np.split(values, cuts)
    got = np.concatenate([ema.extend(c) for c in [np.empty(0), *chunks]])
    np.testing.assert_allclose(got, _reference(values, w), rtol=1e-10, equal_nan=True)
    ema.reset()
    np.testing.assert_allclose(ema.extend(values[:10]), _reference(values[:10], w), rtol=1e-12, equal_nan=True)
    with pytest.raises(ValueError, match="smoothing weight"):
        RunningEMA(1.0)


def test_growing_ema_extends_a_grown_series_and_recomputes_a_changed_one():
    from lrstudio.core.smoothing import GrowingEMA

    rng = np.random.default_rng(3)
    values = rng.random(5000) + 0.1
    values[[10, 2000]] = [np.nan, np.inf]
    ema = GrowingEMA(0.9)
    np.testing.assert_allclose(ema.update(values[:3000]), debiased_ema(values[:3000], 0.9))
    first = ema.smoothed
    np.testing.assert_allclose(ema.update(values), debiased_ema(values, 0.9), rtol=1e-9)
    np.testing.assert_array_equal(ema.smoothed[:3000], first)  # the prefix was kept, not recomputed
    changed = values.copy()
    changed[5] = 7.0
    np.testing.assert_allclose(ema.update(changed), debiased_ema(changed, 0.9), rtol=1e-9)
    assert ema.nbytes == changed.nbytes
