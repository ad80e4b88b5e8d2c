"""``lrstudio runs``: list the stored runs (a table, or ``--json``), with filters and sorting;
``lrstudio runs show ID`` shows one run; ``lrstudio runs delete ID...`` deletes runs.

``--json`` writes strict JSON (see :func:`lrstudio.commands._common.json_safe`): the list is one
object per run with the keys of :data:`RUN_KEYS` (plus ``kind`` where the database records it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from lrstudio.commands._common import (
    add_db_option,
    add_json_option,
    confirm,
    count,
    existing_db_url,
    json_safe,
    one_run_id,
    print_json,
    run_ids,
    terminal_safe,
)
from lrstudio.core.errors import LrstudioError
from lrstudio.core.runs import RUN_STATUSES, RunInfo

SORT_KEYS = ("created", "id", "name", "status", "model", "optimizer", "schedule", "lr", "final_loss",
             "best_loss", "best_val_loss", "best_accuracy", "steps", "duration")

#: The keys of a run in ``lrstudio runs --json`` and of ``"run"`` in ``lrstudio runs show --json``,
#: in order; with schema 0004, ``kind`` (training, lr_range_test, external, playground) comes after
#: ``status`` and ``experiment_id``, ``trial`` (a sweep's runs; else null) at the end.
RUN_KEYS = ("id", "uuid", "name", "status", "created_at", "started_at", "ended_at", "model", "dataset",
            "optimizer", "schedule", "base_lr", "final_loss", "best_loss", "final_val_loss",
            "best_val_loss", "best_accuracy", "steps", "epochs", "duration_s", "diverged_step", "tags",
            "error", "lrstudio_version")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list stored runs (filter, sort); show or delete runs",
                       description="List the runs in the database as a table (or --json). "
                                   "`lrstudio runs show ID` shows one run; `lrstudio runs delete ID...` "
                                   "deletes runs.")
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
    add_json_option(p)
    p.set_defaults(func=run)

    actions = p.add_subparsers(dest="runs_action", metavar="ACTION", title="actions (optional)")
    show = actions.add_parser("show", help="one run: config, summary, tags, notes, metric series",
                              description="Show one run: its configuration, summary, tags, notes and "
                                          "the keys and lengths of its metric series.")
    show.add_argument("run_id", metavar="ID", type=one_run_id, help="the run's id (`lrstudio runs` lists them)")
    add_db_option(show)
    add_json_option(show, keep_parent=True)
    show.set_defaults(func=run_show)

    delete = actions.add_parser("delete", help="delete runs with all their points",
                                description="Delete runs with their tags, notes and points. Asks first "
                                            "on a terminal; elsewhere (a script) --yes is required. "
                                            "If any id is unknown or a run is still running, nothing is "
                                            "deleted.")
    delete.add_argument("run_ids", metavar="ID", nargs="+", type=run_ids,
                        help="run ids (space- or comma-separated)")
    delete.add_argument("-y", "--yes", action="store_true", help="delete without asking")
    add_db_option(delete)
    delete.set_defaults(func=run_delete)


def _num(v: float | int | None) -> str:
    if v is None:
        return "-"
    if isinstance(v, int):
        return str(v)
    if math.isnan(v) or math.isinf(v):
        return repr(v)
    return f"{v:.4g}"


def _sort(text: str) -> tuple[str, bool]:
    descending = text.startswith("-")
    key = text.lstrip("-+")
    if key not in SORT_KEYS:
        raise LrstudioError(f"cannot sort by {key!r}; choose one of: {', '.join(SORT_KEYS)}")
    if text == "created":  # the default: newest first
        descending = True
    return key, descending


def run_record(r: RunInfo) -> dict[str, Any]:
    """One run as ``--json`` writes it (before :func:`json_safe`): the keys of :data:`RUN_KEYS`."""
    out = {key: getattr(r, key) for key in RUN_KEYS}
    if hasattr(r, "kind"):  # the store records kinds and sweeps from schema 0004 on
        out = {**{k: out[k] for k in RUN_KEYS[:4]}, "kind": r.kind, **{k: out[k] for k in RUN_KEYS[4:]}}
    out.update({k: getattr(r, k) for k in ("experiment_id", "trial") if hasattr(r, k)})
    return out


def run(args: argparse.Namespace) -> int:
    from lrstudio.storage import open_store

    key, descending = _sort(args.sort)
    with open_store(existing_db_url(args)) as store:
        runs = store.list_runs(status=args.status, model=args.model, optimizer=args.optimizer,
                               schedule=args.schedule, tag=args.tag, text=args.search, order_by=key,
                               descending=descending, limit=args.limit)
    if args.json:
        print_json([run_record(r) for r in runs])
        return 0
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


# -- runs show ------------------------------------------------------------------------------------
def _summary(r: RunInfo) -> dict[str, Any]:
    return {"status": r.status, "steps": r.steps, "epochs": r.epochs, "duration_s": r.duration_s,
            "final_loss": r.final_loss, "best_loss": r.best_loss, "final_val_loss": r.final_val_loss,
            "best_val_loss": r.best_val_loss, "best_accuracy": r.best_accuracy,
            "diverged_step": r.diverged_step, "error": r.error, "extra": dict(r.summary_extra)}


def _config(r: RunInfo) -> Any:
    """The config as stored (a run logged from a user's own loop keeps the user's own dict)."""
    try:
        return json.loads(r.config_json)
    except ValueError:
        return r.config_json


def run_show(args: argparse.Namespace) -> int:
    from lrstudio.storage import open_store

    with open_store(existing_db_url(args)) as store:
        info = store.get_run(args.run_id)
        loaded = store.load_series(args.run_id, columns=("step", "value"))
    series = {
        key: {"points": len(s),
              "first_step": int(s.step[0]) if len(s) else None,
              "last_step": int(s.step[-1]) if len(s) else None,
              "last_value": float(s.value[-1]) if len(s) else None}
        for key, s in sorted(loaded.items())
    }
    shown = {"run": run_record(info), "config": _config(info), "summary": _summary(info),
             "tags": list(info.tags), "notes": info.notes, "info": dict(info.info), "series": series}
    if args.json:
        print_json(shown)
        return 0
    kind = getattr(info, "kind", None)
    lines = [f"run {info.id}: {info.name}",
             f"  status: {info.status}" + (f"   kind: {kind}" if kind else ""),
             f"  created: {info.created_at.astimezone():%Y-%m-%d %H:%M:%S}"
             + (f"   ended: {info.ended_at.astimezone():%Y-%m-%d %H:%M:%S}" if info.ended_at else ""),
             f"  tags: {', '.join(info.tags) if info.tags else '-'}"]
    if info.notes:
        lines.append("  notes: " + info.notes.replace("\n", "\n         "))
    if info.error:
        lines.append(f"  error: {info.error}")
    s = shown["summary"]
    lines.append("summary:")
    lines += [f"  {k}: {_num(v) if isinstance(v, (int, float)) else v}" for k, v in s.items()
              if k not in ("extra", "error", "status") and v is not None]
    lines += [f"  {k}: {json.dumps(v) if isinstance(v, (list, dict)) else v}" for k, v in s["extra"].items()]
    lines.append("config:")
    lines += ["  " + line for line in json.dumps(json_safe(shown["config"]), indent=2).splitlines()]
    lines.append("series:" if series else "series: none")
    width = max((len(k) for k in series), default=0)
    for key, d in series.items():
        where = f"steps {d['first_step']}..{d['last_step']}, last {_num(d['last_value'])}" if d["points"] else ""
        lines.append(f"  {key.ljust(width)}  {d['points']} points" + (f"  ({where})" if where else ""))
    print(terminal_safe("\n".join(lines), keep_newlines=True))
    return 0


# -- runs delete ----------------------------------------------------------------------------------
def run_delete(args: argparse.Namespace) -> int:
    from lrstudio.storage import open_store

    wanted = list(dict.fromkeys(i for group in args.run_ids for i in group))
    with open_store(existing_db_url(args)) as store:
        found = {r.id: r for r in store.list_runs(run_ids=wanted)}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise LrstudioError(f"no run with id {', '.join(map(str, missing))} in this database; "
                                f"nothing was deleted")
        # A run another process is recording would lose its rows under the recorder (open_store
        # has already marked runs whose process is gone as interrupted).
        running = [found[i] for i in wanted if found[i].status == "running"]
        if running:
            r = running[0]
            owner = f" (pid {r.owner_pid} on {r.owner_host})" if r.owner_pid else ""
            raise LrstudioError(f"run {r.id} ({terminal_safe(r.name)}) is still running{owner}; stop it "
                                f"first; nothing was deleted")
        if not args.yes:
            if not sys.stdin.isatty():
                raise LrstudioError("refusing to delete runs without asking: standard input is not a "
                                    "terminal; add --yes to delete without asking")
            named = ", ".join(f"{i} ({terminal_safe(found[i].name)})" for i in wanted[:5])
            named += f" and {len(wanted) - 5} more" if len(wanted) > 5 else ""
            what = f"run {named} and all its points" if len(wanted) == 1 else \
                f"{len(wanted)} runs: {named}, and all their points"
            if not confirm(f"Delete {what}? This cannot be undone. [y/N] "):
                print("nothing deleted")
                return 0
        for run_id in wanted:
            store.delete_run(run_id)
    print(f"deleted {len(wanted)} run{'s' if len(wanted) != 1 else ''}: {', '.join(map(str, wanted))}")
    return 0
