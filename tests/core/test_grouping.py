"""Seed bands (issue 13): 3 seeds x 2 configs grouped "same config except seed", bands vs numpy."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from lrstudio.core.config import RunConfig
from lrstudio.core.grouping import band, group_runs


@dataclass
class FakeRun:
    id: int
    config_dict: dict


def _runs():
    runs = []
    rid = 1
    for lr in (0.01, 0.1):
        for seed in (0, 1, 2):
            cfg = RunConfig(lr=lr, seed=seed, name=f"run {rid}").to_dict()
            runs.append(FakeRun(rid, json.loads(json.dumps(cfg))))
            rid += 1
    return runs


def test_three_seeds_two_configs_group_and_band_match_numpy():
    runs = _runs()
    groups = group_runs(runs)
    assert [g.run_ids for g in groups] == [(1, 2, 3), (4, 5, 6)]
    rng = np.random.default_rng(7)
    steps = np.arange(1, 51)
    curves = {r.id: (steps, rng.normal(size=50).cumsum() + r.id) for r in runs}
    for g in groups:
        b = band([curves[i] for i in g.run_ids])
        ref = np.stack([curves[i][1] for i in g.run_ids])
        np.testing.assert_array_equal(b.step, steps)
        np.testing.assert_allclose(b.mean, ref.mean(axis=0), rtol=0, atol=1e-12)
        np.testing.assert_allclose(b.std, ref.std(axis=0), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(b.min, ref.min(axis=0))
        np.testing.assert_array_equal(b.max, ref.max(axis=0))
        q25, q75 = np.percentile(ref, [25, 75], axis=0)
        np.testing.assert_allclose(b.q25, q25, atol=1e-12)
        np.testing.assert_allclose(b.q75, q75, atol=1e-12)
        lo, hi = b.bounds("std")
        np.testing.assert_allclose(hi - lo, 2 * ref.std(axis=0), atol=1e-12)
        assert (b.count == 3).all()


def test_group_by_chosen_parameter_ignores_the_rest():
    runs = _runs()
    groups = group_runs(runs, by=["seed"])
    assert [g.run_ids for g in groups] == [(1, 4), (2, 5), (3, 6)]
    assert groups[0].params == {"seed": 0}


def test_band_over_ragged_and_diverged_runs_uses_finite_values_only():
    a = (np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0]))
    b = (np.array([1, 2, 3, 4]), np.array([3.0, np.inf, 5.0, 6.0]))
    res = band([a, b])
    np.testing.assert_array_equal(res.step, [1, 2, 3, 4])
    np.testing.assert_array_equal(res.count, [2, 1, 2, 1])
    np.testing.assert_allclose(res.mean, [2.0, 2.0, 4.0, 6.0])
    with pytest.raises(ValueError, match="allowed"):
        res.bounds("nope")


# -- which keys tell the groups apart (the legend's order) ----------------------------------------
def test_telling_keys_put_the_keys_that_split_the_groups_most_evenly_first():
    from lrstudio.core.grouping import telling_keys

    def cfg(lr, sched, n=64, noise=0.1, epochs=4, seed=0):
        return {"model": "linear", "dataset": {"n_samples": n, "noise": noise}, "lr": lr,
                "schedule": {"name": sched}, "epochs": epochs, "seed": seed}

    groups = [[cfg(0.01, "cosine", seed=s) for s in (0, 1)],
              [cfg(0.03, "cosine", seed=s) for s in (0, 1)],
              [cfg(0.1, "constant", seed=s) for s in (0, 1)],
              [cfg(0.3, "constant", n=128, noise=0.5, epochs=8, seed=s) for s in (0, 1)]]
    # lr: a value per group; schedule: two groups each; the rest single out one group (config
    # order among them); seed varies within every group: last.
    assert telling_keys(groups) == ["lr", "schedule.name", "dataset.n_samples", "dataset.noise", "epochs", "seed"]
    assert telling_keys(groups, ignore=("seed",)) == ["lr", "schedule.name", "dataset.n_samples",
                                                      "dataset.noise", "epochs"]


def test_a_key_some_groups_lack_counts_its_absence_as_a_value_and_one_group_tells_nothing():
    from lrstudio.core.grouping import telling_keys

    groups = [[{"a": 1, "b": [1, 2]}], [{"a": 1, "b": [1, 3], "c": True}], [{"a": 2, "b": [1, 3], "c": 1}]]
    # b splits 1/2 like a; c is missing / True / 1 (True is not 1 in a config): a value per group.
    assert telling_keys(groups) == ["c", "a", "b"]
    assert telling_keys([[{"a": 1}, {"a": 2}]]) == ["a"]  # one group: only keys that vary within it
    assert telling_keys([]) == []
