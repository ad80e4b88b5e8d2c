"""Schedule registry, spec validation and the vectorised curve.

Life cycle of a schedule
    A schedule is a *pure function of the step* ``t`` (the number of scheduler steps taken so far),
    written in closed form over a numpy array of steps, registered under a name with
    :func:`register_schedule`. A *spec* ``{"name": ..., "params": {...}}`` is the persisted form;
    :func:`validate_spec` checks it against the declared :class:`~lrstudio.core.params.Param`\\ s (and
    the schedule's own cross-checks) and returns a normalised copy with every parameter filled.
    :func:`lr_curve` evaluates the curve for ``steps`` updates in one vectorised call: element ``i``
    is the LR of update ``i + 1``, i.e. the value after ``i`` scheduler steps (torch's
    ``last_epoch == i``). Only ``reduce_on_plateau`` depends on data (one metric per step).

Nothing here recurses on the current LR (no ``last_epoch=-1`` chain), so the curve never drifts
from the formula and a preview of 100,000 steps costs about a millisecond.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from lrstudio.core.jsonio import MAX_SCHEDULE_DEPTH
from lrstudio.core.params import NO_VALUE, Param, ParamError, is_share, resolve_share, validate_params

__all__ = [
    "SCHEDULES",
    "ScheduleError",
    "ScheduleInfo",
    "check_run_length",
    "has_shares",
    "lr_curve",
    "register_schedule",
    "resolve_lengths",
    "share_steps",
    "validate_spec",
]

#: Longest curve lr_curve computes (a guard against a typo of 1e12 steps eating all memory).
MAX_STEPS = 50_000_000


class ScheduleError(ParamError):
    """A schedule spec is not valid, or cannot produce a curve (the message says why)."""


CurveFn = Callable[..., np.ndarray]


class SourceContext(Protocol):
    """What a schedule's ``scalar_source`` may ask of the code exporter
    (:mod:`lrstudio.core.schedules.pytorch_code`) while it writes ``def <fname>(step): ...``."""

    fname: str  # the name of the function being written (module-level helpers of its own use it)

    def child(self, spec: dict[str, Any]) -> str:
        """Write the function of a nested (validated) spec before this one; return its name."""
        ...  # pragma: no cover - protocol

    def preamble(self, *lines: str) -> None:
        """Module-level lines written just before this function (e.g. a cache it fills)."""
        ...  # pragma: no cover - protocol


#: ``torch_native(p, base_lr) -> str | None``: the constructor call of a ``torch.optim.lr_scheduler``
#: class (``"StepLR(optimizer, step_size=30, gamma=0.1)"``) that gives exactly the same numbers, or
#: None when these parameters have none. May raise :class:`ScheduleError` when torch cannot follow
#: the schedule at all (the message says why).
TorchNativeFn = Callable[[dict[str, Any], float], str | None]
#: ``scalar_source(p, base_lr, ctx) -> lines``: the body of ``def f(step): ...`` (plain Python with
#: ``math``, and ``np`` when it must) returning the LR at the int ``step``, for ``LambdaLR``.
ScalarSourceFn = Callable[[dict[str, Any], float, SourceContext], list[str]]


@dataclass(frozen=True)
class Lengths:
    """How a schedule's own length relates to the run, for :mod:`lrstudio.core.schedules.fit`.

    Each hook sits in the schedule's registration (one owner per fact); nested schedules are
    reached through the callable the hook is given, never by name.

    Attributes
    ----------
    own:
        ``own(p, length_of) -> int | None``: steps after which the schedule has done what it was
        declared to do (cosine: ``T_max``); ``length_of(spec)`` gives a nested spec's.
    fit:
        ``fit(p, total, fit_child) -> p``: a copy of ``p`` whose length parameters make it last
        ``total`` steps; ``fit_child(spec, total)`` fits a nested spec.
    milestones:
        ``milestones(p) -> [(param, steps, consequence)]``: steps at which something is meant to
        happen, which must fall inside the run to have any effect (multistep ``milestones``, step
        ``step_size``), and what a user misses when they do not (``""``: "never applies").
    children:
        ``children(p) -> [(start, spec)]``: nested specs and the step at which each starts.
    after:
        ``after(p, total) -> str | None``: what the LR does past the schedule's end in words,
        when the held value does not say it (cosine with ``after_end='rise'`` starts over).
    """

    own: Callable[[dict[str, Any], Callable[[dict[str, Any]], int | None]], int | None] | None = None
    fit: Callable[[dict[str, Any], int, Callable[[dict[str, Any], int], dict[str, Any]]],
                  dict[str, Any]] | None = None
    milestones: Callable[[dict[str, Any]], list[tuple[str, list[int], str]]] | None = None
    children: Callable[[dict[str, Any]], list[tuple[int, dict[str, Any]]]] | None = None
    after: Callable[[dict[str, Any], int], str | None] | None = None


NO_LENGTHS = Lengths()


@dataclass(frozen=True)
class ScheduleInfo:
    """Declaration of one schedule.

    Attributes
    ----------
    name, title:
        Registry key (``"cosine"``) and label (``"Cosine annealing"``).
    source:
        The framework API(s) it reproduces (``"torch CosineAnnealingLR; Paddle CosineAnnealingDecay"``).
    formula:
        The closed form in plain text.
    params:
        Declared parameters (forms and the CLI are generated from them).
    metric_driven:
        True when the curve depends on a metric per step (``reduce_on_plateau``).
    doc:
        The schedule function's docstring (conventions, source notes).
    curve:
        ``curve(p, t, base_lr, metrics) -> ndarray``: ``p`` validated params, ``t`` int64 steps.
    check:
        Optional cross-parameter check ``check(p, owner)`` raising :class:`ScheduleError`.
    run_length:
        Optional ``run_length(p) -> (param, steps)``: the parameter naming a length and the least
        run length it needs (``linear_warmup``: its ``warmup_steps``), for :func:`check_run_length`.
    torch_native:
        Optional :data:`TorchNativeFn`: the torch scheduler that reproduces the curve exactly.
    scalar_source:
        Optional :data:`ScalarSourceFn`: the curve as a Python function of one step (the ``LambdaLR``
        fallback of the code export). Both sit next to the curve in the schedule's module, so the
        PyTorch export is not a second copy of the catalogue (issue 10).
    lengths:
        :class:`Lengths`: the schedule's own length, how to fit it to a run, and its milestones.
    """

    name: str
    title: str
    source: str
    formula: str
    params: tuple[Param, ...]
    metric_driven: bool
    doc: str
    curve: CurveFn
    check: Callable[[dict[str, Any], str], None] | None = None
    run_length: Callable[[dict[str, Any]], list[tuple[str, int]]] | None = None
    torch_native: TorchNativeFn | None = None
    scalar_source: ScalarSourceFn | None = None
    lengths: Lengths = NO_LENGTHS


SCHEDULES: dict[str, ScheduleInfo] = {}


def register_schedule(
    name: str,
    *,
    title: str,
    source: str,
    formula: str,
    params: Sequence[Param] = (),
    metric_driven: bool = False,
    check: Callable[[dict[str, Any], str], None] | None = None,
    run_length: Callable[[dict[str, Any]], list[tuple[str, int]]] | None = None,
    torch_native: TorchNativeFn | None = None,
    scalar_source: ScalarSourceFn | None = None,
    lengths: Lengths = NO_LENGTHS,
) -> Callable[[CurveFn], CurveFn]:
    """Register ``fn(p, t, base_lr, metrics)`` as the closed form of schedule ``name``."""

    def deco(fn: CurveFn) -> CurveFn:
        if name in SCHEDULES:  # pragma: no cover - programming error
            raise RuntimeError(f"schedule {name!r} registered twice")
        SCHEDULES[name] = ScheduleInfo(
            name=name, title=title, source=source, formula=formula,
            params=tuple(p.as_schedule_param() for p in params),  # lengths take shares of the run
            metric_driven=metric_driven, doc=_dedent(fn.__doc__ or ""), curve=fn, check=check,
            run_length=run_length, torch_native=torch_native, scalar_source=scalar_source,
            lengths=lengths,
        )
        return fn

    return deco


def _dedent(text: str) -> str:
    import inspect

    return inspect.cleandoc(text)


def torch_native_of(norm: dict[str, Any], base_lr: float) -> str | None:
    """The exact torch scheduler of a validated spec (see :data:`TorchNativeFn`), or None.

    Raises :class:`ScheduleError` for a spec with lengths given as shares of the run (resolve them
    first: the code is written for one run length)."""
    _require_resolved(norm, "to_pytorch_code")
    fn = SCHEDULES[norm["name"]].torch_native
    return None if fn is None else fn(norm["params"], base_lr)


# -- specs ------------------------------------------------------------------------------------------
def _info_and_params(spec: Any, owner: str) -> tuple[ScheduleInfo, Mapping[str, Any]]:
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping):
        raise ScheduleError("", spec, 'a schedule spec {"name": ..., "params": {...}}', owner)
    unknown = sorted(set(spec) - {"name", "params"})
    if unknown:
        raise ScheduleError(unknown[0], spec[unknown[0]], 'only the keys "name" and "params"', owner)
    name = spec.get("name")
    if not isinstance(name, str) or name not in SCHEDULES:
        raise ScheduleError("name", name, "one of " + ", ".join(SCHEDULES), owner)
    params = spec.get("params")
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ScheduleError("params", params, "an object of parameter values", f"schedule {name!r}")
    return SCHEDULES[name], params


def validate_spec(spec: Any, *, _depth: int = 0) -> dict[str, Any]:
    """Check a schedule spec and return it normalised: ``{"name": ..., "params": {every param}}``.

    A bare name (``"cosine"``) is accepted as ``{"name": "cosine"}``. Nested specs
    (``linear_warmup.inner``, ``sequential.schedules``) are validated and normalised too.

    Raises
    ------
    ScheduleError
        With a message naming the parameter, the value and what is allowed.
    """
    owner = "schedule"
    if _depth >= MAX_SCHEDULE_DEPTH:
        raise ScheduleError("", NO_VALUE, f"schedules nest at most {MAX_SCHEDULE_DEPTH:,} deep", owner)
    info, params = _info_and_params(spec, owner)
    owner = f"schedule {info.name!r}"
    values = validate_params(info.params, params, owner, ScheduleError)
    for p in info.params:
        if p.kind == "schedule":
            values[p.name] = _validate_nested(values[p.name], p.name, owner, _depth)
        elif p.kind == "schedule_list":
            values[p.name] = [
                _validate_nested(s, f"{p.name}[{i}]", owner, _depth) for i, s in enumerate(values[p.name])
            ]
    if info.check is not None:
        if not _own_shares(info, values):
            info.check(values, owner)
        else:
            _check_with_shares(info, values, owner)
    return {"name": info.name, "params": values}


#: Run length the cross-checks of a spec with shares are tried at before the run length is known.
_NOMINAL_RUN = 1_000_000


def _check_with_shares(info: ScheduleInfo, values: dict[str, Any], owner: str) -> None:
    """A length given as a share of the run ("auto", "10%") is checked against the others once the
    run length is known (resolve_lengths validates the resolved spec again); the other cross-checks
    (min_lr vs min_lr_rate, noise_pct vs noise_std...) are run now, on the shares resolved for a
    nominal run: an error that names a length waits for the real one."""
    trial = dict(values)
    for decl in info.params:
        v = trial[decl.name]
        if decl.is_length:
            trial[decl.name] = ([resolve_share(x, _NOMINAL_RUN, decl.low, decl.high) for x in v]
                                if isinstance(v, list) else resolve_share(v, _NOMINAL_RUN, decl.low, decl.high))
    try:
        info.check(trial, owner)  # type: ignore[misc]
    except ScheduleError as exc:
        names = {d.name for d in info.params if d.is_length}
        if exc.param.split(".")[0].split("[")[0] not in names:
            raise


# -- lengths given as a share of the run (issue 15) -------------------------------------------------
def _own_shares(info: ScheduleInfo, values: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(param, value) of this level's lengths given as shares of the run."""
    out = []
    for decl in info.params:
        if decl.is_length:
            v = values.get(decl.name)
            if is_share(v) or (isinstance(v, list) and any(is_share(x) for x in v)):
                out.append((decl.name, v))
    return out


def _shares(norm: dict[str, Any], path: str = "") -> list[tuple[str, Any]]:
    """Every length of a validated spec (nested ones included) given as a share: (dotted path, value)."""
    info = SCHEDULES[norm["name"]]
    p = norm["params"]
    out = [(f"{path}{name}", v) for name, v in _own_shares(info, p)]
    for decl in info.params:
        if decl.kind == "schedule":
            out += _shares(p[decl.name], f"{path}{decl.name}.")
        elif decl.kind == "schedule_list":
            for i, child in enumerate(p[decl.name]):
                out += _shares(child, f"{path}{decl.name}[{i}].")
    return out


def has_shares(spec: Any) -> bool:
    """True when a length of ``spec`` (nested ones included) is a share of the run (``"auto"``, ``"10%"``)."""
    return bool(_shares(validate_spec(spec)))


def _resolve(norm: dict[str, Any], total: int) -> dict[str, Any]:
    info = SCHEDULES[norm["name"]]
    p = dict(norm["params"])
    for decl in info.params:
        v = p[decl.name]
        if decl.is_length:
            if isinstance(v, list):
                p[decl.name] = [resolve_share(x, total, decl.low, decl.high) for x in v]
            else:
                p[decl.name] = resolve_share(v, total, decl.low, decl.high)
    # a nested schedule's shares are shares of the part of the run it runs for (its start to the end)
    starts: dict[int, int] = {}
    if info.lengths.children is not None:
        try:
            starts = {id(c): int(start) for start, c in info.lengths.children(p)}
        except (TypeError, ValueError):  # a start that is itself an unresolved share: from 0
            starts = {}
    for decl in info.params:
        v = p[decl.name]
        if decl.kind == "schedule":
            p[decl.name] = _resolve(v, max(1, total - starts.get(id(v), 0)))
        elif decl.kind == "schedule_list":
            p[decl.name] = [_resolve(c, max(1, total - starts.get(id(c), 0))) for c in v]
    return {"name": norm["name"], "params": p}


def resolve_lengths(spec: Any, total: int) -> dict[str, Any]:
    """``spec`` validated, with every length given as a share of the run turned into steps of a run of
    ``total`` scheduling steps: ``"auto"`` is ``total``, ``"10%"`` is ``round(0.1 * total)`` (halves
    up), kept within the parameter's bounds. A nested schedule's shares are shares of the part of the
    run it runs for, from its start to the run's end (``linear_warmup.inner``: the steps after the
    warm-up; ``sequential``'s children: from their milestone on), so ``"auto"`` there ends with the
    run. Plain integers are steps and stay. The resolved spec is validated again (the cross-checks
    a share put off, e.g. a warm-up shorter than T_max), so a share that does not fit this run length
    raises :class:`ScheduleError` naming it.
    """
    norm = validate_spec(spec)
    shares = _shares(norm)
    if not shares:
        return norm
    if isinstance(total, bool) or not isinstance(total, (int, np.integer)) or not 1 <= total <= MAX_STEPS:
        raise ScheduleError("total_steps", total, f"an integer in [1, {MAX_STEPS}]", "run")
    try:
        return validate_spec(_resolve(norm, int(total)))
    except ScheduleError as exc:
        said = ", ".join(f"{k} = {v!r}" for k, v in shares[:3])
        raise ScheduleError(exc.param, exc.value, f"{exc.allowed} (in a run of {int(total):,} steps, "
                            f"where {said})", exc.owner) from None


def share_steps(spec: Any, resolved: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(param path, share, steps)`` for each share of ``spec`` and its value in ``resolved``
    (:func:`resolve_lengths` of it): what a preview or a run says it made of the shares."""
    out = []
    for path, share in _shares(validate_spec(spec)):
        node: Any = resolved
        for part in path.replace("[", ".").replace("]", "").split("."):
            node = node[int(part)] if isinstance(node, list) else (node["params"] if "params" in node and
                                                                   part not in node else node)[part]
        out.append((path, share, node))
    return out


def _require_resolved(norm: dict[str, Any], where: str) -> None:
    shares = _shares(norm)
    if shares:
        name, value = shares[0]
        raise ScheduleError(name, value, "steps here: a share of the run needs the run length "
                            "(resolve_lengths(spec, total_steps), or lr_curve with the run's steps)", where)


def _validate_nested(spec: Any, pname: str, owner: str, depth: int) -> dict[str, Any]:
    try:
        norm = validate_spec(spec, _depth=depth + 1)
    except ScheduleError as exc:
        path = f"{pname}.{exc.param}" if exc.param else pname
        where = f"{owner} > {exc.owner}" if exc.owner else owner
        if depth == 0:  # outermost: a chain hundreds deep is shown by its ends
            path, where = _shorten(path, "."), _shorten(where, " > ")
        raise ScheduleError(path, exc.value, exc.allowed, where) from None
    if SCHEDULES[norm["name"]].metric_driven:
        raise ScheduleError(pname, norm["name"], "a schedule that is not metric-driven", owner)
    return norm


def _shorten(chain: str, sep: str, keep: int = 2) -> str:
    """``a > b > … 496 more … > y > z`` for a chain of more than ``2 * keep + 1`` parts."""
    parts = chain.split(sep)
    if len(parts) <= 2 * keep + 1:
        return chain
    return sep.join([*parts[:keep], f"…{len(parts) - 2 * keep} more…", *parts[-keep:]])


def check_run_length(spec: Any, total_steps: int, base_lr: float = 1.0) -> None:
    """Raise :class:`ScheduleError` when ``spec`` does not fit in a run of ``total_steps`` updates.

    E.g. a warm-up (``linear_warmup.warmup_steps``, ``wsd``/``inverse_sqrt``/``cosine`` warm-up)
    longer than the whole run, or a one-cycle ``total_steps`` shorter than the run (torch raises
    when stepped past its ``total_steps``; lrstudio holds the final LR, so that one is allowed).
    Then the curve itself is evaluated at scheduling steps ``0..total_steps`` (what the training
    adapter computes; ~10 ms per million steps) with ``base_lr``: a user expression that turns
    negative or overflows anywhere in the run is refused here, naming the step, before a run
    exists. ``total_steps`` is at most :data:`MAX_STEPS`.
    """
    if (not isinstance(total_steps, (int, np.integer)) or isinstance(total_steps, bool)
            or not 1 <= total_steps <= MAX_STEPS):
        raise ScheduleError("total_steps", total_steps, f"an integer in [1, {MAX_STEPS}]", "run")
    total = int(total_steps)
    norm = resolve_lengths(spec, total)
    base = _check_base_lr(base_lr)
    _check_len(norm, total, f"schedule {norm['name']!r}")
    # In chunks, so a long run does not need a curve-sized array at once.
    for start in range(0, total + 1, _CHECK_CHUNK):
        _curve(norm, np.arange(start, min(start + _CHECK_CHUNK, total + 1), dtype=np.int64), base)


_CHECK_CHUNK = 1 << 21


def _check_len(norm: dict[str, Any], total: int, owner: str) -> None:
    info = SCHEDULES[norm["name"]]
    p = norm["params"]
    if info.run_length is not None:
        for pname, need in info.run_length(p):
            if need > total:
                raise ScheduleError(
                    pname, p.get(pname, need), f"at most the run length ({total} steps)", owner
                )
    for decl in info.params:
        if decl.kind == "schedule":
            _check_len(p[decl.name], total, f"{owner} > {decl.name}")
    # sequential children: each starts at its milestone; their own lengths count from there
    if norm["name"] == "sequential":
        starts = [0, *p["milestones"]]
        for i, child in enumerate(p["schedules"]):
            if starts[i] < total:
                _check_len(child, total - starts[i], f"{owner} > schedules[{i}]")


# -- curves -----------------------------------------------------------------------------------------
def lr_curve(spec: Any, steps: int, base_lr: float, metrics: Sequence[float] | np.ndarray | None = None
             ) -> np.ndarray:
    """The learning rate of each of ``steps`` updates, as a float64 array.

    Element ``i`` is the LR used for update ``i + 1``: the value after ``i`` scheduler steps
    (torch: after ``i`` calls of ``scheduler.step()``). Metric-driven schedules take one metric per
    scheduling step in ``metrics`` (``metrics[k]`` is passed to the ``k + 1``-th step, so it decides
    element ``k + 1``); where metrics run out the LR holds. Lengths given as shares of the run
    (``"auto"``, ``"10%"``) are shares of ``steps``: the curve of a run of ``steps`` updates.

    Raises
    ------
    ScheduleError
        For an invalid spec, a bad ``steps``/``base_lr``, or a curve that is not finite and >= 0
        (only a user expression can produce one: the message names the step).
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps <= MAX_STEPS:
        raise ScheduleError("steps", steps, f"an integer in [0, {MAX_STEPS}]", "lr_curve")
    norm = resolve_lengths(spec, max(1, int(steps)))
    base = _check_base_lr(base_lr)
    return _curve(norm, np.arange(int(steps), dtype=np.int64), base, metrics)


#: Smallest base LR other than 0. Schedules with absolute values (an end LR, a minimum LR) divide by
#: the base LR (HF's polynomial, optax's alpha = end / peak, a chained schedule's factors): below
#: ~1e-300 the quotient overflows to inf and the curve turns NaN. No training uses an LR below 1e-30.
MIN_BASE_LR = 1e-30
_BASE_LR_ALLOWED = f"0, or a finite number in [{MIN_BASE_LR:g}, 1e12]"


def _check_base_lr(base_lr: Any) -> float:
    try:
        base = float(base_lr)
    except (TypeError, ValueError, OverflowError):
        raise ScheduleError("base_lr", base_lr, _BASE_LR_ALLOWED, "lr_curve") from None
    if (isinstance(base_lr, bool) or not math.isfinite(base) or base < 0 or base > 1e12
            or 0 < base < MIN_BASE_LR):
        raise ScheduleError("base_lr", base_lr, _BASE_LR_ALLOWED, "lr_curve")
    return base


_NESTED: contextvars.ContextVar[bool] = contextvars.ContextVar("lrstudio_schedule_nested", default=False)


def _curve(norm: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Evaluate a *validated* spec at the int64 steps ``t`` (used by nesting schedules too).

    Only the outermost call checks the values, so a bad value is reported at the run's step (an
    inner schedule of a warm-up counts its own steps from the warm-up's end).
    """
    info = SCHEDULES[norm["name"]]
    if _NESTED.get():
        with np.errstate(all="ignore"):
            return np.asarray(info.curve(norm["params"], t, base_lr, metrics), dtype=np.float64)
    token = _NESTED.set(True)
    try:
        with np.errstate(all="ignore"):
            out = info.curve(norm["params"], t, base_lr, metrics)
    except (OverflowError, ZeroDivisionError):
        # Python floats (timm's cycle_mul ** i, t_i ** k_decay, cycle_decay ** i, as timm computes them)
        # raise where numpy gives inf: a factor above 1 compounded past float64's 1.8e308. The sources
        # raise there too; lrstudio refuses the parameters for this run, in words.
        raise ScheduleError(
            "", NO_VALUE,
            f"a curve within float64 up to step {int(t.max()) if t.size else 0:,}; these parameters overflow it: "
            "a growth factor (cycle_mul, cycle_decay, decay_rate, k_decay, T_mult...) compounds past "
            "1.8e308; use a smaller one or a shorter run",
            f"schedule {norm['name']!r}",
        ) from None
    finally:
        _NESTED.reset(token)
    out = np.asarray(out, dtype=np.float64)
    if out.shape != t.shape:
        out = np.broadcast_to(out, t.shape).copy()
    # (out >= 0) is False for NaN too; then +inf is the only value left to catch: two cheap passes
    # instead of building a mask (issue 11: lr_curve's fixed cost); the mask only for the message.
    if out.size and not (bool((out >= 0).all()) and math.isfinite(float(out.max()))):
        bad = ~np.isfinite(out) | (out < 0)
        i = int(np.argmax(bad))
        raise ScheduleError(
            "", NO_VALUE,
            f"the learning rate at step {int(t[i])} is {float(out[i])!r}; expected a finite number >= 0 "
            "at every step of the run",
            f"schedule {norm['name']!r}",
        )
    return out


def curve_at(norm: dict[str, Any], t: np.ndarray, base_lr: float) -> np.ndarray:
    """Closed form of a validated, non-metric spec at arbitrary int64 steps ``t`` (its lengths in
    steps: a share of the run raises, see :func:`resolve_lengths`)."""
    _require_resolved(norm, "curve_at")
    return _curve(norm, np.asarray(t, dtype=np.int64), base_lr)


# -- fast evaluation helpers (a preview of 100,000 steps must take a few milliseconds) ---------------
def as_range(t: np.ndarray) -> tuple[int, int] | None:
    """``(first, last)`` when ``t`` is a run of consecutive steps (what lr_curve passes), else None."""
    n = t.size
    if n == 0:
        return None
    a, b = int(t[0]), int(t[-1])
    if b - a != n - 1:
        return None
    if n > 2 and not bool((t[1:] - t[:-1] == 1).all()):
        return None
    return a, b


def piecewise(t: np.ndarray, edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values[k]`` with ``k = #{e in edges: e <= t}`` (``len(values) == len(edges) + 1``).

    For consecutive steps this is a ``np.repeat`` of the few values (no per-step gather).
    """
    r = as_range(t)
    if r is None:
        return values[np.searchsorted(edges, t, side="right")]
    a, b = r
    cuts = np.clip(np.asarray(edges, dtype=np.int64), a, b + 1)
    counts = np.diff(np.concatenate(([a], cuts, [b + 1])))
    return np.repeat(np.asarray(values, dtype=np.float64), counts)


def pow_scalar(base: float, x: np.ndarray) -> np.ndarray:
    """``base ** x`` for a scalar base > 0 and a float array (exp/log: numpy's scalar**array pow is
    ~20x slower); relative error ~|x ln base| * 1e-16."""
    if base == 1.0:
        return np.ones_like(x, dtype=np.float64)
    if base <= 0.0:
        return np.power(base, x)
    out = np.multiply(x, math.log(base))
    if not isinstance(out, np.ndarray):  # a 0-d x (a constant user expression) gives a numpy scalar
        return np.exp(out)
    return np.exp(out, out=out)


def pow_array(x: np.ndarray, e: float) -> np.ndarray:
    """``x ** e`` for x >= 0 and a scalar exponent, fast paths for the common exponents."""
    if e == 1.0:
        return np.array(x, dtype=np.float64)
    if e == 2.0:
        return np.multiply(x, x)
    if e == 0.5:
        return np.sqrt(x)
    if e == 0.0:
        return np.ones_like(x, dtype=np.float64)
    out = np.log(x)
    out *= e
    return np.exp(out, out=out)
