"""Export a schedule spec as a short PyTorch snippet (``to_pytorch_code``).

A generic driver over the registry: each schedule's registration carries its own PyTorch pieces
next to its formula (``ScheduleInfo.torch_native``: the torch scheduler that gives exactly the same
numbers; ``ScheduleInfo.scalar_source``: the curve as a Python function of one step), so nothing
here knows a schedule by name (issue 10; STYLE.md §13 habit 3). The snippet uses the native torch
scheduler where there is one, and otherwise ``LambdaLR`` over the functions of every schedule of the
spec, nested ones included.

This module never imports torch and never runs what it writes: user expressions (``lambda``,
``multiplicative``) are spelled out by the safe evaluator (:mod:`lrstudio.core.schedules.expr`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lrstudio.core.schedules.base import (
    MAX_STEPS,
    SCHEDULES,
    ScheduleError,
    TorchNativeFn,
    _check_base_lr,
    resolve_lengths,
    torch_native_of,
    validate_spec,
)
from lrstudio.core.schedules.momentum import cycles_momentum

__all__ = ["NativeUpTo", "to_pytorch_code"]


@dataclass(frozen=True)
class NativeUpTo:
    """A ``torch_native`` hook whose torch class follows the schedule only for the first
    ``max_steps(p)`` updates (``OneCycleLR`` raises when stepped past ``total_steps``, where lrstudio
    holds the final LR). ``why`` says what goes wrong after; the exporter writes ``LambdaLR`` for a
    longer run and says so."""

    native: TorchNativeFn
    max_steps: Callable[[dict[str, Any]], int]
    why: str

    def __call__(self, p: dict[str, Any], base_lr: float) -> str | None:
        return self.native(p, base_lr)

#: ``ClassName(optimizer`` in a native constructor call: the classes the snippet imports.
_TORCH_CLASS = re.compile(r"\b([A-Za-z_]\w*)\(\s*optimizer\b")


def to_pytorch_code(spec: Any, base_lr: float, steps: int | None = None) -> str:
    """A short, readable PyTorch snippet that reproduces ``lr_curve(spec, steps, base_lr)``.

    The snippet expects a variable ``optimizer`` whose param groups have ``lr = base_lr`` and
    defines ``scheduler`` (one ``scheduler.step()`` after each ``optimizer.step()``). It uses the
    matching ``torch.optim.lr_scheduler`` class where one gives exactly the same numbers for a run
    of ``steps`` updates, and ``LambdaLR`` over lrstudio's closed form (spelled out as a Python
    function of ``step``) otherwise. ``steps``: the run length it is exported for; None (unknown)
    keeps a torch class that follows only part of a run (``OneCycleLR`` up to its ``total_steps``)
    and says so in a comment; lengths given as shares of the run need ``steps``.

    Raises
    ------
    ScheduleError
        For an invalid spec, base LR or ``steps``, and where torch cannot follow the schedule
        (``reduce_on_plateau`` with the Paddle cooldown convention); the message says why.
    """
    norm = validate_spec(spec)
    base = _check_base_lr(base_lr)
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, (int, np.integer))
                              or not 1 <= steps <= MAX_STEPS):
        raise ScheduleError("steps", steps, f"an integer in [1, {MAX_STEPS}] or empty", "to_pytorch_code")
    if steps is not None:
        norm = resolve_lengths(norm, int(steps))  # shares of the run ("auto", "10%") of this run
    native = torch_native_of(norm, base)
    head = [
        f"# lrstudio schedule: {json.dumps(norm, sort_keys=True)}",
        f"# base learning rate {base!r}: create the optimizer with lr={base!r}",
    ]
    hook = SCHEDULES[norm["name"]].torch_native
    if native is not None and isinstance(hook, NativeUpTo):
        limit = hook.max_steps(norm["params"])
        if steps is None:
            head.append(f"# for runs of at most {limit} steps: {hook.why} "
                        "(export for the run's length to get a LambdaLR that holds it)")
        elif steps > limit:
            native = None
            head.append(f"# LambdaLR, not the torch class: this run has {steps} steps and {hook.why}")
    if native is None and cycles_momentum(norm):
        head.append("# momentum cycling is not in this snippet (LambdaLR sets the LR only): set the "
                    "optimizer's momentum (Adam: betas[0]) each step from lrstudio.core.schedules.momentum.momentum_curve")
    if native is not None:
        classes = sorted(set(_TORCH_CLASS.findall(native)))
        lines = [*head, *(["import math", ""] if "math." in native else []),
                 f"from torch.optim.lr_scheduler import {', '.join(classes)}", "", f"scheduler = {native}"]
        if SCHEDULES[norm["name"]].metric_driven:
            lines.append("# call scheduler.step(metric) once per scheduling step")
        return "\n".join(lines) + "\n"
    defs = _Writer(base).function(norm, "lr_at")
    return "\n".join([
        *head,
        "import math",
        "",
        *(["import numpy as np"] if any("np." in line for line in defs) else []),
        "from torch.optim.lr_scheduler import LambdaLR",
        "",
        *defs,
        "",
        "def lr_factor(step):",
        f"    return lr_at(step) / {base!r}" if base != 0 else "    return 0.0",
        "",
        "",
        "scheduler = LambdaLR(optimizer, lr_factor)",
    ]) + "\n"


class _Writer:
    """Writes ``def <fname>(step): ...`` for a spec and, before it, the functions of its children
    (``lr_at_1``, ``lr_at_2``, ... in the order asked) and any module-level helper lines.

    One instance per ``SourceContext`` handed to a schedule's ``scalar_source``; children share the
    counter of the outermost writer so every name is unique.
    """

    def __init__(self, base: float, counter: list[int] | None = None, fname: str = "lr_at") -> None:
        self.base = base
        self.fname = fname
        self._counter = counter if counter is not None else [0]
        self._pre: list[str] = []

    def child(self, spec: dict[str, Any]) -> str:
        self._counter[0] += 1
        name = f"lr_at_{self._counter[0]}"
        self._pre.extend(_Writer(self.base, self._counter, name).function(spec, name))
        return name

    def preamble(self, *lines: str) -> None:
        self._pre.extend(lines)

    def function(self, norm: dict[str, Any], fname: str) -> list[str]:
        source = SCHEDULES[norm["name"]].scalar_source
        if source is None:
            raise ScheduleError("name", norm["name"], "a schedule that can be exported", "to_pytorch_code")
        self.fname = fname
        body = source(norm["params"], self.base, self)
        return [*self._pre, f"def {fname}(step):", *("    " + line for line in body), ""]
