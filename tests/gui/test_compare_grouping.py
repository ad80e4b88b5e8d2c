"""Compare's "Groups" tab (issue 13): runs grouped by config except seed or by a parameter, drawn as
one mean line and band per group, against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from _fixtures_data import add_run
from gui_configs import tiny_config

from lrstudio.gui.palette import run_color_hex


def _three_seeds_two_configs(store):
    ids = {}
    for lr in (0.05, 0.2):
        for seed in (0, 1, 2):
            ids[(lr, seed)] = add_run(store, tiny_config(lr=lr, seed=seed), f"lr{lr} s{seed}", steps=60, seed=seed)
    return ids


def _show_groups(window, qtbot, ids):
    window.runs_panel.refresh()
    window.compare_page.show_runs(list(ids))
    view = window.compare
    window.tabs.setCurrentWidget(window.compare_page)
    groups = window.compare_page.groups
    assert groups is not None
    view.views.setCurrentWidget(groups)
    qtbot.waitUntil(lambda: groups.isVisible() and bool(groups.groups))
    return groups


@pytest.mark.parametrize("kind", ["std", "minmax", "iqr"])
def test_three_seeds_of_two_configs_make_two_bands_equal_to_numpy(window, qtbot, store, kind):
    ids = _three_seeds_two_configs(store)
    groups = _show_groups(window, qtbot, ids.values())
    groups.log_check.setChecked(False)
    groups.set_band(kind)
    assert groups.group_combo.currentText() == "Same config except seed"
    assert len(groups.groups) == 2 and len(groups.band_items) == 2 and len(groups.mean_items) == 2
    for i, lr in enumerate((0.05, 0.2)):
        g = groups.groups[i]
        assert g.run_ids == tuple(ids[(lr, s)] for s in (0, 1, 2))
        assert g.label == f"lr={lr} (n=3)"  # named by what differs between the groups
        loaded = store.load_many(g.run_ids, keys=["val/loss"])
        steps = loaded[g.run_ids[0]]["val/loss"].step
        vals = np.stack([loaded[r]["val/loss"].value for r in g.run_ids])
        mean = vals.mean(axis=0)
        lo, hi = {"std": (mean - vals.std(axis=0), mean + vals.std(axis=0)),
                  "minmax": (vals.min(axis=0), vals.max(axis=0)),
                  "iqr": tuple(np.percentile(vals, [25, 75], axis=0))}[kind]
        x, y = groups.mean_items[i].getData()
        np.testing.assert_array_equal(x, steps)
        np.testing.assert_allclose(y, mean, rtol=1e-12)
        c_lo, c_hi = groups.band_items[i].curves
        np.testing.assert_allclose(c_lo.getData()[1], lo, rtol=1e-12)
        np.testing.assert_allclose(c_hi.getData()[1], hi, rtol=1e-12)
        # A colour per group: its first run's, as Curves draws that run.
        assert groups.mean_items[i].opts["pen"].color().name() == run_color_hex(g.run_ids[0])
        assert not np.array_equal(lo, hi)


def test_group_by_a_chosen_parameter_and_log_scale(window, qtbot, store):
    ids = _three_seeds_two_configs(store)
    groups = _show_groups(window, qtbot, ids.values())
    offered = [groups.group_combo.itemData(i) for i in range(groups.group_combo.count())]
    assert "lr" in offered and "seed" not in offered
    groups.set_grouping("lr")
    assert [g.params for g in groups.groups] == [{"lr": 0.05}, {"lr": 0.2}]
    assert groups.groups[0].label == "lr=0.05 (n=3)"
    # Log scale: the mean is drawn as a plot item (log10 by the plot), the band edges in log10.
    groups.log_check.setChecked(True)
    g = groups.groups[1]
    vals = np.stack([s["val/loss"].value for s in store.load_many(g.run_ids, keys=["val/loss"]).values()])
    np.testing.assert_allclose(groups.mean_items[1].getData()[1], np.log10(vals.mean(axis=0)), rtol=1e-12)
    np.testing.assert_allclose(groups.band_items[1].curves[1].getData()[1],
                               np.log10(vals.mean(axis=0) + vals.std(axis=0)), rtol=1e-12)
    # The training loss is another choice of curve; a lone run is a mean without a band.
    groups.set_curve("train/loss")
    assert len(groups.groups) == 2
    window.compare_page.show_runs([ids[(0.05, 0)]])
    assert len(groups.mean_items) == 1 and groups.band_items == []
    with pytest.raises(ValueError, match="cannot group by"):
        groups.set_grouping("no.such.param")


def test_a_group_of_one_run_has_its_colour_and_the_legend_names_only_what_the_run_has(window, qtbot, store):
    # The same run got different colours in Groups and Curves; the legend read
    # "momentum=None name=adam" for an Adam run (a key it lacks, the optimizer's name as "name").
    sgd = [add_run(store, tiny_config(optimizer={"name": "sgd", "params": {"momentum": 0.9}}, seed=s),
                   f"sgd s{s}", steps=60, seed=s) for s in (0, 1)]
    adam = add_run(store, tiny_config(optimizer={"name": "adam", "params": {}}, seed=0), "adam", steps=60, seed=0)
    groups = _show_groups(window, qtbot, [*sgd, adam])
    by_ids = {g.run_ids: (g, item) for g, item in zip(groups.groups, groups.mean_items, strict=True)}
    g_adam, item = by_ids[(adam,)]
    assert item.opts["pen"].color().name() == run_color_hex(adam)
    assert "optimizer=adam" in g_adam.label and "None" not in g_adam.label and "name=" not in g_adam.label
    g_sgd, _item = by_ids[tuple(sgd)]
    assert "optimizer=sgd" in g_sgd.label and "momentum=0.9" in g_sgd.label
    colours = [i.opts["pen"].color().name() for i in groups.mean_items]
    assert len(set(colours)) == len(colours)


def test_each_group_s_legend_names_four_keys_it_has():
    # The tour: beside a run of the user's code (flat "optimizer" and "batch" keys), the linear
    # runs read "lr=0.01 model=linear …": the keys they lack came first and left two slots empty.
    from types import SimpleNamespace

    from lrstudio.core.grouping import RunGroup
    from lrstudio.gui.compare.grouping import _labelled

    configs = {
        1: {"lr": 0.1, "batch": 128, "optimizer": "sgd", "model": "resnet18"},
        2: tiny_config(lr=0.01, optimizer={"name": "adam", "params": {}}).to_dict(),
        3: tiny_config(lr=0.03, schedule={"name": "cosine", "params": {}}).to_dict(),
    }
    groups = [RunGroup(str(i), "x", (i,), {}) for i in configs]
    infos = {i: SimpleNamespace(config_dict=c) for i, c in configs.items()}
    labels = {g.run_ids[0]: g.label for g in _labelled(groups, infos)}
    # The keys that tell the groups apart first (lr: a value per group).
    assert labels[1].startswith("lr=0.1 ")
    assert set(labels[1].split(" (n=")[0].split()) == {"lr=0.1", "optimizer=sgd", "batch=128", "model=resnet18"}
    for rid in (2, 3):  # four keys each (there are more: "…"), none of them one the run lacks
        named = labels[rid].split(" (n=")[0]
        assert named.startswith(f"lr={configs[rid]['lr']:.4g} optimizer=") and named.count("=") == 4, named
        assert named.endswith(" …")
    assert "None" not in " ".join(labels.values())


def test_the_legend_names_the_keys_that_tell_the_groups_apart_first(window, qtbot, store):
    # A sweep of lr (a value per group) and schedule (two groups each), one group with another data
    # set size, epochs and weight decay: the legend named the first four differing keys in config
    # order ("n_samples=64 lr=0.01 schedule=cosine epochs=4 …"), so the lr came second and the
    # schedule could fall off; now the keys that split the groups most evenly come first.
    from lrstudio.core.config import DatasetConfig

    def cfg(lr, sched, seed, n=64, epochs=4, wd=0.0):
        return tiny_config(lr=lr, schedule={"name": sched, "params": {}}, seed=seed, epochs=epochs,
                           weight_decay=wd, dataset=DatasetConfig(name="synthetic", n_samples=n, val_fraction=0.25))

    ids = []
    for lr, sched, extra in ((0.01, "cosine", {}), (0.03, "cosine", {}), (0.1, "constant", {}),
                             (0.3, "constant", {"n": 128, "epochs": 8, "wd": 0.01})):
        ids += [add_run(store, cfg(lr, sched, s, **extra), f"lr{lr} s{s}", steps=40, seed=s) for s in (0, 1)]
    groups = _show_groups(window, qtbot, ids)
    labels = [g.label for g in groups.groups]
    assert labels[0] == "lr=0.01 schedule=cosine n_samples=64 epochs=4 … (n=2)", labels
    assert labels[3] == "lr=0.3 schedule=constant n_samples=128 epochs=8 … (n=2)", labels
    legend = groups.plot.getPlotItem().legend
    assert [label.text for _sample, label in legend.items] == labels  # what the user reads
