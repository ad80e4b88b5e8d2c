"""The training loop shared by the GUI worker, the CLI and the tests (imports torch).

``train(config, reporter)`` runs one run from start to end and tells the reporter about it::

    RunStarted -> (StepLogged per optimizer step, EpochLogged per epoch)* -> RunFinished

``RunStarted`` is always the first event and ``RunFinished`` always the last, whatever happens in
between: the run completes, the reporter asks to stop (checked between steps; the run ends
``stopped`` with every step so far reported), the loss becomes non-finite or exceeds
``divergence_factor`` times the first loss (``diverged``, at the step where it happened, with the
NaN/inf values reported as they are), or an exception is raised (``failed`` with its message).

The per-step path is the hot path: a bare full-batch linear regression on Windsor takes 100-400 µs
a step (machine-dependent), so everything added per step is counted in microseconds: one small
dict and one frozen event per step, one ``.item()`` on the loss, a running (not re-evaluated)
training accuracy for classifiers, the optimizer's undecorated step
(:func:`~lrstudio.trainer.optimizers.lean_step`). ``bench/bench_engine.py`` measures the cost
against a bare loop.

Cadences (issue 11, run options of :class:`~lrstudio.core.config.RunConfig`):

* ``grad_norm_every`` (default 10): the total gradient norm (one fused ``_foreach_norm``, one
  ``vector_norm`` over the stacked norms, one sync: torch's own ``clip_grad_norm_`` arithmetic) is
  computed and recorded at steps 1, 1+k, 1+2k... and at the last step; with ``clip_mode="norm"``
  it is needed, so computed and recorded at every step. The ``grad/norm`` series is sparser then.
* ``val_every``: ``k`` > 0 validates after every k-th epoch; ``0`` (the default, "auto") validates
  after the first epoch, after the last one, and after any epoch that ends at least
  :func:`auto_val_gap` steps after the last validation: at most every epoch and at most ~1 % of
  the wall time. The gap is the larger of :data:`AUTO_VAL_STEPS` (200) and the number of steps
  whose cost is a hundred validation passes, a pass over ``n_val`` rows costing about
  ``n_val / (3 * batch)`` steps (forward only, against forward and backward of a batch). A
  full-batch run (one step an epoch) validated every step spent 15-20 % of its time on it; the
  CNN on digits validated every epoch (every ~18 steps) ran at 0.94 of a bare loop, every 9th
  epoch at 1.05 (``bench/bench_engine.py``). An MNIST epoch (938 steps of 64) is validated about
  every 6th epoch. A metric-driven schedule (``reduce_on_plateau``) with validation data is
  validated after every epoch under "auto", since its LR depends on it. Which epochs are
  validated depends on the config and the data set's size only (never on timings), so runs stay
  reproducible.
* ``EpochLogged`` is sent for every epoch of a minibatch run; for a full-batch run (one step an
  epoch, where ``train/loss_epoch`` repeats the step's ``train/loss``) only for validated epochs.

Before issue 11 every epoch was validated and the gradient norm recorded at every step; those
configs (``val_every`` and ``grad_norm_every`` absent) load with the defaults above: their
loss and LR series are computed exactly as before, their validation and gradient-norm series are
sparser. ``val_every=1, grad_norm_every=1`` records what they recorded. With ``freeze_heap`` (the
default), objects alive at the start are frozen (``gc.freeze``) so collections during the run stay
cheap, and unfrozen at the end.

Statuses: ``completed`` (the planned steps ran), ``stopped`` (the reporter asked), ``diverged``
(``diverged_step`` is the step whose loss tripped the rule), ``failed`` (``error`` holds the
message; :class:`~lrstudio.core.errors.LrstudioError` messages are shown as they are, other
exceptions as ``Type: message``).

Determinism: the global torch RNG is seeded from ``config.seed`` before the model is built, the
split is seeded numpy, and minibatch order comes from a dedicated seeded ``torch.Generator``; with
one intra-op thread (set here) the same config gives bit-identical curves on CPU.
"""

from __future__ import annotations

import copy
import gc
import math
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from lrstudio.core.config import RunConfig, check_runnable
from lrstudio.core.datasets import DATASETS, known_train_size, load_dataset
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import (
    COMPLETED,
    DIVERGED,
    FAILED,
    STOPPED,
    EpochLogged,
    Reporter,
    RunFinished,
    RunStarted,
    RunSummary,
    StepLogged,
)
from lrstudio.core.metrics import (
    GRAD_NORM,
    LR,
    LR_PLANNED,
    MOMENTUM,
    TRAIN_ACC,
    TRAIN_LOSS,
    TRAIN_LOSS_EPOCH,
    VAL_ACC,
    VAL_LOSS,
)
from lrstudio.core.params import ParamError
from lrstudio.core.plan import is_metric_driven, plan_run
from lrstudio.trainer.models import build_model
from lrstudio.trainer.optimizers import build_optimizer, clear_grads, lean_step
from lrstudio.trainer.schedule_adapter import TorchScheduleAdapter

# Validation is evaluated in chunks: 10,000 MNIST images must not need one huge activation, and
# for the CNN on the 359 digits, chunks of 128-256 images measured ~30 % faster than one batch of
# 359 (the activations stay in cache). Tabular data is cheap per row: one chunk up to 65,536 rows.
_EVAL_CHUNK_IMAGES = 256
_EVAL_CHUNK_ROWS = 65_536
# The loss each data set's catalogue entry names (core/datasets.py).
_LOSSES: dict[str, Callable[..., Any]] = {"mse": F.mse_loss, "cross_entropy": F.cross_entropy}
# ``val_every=0`` (auto): validate at most once per this many steps, and at most ~AUTO_VAL_SHARE of
# the training time (module doc).
AUTO_VAL_STEPS = 200
AUTO_VAL_SHARE = 0.01


def auto_val_gap(n_train: int, n_val: int, batch_size: int) -> int:
    """Steps between two validations under ``val_every=0`` (module doc): at least
    :data:`AUTO_VAL_STEPS`, and enough steps that a validation pass (``n_val`` rows, forward only:
    about ``n_val / (3 * batch)`` steps' work) costs at most :data:`AUTO_VAL_SHARE` of them."""
    batch = max(1, min(batch_size, n_train) if batch_size > 0 else n_train)
    return max(AUTO_VAL_STEPS, math.ceil(n_val / (3 * batch * AUTO_VAL_SHARE)))


def check_device(device: str) -> None:
    """Raise :class:`~lrstudio.core.params.ParamError` when ``device`` is ``cuda`` and CUDA is not
    available. Part of the pre-run gate (with :func:`~lrstudio.core.config.check_runnable`, which
    imports no torch): callers run it before a run row exists; :func:`train` runs it again."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ParamError("device", "cuda", "cpu (CUDA is not available on this machine)", "run")


def _total_norm(grads: list[Any]) -> float:
    """Total L2 norm of ``grads`` with one sync: torch's ``clip_grad_norm_`` arithmetic (fused
    per-tensor norms, then the norm of the stacked norms) instead of ``.item()`` per tensor."""
    if len(grads) == 1:
        return float(torch.linalg.vector_norm(grads[0]).item())
    return float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))).item())


class _Progress:
    """What the run reached so far; becomes the summary however the run ends."""

    __slots__ = ("best_acc", "best_loss", "best_val", "diverged_step", "epochs_done", "final_loss",
                 "final_val", "step")

    def __init__(self) -> None:
        self.step = 0
        self.epochs_done = 0
        self.final_loss: float | None = None
        self.best_loss: float | None = None
        self.final_val: float | None = None
        self.best_val: float | None = None
        self.best_acc: float | None = None
        self.diverged_step: int | None = None

    def summary(self, status: str, duration: float, error: str | None = None,
                extra: dict[str, Any] | None = None) -> RunSummary:
        return RunSummary(
            status=status, steps=self.step, epochs=self.epochs_done, duration_s=duration,
            final_loss=self.final_loss, best_loss=self.best_loss, final_val_loss=self.final_val,
            best_val_loss=self.best_val, best_accuracy=self.best_acc, diverged_step=self.diverged_step,
            error=error, extra=extra or {},
        )


def train(config: RunConfig, reporter: Reporter, *, dataset: Any = None, freeze_heap: bool = True) -> RunSummary:
    """Train ``config``'s model, reporting through ``reporter``; return how the run ended.

    Parameters
    ----------
    config:
        The run configuration; validated here.
    reporter:
        Receives the events (``emit``) and is asked ``should_stop()`` between steps.
    dataset:
        An already loaded :class:`~lrstudio.core.data.Dataset` for this config (the CLI loads it
        first to report data errors before it creates a stored run); loaded here when ``None``.
    freeze_heap:
        ``gc.freeze()`` the objects alive at the start and unfreeze them at the end. False where
        the process froze its heap for good (``RuntimeOptions.freeze_heap_per_run``): unfreezing
        would hand all of torch back to the collector.

    Returns
    -------
    RunSummary
        ``status`` is ``completed``, ``stopped``, ``diverged`` or ``failed``. Exceptions are not
        raised to the caller (except ``KeyboardInterrupt``/``SystemExit``, re-raised after the
        ``RunFinished`` event): they end the run ``failed`` with their message in ``error``.
    """
    t0 = time.perf_counter()
    progress = _Progress()
    started = False
    prev_threads = torch.get_num_threads()
    frozen = False
    try:
        # One intra-op thread: never slower for these models on 2 cores, up to 3x faster, and it
        # keeps the GUI thread responsive (docs: shared/QT-NOTES.md). It affects this thread only.
        torch.set_num_threads(1)
        session = _Session(config, dataset)
        # Wall times and the duration count from here: set-up (data loading, the first import of
        # torch.optim's compiler machinery, ~3 s once per process) is not training time.
        t0 = time.perf_counter()
        reporter.emit(RunStarted(
            total_steps=session.total_steps, steps_per_epoch=session.steps_per_epoch, epochs=session.epochs,
            wall_time=0.0, info=session.info,
        ))
        started = True
        # Objects alive now never need collecting during the run; freezing them makes the
        # collections the loop triggers cheap (a full collection cost ~130 ms in the GUI process).
        # A caller that froze its heap for good (the GUI, after importing torch) says freeze_heap=False:
        # unfreezing at the end would hand all of torch back to the collector, and the next full
        # collection would stall the process for 100-250 ms. (The caller says so, rather than this
        # asking gc.get_freeze_count(): it walks the whole frozen list, ~50-90 ms holding the GIL.)
        if freeze_heap:
            gc.freeze()
            frozen = True
        status = session.run(reporter, progress, t0)
        extra = session.extras() if status != FAILED else {}
        summary = progress.summary(status, time.perf_counter() - t0, extra=extra)
    except (KeyboardInterrupt, SystemExit):
        if not started:
            reporter.emit(RunStarted(total_steps=0, steps_per_epoch=0, epochs=0, wall_time=0.0))
        reporter.emit(RunFinished(progress.summary(STOPPED, time.perf_counter() - t0, error="interrupted")))
        raise
    except Exception as exc:  # the run must end with RunFinished whatever went wrong
        if not started:
            reporter.emit(RunStarted(total_steps=0, steps_per_epoch=0, epochs=0,
                                     wall_time=time.perf_counter() - t0))
        message = str(exc) if isinstance(exc, LrstudioError) else f"{type(exc).__name__}: {exc}"
        summary = progress.summary(FAILED, time.perf_counter() - t0, error=message)
    finally:
        if frozen:
            gc.unfreeze()
        torch.set_num_threads(prev_threads)
    reporter.emit(RunFinished(summary))
    return summary


class _Session:
    """Everything built for one run: data tensors, model, optimizer, schedule adapter."""

    def __init__(self, config: RunConfig, dataset: Any) -> None:
        # The pre-run gate callers ran already (no run row for a config that fails it); again here
        # for callers of train() that did not, and with the real size for csv/mnist data.
        cfg = check_runnable(config)
        check_device(cfg.device)
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        ds = dataset if dataset is not None else load_dataset(cfg.dataset, seed=cfg.seed)
        self.ds = ds
        self.classify = ds.task == "classification"

        dev = self.device
        self.x_train = torch.from_numpy(ds.x_train).to(dev)
        self.y_train = torch.from_numpy(ds.y_train).to(dev)
        self.x_val = torch.from_numpy(ds.x_val).to(dev)
        self.y_val = torch.from_numpy(ds.y_val).to(dev)
        n = ds.n_train
        if n != known_train_size(cfg.dataset):
            check_runnable(cfg, n_train=n)
        plan = plan_run(cfg, n_train=n)
        self.plan = plan
        self.batch_size = plan.batch_size
        self.steps_per_epoch, self.total_steps, self.epochs = plan.steps_per_epoch, plan.total_steps, plan.epochs
        self.per_epoch = plan.unit == "epoch"
        sched_steps = plan.schedule_steps
        self.metric_driven = is_metric_driven(cfg.schedule)

        torch.manual_seed(cfg.seed)
        self.model = build_model(cfg, ds).to(dev)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(cfg.optimizer, self.params, cfg.lr, cfg.weight_decay)
        self.adapter = TorchScheduleAdapter(self.optimizer, cfg.schedule, cfg.lr, sched_steps)
        self.loss_fn: Callable[..., Any] = _LOSSES[DATASETS[cfg.dataset.name].loss]
        self.shuffle_gen = torch.Generator().manual_seed(cfg.seed)
        self.train_acc: float | None = None
        self.val_acc: float | None = None

        info = ds.summary_info()
        info.update({"batch_size": self.batch_size, "schedule_unit": cfg.schedule_unit,
                     "n_parameters": int(sum(p.numel() for p in self.params)),
                     "metric_driven": self.metric_driven})
        self.info = info
        self._warm_up()

    def _warm_up(self) -> None:
        """One forward/backward on a copy of the model, so first-call allocations and lazy init
        do not land in the first step's wall time. The copy keeps the run itself untouched."""
        clone = copy.deepcopy(self.model)
        k = min(self.batch_size, 256)  # a full batch of 60,000 MNIST images needs no rehearsal
        xb = self.x_train[:k]
        yb = self.y_train[:k]
        self.loss_fn(clone(xb), yb).backward()

    # -- the loop -------------------------------------------------------------------------------
    def run(self, reporter: Reporter, progress: _Progress, t0: float) -> str:
        cfg = self.cfg
        model, params, opt, adapter = self.model, self.params, self.optimizer, self.adapter
        loss_fn = self.loss_fn
        group0 = opt.param_groups[0]
        emit = reporter.emit
        should_stop = reporter.should_stop
        perf = time.perf_counter
        opt_step = lean_step(opt)
        isfinite = math.isfinite
        clip_norm = cfg.clip_value if cfg.clip_mode == "norm" else None
        clip_value = cfg.clip_value if cfg.clip_mode == "value" else None
        per_step_sched = not self.per_epoch
        metric_driven = self.metric_driven
        classify = self.classify
        has_val = self.ds.n_val > 0
        factor = cfg.divergence_factor
        x_all, y_all = self.x_train, self.y_train
        n, bs = x_all.shape[0], self.batch_size
        full_batch = bs >= n
        total = self.total_steps
        # Gradient norm cadence: every step when clipping by norm needs it, else steps 1, 1+k, ...
        norm_every = 1 if clip_norm is not None else max(1, int(cfg.grad_norm_every))
        val_every = int(cfg.val_every)
        # auto: the first and last epochs, and any epoch at least val_gap steps after the last
        # validation (module doc)
        auto_val = val_every <= 0
        val_gap = auto_val_gap(n, self.ds.n_val, bs)
        if metric_driven and has_val:
            auto_val, val_every = False, 1  # the schedule needs every epoch's metric
        last_epoch = self.epochs - 1
        preds = torch.empty(n if self.classify else 0, dtype=torch.long, device=x_all.device)
        last_val_step = 0
        threshold = math.inf
        step = 0
        best = math.inf
        last_val: float | None = None

        for epoch in range(self.epochs):
            if full_batch:
                xs, ys = x_all, y_all
            else:
                # One gather per epoch, then the minibatches are views (cheaper than a gather
                # per step).
                perm = torch.randperm(n, generator=self.shuffle_gen).to(x_all.device)
                xs, ys = x_all[perm], y_all[perm]
            ep_sum = 0.0
            ep_count = 0
            for start in range(0, n, bs):
                if step and should_stop():
                    return STOPPED
                if full_batch:
                    xb, yb = xs, ys
                else:
                    xb, yb = xs[start:start + bs], ys[start:start + bs]
                planned = adapter.planned_lr
                mom = adapter.planned_momentum  # None unless the schedule cycles momentum (issue 15)
                lr = group0["lr"]  # the LR this update really uses
                out = model(xb)
                loss = loss_fn(out, yb)
                clear_grads(params)
                loss.backward()
                gnorm = None
                if step % norm_every == 0 or step + 1 >= total:
                    grads = [p.grad for p in params if p.grad is not None]
                    gnorm = _total_norm(grads)
                    if clip_norm is not None:
                        coef = clip_norm / (gnorm + 1e-6)
                        if coef < 1.0:  # same rule as torch.nn.utils.clip_grad_norm_
                            torch._foreach_mul_(grads, coef)
                if clip_value is not None:
                    grads = [p.grad for p in params if p.grad is not None]
                    torch._foreach_clamp_min_(grads, -clip_value)
                    torch._foreach_clamp_max_(grads, clip_value)
                opt_step()
                step += 1
                loss_v = loss.item()
                if classify:
                    # One kernel a step: the predictions go to the epoch's buffer, compared with
                    # the labels once per epoch (was argmax, ==, sum and an add every step).
                    torch.argmax(out, 1, out=preds[start:start + out.shape[0]])
                if per_step_sched:
                    if not metric_driven:
                        adapter.step()
                    elif not has_val:
                        adapter.step(loss_v)
                    elif start + bs < n and step < total:
                        adapter.step()  # no fresh metric: the plateau state waits
                    # else: the last step of the epoch steps the schedule after validation
                if mom is not None:
                    vals = {TRAIN_LOSS: loss_v, LR: lr, LR_PLANNED: planned, MOMENTUM: mom}
                    if gnorm is not None:
                        vals[GRAD_NORM] = gnorm
                    emit(StepLogged(step, epoch, perf() - t0, vals))
                elif gnorm is None:
                    emit(StepLogged(step, epoch, perf() - t0, {TRAIN_LOSS: loss_v, LR: lr, LR_PLANNED: planned}))
                else:
                    emit(StepLogged(step, epoch, perf() - t0, {
                        TRAIN_LOSS: loss_v, LR: lr, LR_PLANNED: planned, GRAD_NORM: gnorm,
                    }))
                ep_sum += loss_v
                ep_count += 1
                progress.step = step
                progress.final_loss = loss_v
                if loss_v < best:  # False for NaN: best_loss is the min *finite* loss
                    best = progress.best_loss = loss_v
                if step == 1:
                    threshold = factor * loss_v if loss_v > 0 else math.inf
                if not isfinite(loss_v) or loss_v > threshold:
                    progress.diverged_step = step
                    return DIVERGED
                if step >= total:
                    break
            # -- end of epoch ------------------------------------------------------------------
            is_last = step >= total or epoch == last_epoch
            if not has_val:
                validate = False
            elif auto_val:
                validate = epoch == 0 or is_last or step - last_val_step >= val_gap
            else:
                validate = is_last or (epoch + 1) % val_every == 0
            # Full batch: one step an epoch, whose mean loss is that step's loss, already reported;
            # an epoch event only with a validation (or at the end).
            if not full_batch or validate or is_last:
                seen = min(n, ep_count * bs)
                correct = (preds[:seen] == ys[:seen]).sum() if classify else None
                self._end_epoch(emit, progress, epoch, step, perf() - t0, ep_sum / ep_count, correct,
                                seen, validate)
                if validate:
                    last_val_step = step
                    last_val = progress.final_val
            progress.epochs_done = epoch + 1
            if not per_step_sched:
                if metric_driven:
                    adapter.step(last_val if has_val else ep_sum / ep_count)
                else:
                    adapter.step()
            elif metric_driven and has_val:
                adapter.step(last_val)
            if step >= total:
                break
            if should_stop():
                return STOPPED
        return COMPLETED

    def _end_epoch(self, emit: Callable[[Any], None], progress: _Progress, epoch: int, step: int,
                   wall: float, mean_loss: float, correct: Any, seen: int, validate: bool) -> None:
        """Validate when asked, update the progress and send the epoch's ``EpochLogged``."""
        values = {TRAIN_LOSS_EPOCH: mean_loss}
        n = self.x_train.shape[0]
        classify = self.classify
        if classify and correct is not None:
            # Running accuracy over the epoch's minibatches (the model changes during the
            # epoch); a separate pass over the training set would cost a third of an epoch.
            self.train_acc = correct.item() / min(n, seen)
            values[TRAIN_ACC] = self.train_acc
        if validate:
            val_loss, val_acc = self.evaluate(self.x_val, self.y_val)
            values[VAL_LOSS] = val_loss
            progress.final_val = val_loss
            if progress.best_val is None or val_loss < progress.best_val:
                progress.best_val = val_loss
            if val_acc is not None:
                values[VAL_ACC] = val_acc
                self.val_acc = val_acc
                if progress.best_acc is None or val_acc > progress.best_acc:
                    progress.best_acc = val_acc
        progress.epochs_done = epoch + 1
        emit(EpochLogged(epoch, step, wall, values))

    def evaluate(self, x: Any, y: Any) -> tuple[float, float | None]:
        """Mean loss (and accuracy for classifiers) of the current model on ``x``/``y``."""
        n = x.shape[0]
        chunk = _EVAL_CHUNK_IMAGES if self.classify else _EVAL_CHUNK_ROWS
        model, loss_fn = self.model, self.loss_fn
        # With full-batch GD every step is an epoch, so this runs once per step: the bare
        # grad-mode switch is ~2 µs cheaper than ``with torch.no_grad()``.
        set_grad = torch._C._set_grad_enabled
        was_enabled = torch.is_grad_enabled()
        set_grad(False)
        try:
            if n <= chunk:
                out = model(x)
                loss = loss_fn(out, y).item()
                acc = (out.argmax(1) == y).sum().item() / n if self.classify else None
                return loss, acc
            total_loss = 0.0
            hits = 0
            for i in range(0, n, chunk):
                xb, yb = x[i:i + chunk], y[i:i + chunk]
                out = model(xb)
                total_loss += loss_fn(out, yb, reduction="sum").item()
                if self.classify:
                    hits += int((out.argmax(1) == yb).sum().item())
            return total_loss / n, (hits / n if self.classify else None)
        finally:
            set_grad(was_enabled)

    # -- summary extras -------------------------------------------------------------------------
    def extras(self) -> dict[str, Any]:
        """R², RMSE in target units and learned vs true w/b (regression); accuracy (classifiers)."""
        ds = self.ds
        if self.classify:
            out: dict[str, Any] = {}
            if self.val_acc is not None:
                out["val_acc"] = self.val_acc
            if self.train_acc is not None:
                out["train_acc"] = self.train_acc
            return out
        out = {}
        with torch.no_grad():
            for part, x, y in (("train", self.x_train, self.y_train), ("val", self.x_val, self.y_val)):
                if x.shape[0] < 2:
                    continue
                pred = self.model(x).double()
                yd = y.double()
                ss_res = float(((pred - yd) ** 2).sum())
                ss_tot = float(((yd - yd.mean()) ** 2).sum())
                out[f"{part}_r2"] = 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan
                out[f"{part}_rmse"] = math.sqrt(ss_res / x.shape[0]) * ds.y_scale
            linear: Any = self.model.linear  # the linear model's one nn.Linear
            w = linear.weight.detach().double().cpu().numpy().reshape(-1)
            b = float(linear.bias.detach().double().cpu())
        key = "val" if "val_r2" in out else "train"
        if f"{key}_r2" in out:
            out["r2"] = out[f"{key}_r2"]
            out["rmse"] = out[f"{key}_rmse"]
            out["metrics_on"] = key
        learned_w, learned_b = ds.to_original_units(w, b)
        out["learned_w"] = learned_w
        out["learned_b"] = learned_b
        out["features"] = list(ds.feature_names)
        out["target"] = ds.target_name
        # Losses are MSE of the standardised target unless the data are unscaled (synthetic).
        out["loss_units"] = "standardised" if ds.info.get("scaled", True) else "raw"
        if ds.true_w is not None:
            out["true_w"] = list(ds.true_w)
            out["true_b"] = ds.true_b
        return out
