"""The LR range test in the trainer: events, conventions, fresh copies, stop, a user's model."""

from __future__ import annotations

import copy
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.events import ListReporter, RunFinished, RunStarted, StepLogged
from lrstudio.core.lr_finder import (
    SUGGESTERS,
    RangeTestOptions,
    lr_sequence,
    seed_band,
    smooth_losses,
    stop_index,
    suggest,
    summarize_seeds,
)
from lrstudio.trainer.loop import train
from lrstudio.trainer.range_test import range_test, range_test_model, seed_keys

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from test_lr_finder import _src_suggest  # the independent transcriptions of the sources


def windsor(**kw) -> RunConfig:
    return RunConfig(model="linear", dataset=DatasetConfig(name="windsor"), optimizer={"name": "sgd"},
                     batch_size=32, **kw)


def digits(**kw) -> RunConfig:
    return RunConfig(model="cnn", dataset=DatasetConfig(name="digits"), optimizer={"name": "adam"},
                     batch_size=32, **kw)


def series(rep: ListReporter, key: str) -> list[float]:
    return [e.values[key] for e in rep.steps() if key in e.values]


@pytest.mark.parametrize("convention", ["fastai", "torch_lr_finder", "lightning"])
@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_each_seed_records_the_conventions_lrs_smoothing_and_stop(convention, mode):
    opts = RangeTestOptions(convention=convention, mode=mode, num_it=60, seeds=2, end_lr=10.0)
    rep = ListReporter()
    s = range_test(windsor(lr=1e-4), opts, rep)
    assert s.status == "completed", s.error
    ev = rep.events
    assert isinstance(ev[0], RunStarted) and isinstance(ev[-1], RunFinished)
    r = opts.resolved(base_lr=1e-4)
    want_lrs = lr_sequence(r.start_lr, r.end_lr, 60, mode, convention)
    curves = []
    for k in range(2):
        keys = seed_keys(k)
        lrs, raw, sm = (np.array(series(rep, keys[n])) for n in ("lr", "loss", "smoothed"))
        n = lrs.size
        np.testing.assert_array_equal(lrs, want_lrs[:n])
        np.testing.assert_array_equal(sm, smooth_losses(raw, convention))
        stop = stop_index(sm, convention, stop_on_nonfinite=True)
        assert n == (60 if stop is None else stop + 1)
        assert s.extra["range_test"]["diverged_at"][k] == stop
        curves.append((lrs, sm))
    band = seed_band(curves)
    np.testing.assert_array_equal(series(rep, "loss/median"), band.median)
    np.testing.assert_array_equal(series(rep, "loss/min"), band.lo)
    np.testing.assert_array_equal(series(rep, "lr"), band.lrs)
    _, rules = summarize_seeds(curves, 60)
    assert s.extra["range_test"]["suggestions"] == [x.to_dict() for x in rules]


def _recorded_curves():
    """Curves recorded by real range tests, and the same with a NaN tail and cut very short."""
    unscaled = RunConfig(model="linear", dataset=DatasetConfig(name="synthetic", unscaled=True),
                         optimizer={"name": "sgd"}, batch_size=16)
    runs = [(windsor(), RangeTestOptions(seeds=1)), (digits(), RangeTestOptions(seeds=1)),
            # diverges to inf: recorded up to the update whose smoothed loss is inf
            (unscaled, RangeTestOptions(seeds=1, start_lr=1e-9, end_lr=1.0, diverge_threshold=1e300,
                                        stop_on_nonfinite=False))]
    for cfg, opts in runs:
        rep = ListReporter()
        s = range_test(cfg, opts, rep)
        assert s.status == "completed"
        lrs = np.array(series(rep, "seed0/lr"))
        sm = np.array(series(rep, "seed0/smoothed"))
        yield lrs, sm
        nan_tail = sm.copy()
        nan_tail[len(sm) * 2 // 3:] = np.nan
        yield lrs, nan_tail
        yield lrs[:12], sm[:12]


def test_suggesters_equal_the_sources_on_recorded_curves():
    """Issue 12 acceptance: each rule equals its source's transcription on recorded curves (and on
    them with a NaN tail, cut very short, and one that diverged to inf)."""
    checked = 0
    for lrs, sm in _recorded_curves():
        for method in SUGGESTERS:
            kw = {"num_it": 100} if method in ("valley", "slide", "minimum", "steep") else {}
            got = suggest(lrs, sm, method, **kw)
            want = _src_suggest(method, lrs, sm, **kw)
            if want is None:  # the source raises or returns None: a clear "no suggestion" here
                assert got.lr is None and got.reason, method
            else:
                assert (got.lr, got.index) == pytest.approx(want), method
                checked += 1
    assert checked >= 30


def test_the_next_training_run_is_unchanged():
    cfg = windsor(lr=0.01, max_steps=30)
    before = ListReporter()
    train(cfg, before)
    range_test(cfg, RangeTestOptions(seeds=2, num_it=40), ListReporter())
    after = ListReporter()
    train(cfg, after)
    assert before.series("train/loss") == after.series("train/loss")


def test_seeds_differ_and_a_test_is_reproducible():
    a, b = ListReporter(), ListReporter()
    range_test(digits(), RangeTestOptions(seeds=2, num_it=20), a)
    range_test(digits(), RangeTestOptions(seeds=2, num_it=20), b)
    assert series(a, "seed0/loss") == series(b, "seed0/loss")
    assert series(a, "seed0/loss") != series(a, "seed1/loss")


def test_stop_between_updates_ends_stopped_with_what_ran():
    rep = ListReporter(stop_after_steps=7)
    s = range_test(windsor(), RangeTestOptions(seeds=3), rep)
    assert s.status == "stopped"
    assert len(series(rep, "seed0/loss")) == 7 and not series(rep, "seed1/loss")
    assert s.extra["range_test"]["seeds_used"] == [0]  # the partial first seed
    assert len(series(rep, "loss/median")) == 7


def test_validation_loss_per_update_is_what_is_smoothed():
    rep = ListReporter()
    s = range_test(windsor(), RangeTestOptions(seeds=1, num_it=30, val_loss=True), rep)
    assert s.status == "completed"
    val = series(rep, "seed0/val_loss")
    assert len(val) == len(series(rep, "seed0/loss")) > 0
    np.testing.assert_array_equal(series(rep, "seed0/smoothed"), smooth_losses(val))
    assert val != series(rep, "seed0/loss")


def test_bad_options_end_the_run_failed_with_a_clear_message():
    rep = ListReporter()
    s = range_test(windsor(), RangeTestOptions(start_lr=1.0, end_lr=0.1), rep)
    assert s.status == "failed" and "end_lr" in s.error
    assert isinstance(rep.events[0], RunStarted) and isinstance(rep.events[-1], RunFinished)
    s = range_test(RunConfig(model="cnn", dataset=DatasetConfig(name="windsor")), RangeTestOptions(), ListReporter())
    assert s.status == "failed" and "model" in s.error


def test_the_schedule_and_run_length_play_no_part():
    # A warm-up longer than the run would stop `train`; the range test ignores the schedule.
    cfg = windsor(max_steps=5, schedule={"name": "linear_warmup", "params": {"warmup_steps": 50}})
    s = range_test(cfg, RangeTestOptions(seeds=1, num_it=20), ListReporter())
    assert s.status == "completed", s.error


# -- a user's model ------------------------------------------------------------------------------------
class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 1))

    def forward(self, x):
        return self.body(x)


def _loader(seed=0, n=64, bs=16):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1 * torch.randn(n, 1, generator=g)
    ds = torch.utils.data.TensorDataset(x, y)
    return torch.utils.data.DataLoader(ds, batch_size=bs, shuffle=True)


def _all_tensors(model, opt):
    out = {f"model.{k}": v.clone() for k, v in model.state_dict().items()}
    for i, p in enumerate(model.parameters()):
        out[f"grad.{i}"] = None if p.grad is None else p.grad.clone()
    sd = copy.deepcopy(opt.state_dict())
    for pid, st in sd["state"].items():
        for k, v in st.items():
            out[f"opt.{pid}.{k}"] = v
    out["opt.groups"] = sd["param_groups"]
    out["rng"] = torch.get_rng_state()
    out["modes"] = [m.training for m in model.modules()]
    return out


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, torch.Tensor):
            assert torch.equal(x, y), k
        else:
            assert x == y, k


def test_a_users_model_and_optimizer_are_exactly_as_before():
    torch.manual_seed(1)
    model = _Net()
    loader = _loader()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for xb, yb in loader:  # some optimizer state, BatchNorm statistics and gradients to keep
        opt.zero_grad()
        nn.functional.mse_loss(model(xb), yb).backward()
        opt.step()
    model.eval()
    before = _all_tensors(model, opt)
    rep = ListReporter()
    s = range_test_model(model, nn.functional.mse_loss, loader,
                         lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                         RangeTestOptions(seeds=2, num_it=30), rep)
    assert s.status == "completed", s.error
    assert len(series(rep, "seed1/loss")) > 0
    _assert_same(before, _all_tensors(model, opt))
    assert not model.training


def test_a_users_model_restored_after_a_failure_too():
    model = _Net()
    before = {k: v.clone() for k, v in model.state_dict().items()}

    def bad_loss(out, y):
        raise RuntimeError("boom")

    s = range_test_model(model, bad_loss, _loader(), lambda p: torch.optim.SGD(p, lr=0.1),
                         RangeTestOptions(seeds=1, num_it=10), ListReporter())
    assert s.status == "failed" and "boom" in s.error
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_a_users_model_with_a_one_shot_iterator_says_what_to_give():
    model = _Net()
    batches = iter(list(_loader()))  # 4 batches, not re-iterable
    s = range_test_model(model, nn.functional.mse_loss, batches, lambda p: torch.optim.SGD(p, lr=0.1),
                         RangeTestOptions(seeds=1, num_it=10), ListReporter())
    assert s.status == "failed" and "re-iterable" in s.error


def test_a_users_model_val_loader_and_torch_lr_finder_start():
    model = _Net()
    rep = ListReporter()
    s = range_test_model(model, nn.functional.mse_loss, _loader(), lambda p: torch.optim.SGD(p, lr=1e-3),
                         RangeTestOptions(seeds=1, num_it=20, convention="torch_lr_finder", val_loss=True),
                         rep, val_loader=_loader(1))
    assert s.status == "completed", s.error
    assert series(rep, "seed0/lr")[0] == 1e-3  # from the optimizer's LR, as torch-lr-finder
    assert len(series(rep, "seed0/val_loss")) == len(series(rep, "seed0/lr"))
    assert all(math.isfinite(v) for v in series(rep, "seed0/val_loss")[:5])
    steps = [e for e in rep.events if isinstance(e, StepLogged)]
    assert steps


def test_a_users_model_val_loss_is_torch_lr_finders_validate():
    """torch_lr_finder/lr_finder.py@76df305 (lines 343-353, 393-436, 455-471): train on one batch
    (model.train()), then ``_validate``: model.eval(), no_grad, sum of loss.item() * len(labels)
    over the val loader / len(dataset). The first recorded val loss must be exactly that."""
    torch.manual_seed(3)
    model = _Net()
    twin = copy.deepcopy(model)
    train_loader, val_loader = _loader(0), _loader(1, n=40, bs=16)  # a last batch of 8
    rep = ListReporter()
    s = range_test_model(model, nn.functional.mse_loss, train_loader, lambda p: torch.optim.SGD(p, lr=1e-3),
                         RangeTestOptions(seeds=1, num_it=10, convention="torch_lr_finder", val_loss=True),
                         rep, val_loader=val_loader, seed=0)
    assert s.status == "completed", s.error
    torch.manual_seed(0)
    optimizer = torch.optim.SGD(twin.parameters(), lr=1e-3)
    train_iter = iter(train_loader)
    twin.train()  # _train_batch
    optimizer.zero_grad()
    inputs, labels = next(train_iter)
    loss = nn.functional.mse_loss(twin(inputs), labels)
    loss.backward()
    optimizer.step()
    running_loss = 0  # _validate
    twin.eval()
    with torch.no_grad():
        for inputs, labels in val_loader:
            running_loss += nn.functional.mse_loss(twin(inputs), labels).item() * len(labels)
    want = running_loss / len(val_loader.dataset)
    assert series(rep, "seed0/val_loss")[0] == pytest.approx(want, rel=1e-12)
    assert series(rep, "seed0/smoothed")[0] == series(rep, "seed0/val_loss")[0]  # the first as is
