"""Where Find LR's "Use" puts a suggested LR: the form's LR field and the schedule's peak (Qt-free).

A range test suggests the largest LR to train at, so "Use" makes it the schedule's peak. Most
schedules take their peak from the run's LR (the LR field: cosine, step, one_cycle, whose max LR is
the run's LR ...). Two take it from a parameter of their own, which the suggestion must then set:

* ``cyclic``: ``max_lr`` (absolute); the base LR (the LR field) goes to a quarter of it (Smith
  2017, "base_lr = max_lr / 3 or 4": equal LRs would flatten the cycle);
* ``optax_warmup_cosine_decay`` with an absolute ``peak_value`` (empty: the base LR).

They are found anywhere in the spec, nested ones included: the ``inner`` schedule of a warm-up,
each of a ``sequential``'s ``schedules``, each of an ``optax_sgdr``'s ``cycles`` (every parameter
of kind ``schedule`` or ``schedule_list`` in the registry). :func:`place_lr` returns the new LR
field, the new spec and a sentence naming what changed, for the status line.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lrstudio.core import schedules

__all__ = ["PlacedLr", "place_lr"]

# Schedule name -> (parameter that holds its peak, is it used when empty, words for it).
_PEAK_PARAMS: dict[str, tuple[str, bool, str]] = {
    "cyclic": ("max_lr", True, "max LR"),
    "optax_warmup_cosine_decay": ("peak_value", False, "peak_value"),
}
CYCLIC_BASE_SHARE = 4  # base LR = max_lr / 4 (Smith 2017)


@dataclass(frozen=True)
class PlacedLr:
    """What "Use" puts into the form: ``lr`` for the LR field, ``schedule`` (the new spec, or None
    when the schedule is unchanged) and ``where``, a sentence saying what changed."""

    lr: float
    schedule: dict[str, Any] | None
    where: str


def _title(name: str) -> str:
    info = schedules.SCHEDULES.get(name)
    return info.title if info is not None else name


def _nodes(spec: dict[str, Any], place: str = "") -> Iterator[tuple[dict[str, Any], str]]:
    """Every schedule spec in ``spec`` (itself first), with words for where it sits ("" at the top)."""
    yield spec, place
    info = schedules.SCHEDULES.get(str(spec.get("name")))
    params = spec.get("params") or {}
    if info is None or not isinstance(params, dict):
        return
    title = info.title
    for decl in info.params:
        value = params.get(decl.name)
        if decl.kind == "schedule" and isinstance(value, dict):
            yield from _nodes(value, f"inside {title}" + (f", {place}" if place else ""))
        elif decl.kind == "schedule_list" and isinstance(value, list):
            word = decl.name[:-1] if decl.name.endswith("s") else decl.name  # schedules -> schedule
            for i, child in enumerate(value):
                if isinstance(child, dict):
                    yield from _nodes(child, f"in {word} {i + 1} of {title}" + (f", {place}" if place else ""))


def place_lr(spec: dict[str, Any] | None, lr: float) -> PlacedLr:
    """The form's LR field, schedule and a sentence after "Use" of the suggestion ``lr`` (module doc)."""
    if not spec:
        return PlacedLr(lr, None, f"learning rate {lr:g}")
    new = copy.deepcopy(spec)
    peaks: list[tuple[str, str]] = []  # (words for the parameter, where its schedule sits)
    cyclic = False
    one_cycles: list[str] = []
    for node, place in _nodes(new):
        name = str(node.get("name"))
        if name == "one_cycle":
            one_cycles.append(place)
        if name not in _PEAK_PARAMS:
            continue
        param, when_empty, words = _PEAK_PARAMS[name]
        params = node.setdefault("params", {})
        if not isinstance(params, dict) or (params.get(param) is None and not when_empty):
            continue
        params[param] = lr
        cyclic = cyclic or name == "cyclic"
        peaks.append((f"{_title(name)}'s {words}", place))
    if not peaks:
        if one_cycles:
            place = one_cycles[0]
            return PlacedLr(lr, None, f"learning rate {lr:g} (the max LR of the One cycle"
                                      + (f" {place}" if place else "") + ")")
        return PlacedLr(lr, None, f"learning rate {lr:g}")
    grouped: dict[str, list[str]] = {}
    for words, place in peaks:
        grouped.setdefault(words, []).append(place)
    set_where = "; ".join(words + (f" {places[0]}" if len(places) == 1 and places[0] else
                                   "" if len(places) == 1 else f" of {len(places)} schedules ({'; '.join(places)})")
                          for words, places in grouped.items())
    if cyclic:
        base = lr / CYCLIC_BASE_SHARE
        return PlacedLr(base, new, f"{set_where}: {lr:g}, and learning rate (the cycle's base LR) {base:g}")
    return PlacedLr(lr, new, f"learning rate and {set_where}: {lr:g}")
