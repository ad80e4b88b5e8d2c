"""``lrstudio import``: bring runs logged elsewhere into the database (issue 14).

``lrstudio import tensorboard LOGDIR`` reads every run under a TensorBoard log folder (scalar
series); ``lrstudio import csv FILE`` reads lrstudio's own history export. The module is named
``import_`` because ``import`` is a Python keyword; the command is ``import``. The work is in
:mod:`lrstudio.services.importers` (all or nothing: a bad file writes no run).
"""

from __future__ import annotations

import argparse
import sys

from lrstudio.commands._common import add_db_option, db_url, stop_signals_unwind, terminal_safe


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import", help="import runs from TensorBoard event files or an lrstudio CSV export",
        description="Each imported run is stored as a finished run of kind 'external', with its scalar "
                    "series, to compare with the others in the app.",
    )
    kinds = p.add_subparsers(dest="source", metavar="SOURCE", title="sources", required=True)
    tb = kinds.add_parser(
        "tensorboard", help="every run (folder with event files) under a TensorBoard log folder",
        description="Reads the scalar series of every folder under LOGDIR that holds TensorBoard event files "
                    "(one run each, named by its path). Needs the tensorboard package: "
                    "pip install \"lrstudio[tensorboard]\".")
    tb.add_argument("logdir", metavar="LOGDIR", help="the folder TensorBoard's --logdir reads (or one event file)")
    csv_ = kinds.add_parser(
        "csv", help="lrstudio's own history export (lrstudio export --runs, long or --wide format)",
        description="Reads a CSV file written by `lrstudio export --runs` (or the app's Export history); "
                    "each run in it becomes a new run with the same name (made unique), series, steps, "
                    "epochs and wall times.")
    csv_.add_argument("file", metavar="FILE", help="the CSV file")
    for q in (tb, csv_):
        add_db_option(q)
        q.add_argument("--tag", action="append", default=[], metavar="TAG",
                       help="tag the imported runs (repeat for several)")
        q.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lrstudio.services.importers import read_history_csv, read_tensorboard, store_runs
    from lrstudio.storage import open_store

    parsed = read_tensorboard(args.logdir) if args.source == "tensorboard" else read_history_csv(args.file)
    if not parsed:
        print("lrstudio: nothing to import: the event files hold no scalar series", file=sys.stderr)
        return 1
    with stop_signals_unwind(), open_store(db_url(args)) as store:
        ids = store_runs(store, parsed, tags=args.tag)
        for run_id, run in zip(ids, parsed):
            name = store.get_run(run_id).name
            print(f"imported run {run_id} {terminal_safe(name)!r}: {len(run.series)} series, {run.points} points")
    return 0
