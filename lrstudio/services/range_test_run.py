"""The LR range test as a stored run (issue 12): validate -> create the run -> record -> sweep -> finish.

Modelled on :mod:`lrstudio.services.training_run`, with the same failure policy: a bad config or
bad range-test options raise *before* a run row exists (:func:`check_before_range_test`);
anything that fails after it (a data file, an exception in the sweep) ends the stored run
``failed`` with the message, returned, never raised.

One test is one run:

* for a :class:`~lrstudio.core.config.RunConfig` (the CLI's ``find-lr``, the GUI's Find LR): kind
  ``lr_range_test``, its config the run's config as given (so "use this LR" and "train it"
  start from it);
* for a user's own ``torch.nn.Module`` (:func:`find_lr`, the Python API): a RunConfig cannot
  describe the model, so kind ``external`` with the config ``{"model": <class name>, "optimizer":
  <optimizer class>, "lr": <start LR>, "range_test": <options>}`` and the tag ``lr_range_test``.

Series (keys of :mod:`lrstudio.trainer.range_test`): per seed ``seed{k}/lr``, ``seed{k}/loss``
(raw), ``seed{k}/smoothed`` and with the validation option ``seed{k}/val_loss``; over the seeds
``lr``, ``loss/median``, ``loss/min`` and ``loss/max`` (the min-max band: with the default three
seeds an interquartile band would only interpolate between them). Steps are the update index + 1,
so ``lrstudio export`` lines every series up by update. The options, each rule's suggestion (LR,
loss, index, the seeds' LRs, spread, reliable) and the default rule are in the summary's
``extra["range_test"]`` (:func:`suggestions_of` reads them back); the options are in the run's
``info`` as well. :func:`is_range_test` tells both kinds of range-test runs from other runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lrstudio.core.config import RunConfig, check_runnable
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import Event, RunSummary
from lrstudio.core.lr_finder import RangeTestOptions, RuleResult
from lrstudio.services.runtime import HEADLESS, RuntimeOptions
from lrstudio.services.training_run import (
    EventSink,
    StopSignal,
    require_torch,
    run_recorded,
)

__all__ = [
    "RANGE_TEST_KIND",
    "RANGE_TEST_TAG",
    "FindLRResult",
    "RangeTestResult",
    "check_before_range_test",
    "execute_range_test",
    "find_lr",
    "is_range_test",
    "run_range_test",
    "suggestions_of",
]

RANGE_TEST_KIND = "lr_range_test"
RANGE_TEST_TAG = "lr_range_test"


@dataclass(frozen=True)
class RangeTestResult:
    """The stored run's id, how it ended, and its suggestions (empty when none were made)."""

    run_id: int
    summary: RunSummary
    config: RunConfig
    suggestions: tuple[RuleResult, ...]


def suggestions_of(summary: Any) -> tuple[RuleResult, ...]:
    """Each rule's result from a range test: its RunSummary, its stored RunInfo (``summary_extra``)
    or the summary's dict."""
    if summary is None:
        return ()
    if isinstance(summary, RunSummary):
        extra = summary.extra
    elif hasattr(summary, "summary_extra"):
        extra = summary.summary_extra or {}
    else:
        extra = summary.get("extra") or {}
    rt = extra.get("range_test") or {}
    return tuple(RuleResult.from_dict(d) for d in rt.get("suggestions") or ())


def is_range_test(info: Any) -> bool:
    """Whether a stored run (a :class:`~lrstudio.core.runs.RunInfo`) is an LR range test."""
    return getattr(info, "kind", None) == RANGE_TEST_KIND or RANGE_TEST_TAG in (getattr(info, "tags", None) or ())


# -- before the run row ---------------------------------------------------------------------------
def check_before_range_test(config: RunConfig | Mapping[str, Any], options: RangeTestOptions, *,
                            import_torch: bool = True) -> tuple[RunConfig, RangeTestOptions]:
    """Every check made before the run row exists; the validated config and resolved options.

    The schedule and run length are not checked: the range test sets the LR itself.
    """
    from lrstudio.services.runtime import torch_problem
    from lrstudio.services.training_run import torch_missing_message

    cfg = config if isinstance(config, RunConfig) else RunConfig.from_dict(dict(config))
    if import_torch:
        require_torch()
    else:
        problem = torch_problem()
        if problem:
            raise LrstudioError(torch_missing_message(problem))
    cfg = cfg.validated()
    check_runnable(_ignore_schedule(cfg))
    if cfg.device == "cuda":
        from lrstudio.trainer.loop import check_device

        check_device(cfg.device)
    return cfg, options.resolved(base_lr=cfg.lr)


def _ignore_schedule(cfg: RunConfig) -> RunConfig:
    from dataclasses import replace

    return replace(cfg, schedule={"name": "constant", "params": {}}, max_steps=None, epochs=1)


# -- the whole test -----------------------------------------------------------------------------------
def run_range_test(config: RunConfig | Mapping[str, Any], options: RangeTestOptions, db_url: str, *,
                   stop: StopSignal | None = None, on_events: EventSink | None = None,
                   name: str | None = None, runtime: RuntimeOptions = HEADLESS,
                   store: Any = None) -> RangeTestResult:
    """Validate, create, record and run one range test in the database at ``db_url``.

    Raises before anything is stored when a check fails; a test that fails later is returned
    (``summary.status == "failed"``). ``store``: an open store to use instead of opening ``db_url``.
    """
    cfg, opts = check_before_range_test(config, options)
    if store is not None:
        return _create_and_execute(store, cfg, opts, stop, on_events, name, runtime)
    from lrstudio.storage import open_store

    with open_store(db_url) as own:
        return _create_and_execute(own, cfg, opts, stop, on_events, name, runtime)


def default_name(cfg: RunConfig) -> str:
    return f"LR range test {cfg.model} {cfg.dataset.name} {cfg.optimizer.get('name', '')}".strip()


def _create_and_execute(store: Any, cfg: RunConfig, opts: RangeTestOptions, stop: StopSignal | None,
                        on_events: EventSink | None, name: str | None,
                        runtime: RuntimeOptions) -> RangeTestResult:
    run_id = store.create_run(cfg, name=name or default_name(cfg), kind=RANGE_TEST_KIND)
    summary = execute_range_test(store, run_id, cfg, opts, stop=stop, on_events=on_events, runtime=runtime)
    return RangeTestResult(run_id, summary, cfg, suggestions_of(summary))


def execute_range_test(store: Any, run_id: int, config: RunConfig, options: RangeTestOptions, *,
                       stop: StopSignal | None = None, on_events: EventSink | None = None,
                       runtime: RuntimeOptions = HEADLESS) -> RunSummary:
    """Record and run the range test of the existing run ``run_id`` (the GUI's worker calls this)."""

    def work(reporter: Any) -> RunSummary:
        from lrstudio.trainer.range_test import range_test

        dataset = None
        if runtime.dataset_cache:
            from lrstudio.services.runtime import DATASETS

            try:
                dataset = DATASETS.load(config)
            except Exception:  # range_test loads it again and reports the error as the run's
                dataset = None
        return range_test(config, options, reporter, dataset=dataset)

    return run_recorded(store, run_id, work, stop=stop, on_events=on_events, options=runtime)


# -- a user's own model (the Python API) -------------------------------------------------------------
@dataclass(frozen=True)
class FindLRResult:
    """What :func:`find_lr` returns.

    ``suggestion``: the default rule's LR (fastai's ``valley`` unless another convention is
    chosen), or ``None``; ``suggestions``: every rule's :class:`~lrstudio.core.lr_finder.RuleResult`
    by name; ``lrs``/``losses``: the median smoothed curve; ``run_id``: the stored run (``None``
    when ``db=False``).
    """

    suggestion: float | None
    suggestions: dict[str, RuleResult]
    lrs: list[float]
    losses: list[float]
    run_id: int | None
    summary: RunSummary


class _ListSink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, batch: list[Event]) -> None:
        self.events.extend(batch)


def find_lr(model: Any, loss_fn: Callable[..., Any], train_loader: Iterable[Any], *,
            optimizer_factory: Callable[[Any], Any] | None = None, start_lr: float | None = None,
            end_lr: float | None = None, num_it: int | None = None, mode: str = "exp",
            convention: str = "fastai", seeds: int = 1, beta: float | None = None,
            diverge_threshold: float | None = None, val_loader: Iterable[Any] | None = None,
            seed: int = 0, db: str | bool | None = None, name: str | None = None) -> FindLRResult:
    """The LR range test on your own model; the test is stored so the app shows it.

    Parameters
    ----------
    model
        Any ``torch.nn.Module``. Its parameters, buffers (BatchNorm statistics), gradients,
        train/eval flags and torch's RNG state are exactly as before when this returns, and the
        tensors are the same objects (an optimizer you hold still points at them).
    loss_fn
        ``loss_fn(model(inputs), targets)`` -> a scalar tensor.
    train_loader
        A re-iterable of ``(inputs, targets)`` batches (a ``DataLoader``, a list); restarted when
        it runs out before ``num_it`` updates.
    optimizer_factory
        ``params -> torch.optim.Optimizer``, called once per seed on the model's parameters; the
        default is plain SGD. The test sets the LR of every param group each update.
    start_lr, end_lr, num_it, mode, convention, beta, diverge_threshold
        As :class:`~lrstudio.core.lr_finder.RangeTestOptions` (defaults: fastai's 1e-7, 10, 100,
        ``"exp"``, debiased EMA 0.98, stop at 4x the best smoothed loss).
    seeds
        Repetitions from the same initial state with torch seeded ``seed``, ``seed + 1``, ...
        (shuffling and dropout differ); default 1, as the tools it follows.
    val_loader
        torch-lr-finder's option: the mean loss over these batches after every update is what
        is smoothed, checked for divergence and suggested on.
    db
        Database file or URL; ``None`` is the app's database (``$LRSTUDIO_DB`` or the default
        file); ``False`` stores nothing.
    name
        The stored run's name (default ``"LR range test <model class>"``).

    Raises
    ------
    LrstudioError
        For bad options (nothing is stored), or when the test itself failed (the failed run is
        stored with the message).
    """
    torch = require_torch()
    from lrstudio.trainer.range_test import range_test_model

    if not isinstance(model, torch.nn.Module):
        raise LrstudioError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    factory = optimizer_factory if optimizer_factory is not None else (lambda p: torch.optim.SGD(p, lr=1e-3))
    opts = RangeTestOptions(start_lr, end_lr, num_it, mode, convention, beta, diverge_threshold, True, seeds,
                            val_loader is not None)
    base = None
    if start_lr is None and convention == "torch_lr_finder":
        base = float(factory([torch.nn.Parameter(torch.zeros(1))]).param_groups[0]["lr"])
    resolved = opts.resolved(base_lr=base)  # raises before anything is stored

    def work(reporter: Any) -> RunSummary:
        return range_test_model(model, loss_fn, train_loader, factory, resolved, reporter,
                                val_loader=val_loader, seed=seed)

    sink = _ListSink()
    run_id: int | None = None
    if db is False:
        from lrstudio.core.events import BatchingReporter

        reporter = BatchingReporter(sink, None, interval_s=1e9)
        summary = work(reporter)
        reporter.flush()
    else:
        from lrstudio.paths import resolve_db
        from lrstudio.storage import open_store

        opt_name = type(factory([torch.nn.Parameter(torch.zeros(1))])).__name__
        config = {"model": type(model).__name__, "optimizer": opt_name, "lr": resolved.start_lr,
                  "range_test": resolved.to_dict()}
        with open_store(resolve_db(None if db is None or db is True else db)) as store:
            run_id = store.create_run(config, name=name or f"LR range test {type(model).__name__}",
                                      kind="external")
            store.set_tags(run_id, [RANGE_TEST_TAG])
            summary = run_recorded(store, run_id, work, on_events=sink)
    if summary.status == "failed":
        where = f" (stored as run {run_id})" if run_id is not None else ""
        raise LrstudioError(f"the range test failed{where}: {summary.error}")
    rules = suggestions_of(summary)
    by_name = {r.name: r for r in rules}
    default = summary.extra.get("range_test", {}).get("default_rule", "valley")
    lrs, losses = [], []
    from lrstudio.core.events import StepLogged

    for ev in sink.events:
        if isinstance(ev, StepLogged) and "loss/median" in ev.values:
            lrs.append(ev.values["lr"])
            losses.append(ev.values["loss/median"])
    pick = by_name.get(default)
    return FindLRResult(pick.lr if pick is not None else None, by_name, lrs, losses, run_id, summary)


# -- following a test as it runs (the GUI's dialog; Qt-free) --------------------------------------------
class LiveRangeTest:
    """The curves of a range test so far, from its event batches: what a live plot draws.

    ``feed(batch)`` takes the batches :func:`execute_range_test` hands to ``on_events``;
    :meth:`seed_curve` gives a seed's LRs and smoothed losses as arrays, :attr:`band` the median
    curve and its band once every seed has run, :attr:`summary` the summary at the end.
    """

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.current_seed = 0
        self._seeds: dict[int, dict[str, list[float]]] = {}
        self._band: dict[str, list[float]] = {}
        self.summary: RunSummary | None = None

    def feed(self, batch: Iterable[Event]) -> None:
        from lrstudio.core.events import RunFinished, RunStarted, StepLogged

        for ev in batch:
            if isinstance(ev, StepLogged):
                band = True
                for key, v in ev.values.items():
                    if key.startswith("seed"):
                        band = False
                        head, _, name = key.partition("/")
                        k = int(head[4:])
                        self._seeds.setdefault(k, {}).setdefault(name, []).append(v)
                        self.current_seed = k
                    else:
                        self._band.setdefault(key, []).append(v)
                if not band:
                    self.done += 1
            elif isinstance(ev, RunStarted):
                self.total = ev.total_steps
            elif isinstance(ev, RunFinished):
                self.summary = ev.summary

    @property
    def seeds(self) -> list[int]:
        return sorted(self._seeds)

    def seed_curve(self, k: int) -> tuple[Any, Any]:
        """``(lrs, smoothed)`` of seed ``k`` so far, numpy arrays."""
        import numpy as np

        d = self._seeds.get(k, {})
        return np.asarray(d.get("lr", []), dtype=float), np.asarray(d.get("smoothed", []), dtype=float)

    @property
    def band(self) -> tuple[Any, Any, Any, Any] | None:
        """``(lrs, median, min, max)`` once reported, else ``None``."""
        import numpy as np

        if not self._band.get("lr"):
            return None
        return tuple(np.asarray(self._band.get(k, []), dtype=float)  # type: ignore[return-value]
                     for k in ("lr", "loss/median", "loss/min", "loss/max"))
