"""LR range test core: each rule against an independent transcription of its source.

The ``_src_*`` functions below are written from the cited source files, as close to their text as
numpy and plain Python allow (torch tensors become numpy arrays or lists); they share no code with
``lrstudio.core.lr_finder``. Where torch is installed, a few tests also run the sources' torch
code (schedulers, ``torch.lerp``, ``torch.gradient``) literally.

Sources: fastai/fastai ``fastai/callback/schedule.py`` and ``fastai/learner.py``;
davidtvs/pytorch-lr-finder ``torch_lr_finder/lr_finder.py``; Lightning-AI/pytorch-lightning
``src/lightning/pytorch/tuner/lr_finder.py``.

torch-lr-finder's transcriptions were checked line by line against the file at commit
76df3050c5554d698cb618e792957873bc878b30 (2025-06-24, the repository's newest): ``range_test``
lines 210-374 (defaults ``start_lr=None`` = the optimizer's LR, ``end_lr=10``, ``num_iter=100``,
``step_mode="exp"``, ``smooth_f=0.05``, ``diverge_th=5``; the LR recorded is
``lr_schedule.get_lr()[0]`` before ``lr_schedule.step()``; the first loss is the best loss as is,
later ones are smoothed then compared), ``plot`` lines 473-574 (``skip_start=10, skip_end=5``,
negative skips raise ``ValueError``, fewer than ``skip_start + skip_end + 2`` points raise
``RuntimeError``, ``skip_end == 0`` keeps the end, ``np.gradient(np.array(losses)).argmin()``
with unit spacing), ``LinearLR`` lines 577-607 and ``ExponentialLR`` lines 610-640
(``num_iter <= 1`` raises; ``r = last_epoch / (num_iter - 1)`` for PyTorch >= 1.1).
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lrstudio.core.lr_finder import (
    DEFAULTS,
    SUGGESTERS,
    Suggestion,
    lr_sequence,
    seed_band,
    smooth_losses,
    stop_index,
    suggest,
    suggestion_spread,
)
from lrstudio.core.params import ParamError

# ------------------------------------------------------------------------------------------
# Transcriptions: LR sequences


def _src_fastai_lrs(start_lr, end_lr, num_it, mode):
    # fastai/callback/schedule.py
    def sched_lin(start, end, pos):
        return start + pos * (end - start)

    def sched_exp(start, end, pos):
        return start * (end / start) ** pos

    f = sched_exp if mode == "exp" else sched_lin
    # LRFinder.before_batch: self._update_val(self.train_iter/self.num_it); after_batch stops once
    # train_iter >= num_it; Recorder records opt.hypers[-1]['lr'].
    lrs = []
    train_iter = 0
    while True:
        lrs.append(f(start_lr, end_lr, train_iter / num_it))
        train_iter += 1
        if train_iter >= num_it:
            break
    return lrs


class _SrcTorchLrFinderSched:
    """torch_lr_finder/lr_finder.py@76df305 ExponentialLR / LinearLR, lines 577-640 (PyTorch >= 1.1)."""

    def __init__(self, start_lr, end_lr, num_iter, mode):
        self.base_lrs = [start_lr]
        self.end_lr = end_lr
        if num_iter <= 1:
            raise ValueError("`num_iter` must be larger than 1")
        self.num_iter = num_iter
        self.mode = mode
        self.last_epoch = 0  # _LRScheduler.__init__ takes the initial step from -1

    def get_lr(self):
        r = self.last_epoch / (self.num_iter - 1)
        if self.mode == "exp":
            return [base_lr * (self.end_lr / base_lr) ** r for base_lr in self.base_lrs]
        return [base_lr + r * (self.end_lr - base_lr) for base_lr in self.base_lrs]

    def step(self):
        self.last_epoch += 1


def _src_torch_lr_finder_lrs(start_lr, end_lr, num_iter, mode):
    lr_schedule = _SrcTorchLrFinderSched(start_lr, end_lr, num_iter, mode)
    history = []
    for _iteration in range(num_iter):
        history.append(lr_schedule.get_lr()[0])  # LRFinder.range_test
        lr_schedule.step()
    return history


class _SrcLightningSched:
    """lightning/pytorch/tuner/lr_finder.py _ExponentialLR / _LinearLR."""

    def __init__(self, start_lr, end_lr, num_iter, mode):
        self.base_lrs = [start_lr]
        self.end_lr = end_lr
        self.num_iter = num_iter
        self.mode = mode
        self.last_epoch = -1
        self.step()  # LRScheduler.__init__ -> _initial_step

    def get_lr(self):
        curr_iter = self.last_epoch + 1
        r = curr_iter / self.num_iter
        if self.last_epoch > 0:
            if self.mode == "exp":
                val = [base_lr * (self.end_lr / base_lr) ** r for base_lr in self.base_lrs]
            else:
                val = [base_lr + r * (self.end_lr - base_lr) for base_lr in self.base_lrs]
        else:
            val = list(self.base_lrs)
        self._lr = val
        return val

    def step(self):
        self.last_epoch += 1
        self.get_lr()


def _src_lightning_lrs(start_lr, end_lr, num_training, mode):
    scheduler = _SrcLightningSched(start_lr, end_lr, num_training, mode)
    lrs = []
    for _ in range(num_training):
        lrs.append(scheduler._lr[0])  # _LRCallback.on_train_batch_start
        scheduler.step()  # interval="step", after the optimizer step
    return lrs


_SRC_LRS = {
    "fastai": _src_fastai_lrs,
    "torch_lr_finder": _src_torch_lr_finder_lrs,
    "lightning": _src_lightning_lrs,
}

# ------------------------------------------------------------------------------------------
# Transcriptions: smoothing and stopping. Each returns (recorded smoothed losses, stopped at)


def _src_fastai_run(raw, beta=0.98, stop_div=True):
    # fastai/learner.py AvgSmoothLoss + Recorder.after_batch; schedule.py LRFinder.after_batch
    def lerp(start, end, weight):  # torch.lerp as ATen computes it (Lerp.h)
        return start + weight * (end - start) if abs(weight) < 0.5 else end - (end - start) * (1 - weight)

    count, val = 0, 0.0
    best_loss = float("inf")
    losses = []
    for i, loss in enumerate(raw):
        count += 1
        val = lerp(loss, val, beta)
        smooth_loss = val / (1 - beta**count)
        losses.append(smooth_loss)
        if smooth_loss < best_loss:
            best_loss = smooth_loss
        if smooth_loss > 4 * best_loss and stop_div:
            return losses, i
    return losses, None


def _src_torch_lr_finder_run(raw, smooth_f=0.05, diverge_th=5):
    # torch_lr_finder/lr_finder.py@76df305 LRFinder.range_test, lines 316-372 (the loss given;
    # with val_loader it is the validation loss)
    if smooth_f < 0 or smooth_f >= 1:
        raise ValueError("smooth_f is outside the range [0, 1[")
    history = {"loss": []}
    best_loss = None
    for iteration, loss in enumerate(raw):
        if iteration == 0:
            best_loss = loss
        else:
            if smooth_f > 0:
                loss = smooth_f * loss + (1 - smooth_f) * history["loss"][-1]
            if loss < best_loss:
                best_loss = loss
        history["loss"].append(loss)
        if loss > diverge_th * best_loss:
            return history["loss"], iteration
    return history["loss"], None


def _src_lightning_run(raw, beta=0.98, early_stop_threshold=4.0):
    # lightning/pytorch/tuner/lr_finder.py _LRCallback.on_train_batch_end; global_step has counted
    # this batch's optimizer step already
    avg_loss, best_loss = 0.0, 0.0
    losses = []
    for i, current_loss in enumerate(raw):
        current_step = i + 1
        avg_loss = beta * avg_loss + (1 - beta) * current_loss
        smoothed_loss = avg_loss / (1 - beta ** (current_step + 1))
        should_stop = (
            early_stop_threshold is not None
            and current_step > 1
            and smoothed_loss > early_stop_threshold * best_loss
        )
        if smoothed_loss < best_loss or current_step == 1:
            best_loss = smoothed_loss
        losses.append(smoothed_loss)
        if should_stop:
            return losses, i
    return losses, None


_SRC_RUN = {
    "fastai": _src_fastai_run,
    "torch_lr_finder": _src_torch_lr_finder_run,
    "lightning": _src_lightning_run,
}

# ------------------------------------------------------------------------------------------
# Transcriptions: suggestions. Each returns (lr, index into the untrimmed curve) or raises
# where the source raises.


def _src_fastai_lr_find_trim(lrs, losses, num_it):
    # schedule.py Learner.lr_find
    lrs, losses = np.array(lrs[num_it // 10 : -5]), np.array(losses[num_it // 10 : -5])
    nan_idxs = np.nonzero(np.isnan(losses.reshape(-1)))[0]
    if len(nan_idxs) > 0:
        drop_idx = min(nan_idxs)
        lrs = lrs[:drop_idx]
        losses = losses[:drop_idx]
    return lrs, losses


def _src_valley(lrs, losses, num_it):
    n = len(losses)
    max_start, max_end = 0, 0

    # find the longest valley
    lds = [1] * n
    for i in range(1, n):
        for j in range(i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]

    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)

    return float(lrs[idx]), (float(lrs[idx]), losses[idx]), idx


def _src_slide(lrs, losses, num_it, lr_diff=15, thresh=0.005, adjust_value=1.0):
    losses = np.asarray(losses)
    loss_grad = np.gradient(losses)

    r_idx = -1
    l_idx = r_idx - lr_diff
    local_min_lr = lrs[l_idx]
    kept = l_idx  # not in the source: which point local_min_lr came from
    while (l_idx >= -len(losses)) and (abs(loss_grad[r_idx] - loss_grad[l_idx]) > thresh):
        local_min_lr = lrs[l_idx]
        kept = l_idx
        r_idx -= 1
        l_idx -= 1

    suggestion = float(local_min_lr) * adjust_value
    idx = np.interp(np.log10(suggestion), np.log10(lrs), losses)
    return suggestion, (suggestion, idx), kept


def _src_minimum(lrs, losses, num_it):
    lr_min = lrs[losses.argmin()].item()
    loss_idx = losses[min(range(len(lrs)), key=lambda i: abs(lrs[i] - lr_min))]
    return lr_min / 10, (lr_min, loss_idx), losses.argmin()


def _src_steep(lrs, losses, num_it):
    grads = (losses[1:] - losses[:-1]) / (np.log(lrs[1:]) - np.log(lrs[:-1]))
    lr_steep = lrs[grads.argmin()].item()
    loss_idx = losses[min(range(len(lrs)), key=lambda i: abs(lrs[i] - lr_steep))]
    return lr_steep, (lr_steep, loss_idx), grads.argmin()


def _src_fastai(func, lrs, losses, num_it=None, **kw):
    num_it = len(lrs) if num_it is None else num_it
    t_lrs, t_losses = _src_fastai_lr_find_trim(list(lrs), list(losses), num_it)
    # on too short curves, indexing and argmin raise here as their torch versions do
    lr, _, idx = func(t_lrs, t_losses, num_it, **kw)
    return lr, num_it // 10 + int(idx) % len(t_losses)


def _src_torch_lr_finder_plot(lrs, losses, skip_start=10, skip_end=5):
    # torch_lr_finder/lr_finder.py@76df305 LRFinder.plot (suggest_lr=True), lines 506-543, 571
    history = {"lr": list(lrs), "loss": list(losses)}
    if skip_start < 0:
        raise ValueError("skip_start cannot be negative")
    if skip_end < 0:
        raise ValueError("skip_end cannot be negative")
    if len(history["lr"]) < (skip_start + skip_end + 2):
        raise RuntimeError(
            f"Need at least {skip_start + skip_end + 2} iterations to suggest a "
            f"learning rate. Got {len(history['lr'])}"
        )
    lrs = history["lr"]
    losses = history["loss"]
    if skip_end == 0:
        lrs = lrs[skip_start:]
        losses = losses[skip_start:]
    else:
        lrs = lrs[skip_start:-skip_end]
        losses = losses[skip_start:-skip_end]
    min_grad_idx = (np.gradient(np.array(losses))).argmin()
    return lrs[min_grad_idx], skip_start + int(min_grad_idx)


def _src_lightning_suggestion(lr_list, loss_list, skip_begin=10, skip_end=1):
    # lightning/pytorch/tuner/lr_finder.py _LRFinder.suggestion; returns None, not raising
    results = {"lr": list(lr_list), "loss": list(loss_list)}
    losses = np.array(results["loss"][skip_begin:-skip_end], dtype=float)
    lrs = np.array(results["lr"][skip_begin:-skip_end], dtype=float)
    is_finite = np.isfinite(losses)
    losses = losses[is_finite]
    lrs = lrs[is_finite]
    if len(losses) < 2:
        return None
    gradients = np.gradient(losses, lrs)
    min_grad = np.argmin(gradients).item()
    all_losses_idx = np.arange(len(results["loss"]))
    idx_non_skipped = all_losses_idx[skip_begin:-skip_end]
    idx_finite = idx_non_skipped[is_finite]
    optimal_idx = idx_finite[min_grad].item()
    return results["lr"][optimal_idx], optimal_idx


def _src_suggest(method, lrs, losses, **kw):
    """(lr, index), or None where the source raises or returns None."""
    with np.errstate(all="ignore"):
        try:
            if method == "torch_lr_finder_steepest":
                return _src_torch_lr_finder_plot(lrs, losses, **kw)
            if method == "lightning_steepest":
                return _src_lightning_suggestion(lrs, losses, **kw)
            func = {"valley": _src_valley, "slide": _src_slide, "minimum": _src_minimum, "steep": _src_steep}[
                method
            ]
            return _src_fastai(func, lrs, losses, **kw)
        except (IndexError, ValueError, RuntimeError):
            return None


# ------------------------------------------------------------------------------------------
# Curves


def _u_curve(seed, n=100, start=1e-7, end=10.0, mode="exp", convention="fastai", diverge=True):
    """A recorded range test: LRs, and the smoothed loss of a noisy U-shaped curve."""
    rng = np.random.default_rng(seed)
    lrs = np.array(_SRC_LRS[convention](start, end, n, mode))
    x = np.log10(lrs)
    raw = 2.3 - 1.8 / (1 + np.exp(-2.0 * (x + 3.5 + rng.normal(0, 0.3)))) + rng.normal(0, 0.08, n)
    if diverge:
        raw = raw + np.exp(3.0 * (x + 0.5))
    smoothed, stopped = _SRC_RUN[convention](list(raw))
    k = len(smoothed)
    return lrs[:k], np.array(smoothed), stopped


def _edge_curves():
    lrs = lr_sequence(1e-7, 10, 100)
    base_lrs, base = _u_curve(3, diverge=False)[:2]
    curves = {
        "flat": (lrs, np.full(100, 1.25)),
        "decreasing": (lrs, np.linspace(3, 1, 100)),
        "increasing": (lrs, np.linspace(1, 3, 100)),
        "nan_tail": (base_lrs, np.concatenate([base[:60], np.full(40, np.nan)])),
        "nan_tail_short": (base_lrs, np.concatenate([base[:8], np.full(92, np.nan)])),
        "inf_tail": (base_lrs, np.concatenate([base[:70], np.full(30, np.inf)])),
        "nan_last": (base_lrs, np.concatenate([base[:99], [np.nan]])),
        "nan_middle": (base_lrs, np.where(np.arange(100) == 40, np.nan, base)),
    }
    for n in range(26):
        curves[f"short_{n}"] = (lrs[:n], base[:n])
    return curves


METHODS = list(SUGGESTERS)

# ------------------------------------------------------------------------------------------
# 1. LR sequences


@pytest.mark.parametrize("convention", ["fastai", "torch_lr_finder", "lightning"])
@pytest.mark.parametrize("mode", ["exp", "linear"])
@pytest.mark.parametrize(
    ("start", "end", "n"), [(1e-7, 10.0, 100), (1e-8, 1.0, 100), (1e-4, 0.5, 6), (0.01, 3.0, 257)]
)
def test_lr_sequence_equals_source_formula(convention, mode, start, end, n):
    got = lr_sequence(start, end, n, mode=mode, convention=convention)
    assert got.dtype == np.float64 and got.shape == (n,)
    np.testing.assert_array_equal(got, np.array(_SRC_LRS[convention](start, end, n, mode)))


def test_lr_sequence_ends_as_each_source_ends():
    fa = lr_sequence(1e-7, 10, 100, convention="fastai")
    tl = lr_sequence(1e-7, 10, 100, convention="torch_lr_finder")
    li = lr_sequence(1e-7, 10, 100, convention="lightning")
    assert fa[0] == tl[0] == li[0] == 1e-7
    assert fa[-1] == pytest.approx(10 * (1e-7 / 10) ** (1 / 100))  # one step short of end_lr
    assert tl[-1] == pytest.approx(10.0, rel=1e-15)
    assert li[-1] == pytest.approx(10.0, rel=1e-15)
    # Lightning skips the position 1/num_it: its second LR is the fastai's third
    assert li[1] == pytest.approx(fa[2], rel=1e-14)


@pytest.mark.parametrize("convention", ["torch_lr_finder", "lightning"])
@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_lr_sequence_matches_the_sources_torch_schedulers(convention, mode):
    torch = pytest.importorskip("torch")
    from torch.optim.lr_scheduler import LRScheduler

    start, end, num_iter = 1e-6, 3.0, 40

    if convention == "torch_lr_finder":

        class Sched(LRScheduler):  # torch_lr_finder/lr_finder.py@76df305 ExponentialLR / LinearLR
            def __init__(self, optimizer, end_lr, num_iter, last_epoch=-1):
                self.end_lr = end_lr
                if num_iter <= 1:
                    raise ValueError("`num_iter` must be larger than 1")
                self.num_iter = num_iter
                super().__init__(optimizer, last_epoch)

            def get_lr(self):
                r = self.last_epoch / (self.num_iter - 1)
                if mode == "exp":
                    return [base_lr * (self.end_lr / base_lr) ** r for base_lr in self.base_lrs]
                return [base_lr + r * (self.end_lr - base_lr) for base_lr in self.base_lrs]

    else:

        class Sched(LRScheduler):  # lightning/pytorch/tuner/lr_finder.py _ExponentialLR / _LinearLR
            def __init__(self, optimizer, end_lr, num_iter, last_epoch=-1):
                self.end_lr = end_lr
                self.num_iter = num_iter
                super().__init__(optimizer, last_epoch)

            def get_lr(self):
                curr_iter = self.last_epoch + 1
                r = curr_iter / self.num_iter
                if self.last_epoch > 0:
                    if mode == "exp":
                        val = [base_lr * (self.end_lr / base_lr) ** r for base_lr in self.base_lrs]
                    else:
                        val = [base_lr + r * (self.end_lr - base_lr) for base_lr in self.base_lrs]
                else:
                    val = list(self.base_lrs)
                self._lr = val
                return val

    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=start)
    sched = Sched(optimizer, end, num_iter)
    used, history = [], []
    for _ in range(num_iter):
        used.append(optimizer.param_groups[0]["lr"])  # the LR the update really uses
        optimizer.step()
        if convention == "torch_lr_finder":
            history.append(sched.get_lr()[0])  # what LRFinder.range_test records (line 356)
        sched.step()
    got = lr_sequence(start, end, num_iter, mode=mode, convention=convention)
    np.testing.assert_array_equal(got, np.array(used))
    if convention == "torch_lr_finder":
        np.testing.assert_array_equal(got, np.array(history))
        with pytest.raises(ValueError, match="larger than 1"):
            Sched(torch.optim.SGD([param], lr=start), end, 1)


def test_torch_lr_finder_convention_follows_its_signatures():
    """torch_lr_finder/lr_finder.py@76df305: range_test(start_lr=None, end_lr=10, num_iter=100,
    step_mode="exp", smooth_f=0.05, diverge_th=5) and plot(skip_start=10, skip_end=5)."""
    import inspect

    from lrstudio.core.lr_finder import RangeTestOptions, torch_lr_finder_steepest

    d = DEFAULTS["torch_lr_finder"]
    assert (d.start_lr, d.end_lr, d.num_it, d.beta, d.threshold) == (None, 10.0, 100, 0.05, 5.0)
    assert d.suggester == "torch_lr_finder_steepest"
    params = inspect.signature(torch_lr_finder_steepest).parameters
    assert (params["skip_start"].default, params["skip_end"].default) == (10, 5)
    # start_lr=None: the optimizer's LR is the start
    r = RangeTestOptions(convention="torch_lr_finder").resolved(base_lr=0.003)
    assert (r.start_lr, r.end_lr, r.num_it, r.mode, r.beta, r.diverge_threshold) == (
        0.003, 10.0, 100, "exp", 0.05, 5.0)
    assert r.lrs()[0] == 0.003 and r.lrs()[-1] == pytest.approx(10.0, rel=1e-15)
    # smooth_f in [0, 1[ (range_test raises ValueError outside it); 0 turns smoothing off
    for bad in (-0.01, 1.0):
        with pytest.raises(ParamError, match="smooth_f"):
            RangeTestOptions(convention="torch_lr_finder", beta=bad).resolved(base_lr=0.003)
        with pytest.raises(ValueError, match="outside the range"):
            _src_torch_lr_finder_run([1.0, 2.0], smooth_f=bad)
    raw = [3.0, 2.0, 2.5, 1.0]
    assert smooth_losses(raw, "torch_lr_finder", beta=0.0).tolist() == raw


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"start_lr": 0.0}, "start_lr = 0.0"),
        ({"start_lr": -1e-3}, "start_lr"),
        ({"end_lr": float("inf")}, "end_lr = inf"),
        ({"end_lr": float("nan")}, "end_lr"),
        ({"start_lr": 1.0, "end_lr": 0.1}, "greater than start_lr"),
        ({"start_lr": 0.1, "end_lr": 0.1}, "greater than start_lr"),
        ({"num_it": 1, "convention": "torch_lr_finder"}, "num_it = 1"),
        ({"num_it": 5}, "integer >= 6"),
        ({"num_it": 10.5}, "num_it"),
        ({"num_it": True}, "num_it"),
        ({"mode": "cosine"}, "'exp' or 'linear'"),
        ({"convention": "keras"}, "'fastai', 'torch_lr_finder', 'lightning'"),
        ({"start_lr": "abc"}, "start_lr = 'abc'"),
    ],
)
def test_lr_sequence_refuses_bad_arguments_with_a_clear_message(kwargs, words):
    args = {"start_lr": 1e-7, "end_lr": 10.0, "num_it": 100} | kwargs
    with pytest.raises(ParamError, match="LR range test") as info:
        lr_sequence(**args)
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


@settings(max_examples=60, deadline=None)
@given(
    start=st.floats(1e-10, 1e3),
    ratio=st.floats(1.0, 1e12),
    n=st.integers(6, 400),
    mode=st.sampled_from(["exp", "linear"]),
    convention=st.sampled_from(["fastai", "torch_lr_finder", "lightning"]),
)
def test_lr_sequence_property(start, ratio, n, mode, convention):
    end = start * ratio
    assume(end > start and math.isfinite(end))
    got = lr_sequence(start, end, n, mode=mode, convention=convention)
    np.testing.assert_array_equal(got, np.array(_SRC_LRS[convention](start, end, n, mode)))
    assert got[0] == start
    assert np.all(np.diff(got) >= 0)
    assert np.all(got <= end * (1 + 1e-12))


# ------------------------------------------------------------------------------------------
# 2. Smoothing and stopping


def _raw_curves():
    rng = np.random.default_rng(7)
    x = np.linspace(-7, 1, 100)
    u = 2.3 - 1.8 / (1 + np.exp(-2 * (x + 3.5))) + np.exp(3 * (x + 0.5))
    return {
        "u_noisy": list(u + rng.normal(0, 0.08, 100)),
        "u_clean": list(u),
        "flat": [1.5] * 50,
        "single": [0.7],
        "nan_mid": [2.0, 1.9, 1.7, float("nan"), 1.2, 1.0],
        "inf_mid": [2.0, 1.9, 1.7, float("inf"), 1.2, 1.0],
        "jump": [1.0] * 10 + [100.0] * 5,
        "negative": [-1.0, -1.2, -0.5],
        "empty": [],
    }


@pytest.mark.parametrize("convention", ["fastai", "torch_lr_finder", "lightning"])
@pytest.mark.parametrize("name", list(_raw_curves()))
def test_smoothing_and_stop_equal_the_sources(convention, name):
    raw = _raw_curves()[name]
    expected, stopped = _SRC_RUN[convention](raw)
    smoothed = smooth_losses(raw, convention)
    # the sources stop; smooth_losses smooths everything given: compare the recorded part
    np.testing.assert_array_equal(smoothed[: len(expected)], np.array(expected, dtype=float))
    assert stop_index(smoothed, convention) == stopped


@pytest.mark.parametrize(
    ("convention", "beta", "threshold"),
    [
        ("fastai", 0.9, 4.0),
        ("fastai", 0.3, 2.0),
        ("lightning", 0.5, 3.0),
        ("torch_lr_finder", 0.0, 5.0),
        ("torch_lr_finder", 0.2, 1.5),
    ],
)
def test_smoothing_and_stop_with_other_parameters(convention, beta, threshold):
    raw = _raw_curves()["u_noisy"]
    if convention == "fastai":
        # fastai has no threshold parameter: transcribe with 4 and compare with 4 below
        expected, stopped = _src_fastai_run(raw, beta=beta)
        threshold = 4.0
    elif convention == "lightning":
        expected, stopped = _src_lightning_run(raw, beta=beta, early_stop_threshold=threshold)
    else:
        expected, stopped = _src_torch_lr_finder_run(raw, smooth_f=beta, diverge_th=threshold)
    smoothed = smooth_losses(raw, convention, beta=beta)
    np.testing.assert_array_equal(smoothed[: len(expected)], np.array(expected))
    assert stop_index(smoothed, convention, threshold=threshold) == stopped


def test_fastai_smoothing_matches_torch_lerp():
    torch = pytest.importorskip("torch")
    raw = _raw_curves()["u_noisy"]
    beta, count, val = 0.98, 0, torch.tensor(0.0, dtype=torch.float64)
    expected = []
    for loss in raw:  # fastai/learner.py AvgSmoothLoss.accumulate / value, in float64
        count += 1
        val = torch.lerp(torch.tensor(loss, dtype=torch.float64), val, beta)
        expected.append((val / (1 - beta**count)).item())
    np.testing.assert_allclose(smooth_losses(raw, "fastai"), expected, rtol=1e-15, atol=0)


def test_smoothing_conventions_differ_as_documented():
    raw = [2.0] * 5
    np.testing.assert_allclose(smooth_losses(raw, "fastai"), raw, rtol=1e-14)  # debiased
    assert smooth_losses(raw, "torch_lr_finder").tolist() == raw  # first value as is
    # Lightning divides by 1 - beta**(global_step + 1) with global_step already 1: loss/(1+beta)
    assert smooth_losses(raw, "lightning")[0] == pytest.approx(2.0 / 1.98)


def test_stop_index_ignores_nan_like_the_sources_unless_asked():
    smoothed = [2.0, 1.5, float("nan"), float("nan")]
    for convention in ("fastai", "torch_lr_finder", "lightning"):
        assert stop_index(smoothed, convention) is None
        assert stop_index(smoothed, convention, stop_on_nonfinite=True) == 2
    assert stop_index([2.0, 1.5, float("inf")], "fastai") == 2


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: smooth_losses([1.0], "fastai", beta=1.0), "beta = 1.0"),
        (lambda: smooth_losses([1.0], "torch_lr_finder", beta=-0.1), "smooth_f = -0.1"),
        (lambda: smooth_losses([[1.0]], "fastai"), "1-D"),
        (lambda: smooth_losses([1.0], "tf"), "convention = 'tf'"),
        (lambda: stop_index([1.0], "fastai", threshold=0), "threshold = 0"),
        (lambda: stop_index([1.0], "fastai", threshold=float("nan")), "threshold = nan"),
    ],
)
def test_smoothing_and_stop_refuse_bad_arguments(call, words):
    with pytest.raises(ParamError) as info:
        call()
    assert words in str(info.value)


@settings(max_examples=80, deadline=None)
@given(
    raw=st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=60),
    convention=st.sampled_from(["fastai", "torch_lr_finder", "lightning"]),
    beta=st.floats(0.0, 0.999),
)
def test_smoothing_and_stop_property(raw, convention, beta):
    if convention == "fastai":
        expected, stopped = _src_fastai_run(raw, beta=beta)
    elif convention == "lightning":
        expected, stopped = _src_lightning_run(raw, beta=beta)
    else:
        expected, stopped = _src_torch_lr_finder_run(raw, smooth_f=beta)
    smoothed = smooth_losses(raw, convention, beta=beta)
    np.testing.assert_array_equal(smoothed[: len(expected)], np.array(expected, dtype=float))
    assert stop_index(smoothed, convention) == stopped


# ------------------------------------------------------------------------------------------
# 3. Suggestions


def _check_against_source(method, lrs, losses, **kw):
    got = suggest(lrs, losses, method, **kw)
    want = _src_suggest(method, lrs, losses, **kw)
    assert isinstance(got, Suggestion) and got.name == method
    if want is None:
        assert got.lr is None and got.index is None and not got.ok
        assert got.reason
    else:
        want_lr, want_idx = want
        assert got.ok and got.reason == ""
        assert got.lr == want_lr
        assert got.index == want_idx
        assert got.lr == (lrs[got.index] / 10 if method == "minimum" else lrs[got.index])
    return got


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("convention", ["fastai", "torch_lr_finder", "lightning"])
@pytest.mark.parametrize("seed", range(6))
def test_suggesters_equal_sources_on_u_curves(method, convention, seed):
    lrs, losses, _ = _u_curve(seed, convention=convention)
    got = _check_against_source(method, lrs, losses)
    assert got.ok


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(3))
def test_suggesters_equal_sources_on_linear_and_undiverged_curves(method, seed):
    lrs, losses, _ = _u_curve(seed, n=150, start=1e-5, end=1.0, mode="linear", convention="torch_lr_finder")
    _check_against_source(method, lrs, losses)
    lrs, losses, _ = _u_curve(seed, diverge=False)
    _check_against_source(method, lrs, losses)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list(_edge_curves()))
def test_suggesters_equal_sources_on_edge_curves(method, name):
    lrs, losses = _edge_curves()[name]
    _check_against_source(method, lrs, losses)


def test_edge_curves_give_the_sources_answers():
    curves = _edge_curves()
    # too short for everybody: a clear "no suggestion", never an exception
    for n in range(6):
        for method in METHODS:
            s = suggest(*curves[f"short_{n}"], method)
            assert not s.ok and s.reason
    # fastai valley: a flat curve gives idx = 0, the first point after trimming; two falling
    # points give idx = -1, which Python reads as the last one
    lrs, losses = curves["flat"]
    assert suggest(lrs, losses).index == 100 // 10
    lrs = lr_sequence(1e-7, 10, 7)
    assert suggest(lrs, [3.0, 2.0, 9, 9, 9, 9, 9], num_it=7).index == 1
    # fastai drops the NaN tail; Lightning drops non-finite points
    lrs, losses = curves["nan_tail"]
    assert suggest(lrs, losses, "minimum").index < 60
    assert suggest(lrs, losses, "lightning_steepest").index < 60
    # torch-lr-finder does not: np.argmin stops at the first NaN gradient, the point before it
    assert suggest(lrs, losses, "torch_lr_finder_steepest").index == 59


@pytest.mark.parametrize(
    ("method", "kw"),
    [
        ("valley", {"num_it": 200}),
        ("valley", {"num_it": 30}),
        ("slide", {"lr_diff": 5, "thresh": 0.01, "adjust_value": 0.5}),
        ("minimum", {"num_it": 300}),
        ("steep", {"num_it": 120}),
        ("torch_lr_finder_steepest", {"skip_start": 0, "skip_end": 0}),
        ("torch_lr_finder_steepest", {"skip_start": 3, "skip_end": 1}),
        ("lightning_steepest", {"skip_begin": 0, "skip_end": 3}),
        ("lightning_steepest", {"skip_begin": 10, "skip_end": 0}),  # [10:-0] is empty: None
    ],
)
@pytest.mark.parametrize("seed", range(3))
def test_suggesters_equal_sources_with_options(method, kw, seed):
    lrs, losses, _ = _u_curve(seed)
    if method == "slide":
        _check_against_source_slide(lrs, losses, **kw)
    else:
        _check_against_source(method, lrs, losses, **kw)


def _check_against_source_slide(lrs, losses, **kw):
    got = suggest(lrs, losses, "slide", **kw)
    with np.errstate(all="ignore"):
        want_lr, want_idx = _src_fastai(_src_slide, lrs, losses, **kw)
    assert got.lr == want_lr and got.index == want_idx


def test_suggesters_match_the_sources_torch_code():
    """fastai and Lightning work on float32 tensors: on float32-exact curves they agree with us."""
    torch = pytest.importorskip("torch")
    for seed in range(4):
        lrs64, losses64, _ = _u_curve(seed)
        lrs = torch.tensor(lrs64.tolist())  # float32, as fastai's ``tensor`` and Lightning do
        losses = torch.tensor(losses64.tolist())
        x, y = lrs.double().numpy(), losses.double().numpy()
        offset = 100 // 10
        t_lrs, t_losses = lrs[offset:-5], losses[offset:-5]
        # fastai steep and minimum, literally
        grads = (t_losses[1:] - t_losses[:-1]) / (t_lrs[1:].log() - t_lrs[:-1].log())
        assert suggest(x, y, "steep", num_it=100).index == offset + grads.argmin().item()
        assert suggest(x, y, "minimum", num_it=100).index == offset + t_losses.argmin().item()
        # Lightning suggestion, literally
        results = {"lr": lrs.tolist(), "loss": losses.tolist()}
        l_losses = torch.tensor(results["loss"][10:-1])
        l_lrs = torch.tensor(results["lr"][10:-1])
        is_finite = torch.isfinite(l_losses)
        gradients = torch.gradient(l_losses[is_finite], spacing=[l_lrs[is_finite]])[0]
        min_grad = torch.argmin(gradients).item()
        idx_finite = torch.arange(len(results["loss"]))[10:-1][is_finite]
        assert suggest(x, y, "lightning_steepest").index == idx_finite[min_grad].item()


@settings(max_examples=120, deadline=None)
@given(
    losses=st.lists(st.floats(0.0, 10.0, allow_nan=False, width=32), min_size=0, max_size=70),
    nan_from=st.one_of(st.none(), st.integers(0, 70)),
    method=st.sampled_from(METHODS),
)
def test_suggesters_property_equal_sources(losses, nan_from, method):
    y = np.array(losses, dtype=float)
    if nan_from is not None:
        assume(nan_from < y.size)
        y[nan_from:] = np.nan
    lrs = lr_sequence(1e-7, 10, max(y.size, 6))[: y.size]
    got = _check_against_source(method, lrs, y)
    if got.ok:
        assert 0 <= got.index < y.size


def test_suggest_refuses_unknown_method_and_option():
    lrs, losses, _ = _u_curve(0)
    with pytest.raises(ParamError, match="method = 'fastest'.*'valley'"):
        suggest(lrs, losses, "fastest")
    with pytest.raises(ParamError, match="no option 'skip_start'.*num_it"):
        suggest(lrs, losses, "valley", skip_start=3)
    with pytest.raises(ParamError, match="skip_start = -1"):
        suggest(lrs, losses, "torch_lr_finder_steepest", skip_start=-1)
    with pytest.raises(ParamError, match="same length"):
        suggest(lrs[:-1], losses)


def test_default_rule_and_registry():
    assert DEFAULTS["fastai"].suggester == "valley"
    for conv in DEFAULTS.values():
        assert conv.suggester in SUGGESTERS
    lrs, losses, _ = _u_curve(1)
    assert suggest(lrs, losses) == SUGGESTERS["valley"](lrs, losses)


# ------------------------------------------------------------------------------------------
# 4. Seeds


@pytest.mark.parametrize("band", ["minmax", "iqr"])
def test_seed_band_equals_numpy(band):
    curves = [_u_curve(seed)[:2] for seed in range(5)]
    n = min(len(c[0]) for c in curves)
    stack = np.array([c[1][:n] for c in curves])
    got = seed_band(curves, band=band)
    np.testing.assert_array_equal(got.lrs, curves[0][0][:n])
    np.testing.assert_array_equal(got.median, np.median(stack, axis=0))
    if band == "minmax":
        np.testing.assert_array_equal(got.lo, stack.min(axis=0))
        np.testing.assert_array_equal(got.hi, stack.max(axis=0))
    else:
        np.testing.assert_array_equal(got.lo, np.percentile(stack, 25, axis=0))
        np.testing.assert_array_equal(got.hi, np.percentile(stack, 75, axis=0))
    lrs, median, lo, hi = got  # unpacks like a tuple
    assert np.all(lo <= median) and np.all(median <= hi)


def test_seed_band_stops_at_the_shortest_curve():
    lrs = lr_sequence(1e-7, 10, 100)
    curves = [(lrs, np.ones(100)), (lrs[:40], np.full(40, 3.0)), (lrs[:70], np.full(70, 2.0))]
    got = seed_band(curves)
    assert got.lrs.size == 40
    np.testing.assert_array_equal(got.median, np.full(40, 2.0))


@settings(max_examples=50, deadline=None)
@given(
    data=st.lists(
        st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=30), min_size=1, max_size=6
    ),
    band=st.sampled_from(["minmax", "iqr"]),
)
def test_seed_band_property(data, band):
    n = min(len(d) for d in data)
    assume(n >= 1)
    lrs = lr_sequence(1e-4, 1.0, 30, convention="torch_lr_finder")
    got = seed_band([(lrs[: len(d)], d) for d in data], band=band)
    stack = np.array([d[:n] for d in data])
    np.testing.assert_array_equal(got.median, np.median(stack, axis=0))
    q = (0, 100) if band == "minmax" else (25, 75)
    np.testing.assert_allclose(got.lo, np.percentile(stack, q[0], axis=0), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.hi, np.percentile(stack, q[1], axis=0), rtol=1e-12, atol=1e-9)


def test_seed_band_refuses_bad_input():
    lrs = lr_sequence(1e-7, 10, 100)
    with pytest.raises(ParamError, match="at least one"):
        seed_band([])
    with pytest.raises(ParamError, match="share their LRs"):
        seed_band([(lrs, np.ones(100)), (lrs * 2, np.ones(100))])
    with pytest.raises(ParamError, match="same length"):
        seed_band([(lrs, np.ones(99))])
    with pytest.raises(ParamError, match="'minmax' or 'iqr'"):
        seed_band([(lrs, np.ones(100))], band="std")


def test_suggestion_spread():
    assert suggestion_spread([1e-3, 2e-3, 2.5e-3]) == (2.5, False)
    ratio, unreliable = suggestion_spread([1e-3, 3.5e-3])
    assert ratio == pytest.approx(3.5) and unreliable
    assert suggestion_spread([1e-3, 3e-3]) == (pytest.approx(3.0), False)  # "more than" 3
    assert suggestion_spread([Suggestion("valley", 1e-3, 4), Suggestion("valley", 1.5e-3, 5)]) == (1.5, False)
    # a seed without a suggestion makes the rule unreliable
    assert suggestion_spread([1e-3, Suggestion("valley", None, None, "too short")]) == (1.0, True)
    r, u = suggestion_spread([None, None])
    assert math.isnan(r) and u
    assert suggestion_spread([1e-3, 5e-3], factor=10) == (pytest.approx(5.0), False)
    with pytest.raises(ParamError, match="suggested lr = 0.0"):
        suggestion_spread([0.0, 1e-3])
    with pytest.raises(ParamError, match="factor = 0.5"):
        suggestion_spread([1e-3], factor=0.5)


@pytest.mark.parametrize("method", METHODS)
def test_spread_over_seeds_of_u_curves_is_finite(method):
    suggestions = [suggest(*_u_curve(seed)[:2], method) for seed in range(3)]
    ratio, _ = suggestion_spread(suggestions)
    assert 1.0 <= ratio < 1e6


# ------------------------------------------------------------------------------------------
# Imports


def test_core_imports_without_torch_or_qt():
    code = (
        "import sys\n"
        "for name in ('torch', 'PySide6', 'pyqtgraph', 'superqt'):\n"
        "    sys.modules[name] = None\n"
        "import lrstudio.core.lr_finder as m\n"
        "print(m.suggest(m.lr_sequence(1e-7, 10, 100), [1.0] * 100).ok)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
