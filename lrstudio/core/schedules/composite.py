"""User expressions (lambda, multiplicative) and schedules built from other schedules
(linear_warmup, sequential), joined at step boundaries as optax's ``join_schedules`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lrstudio.core.params import Param
from lrstudio.core.schedules.base import (
    Lengths,
    ScheduleError,
    SourceContext,
    _curve,
    as_range,
    register_schedule,
    torch_native_of,
)
from lrstudio.core.schedules.expr import compile_expr


# -- lambda / multiplicative ---------------------------------------------------------------------
def _check_expr(p: dict[str, Any], owner: str) -> None:
    compile_expr(p["lr_lambda"], "lr_lambda", owner)


def _py(p: dict[str, Any]) -> str:
    """The user expression spelled as Python of ``epoch`` (by the safe evaluator, never run here)."""
    return compile_expr(p["lr_lambda"]).python()


def _multiplicative_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    # the running product kept beside the function: one multiplication per new step (LambdaLR asks
    # for every step of a run; recomputing the product each time made a run quadratic)
    run = f"_run_{ctx.fname}"
    ctx.preamble(f"{run} = [{base_lr!r}]  # lr(0), lr(1), ...: filled as asked", "")
    return [f"while len({run}) <= step:", f"    epoch = float(len({run}))",
            f"    {run}.append({run}[-1] * ({_py(p)}))", f"return {run}[step]"]


@register_schedule(
    "lambda",
    title="Lambda (expression)",
    source="torch LambdaLR; Paddle LambdaDecay",
    formula="lr(t) = base_lr * f(t), f a user expression of epoch (= step = t)",
    params=(
        Param("lr_lambda", "expr", "0.95 ** epoch",
              "Factor as an expression of epoch (also step or t), e.g. 0.95 ** epoch or "
              "1 if epoch < 10 else 0.1; functions exp, log, sqrt, cos, sin, min, max, abs, floor, ceil; pi, e"),
    ),
    check=_check_expr,
    torch_native=lambda p, base_lr: f"LambdaLR(optimizer, lambda epoch: {_py(p)})",
    scalar_source=lambda p, base_lr, ctx: ["epoch = float(step)", f"return {base_lr!r} * ({_py(p)})"],
)
def lambda_(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Base LR times a user factor (torch ``LambdaLR``, Paddle ``LambdaDecay``).

    lr(t) = base_lr * f(t). ``f`` is read by the safe evaluator of
    :mod:`lrstudio.core.schedules.expr` (never ``eval``); the curve must stay finite and >= 0,
    otherwise :func:`lr_curve` names the first bad step.
    """
    out = compile_expr(p["lr_lambda"]).evaluate(t)  # a fresh array: scaled in place
    out *= base_lr
    return out


@register_schedule(
    "multiplicative",
    title="Multiplicative (expression)",
    source="torch MultiplicativeLR; Paddle MultiplicativeDecay",
    formula="lr(0) = base_lr; lr(t) = lr(t-1) * f(t) = base_lr * f(1) * ... * f(t)",
    params=(
        Param("lr_lambda", "expr", "0.95",
              "Factor applied at each step, as an expression of epoch (also step or t), e.g. 0.95 or "
              "0.9 if epoch % 10 == 0 else 1"),
    ),
    check=_check_expr,
    torch_native=lambda p, base_lr: f"MultiplicativeLR(optimizer, lambda epoch: {_py(p)})",
    scalar_source=_multiplicative_source,
)
def multiplicative(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Running product of a user factor (torch ``MultiplicativeLR``, Paddle ``MultiplicativeDecay``).

    lr(t) = base_lr * prod_{k=1..t} f(k)   (lr(0) = base_lr). The product is accumulated left to
    right, ((base_lr * f(1)) * f(2)) * ..., the order in which torch multiplies ``group["lr"]``.
    """
    if t.size == 0:
        return np.zeros(0)
    top = int(t.max())
    e = compile_expr(p["lr_lambda"])
    # run[k] = f(k) for k >= 1, run[0] = base_lr; then the running product in place (one array)
    if e.constant is not None:
        run = np.full(top + 1, e.constant)
    else:
        run = e.evaluate(np.arange(top + 1, dtype=np.float64), owned=True)
    run[0] = float(base_lr)
    np.multiply.accumulate(run, out=run)
    r = as_range(t)
    return run[r[0] : r[1] + 1] if r is not None else run[t]


# -- linear warm-up around any schedule ----------------------------------------------------------
def _warmup_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    inner = ctx.child(p["inner"])
    end = base_lr if p["end_lr"] is None else p["end_lr"]
    w = p["warmup_steps"]
    return [f"if step < {w}:", f"    return ({end!r} - {p['start_lr']!r}) * step / {max(w, 1)} + {p['start_lr']!r}",
            f"return {inner}(step - {w})"]


def _warmup_own(p: dict[str, Any], length_of: Any) -> int | None:
    inner = length_of(p["inner"])
    return None if inner is None else int(p["warmup_steps"]) + inner


def _warmup_fit(p: dict[str, Any], total: int, fit: Any) -> dict[str, Any]:
    room = total - p["warmup_steps"]
    return {**p, "inner": fit(p["inner"], room)} if room >= 1 else p


_WARMUP_LENGTHS = Lengths(own=_warmup_own, fit=_warmup_fit,
                          children=lambda p: [(int(p["warmup_steps"]), p["inner"])])



@register_schedule(
    "linear_warmup",
    title="Linear warm-up + schedule",
    source="Paddle LinearWarmup (wraps any schedule)",
    formula="t < W: lr = start_lr + (end_lr - start_lr) * t / W; else lr = inner(t - W)",
    params=(
        Param("inner", "schedule", {"name": "constant", "params": {}}, "Schedule that follows the warm-up "
              "(it starts at its own step 0 when the warm-up ends)"),
        Param("warmup_steps", "int", 100, "Steps of the warm-up (0: none)", low=0, high=10**9),
        Param("start_lr", "float", 0.0, "LR at step 0 (absolute)", low=0.0, high=1e6),
        Param("end_lr", "float", None, "LR the warm-up reaches (absolute; empty: the base LR)",
              low=0.0, high=1e6, optional=True),
    ),
    run_length=lambda p: [("warmup_steps", p["warmup_steps"])],
    scalar_source=_warmup_source,
    lengths=_WARMUP_LENGTHS,
)
def linear_warmup(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Linear warm-up, then any schedule (Paddle ``LinearWarmup``).

    lr(t) = start_lr + (end_lr - start_lr) * t / W      for t < W
    lr(t) = inner(t - W)                                for t >= W
    end_lr defaults to the base LR; the inner schedule is evaluated with the base LR as Paddle's
    inner scheduler runs with its own learning_rate, stepped with ``epoch - warmup_steps``.
    """
    w = p["warmup_steps"]
    end = base_lr if p["end_lr"] is None else p["end_lr"]
    r = as_range(t)
    if r is not None:
        m = min(max(w - r[0], 0), t.size)  # the first m steps are in the warm-up
        out = np.empty(t.shape, dtype=np.float64)
        if m:
            out[:m] = (end - p["start_lr"]) * t[:m].astype(np.float64) / float(w) + p["start_lr"]
        if m < t.size:
            out[m:] = _curve(p["inner"], t[m:] - w, base_lr)
        return out
    out = np.empty(t.shape, dtype=np.float64)
    warm = t < w
    if warm.any():
        out[warm] = (end - p["start_lr"]) * t[warm].astype(np.float64) / float(w) + p["start_lr"]
    rest = ~warm
    if rest.any():
        out[rest] = _curve(p["inner"], t[rest] - w, base_lr)
    return out


# -- sequential ----------------------------------------------------------------------------------
def _check_sequential(p: dict[str, Any], owner: str) -> None:
    ms, ss = p["milestones"], p["schedules"]
    if len(ms) != len(ss) - 1:
        raise ScheduleError(
            "milestones", ms,
            f"one milestone fewer than schedules: {len(ss) - 1} milestones for {len(ss)} schedules", owner,
        )
    for a, b in zip(ms, ms[1:]):
        if b <= a:
            raise ScheduleError("milestones", ms, f"strictly increasing integers (got {a} then {b})", owner)


def _sequential_torch(p: dict[str, Any], base_lr: float) -> str | None:
    """torch ``SequentialLR`` when every child has an exact torch scheduler that SequentialLR can
    chain; otherwise None (the export then writes LambdaLR over the closed form). SequentialLR
    restarts each later child with ``step(0)``, so these torch classes cannot be children:

    * ``SequentialLR``: its ``step()`` takes no epoch;
    * ``OneCycleLR``: it overwrites the group's ``initial_lr`` (with max_lr / div_factor), which
      SequentialLR's reset and every later child read as their base LR;
    * ``MultiplicativeLR`` after the first, unless ``recursive="continue"``: it has no closed form,
      so ``step(0)`` continues from the current LR (which is what "continue" asks for).
    """
    natives = [torch_native_of(c, base_lr) for c in p["schedules"]]
    for i, native in enumerate(natives):
        if native is None or native.startswith(("SequentialLR(", "OneCycleLR(")) or (
                i > 0 and native.startswith("MultiplicativeLR(") and p["recursive"] != "continue"):
            return None
    body = ",\n    ".join(natives)  # type: ignore[arg-type]
    return (f"SequentialLR(\n    optimizer,\n    schedulers=[\n    {body},\n    ],\n"
            f"    milestones={p['milestones']!r},\n)")


def _continues(p: dict[str, Any], i: int) -> bool:
    """Child ``i`` continues from the current LR (torch's SequentialLR with a recursive child)."""
    return i > 0 and p["recursive"] == "continue" and p["schedules"][i]["name"] == "multiplicative"


def _sequential_source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    names = [ctx.child(c) for c in p["schedules"]]
    starts = [0, *p["milestones"]]
    body = [f"k = sum(1 for m in {p['milestones']!r} if m <= step)", f"start = {starts!r}[k]"]
    for i, child in enumerate(p["schedules"]):
        if not _continues(p, i):
            continue
        # torch: lr(m + j) = lr(m - 1) * f(0) * f(1) * ... * f(j), kept in a list beside the function
        # (one multiplication per new step, in torch's order)
        run, f = f"_run_{ctx.fname}_{i}", _py(child["params"])
        ctx.preamble(f"{run} = []  # LRs of schedules[{i}] from its milestone on, filled as asked", "")
        body += [f"if k == {i}:", f"    if not {run}:", "        epoch = 0.0",
                 f"        {run}.append({ctx.fname}({starts[i] - 1}) * ({f}))",
                 f"    while len({run}) <= step - start:", f"        epoch = float(len({run}))",
                 f"        {run}.append({run}[-1] * ({f}))", f"    return {run}[step - start]"]
    return [*body, f"return [{', '.join(names)}][k](step - start)"]


def _sequential_own(p: dict[str, Any], length_of: Any) -> int | None:
    last = length_of(p["schedules"][-1])
    return None if last is None else int(p["milestones"][-1] if p["milestones"] else 0) + last


def _sequential_fit(p: dict[str, Any], total: int, fit: Any) -> dict[str, Any]:
    """Fit the last schedule to what follows the last milestone."""
    room = total - (p["milestones"][-1] if p["milestones"] else 0)
    if room < 1:
        return p
    return {**p, "schedules": [*p["schedules"][:-1], fit(p["schedules"][-1], room)]}


_SEQUENTIAL_LENGTHS = Lengths(
    own=_sequential_own, fit=_sequential_fit,
    milestones=lambda p: [("milestones", list(p["milestones"]), "")],
    children=lambda p: list(zip([0, *p["milestones"]], p["schedules"])),
)



@register_schedule(
    "sequential",
    title="Sequential",
    source="torch SequentialLR",
    formula="k = #{m in milestones: m <= t}; lr(t) = schedules[k](t - milestones[k-1]) (milestones[-1] = 0); "
            "recursive='continue': a later multiplicative child gives lr(m + j) = lr(m - 1) * f(0) * ... * f(j)",
    params=(
        Param("schedules", "schedule_list",
              [{"name": "constant", "params": {"factor": 0.1, "total_iters": 2}},
               {"name": "exponential", "params": {"gamma": 0.9}}],
              "Schedules to run one after the other", min_len=1),
        Param("milestones", "int_list", [2], "Steps at which the next schedule starts (one fewer than "
              "schedules, strictly increasing)", low=1, high=10**9),
        Param("recursive", "choice", "restart",
              "How a multiplicative schedule after a milestone starts: restart = from the base LR, like "
              "every other schedule; continue = as torch's SequentialLR: from the LR of the step before "
              "the milestone, times f(0) at the milestone", choices=("restart", "continue")),
    ),
    check=_check_sequential,
    torch_native=_sequential_torch,
    scalar_source=_sequential_source,
    lengths=_SEQUENTIAL_LENGTHS,
)
def sequential(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """Chain schedules at milestones (torch ``SequentialLR``).

    k = bisect_right(milestones, t); lr(t) = schedules[k](t - m_k) with m_0 = 0, m_k = milestones[k-1].
    Each schedule restarts at its own step 0 from the base LR, as torch does by calling
    ``scheduler.step(0)`` (closed form) at each milestone.

    ``recursive`` is about ``multiplicative`` children after the first, which torch's
    ``MultiplicativeLR`` cannot restart (it has no closed form: ``step(0)`` multiplies the current
    LR by f(0)):

    * ``"restart"`` (default): the child starts from the base LR like any other,
      lr(m_k + j) = base_lr * f(1) * ... * f(j);
    * ``"continue"``: torch's ``SequentialLR``: it continues from the LR of step m_k - 1,
      lr(m_k + j) = lr(m_k - 1) * f(0) * f(1) * ... * f(j), multiplied in that order.
    """
    ms = np.asarray(p["milestones"], dtype=np.int64)
    starts = np.concatenate(([0], ms))

    def child_base(i: int) -> float:
        if not _continues(p, i):
            return base_lr
        # torch: the LR of step m - 1 times f(0), then f(1), f(2)... (the child's own accumulation)
        prev = float(sequential(p, np.asarray([int(starts[i]) - 1], dtype=np.int64), base_lr)[0])
        return prev * float(compile_expr(p["schedules"][i]["params"]["lr_lambda"]).evaluate(0.0))

    r = as_range(t)
    if r is not None:
        out = np.empty(t.shape, dtype=np.float64)
        ends = np.concatenate((ms, [np.iinfo(np.int64).max]))
        for i, child in enumerate(p["schedules"]):
            lo, hi = max(int(starts[i]), r[0]), min(int(ends[i]) - 1, r[1])
            if lo <= hi:
                out[lo - r[0] : hi - r[0] + 1] = _curve(child, t[lo - r[0] : hi - r[0] + 1] - starts[i],
                                                        child_base(i))
        return out
    k = np.searchsorted(ms, t, side="right")
    out = np.empty(t.shape, dtype=np.float64)
    for i, child in enumerate(p["schedules"]):
        sel = k == i
        if sel.any():
            out[sel] = _curve(child, t[sel] - starts[i], child_base(i))
    return out
