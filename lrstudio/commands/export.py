"""``lrstudio export``: write run histories or the runs table to CSV."""

from __future__ import annotations

import argparse
import sys

from lrstudio.commands._common import add_db_option, existing_db_url, run_ids, stop_signals_unwind
from lrstudio.core.errors import LrstudioError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="export run histories or the runs table to CSV",
        description="--runs 1,2,3 writes the full history of those runs to one CSV file (long format: "
                    "run_id, run_name, step, epoch, wall_time, metric, value; --wide: one column per "
                    "metric). --table writes one row per run with the config and summary values.",
    )
    add_db_option(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--runs", metavar="IDS", type=run_ids, help="comma-separated run ids, e.g. 1,2,3")
    what.add_argument("--table", action="store_true", help="export the runs table (every run, or --only)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.csv",
                   help="where to write the CSV file; - writes it to standard output")
    p.add_argument("--wide", action="store_true", help="history: one column per metric instead of long format")
    p.add_argument("--only", metavar="IDS", type=run_ids, help="table: only these run ids")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lrstudio.storage import open_store

    if args.wide and args.table:
        raise LrstudioError("--wide applies to --runs (histories), not to --table")
    dest = sys.stdout if args.output == "-" else args.output
    where = "standard output" if args.output == "-" else args.output
    with stop_signals_unwind(), open_store(existing_db_url(args)) as store:
        if args.table:
            n = store.export_runs_csv(dest, run_ids=args.only)
            print(f"wrote {n} run(s) to {where}", file=sys.stderr)
        else:
            n = store.export_history_csv(args.runs, dest, wide=args.wide)
            print(f"wrote {n} row(s) to {where}", file=sys.stderr)
    return 0
