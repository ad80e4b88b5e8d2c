"""LR range test core, part 2: the incremental tracker, the options and the seeds' summary."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrstudio.core.lr_finder import (
    DEFAULTS,
    SUGGESTERS,
    DivergenceTracker,
    RangeTestOptions,
    RuleResult,
    lr_sequence,
    seed_band,
    smooth_losses,
    stop_index,
    suggest,
    summarize_seeds,
)
from lrstudio.core.params import ParamError

_losses = st.lists(
    st.one_of(st.floats(0.0, 1e3), st.sampled_from([math.nan, math.inf])), min_size=1, max_size=60
)


@settings(max_examples=150, deadline=None)
@given(raw=_losses, convention=st.sampled_from(["fastai", "torch_lr_finder", "lightning"]),
       beta=st.sampled_from([None, 0.0, 0.3, 0.9]), threshold=st.sampled_from([None, 1.5, 4.0]),
       nonfinite=st.booleans())
def test_tracker_equals_smooth_losses_and_stop_index(raw, convention, beta, threshold, nonfinite):
    tracker = DivergenceTracker(convention, beta, threshold, stop_on_nonfinite=nonfinite)
    got, stop_at = [], None
    for i, loss in enumerate(raw):
        s, stop = tracker.update(loss)
        got.append(s)
        if stop:
            stop_at = i
            break
    want = smooth_losses(raw, convention, beta)
    want_stop = stop_index(want, convention, threshold, stop_on_nonfinite=nonfinite)
    assert stop_at == want_stop
    n = len(got)
    np.testing.assert_array_equal(np.array(got), want[:n])


def test_options_resolve_each_conventions_defaults():
    r = RangeTestOptions().resolved()
    assert (r.start_lr, r.end_lr, r.num_it, r.beta, r.diverge_threshold, r.seeds) == (1e-7, 10.0, 100, 0.98, 4.0, 3)
    r = RangeTestOptions(convention="lightning").resolved()
    assert (r.start_lr, r.end_lr, r.diverge_threshold) == (1e-8, 1.0, 4.0)
    r = RangeTestOptions(convention="torch_lr_finder").resolved(base_lr=0.01)
    assert (r.start_lr, r.end_lr, r.beta, r.diverge_threshold) == (0.01, 10.0, 0.05, 5.0)
    with pytest.raises(ParamError, match="start_lr"):
        RangeTestOptions(convention="torch_lr_finder").resolved()
    assert RangeTestOptions.from_dict(r.to_dict()) == r


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"start_lr": -1.0}, "start_lr"),
    ({"start_lr": 1.0, "end_lr": 0.5}, "end_lr"),
    ({"num_it": 3}, "num_it"),
    ({"mode": "cosine"}, "mode"),
    ({"seeds": 0}, "seeds"),
    ({"seeds": 1000}, "seeds"),
    ({"beta": 1.0}, "beta"),
    ({"diverge_threshold": 0.0}, "diverge_threshold"),
    ({"convention": "keras"}, "convention"),
])
def test_options_refuse_bad_values_naming_them(kwargs, words):
    with pytest.raises(ParamError, match=words):
        RangeTestOptions(**kwargs).resolved()


def test_options_from_dict_refuses_unknown_keys():
    with pytest.raises(ParamError, match="no option 'lr_max'"):
        RangeTestOptions.from_dict({"lr_max": 1})


def _curve(seed, n=100):
    lrs = lr_sequence(1e-7, 10.0, n)
    x = np.log10(lrs)
    rng = np.random.default_rng(seed)
    raw = 2.3 - 2.0 / (1 + np.exp(-(x + 3) * 2)) + np.exp(np.clip(x, None, 2)) * 0.5 + rng.normal(0, 0.02, n)
    return lrs, smooth_losses(raw)


def test_summarize_one_seed_equals_the_rules_themselves():
    lrs, sm = _curve(0)
    band, results = summarize_seeds([(lrs, sm)], 100)
    np.testing.assert_array_equal(band.median, sm)
    assert [r.name for r in results] == list(SUGGESTERS)
    for r in results:
        opts = {"num_it": 100} if r.name in ("valley", "slide", "minimum", "steep") else {}
        s = suggest(lrs, sm, r.name, **opts)
        assert (r.lr, r.index) == (s.lr, s.index)
        assert r.seed_lrs == (s.lr,)
        assert r.spread == 1.0 and r.reliable
        assert RuleResult.from_dict(r.to_dict()) == r


def test_summarize_seeds_uses_the_median_curve_and_flags_disagreement():
    curves = [_curve(s) for s in range(3)]
    band, results = summarize_seeds(curves, 100)
    want = seed_band(curves)
    np.testing.assert_array_equal(band.median, want.median)
    valley = next(r for r in results if r.name == "valley")
    assert valley.lr == suggest(want.lrs, want.median, "valley", num_it=100).lr
    assert len(valley.seed_lrs) == 3
    ratio = max(valley.seed_lrs) / min(valley.seed_lrs)
    assert valley.spread == pytest.approx(ratio)
    assert valley.reliable == (ratio <= 3)
    # A seed that has no suggestion (too short after fastai's trimming) makes the rule unreliable.
    short = (curves[0][0][:12], curves[0][1][:12])
    _, results = summarize_seeds([curves[1], short], 100)
    valley = next(r for r in results if r.name == "valley")
    assert valley.seed_lrs[1] is None and not valley.reliable


def test_defaults_table_unchanged():
    assert DEFAULTS["fastai"].suggester == "valley"
