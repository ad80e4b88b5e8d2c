"""The LR range test in the trainer (issue 12): sweep the LR over fresh copies and report it like a run.

Life cycle, as a reporter sees it (the same events as a training run, so the run store, the CLI's
progress line and the GUI record and show it with the code they have)::

    RunStarted -> StepLogged per update of seed 0 -> ... of seed N-1 -> StepLogged per band point
               -> RunFinished (summary.extra["range_test"]: options, suggestions, seeds)

Per seed ``k`` (seed = the run's seed + k) a *fresh* model and optimizer are built (for a
:class:`~lrstudio.core.config.RunConfig`: from the config, as training would; for a user's model:
the model's state, gradients, train/eval flags and torch's RNG are saved first and put back at the
end, and the optimizer comes from ``optimizer_factory``), then update ``i`` sets the LR of every
param group to ``lrs[i]`` (:func:`~lrstudio.core.lr_finder.lr_sequence`), takes one optimizer
step on the next minibatch (the data restart when they run out) and records under the keys

``seed{k}/lr``, ``seed{k}/loss`` (raw training loss), ``seed{k}/smoothed`` (smoothed as the
convention does) and, with ``val_loss``, ``seed{k}/val_loss`` (torch-lr-finder's ``val_loader``
option: the smoothing, the stop and the suggestions then use it).

The seed stops after the update whose smoothed loss exceeds ``diverge_threshold`` x the best one
(or is not finite), as :class:`~lrstudio.core.lr_finder.DivergenceTracker` says. A stop at
divergence is how a range test normally ends: the run's status stays ``completed``. Once every
seed has run, the median curve and its min-max band over the updates every seed reached are
reported as ``lr``, ``loss/median``, ``loss/min``, ``loss/max`` (step = update index + 1, the same
steps as the seeds' series, so a CSV export lines them up), and every suggestion rule's result
(:func:`~lrstudio.core.lr_finder.summarize_seeds`) goes into the summary. A stop request (checked
between updates) ends the run ``stopped``; the band and suggestions then use the seeds that
finished (or the partial first seed when none did).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
import torch

from lrstudio.core.config import RunConfig, check_runnable
from lrstudio.core.datasets import DATASETS, load_dataset
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import (
    COMPLETED,
    FAILED,
    STOPPED,
    Reporter,
    RunFinished,
    RunStarted,
    RunSummary,
    StepLogged,
)
from lrstudio.core.lr_finder import DEFAULTS, DivergenceTracker, RangeTestOptions, summarize_seeds
from lrstudio.core.plan import plan_run
from lrstudio.trainer.loop import _LOSSES, check_device
from lrstudio.trainer.models import build_model
from lrstudio.trainer.optimizers import build_optimizer, clear_grads, lean_step

__all__ = ["BAND_KEYS", "SeedCurve", "range_test", "range_test_model", "seed_keys"]

#: Keys of the band over seeds, reported once every seed has run.
BAND_KEYS = ("lr", "loss/median", "loss/min", "loss/max")
_EVAL_CHUNK = 256


def seed_keys(k: int) -> dict[str, str]:
    """The series keys of seed ``k``: ``lr``, ``loss``, ``smoothed``, ``val_loss``."""
    return {name: f"seed{k}/{name}" for name in ("lr", "loss", "smoothed", "val_loss")}


@dataclass
class SeedCurve:
    """What one seed recorded; ``diverged_at``: index of the update the stop rule fired at."""

    seed: int
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    diverged_at: int | None = None
    finished: bool = False


# A seed's set-up: returns (one training update -> loss, the validation loss or None).
TrainStep = Callable[[], float]
SeedSetup = Callable[[int], tuple[TrainStep, Callable[[], float] | None, list[dict[str, Any]]]]


def _sweep(k: int, seed: int, setup: SeedSetup, lrs: np.ndarray, opts: RangeTestOptions,
           reporter: Reporter, t0: float, done_before: int) -> tuple[SeedCurve, bool]:
    """One seed's sweep; returns its curve and whether a stop was requested."""
    train_step, val_fn, groups = setup(seed)
    tracker = DivergenceTracker(opts.convention, opts.beta, opts.diverge_threshold,
                                stop_on_nonfinite=opts.stop_on_nonfinite)
    keys = seed_keys(k)
    k_lr, k_loss, k_sm, k_val = keys["lr"], keys["loss"], keys["smoothed"], keys["val_loss"]
    curve = SeedCurve(seed)
    emit, should_stop, perf = reporter.emit, reporter.should_stop, time.perf_counter
    for i, lr in enumerate(lrs.tolist()):
        if (i or done_before) and should_stop():
            return curve, True
        for g in groups:
            g["lr"] = lr
        loss = train_step()
        values = {k_lr: lr, k_loss: loss}
        tracked = loss
        if val_fn is not None:
            tracked = val_fn()
            values[k_val] = tracked
            curve.val_losses.append(tracked)
        smoothed, stop = tracker.update(tracked)
        values[k_sm] = smoothed
        curve.lrs.append(lr)
        curve.losses.append(loss)
        curve.smoothed.append(smoothed)
        emit(StepLogged(i + 1, 0, perf() - t0, values))
        if stop:
            curve.diverged_at = i
            break
    curve.finished = True
    return curve, False


def _run_seeds(setup: SeedSetup, opts: RangeTestOptions, reporter: Reporter, info: dict[str, Any],
               base_seed: int) -> RunSummary:
    """RunStarted, every seed's sweep, the band, RunFinished; never raises (like ``loop.train``)."""
    t0 = time.perf_counter()
    started = False
    curves: list[SeedCurve] = []
    prev_threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # as loop.train: never slower for these models on 2 cores
        lrs = opts.lrs()
        seeds = opts.seeds
        reporter.emit(RunStarted(total_steps=len(lrs) * seeds, steps_per_epoch=len(lrs), epochs=seeds,
                                 wall_time=0.0, info={**info, "range_test": opts.to_dict()}))
        started = True
        stopped = False
        done = 0
        for k in range(seeds):
            curve, stopped = _sweep(k, base_seed + k, setup, lrs, opts, reporter, t0, done)
            done += len(curve.lrs)
            curves.append(curve)
            if stopped:
                break
        summary = _summarize(curves, opts, reporter, t0, STOPPED if stopped else COMPLETED)
    except (KeyboardInterrupt, SystemExit):
        if not started:
            reporter.emit(RunStarted(total_steps=0, steps_per_epoch=0, epochs=0, wall_time=0.0))
        reporter.emit(RunFinished(RunSummary(STOPPED, sum(len(c.lrs) for c in curves), 0,
                                             time.perf_counter() - t0, error="interrupted")))
        raise
    except Exception as exc:  # the run ends with RunFinished whatever went wrong
        if not started:
            reporter.emit(RunStarted(total_steps=0, steps_per_epoch=0, epochs=0, wall_time=0.0))
        message = str(exc) if isinstance(exc, LrstudioError) else f"{type(exc).__name__}: {exc}"
        summary = RunSummary(FAILED, sum(len(c.lrs) for c in curves), 0, time.perf_counter() - t0,
                             error=message)
    finally:
        torch.set_num_threads(prev_threads)
    reporter.emit(RunFinished(summary))
    return summary


def _summarize(curves: list[SeedCurve], opts: RangeTestOptions, reporter: Reporter, t0: float,
               status: str) -> RunSummary:
    used = [c for c in curves if c.finished and c.lrs] or [c for c in curves if c.lrs][:1]
    steps = sum(len(c.lrs) for c in curves)
    extra: dict[str, Any] = {
        "range_test": {
            "options": opts.to_dict(),
            "default_rule": DEFAULTS[opts.convention].suggester,
            "band": "minmax",
            "seeds": [c.seed for c in curves],
            "seeds_used": [c.seed for c in used],
            "updates": [len(c.lrs) for c in curves],
            "diverged_at": [c.diverged_at for c in curves],
            "suggestions": [],
        }
    }
    if not used:
        return RunSummary(status, steps, 0, time.perf_counter() - t0, extra=extra)
    band, rules = summarize_seeds([(np.array(c.lrs), np.array(c.smoothed)) for c in used],
                                  cast(int, opts.num_it))
    now = time.perf_counter() - t0
    emit = reporter.emit
    for i in range(band.lrs.size):
        emit(StepLogged(i + 1, 0, now, {"lr": float(band.lrs[i]), "loss/median": float(band.median[i]),
                                         "loss/min": float(band.lo[i]), "loss/max": float(band.hi[i])}))
    extra["range_test"]["suggestions"] = [r.to_dict() for r in rules]
    finite = band.median[np.isfinite(band.median)]
    return RunSummary(
        status, steps, 0, time.perf_counter() - t0,
        final_loss=float(band.median[-1]),
        best_loss=float(finite.min()) if finite.size else None,
        extra=extra,
    )


# -- 1. a run configuration ------------------------------------------------------------------------------
def range_test(config: RunConfig, options: RangeTestOptions, reporter: Reporter, *,
               dataset: Any = None) -> RunSummary:
    """Run the range test of ``options`` on ``config``'s model, data and optimizer.

    The config's model, data set (split with its seed), optimizer (with its parameters and weight
    decay), batch size, clipping and device are used as training would use them; its LR,
    schedule, epochs and max steps are not (the test sets the LR itself). Each seed builds its
    own model and optimizer: nothing is shared with a later training run. Returns the summary;
    failures end the run ``failed`` (never raised), as :func:`lrstudio.trainer.loop.train`.
    """
    holder: dict[str, Any] = {}
    try:
        opts = options.resolved(base_lr=config.lr)
    except Exception as exc:
        return _run_failed(reporter, exc)

    def setup(seed: int) -> tuple[TrainStep, Callable[[], float] | None, list[dict[str, Any]]]:
        if "ds" not in holder:
            _prepare(config, opts, dataset, holder)
        return _config_seed(holder, seed, opts)

    info = {"model": config.model, "dataset": config.dataset.name, "seed": config.seed}
    return _run_seeds(setup, opts, reporter, info, int(config.seed))


def _run_failed(reporter: Reporter, exc: Exception) -> RunSummary:
    message = str(exc) if isinstance(exc, LrstudioError) else f"{type(exc).__name__}: {exc}"
    summary = RunSummary(FAILED, 0, 0, 0.0, error=message)
    reporter.emit(RunStarted(total_steps=0, steps_per_epoch=0, epochs=0, wall_time=0.0))
    reporter.emit(RunFinished(summary))
    return summary


def range_config(config: RunConfig) -> RunConfig:
    """The config the range test checks: the schedule and the run length play no part in it."""
    return replace(config, schedule={"name": "constant", "params": {}}, max_steps=None, epochs=1)


def _prepare(config: RunConfig, options: RangeTestOptions, dataset: Any, holder: dict[str, Any]) -> None:
    cfg = check_runnable(range_config(config))
    check_device(cfg.device)
    ds = dataset if dataset is not None else load_dataset(cfg.dataset, seed=cfg.seed)
    dev = torch.device(cfg.device)
    holder.update(
        cfg=cfg, ds=ds, dev=dev,
        x=torch.from_numpy(ds.x_train).to(dev), y=torch.from_numpy(ds.y_train).to(dev),
        xv=torch.from_numpy(ds.x_val).to(dev), yv=torch.from_numpy(ds.y_val).to(dev),
        batch_size=plan_run(cfg, n_train=ds.n_train).batch_size,
        loss_fn=_LOSSES[DATASETS[cfg.dataset.name].loss],
    )
    if options.val_loss and ds.n_val == 0:
        raise LrstudioError("the validation loss per update needs validation data: set the data set's "
                            "validation fraction above 0, or turn the validation-loss option off")


def _config_seed(h: dict[str, Any], seed: int, opts: RangeTestOptions
                 ) -> tuple[TrainStep, Callable[[], float] | None, list[dict[str, Any]]]:
    cfg: RunConfig = h["cfg"]
    torch.manual_seed(seed)
    model = build_model(cfg, h["ds"]).to(h["dev"])
    params = [p for p in model.parameters() if p.requires_grad]
    opt = build_optimizer(cfg.optimizer, params, cast(float, opts.start_lr), cfg.weight_decay)
    step_opt = lean_step(opt)
    loss_fn = h["loss_fn"]
    x_all, y_all, bs = h["x"], h["y"], h["batch_size"]
    n = x_all.shape[0]
    gen = torch.Generator().manual_seed(seed)
    clip_norm = cfg.clip_value if cfg.clip_mode == "norm" else None
    clip_value = cfg.clip_value if cfg.clip_mode == "value" else None
    state: dict[str, Any] = {"pos": n, "xs": x_all, "ys": y_all}

    def train_step() -> float:
        if bs >= n:
            xb, yb = x_all, y_all
        else:
            if state["pos"] + bs > n:  # a new epoch: one gather, then views (as the training loop)
                perm = torch.randperm(n, generator=gen).to(x_all.device)
                state["xs"], state["ys"], state["pos"] = x_all[perm], y_all[perm], 0
            p = state["pos"]
            xb, yb = state["xs"][p:p + bs], state["ys"][p:p + bs]
            state["pos"] = p + bs
        loss = loss_fn(model(xb), yb)
        clear_grads(params)
        loss.backward()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, clip_norm)
        if clip_value is not None:
            torch.nn.utils.clip_grad_value_(params, clip_value)
        step_opt()
        return float(loss.item())

    val_fn = None
    if opts.val_loss:
        xv, yv = h["xv"], h["yv"]

        def val_fn() -> float:
            with torch.no_grad():
                total = 0.0
                for i in range(0, xv.shape[0], _EVAL_CHUNK):
                    total += float(loss_fn(model(xv[i:i + _EVAL_CHUNK]), yv[i:i + _EVAL_CHUNK],
                                           reduction="sum").item())
            return total / xv.shape[0]

    return train_step, val_fn, opt.param_groups


# -- 2. any torch.nn.Module --------------------------------------------------------------------------------
def _to(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: _to(v, device) for k, v in obj.items()}
    return obj


def _split(batch: Any) -> tuple[Any, Any]:
    if isinstance(batch, (list, tuple)) and len(batch) == 2:
        return batch[0], batch[1]
    if isinstance(batch, dict) and {"inputs", "targets"} <= batch.keys():
        return batch["inputs"], batch["targets"]
    raise LrstudioError("each batch must be an (inputs, targets) pair, as a DataLoader of a "
                        f"TensorDataset gives, or a dict with 'inputs' and 'targets'; got {type(batch).__name__}")


class _Cycle:
    """Batches without end: restarts the iterable when it runs out (torch-lr-finder's
    ``TrainDataLoaderIter`` does the same)."""

    def __init__(self, batches: Iterable[Any], what: str) -> None:
        self._batches = batches
        self._what = what
        self._it: Iterator[Any] = iter(batches)
        self._count = 0

    def next(self) -> Any:
        try:
            batch = next(self._it)
        except StopIteration:
            it = iter(self._batches)
            if it is self._it or self._count == 0:
                raise LrstudioError(
                    f"{self._what} ran out after {self._count} batches; give a re-iterable (a DataLoader, "
                    "a list) or at least num_it batches") from None
            self._it = it
            self._count = 0
            batch = next(self._it)
        self._count += 1
        return batch


def _params_device(model: torch.nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


class ModelSnapshot:
    """A model's tensors, gradients and train/eval flags, and torch's RNG, to put back later.

    ``restore()`` copies the values back *into* the same tensors (``load_state_dict`` copies in
    place), so an optimizer the caller holds still points at the model's parameters.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.grads = [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]
        self.modes = [m.training for m in model.modules()]
        self.rng = torch.get_rng_state()
        self.cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None

    def restore_weights(self) -> None:
        self.model.load_state_dict(self.state)

    def restore(self) -> None:
        self.restore_weights()
        for p, g in zip(self.model.parameters(), self.grads, strict=True):
            p.grad = g
        for m, mode in zip(self.model.modules(), self.modes, strict=True):
            m.training = mode
        torch.set_rng_state(self.rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)


def range_test_model(model: torch.nn.Module, loss_fn: Callable[..., Any], train_loader: Iterable[Any],
                     optimizer_factory: Callable[[Any], torch.optim.Optimizer], options: RangeTestOptions,
                     reporter: Reporter, *, val_loader: Iterable[Any] | None = None,
                     seed: int = 0) -> RunSummary:
    """The range test on any ``torch.nn.Module``; the model is exactly as it was afterwards.

    Each seed starts from the model's state at the call, with a new optimizer from
    ``optimizer_factory(model.parameters())`` and torch's global RNG seeded with ``seed + k`` (a
    shuffling DataLoader and dropout draw from it). Batches are ``(inputs, targets)`` pairs,
    moved to the device of the model's parameters; the loss is ``loss_fn(model(inputs), targets)``.
    ``val_loader`` (with ``options.val_loss``): the mean validation loss after every update,
    computed in eval mode without gradients, as torch-lr-finder's ``_validate``.
    """
    snap = ModelSnapshot(model)
    dev = _params_device(model)
    start_lr = options.start_lr

    def setup(s: int) -> tuple[TrainStep, Callable[[], float] | None, list[dict[str, Any]]]:
        snap.restore_weights()
        for p in model.parameters():
            p.grad = None
        for m, mode in zip(model.modules(), snap.modes, strict=True):
            m.training = mode
        model.train()
        torch.manual_seed(s)
        opt = optimizer_factory(model.parameters())
        if not isinstance(opt, torch.optim.Optimizer):
            raise LrstudioError("optimizer_factory must return a torch.optim.Optimizer, got "
                                f"{type(opt).__name__}")
        batches = _Cycle(train_loader, "train_loader")

        def train_step() -> float:
            inputs, targets = _split(batches.next())
            inputs, targets = _to(inputs, dev), _to(targets, dev)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            opt.step()
            return float(loss.item())

        val_fn = None
        if options.val_loss:
            if val_loader is None:
                raise LrstudioError("options.val_loss needs a val_loader")
            loader = val_loader

            def val_fn() -> float:
                model.eval()
                total, count = 0.0, 0
                with torch.no_grad():
                    for batch in loader:
                        inputs, targets = _split(batch)
                        inputs, targets = _to(inputs, dev), _to(targets, dev)
                        n = len(targets) if hasattr(targets, "__len__") else 1
                        total += float(loss_fn(model(inputs), targets).item()) * n
                        count += n
                model.train()
                if count == 0:
                    raise LrstudioError("val_loader gave no batches")
                return total / count

        return train_step, val_fn, opt.param_groups

    try:
        base = None
        if start_lr is None and options.convention == "torch_lr_finder":
            probe = optimizer_factory(copy.deepcopy(model).parameters())
            base = float(probe.param_groups[0]["lr"])
        opts = options.resolved(base_lr=base)
    except Exception as exc:
        snap.restore()
        return _run_failed(reporter, exc)
    info = {"model": type(model).__name__, "seed": seed,
            "n_parameters": int(sum(p.numel() for p in model.parameters()))}
    try:
        return _run_seeds(setup, opts, reporter, info, seed)
    finally:
        snap.restore()
