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
from typing import Any

from lrstudio.core.schedules.base import (
    SCHEDULES,
    ScheduleError,
    _check_base_lr,
    torch_native_of,
    validate_spec,
)

__all__ = ["to_pytorch_code"]

#: ``ClassName(optimizer`` in a native constructor call: the classes the snippet imports.
_TORCH_CLASS = re.compile(r"\b([A-Za-z_]\w*)\(\s*optimizer\b")


def to_pytorch_code(spec: Any, base_lr: float) -> str:
    """A short, readable PyTorch snippet that reproduces ``lr_curve(spec, n, base_lr)``.

    The snippet expects a variable ``optimizer`` whose param groups have ``lr = base_lr`` and
    defines ``scheduler``. It uses the matching ``torch.optim.lr_scheduler`` class where one gives
    exactly the same numbers, and ``LambdaLR`` over lrstudio's closed form (spelled out as a Python
    function of ``step``) otherwise.

    Raises
    ------
    ScheduleError
        For an invalid spec or base LR, and where torch cannot follow the schedule
        (``reduce_on_plateau`` with the Paddle cooldown convention); the message says why.
    """
    norm = validate_spec(spec)
    base = _check_base_lr(base_lr)
    native = torch_native_of(norm, base)
    head = [
        f"# lrstudio schedule: {json.dumps(norm, sort_keys=True)}",
        f"# base learning rate {base!r}: create the optimizer with lr={base!r}",
    ]
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
