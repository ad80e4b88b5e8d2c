"""torch ``ChainedScheduler``: several schedules at once, their factors multiplied.

torch steps each chained scheduler in turn, each multiplying the group's LR by its own factor of
the step (``StepLR``, ``ExponentialLR``, ``LinearLR``, ``MultiStepLR``, ``ConstantLR``... all
update the LR they find), so the LR is the base LR times the product of every scheduler's factor.
lrstudio evaluates each child with the run's base LR, takes its factor ``child(t) / base_lr`` and
multiplies.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lrstudio.core.params import Param
from lrstudio.core.schedules.base import Lengths, SourceContext, _curve, register_schedule


def _own(p: dict[str, Any], length_of: Any) -> int | None:
    known = [n for n in (length_of(c) for c in p["schedules"]) if n is not None]
    return max(known) if known else None


def _source(p: dict[str, Any], base_lr: float, ctx: SourceContext) -> list[str]:
    names = [ctx.child(c) for c in p["schedules"]]
    if base_lr == 0:
        return ["return 0.0"]
    return ["f = 1.0", *(f"f = f * ({n}(step) / {base_lr!r})" for n in names), f"return {base_lr!r} * f"]


@register_schedule(
    "chained",
    title="Chained (product of schedules)",
    source="torch ChainedScheduler",
    formula="lr(t) = base_lr * f_1(t) * ... * f_n(t), f_i(t) = schedules[i](t) / base_lr",
    params=(
        Param("schedules", "schedule_list",
              [{"name": "linear", "params": {"start_factor": 0.1, "total_iters": 20}},
               {"name": "exponential", "params": {"gamma": 0.99}}],
              "Schedules applied together; their factors multiply", min_len=1),
    ),
    scalar_source=_source,
    lengths=Lengths(own=_own, fit=lambda p, total, fit: {**p, "schedules": [fit(c, total) for c in p["schedules"]]},
                    children=lambda p: [(0, c) for c in p["schedules"]]),
)
def chained(p: dict[str, Any], t: np.ndarray, base_lr: float, metrics: Any = None) -> np.ndarray:
    """torch ``ChainedScheduler``: every schedule steps at once and their factors multiply.

    lr(t) = base_lr * prod_i f_i(t), f_i(t) = schedules[i](t) / base_lr (each child evaluated with
    the run's base LR; lr = 0 when the base LR is 0). With torch classes that update the LR they find
    (StepLR, MultiStepLR, ExponentialLR, LinearLR, ConstantLR) this is torch's ChainedScheduler.
    """
    out = np.full(t.shape, float(base_lr), dtype=np.float64)
    if base_lr == 0:
        return out
    for c in p["schedules"]:
        f = _curve(c, t, base_lr)
        f /= base_lr
        out *= f
    return out
