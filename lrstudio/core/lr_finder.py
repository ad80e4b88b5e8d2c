"""The LR range test, in numpy: LR sequences, smoothing, the divergence stop, suggestions, seeds.

Leslie Smith's range test raises the learning rate every update from ``start_lr`` to ``end_lr``
and records the (smoothed) training loss; a suggestion rule then reads a good learning rate off the
curve. Three tools made the test popular, and each does every step a little differently. This
module writes each of them down exactly, so lrstudio can offer all of them side by side:

``"fastai"``
    fastai/fastai, ``fastai/callback/schedule.py`` (generated from
    ``nbs/14_callback.schedule.ipynb``): ``LRFinder`` (the schedule and the stop),
    ``valley``/``slide``/``minimum``/``steep`` and ``Learner.lr_find`` (the trimming of the ends);
    the smoothing is ``AvgSmoothLoss`` in ``fastai/learner.py``, whose value ``Recorder`` records.
``"torch_lr_finder"``
    davidtvs/pytorch-lr-finder, ``torch_lr_finder/lr_finder.py``: ``ExponentialLR``/``LinearLR``,
    ``LRFinder.range_test`` (smoothing and stop) and ``LRFinder.plot`` (suggestion and trimming).
``"lightning"``
    Lightning-AI/pytorch-lightning, ``src/lightning/pytorch/tuner/lr_finder.py``:
    ``_ExponentialLR``/``_LinearLR``, ``_LRCallback.on_train_batch_end`` (smoothing and stop) and
    ``_LRFinder.suggestion`` (suggestion and trimming).

Life cycle of one test: :func:`lr_sequence` gives the LR of every update; the trainer records the
raw loss of each update, :func:`smooth_losses` smooths the recorded losses the way the chosen tool
does and :func:`stop_index` says after which update that tool would have stopped; once the test
is over, :func:`suggest` (or any function of :data:`SUGGESTERS`) turns the recorded LRs and
*smoothed* losses into a :class:`Suggestion`. With several seeds, :func:`seed_band` draws the
median curve and its band and :func:`suggestion_spread` says whether the seeds agree.

Suggestion rules never raise on a recorded curve: where the source would raise (too few points,
an empty slice), they return a :class:`Suggestion` whose ``lr`` is ``None`` and whose ``reason``
says why. Bad arguments (a negative skip, mismatched lengths) raise :class:`ParamError`.

Everything is computed in float64. fastai and Lightning put the curve into float32 tensors before
suggesting, so their LRs differ from ours in the 8th significant digit and, on curves whose
points differ by less than float32 resolution, a tie may be broken differently.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, cast

import numpy as np
from numpy.typing import ArrayLike

from lrstudio.core.params import NO_VALUE, ParamError

__all__ = [
    "CONVENTIONS",
    "DEFAULTS",
    "SUGGESTERS",
    "Convention",
    "ConventionDefaults",
    "DivergenceTracker",
    "RangeTestOptions",
    "RuleResult",
    "SeedBand",
    "Suggestion",
    "SuggestionSpread",
    "fastai_minimum",
    "fastai_slide",
    "fastai_steep",
    "fastai_valley",
    "lightning_steepest",
    "lr_sequence",
    "seed_band",
    "smooth_losses",
    "stop_index",
    "suggest",
    "suggestion_spread",
    "summarize_seeds",
    "torch_lr_finder_steepest",
]

Convention = Literal["fastai", "torch_lr_finder", "lightning"]
Mode = Literal["exp", "linear"]

CONVENTIONS: tuple[str, ...] = ("fastai", "torch_lr_finder", "lightning")
MODES: tuple[str, ...] = ("exp", "linear")

_OWNER = "LR range test"


@dataclass(frozen=True, slots=True)
class ConventionDefaults:
    """The defaults one tool uses for its range test.

    Attributes
    ----------
    start_lr, end_lr, num_it
        The tool's default range and number of updates (torch-lr-finder starts from the
        optimizer's LR when ``start_lr`` is not given; ``None`` here).
    beta
        The tool's own smoothing parameter: the weight of the running average for fastai and
        Lightning (``beta``), the weight of the *new* loss for torch-lr-finder (``smooth_f``).
    threshold
        Divergence factor: stop once the smoothed loss exceeds ``threshold`` × the best one.
    suggester
        Name (in :data:`SUGGESTERS`) of the tool's default suggestion rule.
    """

    start_lr: float | None
    end_lr: float
    num_it: int
    beta: float
    threshold: float
    suggester: str


#: Each tool's defaults, read from the signatures cited in the module docstring:
#: fastai ``Learner.lr_find(start_lr=1e-7, end_lr=10, num_it=100)``, ``AvgSmoothLoss(beta=0.98)``,
#: ``4*self.best_loss``; torch-lr-finder ``range_test(end_lr=10, num_iter=100, smooth_f=0.05,
#: diverge_th=5)``; Lightning ``_lr_find(min_lr=1e-8, max_lr=1, num_training=100,
#: early_stop_threshold=4.0)``, ``_LRCallback(beta=0.98)``.
DEFAULTS: dict[str, ConventionDefaults] = {
    "fastai": ConventionDefaults(1e-7, 10.0, 100, 0.98, 4.0, "valley"),
    "torch_lr_finder": ConventionDefaults(None, 10.0, 100, 0.05, 5.0, "torch_lr_finder_steepest"),
    "lightning": ConventionDefaults(1e-8, 1.0, 100, 0.98, 4.0, "lightning_steepest"),
}

# fastai's LRFinder.__init__: ``if num_it < 6: num_it = 6``.
_FASTAI_MIN_NUM_IT = 6


# --------------------------------------------------------------------------------------------
# Argument checks


def _check_convention(convention: str) -> Convention:
    if convention not in CONVENTIONS:
        raise ParamError(
            "convention", convention, "one of " + ", ".join(repr(c) for c in CONVENTIONS), _OWNER
        )
    return cast(Convention, convention)


def _check_positive_finite(name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParamError(name, value, "a finite number > 0", _OWNER) from None
    if isinstance(value, bool) or not math.isfinite(number) or number <= 0.0:
        raise ParamError(name, value, "a finite number > 0", _OWNER)
    return number


def _check_int(name: str, value: int, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ParamError(name, value, f"an integer >= {low}", _OWNER)
    return int(value)


def _check_curve(lrs: ArrayLike, losses: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(lrs, dtype=np.float64)
    y = np.asarray(losses, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1:
        raise ParamError(
            "", NO_VALUE, f"lrs and losses must be 1-D, got shapes {x.shape} and {y.shape}", _OWNER
        )
    if x.shape != y.shape:
        raise ParamError(
            "",
            NO_VALUE,
            f"lrs and losses must have the same length, got {x.size} LRs and {y.size} losses",
            _OWNER,
        )
    return x, y


def _check_losses(losses: ArrayLike) -> np.ndarray:
    y = np.asarray(losses, dtype=np.float64)
    if y.ndim != 1:
        raise ParamError("", NO_VALUE, f"losses must be 1-D, got shape {y.shape}", _OWNER)
    return y


# --------------------------------------------------------------------------------------------
# 1. LR sequences


def lr_sequence(
    start_lr: float,
    end_lr: float,
    num_it: int,
    mode: Mode = "exp",
    convention: Convention = "fastai",
) -> np.ndarray:
    """Return the LR of each of the ``num_it`` updates of a range test, as the chosen tool sets it.

    With ``q(r) = start_lr * (end_lr / start_lr) ** r`` (``"exp"``) or
    ``q(r) = start_lr + r * (end_lr - start_lr)`` (``"linear"``), update ``i`` (0-based) uses:

    ``"fastai"``: ``q(i / num_it)``
        fastai ``fastai/callback/schedule.py``: ``LRFinder.before_batch`` calls
        ``_update_val(self.train_iter/self.num_it)`` with ``SchedExp`` (``sched_exp``), and
        ``after_batch`` stops once ``train_iter >= num_it``; the last LR is one step short of
        ``end_lr``. fastai's finder is exponential only; ``"linear"`` uses its ``SchedLin``
        (``sched_lin``) over the same positions. fastai raises ``num_it`` below 6 to 6
        (``LRFinder.__init__``); here such a ``num_it`` is refused instead.
    ``"torch_lr_finder"``: ``q(i / (num_it - 1))``
        torch-lr-finder ``torch_lr_finder/lr_finder.py``: ``ExponentialLR.get_lr`` /
        ``LinearLR.get_lr`` with ``r = self.last_epoch / (self.num_iter - 1)`` (PyTorch >= 1.1),
        recorded by ``range_test`` as ``lr_schedule.get_lr()[0]``; ends exactly at ``end_lr``.
    ``"lightning"``: ``start_lr`` for ``i = 0``, then ``q((i + 1) / num_it)``
        Lightning ``src/lightning/pytorch/tuner/lr_finder.py``: ``_ExponentialLR.get_lr`` /
        ``_LinearLR.get_lr`` use ``r = (last_epoch + 1) / num_iter`` but return the base LR while
        ``last_epoch == 0``, so the position ``1 / num_it`` is skipped and the last update uses
        exactly ``end_lr``; ``_LRCallback.on_train_batch_start`` records ``scheduler.lr[0]``.

    Each value is computed with Python floats in the source's own expression, so it is
    bit-for-bit the LR the source would set.

    Parameters
    ----------
    start_lr, end_lr
        First and last LR of the range; finite, ``0 < start_lr < end_lr``.
    num_it
        Number of updates, ``>= 2`` (``>= 6`` for ``"fastai"``).
    mode
        ``"exp"`` (default) or ``"linear"``.
    convention
        ``"fastai"`` (default), ``"torch_lr_finder"`` or ``"lightning"``.

    Returns
    -------
    numpy.ndarray
        float64 array of length ``num_it``.

    Raises
    ------
    ParamError
        If an argument is outside what is allowed; the message names it and says what is.
    """
    start = _check_positive_finite("start_lr", start_lr)
    end = _check_positive_finite("end_lr", end_lr)
    if not start < end:
        raise ParamError("end_lr", end_lr, f"a number greater than start_lr = {start_lr!r}", _OWNER)
    convention = _check_convention(convention)
    low = _FASTAI_MIN_NUM_IT if convention == "fastai" else 2
    num_it = _check_int("num_it", num_it, low)
    if mode not in MODES:
        raise ParamError("mode", mode, "'exp' or 'linear'", _OWNER)

    if mode == "exp":

        def q(r: float) -> float:
            return start * (end / start) ** r

    else:

        def q(r: float) -> float:
            return start + r * (end - start)

    if convention == "fastai":
        values = [q(i / num_it) for i in range(num_it)]
    elif convention == "torch_lr_finder":
        values = [q(i / (num_it - 1)) for i in range(num_it)]
    else:
        values = [start] + [q((i + 1) / num_it) for i in range(1, num_it)]
    return np.array(values, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# 2. Smoothing and the divergence stop


def _check_beta(beta: float | None, convention: str) -> float:
    if beta is None:
        return DEFAULTS[convention].beta
    name = "smooth_f" if convention == "torch_lr_finder" else "beta"
    try:
        value = float(beta)
    except (TypeError, ValueError):
        raise ParamError(name, beta, "a number in [0, 1)", _OWNER) from None
    if isinstance(beta, bool) or not 0.0 <= value < 1.0:
        raise ParamError(name, beta, "a number in [0, 1)", _OWNER)
    return value


def smooth_losses(
    losses: ArrayLike, convention: Convention = "fastai", beta: float | None = None
) -> np.ndarray:
    """Smooth raw per-update losses the way the chosen tool does before it records them.

    ``"fastai"`` — debiased EMA, fastai ``fastai/learner.py`` ``AvgSmoothLoss``
        (``accumulate``: ``count += 1; val = torch.lerp(loss, val, beta)``; ``value``:
        ``val / (1 - beta**count)``), ``beta = 0.98``; ``Recorder.after_batch`` records
        ``smooth_loss.value``. The first smoothed value equals the first loss.
    ``"torch_lr_finder"`` — plain EMA, no debiasing, torch-lr-finder ``LRFinder.range_test``:
        the first loss as is, then ``loss = smooth_f * loss + (1 - smooth_f) * previous``,
        ``smooth_f = 0.05`` (``0`` turns smoothing off).
    ``"lightning"`` — debiased EMA, Lightning ``_LRCallback.on_train_batch_end``:
        ``avg_loss = beta * avg_loss + (1 - beta) * loss`` and
        ``smoothed = avg_loss / (1 - beta ** (current_step + 1))``, ``beta = 0.98``, where
        ``current_step = trainer.global_step`` has already counted this update's optimizer step
        (``i + 1`` for update ``i`` of a fresh trainer). The debiasing is therefore one step
        behind: the first smoothed value is ``loss / (1 + beta)``, about half the loss. This is
        what Lightning records and compares, so it is kept.

    A NaN or inf loss enters the average as in the sources: from there on every smoothed value
    is NaN (or inf). :func:`lrstudio.core.smoothing.debiased_ema`, for plots, skips such values
    instead; a range test needs the sources' behaviour.

    Parameters
    ----------
    losses
        1-D array-like of raw losses, one per update.
    convention
        ``"fastai"`` (default), ``"torch_lr_finder"`` or ``"lightning"``.
    beta
        The tool's own smoothing parameter, in ``[0, 1)``: ``beta`` (weight of the running
        average, default 0.98) for fastai and Lightning; ``smooth_f`` (weight of the new loss,
        default 0.05) for torch-lr-finder. ``None`` uses the tool's default.

    Returns
    -------
    numpy.ndarray
        float64 array of the same length.
    """
    convention = _check_convention(convention)
    b = _check_beta(beta, convention)
    raw = [float(v) for v in _check_losses(losses)]
    out: list[float] = []
    # A loop in the sources' own order of operations, so the values are the sources' to the
    # last bit; range tests are a few hundred points.
    if convention == "fastai":
        val = 0.0
        for count, loss in enumerate(raw, start=1):
            # torch.lerp(start=loss, end=val, weight=beta), in the two forms ATen uses
            # (aten/src/ATen/native/Lerp.h, ``lerp``): the second one for weights >= 0.5.
            if b < 0.5:
                val = loss + b * (val - loss)
            else:
                val = val - (val - loss) * (1 - b)
            out.append(val / (1 - b**count))
    elif convention == "torch_lr_finder":
        for iteration, loss in enumerate(raw):
            if iteration != 0 and b > 0:
                loss = b * loss + (1 - b) * out[-1]
            out.append(loss)
    else:
        avg = 0.0
        for i, loss in enumerate(raw):
            current_step = i + 1
            avg = b * avg + (1 - b) * loss
            out.append(avg / (1 - b ** (current_step + 1)))
    return np.array(out, dtype=np.float64)


def stop_index(
    smoothed: ArrayLike,
    convention: Convention = "fastai",
    threshold: float | None = None,
    *,
    stop_on_nonfinite: bool = False,
) -> int | None:
    """Return the index of the update after which the chosen tool stops for divergence, or ``None``.

    The update at the returned index is still recorded (all three tools record it before they
    stop), so a test that stops at ``k`` has ``k + 1`` points.

    ``"fastai"`` — fastai ``LRFinder.after_batch``: ``best = min(best, s)``, then stop if
        ``s > 4 * best`` (``best`` starts at ``inf``).
    ``"torch_lr_finder"`` — ``LRFinder.range_test``: ``best`` is the first value, then
        ``best = min(best, s)``; stop if ``s > diverge_th * best`` (``diverge_th = 5``), checked
        from the first update on.
    ``"lightning"`` — ``_LRCallback.on_train_batch_end``: from the second update on, stop if
        ``s > early_stop_threshold * best`` (``4.0``), where ``best`` is the smallest value
        *before* this update; ``best`` is set to the first value.

    None of the three stops on a NaN (every comparison with NaN is false, so the test runs on
    with NaN losses); an infinite loss does stop them once ``best`` is finite. lrstudio's own
    loop also stops on the first non-finite value: pass ``stop_on_nonfinite=True`` for that.

    Parameters
    ----------
    smoothed
        1-D array-like of smoothed losses, as :func:`smooth_losses` returns them.
    convention
        ``"fastai"`` (default), ``"torch_lr_finder"`` or ``"lightning"``.
    threshold
        Divergence factor, a finite number > 0; ``None`` uses the tool's default (4, 5, 4).
    stop_on_nonfinite
        Also stop at the first NaN or ±inf value.

    Returns
    -------
    int or None
        The 0-based index of the last update the tool runs, or ``None`` if it would not stop
        before the end of ``smoothed``.
    """
    convention = _check_convention(convention)
    thr = (
        DEFAULTS[convention].threshold
        if threshold is None
        else _check_positive_finite("threshold", threshold)
    )
    values = [float(v) for v in _check_losses(smoothed)]
    best = math.inf
    for i, s in enumerate(values):
        if stop_on_nonfinite and not math.isfinite(s):
            return i
        if convention == "fastai":
            if s < best:
                best = s
            if s > thr * best:
                return i
        elif convention == "torch_lr_finder":
            if i == 0:
                best = s
            elif s < best:
                best = s
            if s > thr * best:
                return i
        else:
            current_step = i + 1
            if current_step > 1 and s > thr * best:
                return i
            if s < best or current_step == 1:
                best = s
    return None


# --------------------------------------------------------------------------------------------
# 3. Suggestions


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A suggested learning rate, or why there is none.

    Attributes
    ----------
    name
        The rule's name in :data:`SUGGESTERS` (``"valley"``).
    lr
        The suggested LR, or ``None`` when the rule has no suggestion for this curve.
    index
        Index, into the ``lrs``/``losses`` given to the rule, of the point the rule picked
        (where the source draws its marker). For ``minimum`` the LR is a tenth of
        ``lrs[index]``; for ``slide`` with ``adjust_value != 1`` it is a multiple of it.
        ``None`` when there is no suggestion.
    reason
        Plain words for why there is no suggestion; ``""`` when there is one.
    """

    name: str
    lr: float | None
    index: int | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Whether the rule made a suggestion."""
        return self.lr is not None


def _none(name: str, reason: str) -> Suggestion:
    return Suggestion(name, None, None, reason)


def _check_skip(name: str, value: int) -> int:
    return _check_int(name, value, 0)


def _fastai_trim(
    lrs: np.ndarray, losses: np.ndarray, num_it: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """fastai ``Learner.lr_find``: ``[num_it//10:-5]``, then cut at the first NaN.

    Returns the trimmed arrays and the offset of their first point in the untrimmed curve.
    """
    n_it = lrs.size if num_it is None else _check_int("num_it", num_it, 1)
    begin = n_it // 10
    lrs, losses = lrs[begin:-5], losses[begin:-5]
    nan_idxs = np.flatnonzero(np.isnan(losses))
    if nan_idxs.size > 0:
        drop_idx = nan_idxs.min()
        lrs, losses = lrs[:drop_idx], losses[:drop_idx]
    return lrs, losses, begin


def fastai_valley(lrs: ArrayLike, losses: ArrayLike, *, num_it: int | None = None) -> Suggestion:
    """fastai's ``valley`` (its default rule): a point about 2/3 down the longest valley.

    Follows ``valley`` in fastai ``fastai/callback/schedule.py``: the longest strictly
    decreasing subsequence of the losses (``lds``), its end ``max_end`` and
    ``max_start = max_end - lds[max_end]``, then ``idx = max_start + int(sections) +
    int(sections/2)`` with ``sections = (max_end - max_start) / 3``. Kept as in the source:
    ``max_start`` is one before the valley's first point; a flat curve never moves ``max_end``
    and gets ``idx = 0``, and a curve of two falling points gets ``idx = -1``, which Python reads
    as the *last* point.

    The curve is first trimmed as fastai ``Learner.lr_find`` does: ``[num_it//10:-5]``
    (``num_it`` is the number of updates asked for, default ``len(lrs)``), then everything from
    the first NaN on is dropped (infinities stay).

    Returns
    -------
    Suggestion
        ``lr = lrs[idx]``; no suggestion when the trimmed curve is empty (fastai raises
        ``IndexError`` there).
    """
    x, y = _check_curve(lrs, losses)
    x, y, offset = _fastai_trim(x, y, num_it)
    n = y.size
    if n == 0:
        return _none("valley", _too_short_fastai(num_it, lrs))
    lds = np.ones(n, dtype=np.int64)
    max_start, max_end = 0, 0
    # The source's double loop, one row at a time: lds[i] is 1 + the longest run ending at a
    # higher loss before i. The source checks ``lds[max_end] < lds[i]`` after every j, but every
    # lds[j] (j < i) is at most lds[max_end], so lds[i] passes it at most once, by one, at its
    # final value: checking once per row, with the final value, gives the same max_start.
    for i in range(1, n):
        lds[i] = int(np.max(lds[:i][y[i] < y[:i]], initial=0)) + 1
        if lds[max_end] < lds[i]:
            max_end = i
            max_start = max_end - int(lds[max_end])
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    pos = idx % n  # the source indexes with idx, which may be -1
    return Suggestion("valley", float(x[pos]), offset + pos)


def fastai_slide(
    lrs: ArrayLike,
    losses: ArrayLike,
    *,
    num_it: int | None = None,
    lr_diff: int = 15,
    thresh: float = 0.005,
    adjust_value: float = 1.0,
) -> Suggestion:
    """fastai's ``slide``: the interval slide rule.

    Follows ``slide`` in fastai ``fastai/callback/schedule.py``: with ``loss_grad =
    np.gradient(losses)`` (unit spacing), slide a pair of points ``lr_diff`` apart from the end
    towards the start while ``abs(loss_grad[r_idx] - loss_grad[l_idx]) > thresh``, keeping the LR
    at the left point; suggest that LR times ``adjust_value``.
    The curve is first trimmed as fastai ``Learner.lr_find`` does: ``[num_it//10:-5]``
    (``num_it`` is the number of updates asked for, default ``len(lrs)``), then everything from
    the first NaN on is dropped (infinities stay).

    Returns
    -------
    Suggestion
        ``index`` is the point whose LR was kept. No suggestion when the trimmed curve has fewer
        than ``lr_diff + 1`` points (fastai raises ``IndexError`` at ``lrs[l_idx]``) or fewer
        than 2 (``np.gradient`` raises).
    """
    lr_diff = _check_int("lr_diff", lr_diff, 1)
    x, y = _check_curve(lrs, losses)
    x, y, offset = _fastai_trim(x, y, num_it)
    n = y.size
    if n < max(lr_diff + 1, 2):
        return _none(
            "slide",
            f"the slide rule needs at least {max(lr_diff + 1, 2)} points after trimming, got {n}",
        )
    with np.errstate(all="ignore"):
        loss_grad = np.gradient(y)
    r_idx = -1
    l_idx = r_idx - lr_diff
    kept = l_idx
    while (l_idx >= -n) and (abs(loss_grad[r_idx] - loss_grad[l_idx]) > thresh):
        kept = l_idx
        r_idx -= 1
        l_idx -= 1
    pos = n + kept
    return Suggestion("slide", float(x[pos]) * adjust_value, offset + pos)


def fastai_minimum(lrs: ArrayLike, losses: ArrayLike, *, num_it: int | None = None) -> Suggestion:
    """fastai's ``minimum``: a tenth of the LR at the lowest loss.

    Follows ``minimum`` in fastai ``fastai/callback/schedule.py``:
    ``lr_min = lrs[losses.argmin()]``, suggestion ``lr_min / 10`` (the first minimum on ties).
    The curve is first trimmed as fastai ``Learner.lr_find`` does: ``[num_it//10:-5]``
    (``num_it`` is the number of updates asked for, default ``len(lrs)``), then everything from
    the first NaN on is dropped (infinities stay).

    Returns
    -------
    Suggestion
        ``index`` is the argmin. No suggestion for an empty trimmed curve (``argmin`` raises).
    """
    x, y = _check_curve(lrs, losses)
    x, y, offset = _fastai_trim(x, y, num_it)
    if y.size == 0:
        return _none("minimum", _too_short_fastai(num_it, lrs))
    pos = int(np.argmin(y))
    return Suggestion("minimum", float(x[pos]) / 10, offset + pos)


def fastai_steep(lrs: ArrayLike, losses: ArrayLike, *, num_it: int | None = None) -> Suggestion:
    """fastai's ``steep``: the LR where the loss falls fastest against log(LR).

    Follows ``steep`` in fastai ``fastai/callback/schedule.py``: forward differences
    ``grads = (losses[1:] - losses[:-1]) / (log(lrs[1:]) - log(lrs[:-1]))`` and the LR at the
    *left* point of the steepest one, ``lrs[grads.argmin()]``.
    The curve is first trimmed as fastai ``Learner.lr_find`` does: ``[num_it//10:-5]``
    (``num_it`` is the number of updates asked for, default ``len(lrs)``), then everything from
    the first NaN on is dropped (infinities stay).

    Returns
    -------
    Suggestion
        No suggestion when the trimmed curve has fewer than 2 points (``argmin`` of an empty
        tensor raises).
    """
    x, y = _check_curve(lrs, losses)
    x, y, offset = _fastai_trim(x, y, num_it)
    if y.size < 2:
        return _none("steep", f"steep needs at least 2 points after trimming, got {y.size}")
    with np.errstate(all="ignore"):
        grads = (y[1:] - y[:-1]) / (np.log(x[1:]) - np.log(x[:-1]))
    pos = int(np.argmin(grads))
    return Suggestion("steep", float(x[pos]), offset + pos)


def _too_short_fastai(num_it: int | None, lrs: ArrayLike) -> str:
    n = len(np.asarray(lrs).reshape(-1))
    n_it = n if num_it is None else num_it
    return (
        f"nothing is left after fastai's trimming (the first num_it//10 = {n_it // 10} "
        f"points, the last 5, and any NaN tail) of a curve of {n} points"
    )


def torch_lr_finder_steepest(
    lrs: ArrayLike, losses: ArrayLike, *, skip_start: int = 10, skip_end: int = 5
) -> Suggestion:
    """torch-lr-finder's steepest gradient.

    Follows ``LRFinder.plot`` in davidtvs/pytorch-lr-finder ``torch_lr_finder/lr_finder.py``:
    trim ``skip_start`` points from the start and ``skip_end`` from the end (``skip_end=0``
    keeps the end), then ``(np.gradient(np.array(losses))).argmin()`` — the gradient against the
    point *index* (unit spacing), not against the LR.

    As in the source, NaN is not filtered: ``np.argmin`` returns the first NaN gradient, so a
    NaN inside the trimmed curve picks the point just before it.

    Returns
    -------
    Suggestion
        No suggestion when the curve has fewer than ``skip_start + skip_end + 2`` points
        (the source raises ``RuntimeError``).

    Raises
    ------
    ParamError
        If ``skip_start`` or ``skip_end`` is negative (the source raises ``ValueError``).
    """
    skip_start = _check_skip("skip_start", skip_start)
    skip_end = _check_skip("skip_end", skip_end)
    x, y = _check_curve(lrs, losses)
    name = "torch_lr_finder_steepest"
    need = skip_start + skip_end + 2
    if x.size < need:
        return _none(name, f"need at least {need} iterations to suggest a learning rate, got {x.size}")
    stop = x.size - skip_end
    trimmed = y[skip_start:stop]
    with np.errstate(all="ignore"):
        grad = np.gradient(trimmed)
    pos = int(grad.argmin())
    return Suggestion(name, float(x[skip_start + pos]), skip_start + pos)


def lightning_steepest(
    lrs: ArrayLike, losses: ArrayLike, *, skip_begin: int = 10, skip_end: int = 1
) -> Suggestion:
    """Lightning's steepest gradient.

    Follows ``_LRFinder.suggestion`` in Lightning-AI/pytorch-lightning
    ``src/lightning/pytorch/tuner/lr_finder.py``: slice ``[skip_begin:-skip_end]``, drop the
    non-finite losses, then ``torch.gradient(losses, spacing=[lrs])`` — the gradient against the
    LR itself (second-order central differences on the uneven grid, one-sided at the ends; the
    same formula as ``np.gradient(losses, lrs)``) — and the point of its minimum.

    As in the source, ``skip_end=0`` slices ``[skip_begin:-0]``, which is empty: no suggestion.

    Returns
    -------
    Suggestion
        No suggestion when fewer than 2 finite points are left (the source logs an error and
        returns ``None``).

    Raises
    ------
    ParamError
        If ``skip_begin`` or ``skip_end`` is negative.
    """
    skip_begin = _check_skip("skip_begin", skip_begin)
    skip_end = _check_skip("skip_end", skip_end)
    x, y = _check_curve(lrs, losses)
    name = "lightning_steepest"
    idx_non_skipped = np.arange(y.size)[skip_begin:-skip_end] if skip_end else np.arange(0)
    is_finite = np.isfinite(y[idx_non_skipped])
    idx_finite = idx_non_skipped[is_finite]
    if idx_finite.size < 2:
        return _none(
            name,
            f"not enough points to compute a gradient: {idx_finite.size} finite point(s) left "
            f"after skipping {skip_begin} at the start and {skip_end} at the end",
        )
    with np.errstate(all="ignore"):
        gradients = np.gradient(y[idx_finite], x[idx_finite])
    pos = int(idx_finite[int(np.argmin(gradients))])
    return Suggestion(name, float(x[pos]), pos)


#: Every suggestion rule by name; each takes ``(lrs, losses, **options)`` and returns a
#: :class:`Suggestion`. ``"valley"`` is the default.
SUGGESTERS: dict[str, Callable[..., Suggestion]] = {
    "valley": fastai_valley,
    "slide": fastai_slide,
    "minimum": fastai_minimum,
    "steep": fastai_steep,
    "torch_lr_finder_steepest": torch_lr_finder_steepest,
    "lightning_steepest": lightning_steepest,
}


def suggest(lrs: ArrayLike, losses: ArrayLike, method: str = "valley", **options: object) -> Suggestion:
    """Apply the suggestion rule ``method`` (a key of :data:`SUGGESTERS`) to a recorded curve.

    Parameters
    ----------
    lrs, losses
        The recorded LRs and *smoothed* losses (what all three tools record), same length.
    method
        Name of the rule, default ``"valley"``.
    **options
        Passed to the rule (``num_it=``, ``skip_start=``, ...).

    Returns
    -------
    Suggestion
        With ``lr=None`` and a ``reason`` when the rule has no suggestion for this curve.

    Raises
    ------
    ParamError
        If ``method`` is not a known rule or an option is not allowed.
    """
    try:
        rule = SUGGESTERS[method]
    except (KeyError, TypeError):
        raise ParamError(
            "method", method, "one of " + ", ".join(repr(k) for k in SUGGESTERS), _OWNER
        ) from None
    allowed = [p.name for p in inspect.signature(rule).parameters.values() if p.kind is p.KEYWORD_ONLY]
    for key in options:
        if key not in allowed:
            raise ParamError(
                "",
                NO_VALUE,
                f"the rule {method!r} has no option {key!r}; its options are {', '.join(allowed)}",
                _OWNER,
            )
    return rule(lrs, losses, **options)


# --------------------------------------------------------------------------------------------
# 4. Seeds


class SeedBand(NamedTuple):
    """The median curve over seeds and its band, on the LRs every seed reached."""

    lrs: np.ndarray
    median: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def seed_band(
    curves: Sequence[tuple[ArrayLike, ArrayLike]], band: Literal["minmax", "iqr"] = "minmax"
) -> SeedBand:
    """Median loss curve over seeds, with a min–max or interquartile band.

    The seeds of one test share the LR sequence, but each may stop early at its own update. The
    band covers the updates that *every* seed reached (the shortest curve): past it some seed
    diverged, and a median of the survivors would hide that.

    Parameters
    ----------
    curves
        ``(lrs, losses)`` per seed, at least one; the LRs must agree where the curves overlap.
    band
        ``"minmax"`` (default): ``lo``/``hi`` are the smallest and largest loss per LR.
        ``"iqr"``: the 25th and 75th percentiles (numpy's default linear interpolation).

    Returns
    -------
    SeedBand
        ``(lrs, median, lo, hi)``, float64 arrays of the shortest curve's length (NaN where a
        seed's loss is NaN, as numpy's median and percentiles give).

    Raises
    ------
    ParamError
        If there are no curves, a curve's LRs and losses differ in length, the seeds' LRs
        differ, or ``band`` is unknown.
    """
    if band not in ("minmax", "iqr"):
        raise ParamError("band", band, "'minmax' or 'iqr'", _OWNER)
    checked = [_check_curve(lrs, losses) for lrs, losses in curves]
    if not checked:
        raise ParamError("curves", [], "at least one (lrs, losses) curve", _OWNER)
    n = min(x.size for x, _ in checked)
    grid = checked[0][0][:n]
    for k, (x, _) in enumerate(checked[1:], start=1):
        if not np.allclose(x[:n], grid, rtol=1e-12, atol=0.0):
            raise ParamError(
                "",
                NO_VALUE,
                f"the curves of all seeds must share their LRs (same start, end, num_it and "
                f"mode); curve {k} differs from curve 0",
                _OWNER,
            )
    stack = np.stack([y[:n] for _, y in checked])
    median = np.median(stack, axis=0)
    if band == "minmax":
        lo, hi = np.min(stack, axis=0), np.max(stack, axis=0)
    else:
        lo, hi = np.percentile(stack, [25, 75], axis=0)
    return SeedBand(grid.copy(), median, lo, hi)


class SuggestionSpread(NamedTuple):
    """How much the seeds' suggestions for one rule disagree."""

    ratio: float
    unreliable: bool


def suggestion_spread(
    suggestions: Iterable[Suggestion | float | None], factor: float = 3.0
) -> SuggestionSpread:
    """Ratio of the largest to the smallest suggested LR over seeds, and whether it is too large.

    Parameters
    ----------
    suggestions
        One rule's suggestion per seed: :class:`Suggestion`, a plain LR, or ``None``.
    factor
        A rule is unreliable when its seeds disagree by more than this factor (default 3).

    Returns
    -------
    SuggestionSpread
        ``(ratio, unreliable)``: ``ratio = max / min`` over the seeds that made a suggestion
        (1.0 for a single one, NaN for none); ``unreliable`` is true when ``ratio > factor`` or
        when any seed made no suggestion.

    Raises
    ------
    ParamError
        If a suggested LR is not a finite number > 0, or ``factor`` is not >= 1.
    """
    fac = _check_positive_finite("factor", factor)
    if fac < 1.0:
        raise ParamError("factor", factor, "a finite number >= 1", _OWNER)
    lrs: list[float] = []
    missing = False
    for s in suggestions:
        lr = s.lr if isinstance(s, Suggestion) else s
        if lr is None:
            missing = True
            continue
        lrs.append(_check_positive_finite("suggested lr", lr))
    if not lrs:
        return SuggestionSpread(math.nan, True)
    ratio = max(lrs) / min(lrs)
    return SuggestionSpread(ratio, missing or ratio > fac)


# --------------------------------------------------------------------------------------------
# 5. One test's options, the incremental tracker the trainer uses, and the seeds' result


@dataclass(frozen=True)
class RangeTestOptions:
    """Everything that decides one range test, besides the run's model, data and optimizer.

    ``None`` fields take the chosen convention's default (:data:`DEFAULTS`); :meth:`resolved`
    fills them in and checks every value. torch-lr-finder starts from the optimizer's LR when no
    ``start_lr`` is given: :meth:`resolved` takes that LR as ``base_lr``.

    Attributes
    ----------
    start_lr, end_lr, num_it, mode
        The LR sweep (:func:`lr_sequence`).
    convention
        Whose LR positions, smoothing and stop rule to use: ``"fastai"`` (default),
        ``"torch_lr_finder"`` or ``"lightning"``.
    beta
        The convention's smoothing parameter (:func:`smooth_losses`).
    diverge_threshold
        Stop once the smoothed loss exceeds this multiple of the best one (:func:`stop_index`).
    stop_on_nonfinite
        Also stop at the first NaN/inf smoothed loss (lrstudio's rule; the tools run on).
    seeds
        Number of repetitions (seed, seed + 1, ...); default 3.
    val_loss
        torch-lr-finder's ``val_loader`` option: evaluate the validation loss after every update
        and smooth, stop and suggest on it instead of the training loss.
    """

    start_lr: float | None = None
    end_lr: float | None = None
    num_it: int | None = None
    mode: str = "exp"
    convention: str = "fastai"
    beta: float | None = None
    diverge_threshold: float | None = None
    stop_on_nonfinite: bool = True
    seeds: int = 3
    val_loss: bool = False

    def resolved(self, base_lr: float | None = None) -> RangeTestOptions:
        """A copy with every default filled in and every value checked.

        Raises
        ------
        ParamError
            Naming the option, the value and what is allowed.
        """
        convention = _check_convention(self.convention)
        d = DEFAULTS[convention]
        start = self.start_lr if self.start_lr is not None else d.start_lr
        if start is None:
            start = base_lr
        if start is None:
            raise ParamError("start_lr", None, "a finite number > 0 (torch-lr-finder's convention "
                             "starts from the optimizer's LR; none was given)", _OWNER)
        end = self.end_lr if self.end_lr is not None else d.end_lr
        num_it = self.num_it if self.num_it is not None else d.num_it
        # lr_sequence checks the range, num_it and mode with the messages users should see.
        lr_sequence(start, end, num_it, cast(Mode, self.mode), convention)
        beta = _check_beta(self.beta, convention)
        thr = (d.threshold if self.diverge_threshold is None
               else _check_positive_finite("diverge_threshold", self.diverge_threshold))
        seeds = _check_int("seeds", self.seeds, 1)
        if seeds > 100:
            raise ParamError("seeds", self.seeds, "an integer from 1 to 100", _OWNER)
        if not isinstance(self.stop_on_nonfinite, bool):
            raise ParamError("stop_on_nonfinite", self.stop_on_nonfinite, "true or false", _OWNER)
        if not isinstance(self.val_loss, bool):
            raise ParamError("val_loss", self.val_loss, "true or false", _OWNER)
        return RangeTestOptions(float(start), float(end), int(num_it), self.mode, convention, beta, thr,
                                self.stop_on_nonfinite, seeds, self.val_loss)

    def lrs(self) -> np.ndarray:
        """The LR of every update (of a resolved test)."""
        r = self.resolved()
        return lr_sequence(cast(float, r.start_lr), cast(float, r.end_lr), cast(int, r.num_it),
                           cast(Mode, r.mode), cast(Convention, r.convention))

    def to_dict(self) -> dict[str, object]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RangeTestOptions:
        """Options from a mapping (stored JSON, a GUI form); unknown keys are refused."""
        allowed = set(cls.__dataclass_fields__)
        for key in data:
            if key not in allowed:
                raise ParamError("", NO_VALUE, f"a range test has no option {key!r}; its options are "
                                 f"{', '.join(sorted(allowed))}", _OWNER)
        return cls(**data)  # type: ignore[arg-type]


class DivergenceTracker:
    """Smoothing and the divergence stop of one convention, one update at a time.

    ``update(loss)`` returns ``(smoothed, stop)``: the same values :func:`smooth_losses` and
    :func:`stop_index` give for the whole curve (the tests compare them), in O(1) per update, so
    the trainer can stop at the update where the tool would.
    """

    def __init__(self, convention: str = "fastai", beta: float | None = None,
                 threshold: float | None = None, *, stop_on_nonfinite: bool = False) -> None:
        self.convention = _check_convention(convention)
        self.beta = _check_beta(beta, self.convention)
        self.threshold = (DEFAULTS[self.convention].threshold if threshold is None
                          else _check_positive_finite("threshold", threshold))
        self.stop_on_nonfinite = bool(stop_on_nonfinite)
        self.count = 0
        self._val = 0.0  # fastai's lerp value, Lightning's avg_loss, torch-lr-finder's last smoothed
        self.best = math.inf

    def update(self, loss: float) -> tuple[float, bool]:
        b, thr = self.beta, self.threshold
        loss = float(loss)
        i = self.count
        self.count += 1
        if self.convention == "fastai":
            # Same arithmetic as smooth_losses (torch.lerp's two forms).
            self._val = loss + b * (self._val - loss) if b < 0.5 else self._val - (self._val - loss) * (1 - b)
            s = self._val / (1 - b ** self.count)
        elif self.convention == "torch_lr_finder":
            s = b * loss + (1 - b) * self._val if i != 0 and b > 0 else loss
            self._val = s
        else:
            self._val = b * self._val + (1 - b) * loss
            s = self._val / (1 - b ** (i + 2))
        if self.stop_on_nonfinite and not math.isfinite(s):
            return s, True
        stop = False
        if self.convention == "fastai":
            if s < self.best:
                self.best = s
            stop = s > thr * self.best
        elif self.convention == "torch_lr_finder":
            if i == 0 or s < self.best:
                self.best = s
            stop = s > thr * self.best
        else:
            stop = i > 0 and s > thr * self.best
            if s < self.best or i == 0:
                self.best = s
        return s, stop


@dataclass(frozen=True)
class RuleResult:
    """One suggestion rule over all seeds of a test.

    ``lr``/``index``/``loss``: the rule applied to the *median* curve (with one seed, to that
    seed's curve, exactly as its source); ``loss`` is the median curve at ``lr`` (interpolated in
    log LR, as fastai's ``slide`` places its marker). ``seed_lrs``: the rule on each seed's own
    curve (``None`` where it had none); ``spread``: their max/min; ``reliable``: every seed made a
    suggestion and they agree within ``factor`` (3).
    """

    name: str
    lr: float | None
    index: int | None
    loss: float | None
    seed_lrs: tuple[float | None, ...]
    spread: float
    reliable: bool
    reason: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "lr": self.lr, "index": self.index, "loss": self.loss,
                "seed_lrs": list(self.seed_lrs), "spread": self.spread, "reliable": self.reliable,
                "reason": self.reason}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RuleResult:
        return cls(str(d["name"]), d.get("lr"), d.get("index"), d.get("loss"),
                   tuple(d.get("seed_lrs") or ()), float(d.get("spread", math.nan)),
                   bool(d.get("reliable")), str(d.get("reason", "")))


def _rule_options(name: str, num_it: int) -> dict[str, object]:
    return {"num_it": num_it} if name in ("valley", "slide", "minimum", "steep") else {}


def _loss_at(lrs: np.ndarray, losses: np.ndarray, lr: float) -> float | None:
    ok = np.isfinite(losses) & (lrs > 0)
    if not ok.any():
        return None
    x, y = np.log10(lrs[ok]), losses[ok]
    return float(np.interp(math.log10(lr), x, y))


def summarize_seeds(
    curves: Sequence[tuple[ArrayLike, ArrayLike]],
    num_it: int,
    *,
    band: Literal["minmax", "iqr"] = "minmax",
    factor: float = 3.0,
    rules: Sequence[str] | None = None,
) -> tuple[SeedBand, list[RuleResult]]:
    """The band over seeds and every rule's result (see :class:`RuleResult`).

    Parameters
    ----------
    curves
        ``(lrs, smoothed losses)`` per seed, as recorded (each may have stopped early).
    num_it
        The number of updates asked for (fastai's rules trim ``num_it // 10`` points).
    band, factor
        As :func:`seed_band` and :func:`suggestion_spread`.
    rules
        Names in :data:`SUGGESTERS` (default: all of them, in their order).
    """
    sb = seed_band(curves, band)
    names = list(SUGGESTERS) if rules is None else list(rules)
    out: list[RuleResult] = []
    for name in names:
        per_seed = [suggest(x, y, name, **_rule_options(name, num_it)) for x, y in curves]
        spread = suggestion_spread(per_seed, factor)
        s = suggest(sb.lrs, sb.median, name, **_rule_options(name, num_it))
        loss = _loss_at(sb.lrs, sb.median, s.lr) if s.lr is not None else None
        out.append(RuleResult(name, s.lr, s.index, loss, tuple(p.lr for p in per_seed), spread.ratio,
                              not spread.unreliable and s.lr is not None, s.reason))
    return sb, out
