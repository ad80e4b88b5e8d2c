"""``lrstudio train``: train one run headless, with a progress line, and store it.

Flags are generated from the run and data-set declarations (``RUN_FIELDS``/``DATASET_FIELDS``),
so every bound and help text comes from ``lrstudio/core/config.py``::

    lrstudio train --model linear --dataset windsor --optimizer adam --lr 0.01 \\
        --schedule cosine --sched-param T_max=2000 --max-steps 2000
    lrstudio train --config run.json --seed 3
"""

from __future__ import annotations

import argparse
import json
import sys

from lrstudio.commands._common import add_db_option, db_url, terminal_safe
from lrstudio.commands._run import add_run_options, config_from_args, exit_code, format_summary, run_and_store
from lrstudio.core.config import check_runnable
from lrstudio.services.training_run import fit_warnings, require_torch


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a reference model headless and store the run",
        description="Train one run without a window: a progress line on stderr, the run stored in the "
                    "database, a summary and the run id on stdout.",
        epilog="Example: lrstudio train --model linear --dataset windsor --optimizer adam --lr 0.01 "
               "--schedule cosine --sched-param T_max=2000 --max-steps 2000",
    )
    add_db_option(p)
    add_run_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--json", action="store_true", help="print the summary as JSON (with run_id)")
    p.add_argument("--print-config", action="store_true",
                   help="print the validated run configuration as JSON and exit (nothing is trained)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if args.print_config:
        # The same pre-run gate as a real run (issue 9: a warm-up longer than the run passed here),
        # and the same warnings; stdout stays pure JSON.
        cfg = check_runnable(cfg)
        if cfg.device == "cuda":
            require_torch()
            from lrstudio.trainer.loop import check_device

            check_device(cfg.device)
        for w in fit_warnings(cfg):
            print(f"lrstudio: warning: {terminal_safe(w)}", file=sys.stderr)
        print(cfg.to_json())
        return 0
    stored = run_and_store(cfg, db_url(args), name=cfg.name or None,
                           progress=not args.quiet and not args.json)
    if args.json:
        print(json.dumps({"run_id": stored.run_id, **stored.summary.to_dict()}, default=str))
    else:
        print(format_summary(stored))
        print(f"run id: {stored.run_id}")
    if stored.summary.status == "failed":
        print(f"lrstudio: run {stored.run_id} failed: {terminal_safe(stored.summary.error or '')}",
              file=sys.stderr)
    return exit_code(stored.summary)
