"""Curve data for plots without Qt: peak decimation, min/max levels, nearest points (core/series.py)."""

from __future__ import annotations

import numpy as np
import pytest

from lrstudio.core.series import (
    DOWNSAMPLE_FACTOR,
    LEVEL_FIRST_BUCKET,
    CurveLevels,
    GrowingBuffer,
    finite_for_plot,
    nearest_index,
    nice_range,
    peak_decimate,
)


def test_peak_decimate_keeps_each_bucket_min_and_max_in_order():
    rng = np.random.default_rng(3)
    n, bucket = 1003, 16  # the last bucket is shorter
    x = np.arange(n, dtype=float) * 0.5
    y = rng.normal(size=n)
    y[500] = np.nan
    dx, dy = peak_decimate(x, y, bucket)
    assert dx[0] == x[0] and dx[-1] == x[-1] and dy[0] == y[0] and dy[-1] == y[-1]
    assert np.all(np.diff(dx) >= 0)  # original order
    assert len(dx) <= 2 * (n // bucket + 1) + 2
    kept = set(dx.tolist())
    for start in range(0, n, bucket):
        xs, ys = x[start:start + bucket], y[start:start + bucket]
        if np.isnan(ys).any():
            assert np.isnan(dy[(dx >= xs[0]) & (dx <= xs[-1])]).any()  # a gap, as pyqtgraph's peak mode
            continue
        assert xs[np.argmin(ys)] in kept and xs[np.argmax(ys)] in kept
        inside = dy[(dx >= xs[0]) & (dx <= xs[-1])]
        assert inside.min() == ys.min() and inside.max() == ys.max()
    np.testing.assert_array_equal(peak_decimate(x, y, 1)[1], y)


def test_levels_are_built_once_and_chosen_by_pixels_and_visible_range():
    n = 100_000
    x = np.arange(n, dtype=np.int64)
    y = np.sin(x / 500.0)
    levels = CurveLevels(x, y)
    pixels = 1000.0
    bucket = levels.bucket_for(None, pixels)
    # The coarsest level that still has DOWNSAMPLE_FACTOR buckets per pixel.
    assert bucket >= LEVEL_FIRST_BUCKET
    assert n / bucket >= pixels * DOWNSAMPLE_FACTOR
    assert n / (bucket * 2) < pixels * DOWNSAMPLE_FACTOR
    lx, ly = levels.level(bucket)
    assert levels.level(bucket)[0] is lx  # cached: no decimation per paint
    assert lx[0] == 0 and lx[-1] == n - 1 and ly.min() == y.min() and ly.max() == y.max()
    # Zoomed in to 1,000 points over 1,000 pixels: no level qualifies, the full data.
    assert levels.bucket_for((5_000.0, 6_000.0), pixels) == 1
    assert levels.level(1)[1] is levels.y
    # A float range on integer steps (no conversion of the whole array) and huge bounds.
    assert levels.bucket_for((-1e30, 1e30), pixels) == bucket


def test_unordered_x_is_always_drawn_whole():
    levels = CurveLevels(np.array([3.0, 1.0, 2.0] * 10_000), np.zeros(30_000))
    assert not levels.monotonic
    assert levels.bucket_for(None, 10.0) == 1
    assert levels.nearest(1.0) is None


def test_nearest_index_and_the_ends_of_a_curve():
    xs = np.array([0.0, 10.0, 20.0, 30.0])
    assert nearest_index(xs, 14.0) == 1
    assert nearest_index(xs, 15.0) == 1  # a tie goes to the earlier point
    assert nearest_index(xs, 16.0) == 2
    assert nearest_index(xs, 30.2) == 3  # within 1 % of the span past the end
    assert nearest_index(xs, 31.0) is None
    assert nearest_index(xs, -0.5) is None
    assert nearest_index(np.empty(0), 1.0) is None


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinities_become_gaps(value):
    out = finite_for_plot(np.array([1.0, value, 2.0]))
    assert np.isnan(out[1]) and out[0] == 1.0 and out[2] == 2.0
    same = np.array([1.0, np.nan])
    assert finite_for_plot(same) is same


def test_growing_buffer_doubles_and_keeps_data():
    b = GrowingBuffer(capacity=16)
    for i in range(100):
        b.append(i, i / 10, i * 0.5, i * 2.0)
    assert b.n == 100 and b.capacity == 128
    assert np.array_equal(b.y, np.arange(100) * 2.0)
    assert np.array_equal(b.x("wall"), np.arange(100) * 0.5)
    b.extend(np.tile([1.0, 2.0, 3.0, 4.0], (200, 1)))
    assert b.n == 300 and b.capacity == 512 and b.y[-1] == 4.0


def test_nice_range_is_round_and_contains_the_data():
    assert nice_range(np.array([0.13, 0.87]), log=False) == (0.0, 0.9)
    assert nice_range(np.array([3e-4, 2.0, np.nan]), log=True) == (-4.0, 1.0)
    assert nice_range(np.array([-3.0, 7.0]), log=False) == (-10.0, 10.0)
    assert nice_range(np.array([np.nan]), log=False) is None


def test_curve_bounds_and_levels_share_the_extent():
    from lrstudio.core.series import CurveLevels, curve_bounds

    x = np.arange(10)
    y = np.array([3.0, np.nan, -1.0, 0.5, np.inf, 2.0, 0.25, 9.0, 1.0, 4.0])
    assert curve_bounds(x, y) == (0.0, 9.0, -1.0, 9.0, 0.25)
    assert curve_bounds(x, np.full(10, np.nan)) is None
    assert curve_bounds(x, -np.ones(10))[4] != curve_bounds(x, -np.ones(10))[4]  # no positive: NaN
    levels = CurveLevels(np.arange(1000), np.sin(np.arange(1000) / 7.0))
    b = levels.bounds()
    for bucket in (16, 32, 64):
        lx, ly = levels.level(bucket)
        assert (lx.min(), lx.max(), ly.min(), ly.max()) == pytest.approx(b[:4])
