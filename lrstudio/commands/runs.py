"""``lrstudio runs``: list the stored runs as a table, with filters and sorting."""

from __future__ import annotations

import argparse
import math

from lrstudio.commands._common import add_db_option, count, db_url, terminal_safe
from lrstudio.core.runs import RUN_STATUSES

SORT_KEYS = ("created", "id", "name", "status", "model", "optimizer", "schedule", "lr", "final_loss",
             "best_loss", "best_val_loss", "best_accuracy", "steps", "duration")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list stored runs (filter, sort)",
                       description="List the runs in the database as a table.")
    add_db_option(p)
    p.add_argument("--status", action="append", choices=RUN_STATUSES, help="only runs with this status (repeatable)")
    p.add_argument("--model", help="only this model (linear, cnn)")
    p.add_argument("--optimizer", help="only this optimizer (sgd, adam, ...)")
    p.add_argument("--schedule", help="only this schedule (constant, cosine, ...)")
    p.add_argument("--tag", help="only runs with this tag")
    p.add_argument("--search", metavar="TEXT", help="only runs whose name contains TEXT (any case)")
    p.add_argument("--sort", default="created", metavar="KEY",
                   help="sort by KEY; --sort=-KEY for descending (default: newest first). "
                        "Keys: " + ", ".join(SORT_KEYS))
    p.add_argument("--limit", type=count, default=None, help="show at most this many runs")
    p.set_defaults(func=run)


def _num(v: float | int | None) -> str:
    if v is None:
        return "-"
    if isinstance(v, int):
        return str(v)
    if math.isnan(v) or math.isinf(v):
        return repr(v)
    return f"{v:.4g}"


def _sort(text: str) -> tuple[str, bool]:
    from lrstudio.core.errors import LrstudioError

    descending = text.startswith("-")
    key = text.lstrip("-+")
    if key not in SORT_KEYS:
        raise LrstudioError(f"cannot sort by {key!r}; choose one of: {', '.join(SORT_KEYS)}")
    if text == "created":  # the default: newest first
        descending = True
    return key, descending


def run(args: argparse.Namespace) -> int:
    from lrstudio.storage import open_store

    key, descending = _sort(args.sort)
    with open_store(db_url(args)) as store:
        runs = store.list_runs(status=args.status, model=args.model, optimizer=args.optimizer,
                               schedule=args.schedule, tag=args.tag, text=args.search, order_by=key,
                               descending=descending, limit=args.limit)
    if not runs:
        print("no runs")
        return 0
    header = ("id", "name", "status", "model", "optimizer", "schedule", "lr", "steps", "final loss",
              "best loss", "best val", "created", "tags")
    rows = [
        (str(r.id), terminal_safe(r.name)[:40], r.status, terminal_safe(r.model or "-"),
         terminal_safe(r.optimizer or "-"), terminal_safe(r.schedule or "-"), _num(r.base_lr), _num(r.steps),
         _num(r.final_loss), _num(r.best_loss), _num(r.best_val_loss),
         r.created_at.astimezone().strftime("%Y-%m-%d %H:%M"), terminal_safe(",".join(r.tags)))
        for r in runs
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    right = {0, 6, 7, 8, 9, 10}
    for row in (header, *rows):
        print("  ".join(c.rjust(w) if i in right else c.ljust(w)
                        for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    return 0
