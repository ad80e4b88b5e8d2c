"""``lrstudio schedules [NAME] [--json]``: list the schedule catalogue with declared parameters."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lrstudio.commands._common import add_json_option, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schedules", help="list every learning-rate schedule with its parameters",
                       description="List every learning-rate schedule: source, formula, parameters "
                                   "(kind, default, allowed values, help).")
    p.add_argument("name", nargs="?", help="show only this schedule (with its full documentation)")
    add_json_option(p)
    p.set_defaults(func=run)


def describe(info: Any) -> dict[str, Any]:
    from lrstudio.core.params import param_table

    return {
        "name": info.name,
        "title": info.title,
        "source": info.source,
        "formula": info.formula,
        "metric_driven": info.metric_driven,
        "params": param_table(info.params),
        "doc": info.doc,
    }


def _fmt_default(v: Any) -> str:
    if v is None:
        return "(empty)"
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return repr(v) if isinstance(v, str) else str(v)


def run(args: argparse.Namespace) -> int:
    from lrstudio.core.schedules import SCHEDULES, ScheduleError

    if args.name is not None and args.name not in SCHEDULES:
        raise ScheduleError("name", args.name, "one of " + ", ".join(SCHEDULES), "lrstudio schedules")
    infos = [SCHEDULES[args.name]] if args.name else list(SCHEDULES.values())
    if args.json:
        print_json([describe(i) for i in infos])
        return 0
    out = []
    for info in infos:
        out.append(f"{info.name}: {info.title}{'  (metric-driven)' if info.metric_driven else ''}")
        out.append(f"  source:  {info.source}")
        out.append(f"  formula: {info.formula}")
        for p in info.params:
            out.append(f"  {p.name} ({p.kind}, default {_fmt_default(p.default)}; {p.describe_allowed()})")
            out.append(f"      {p.help}")
        if args.name:
            out.append("")
            out.extend("  " + line for line in info.doc.splitlines())
        out.append("")
    sys.stdout.write("\n".join(out))
    return 0
