"""``lrstudio demo``: the headless tour. Trains a reference model with a warm-up + cosine schedule,
stores the run, exports its history as CSV, and prints what happened.

The reference run: linear regression on the Windsor house prices (all 11 features, standardised
on the training split), full-batch Adam at LR 0.05 with a 100-step linear warm-up into a cosine
decay, 2,000 steps (a few seconds on a laptop CPU).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lrstudio.commands._common import add_db_option, db_url
from lrstudio.commands._run import exit_code, format_summary, run_and_store
from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.paths import display_db_url, sqlite_path

WARMUP_STEPS = 100


def demo_config(steps: int = 2000, seed: int = 0) -> RunConfig:
    """Linear regression on Windsor, Adam, linear warm-up around a cosine decay."""
    warm = min(WARMUP_STEPS, max(0, steps // 10))
    schedule = {"name": "linear_warmup", "params": {
        "warmup_steps": warm,
        "inner": {"name": "cosine", "params": {"T_max": max(1, steps - warm), "after_end": "hold"}},
    }}
    return RunConfig(
        name="demo: windsor adam warmup+cosine", model="linear", dataset=DatasetConfig(name="windsor"),
        optimizer={"name": "adam", "params": {}}, lr=0.05, schedule=schedule, max_steps=steps,
        batch_size=0, seed=seed,
    ).validated()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="train a reference model, store it, export its history CSV (headless)",
        description="Train linear regression on the Windsor house prices with Adam and a warm-up + "
                    "cosine schedule, store the run, export its history as CSV next to the database "
                    "(or --out), and print a summary.",
    )
    add_db_option(p)
    p.add_argument("--out", metavar="CSV", default=None,
                   help="where to write the history CSV (default: next to the database)")
    p.add_argument("--steps", type=int, default=2000, help="optimizer steps (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lrstudio.core.params import ParamError
    from lrstudio.storage import open_store

    if args.steps < 10:
        raise ParamError("steps", args.steps, "an integer >= 10", "demo")
    url = db_url(args)
    cfg = demo_config(args.steps, args.seed)
    stored = run_and_store(cfg, url, name=cfg.name, progress=not args.quiet)
    db_file = sqlite_path(url)
    if args.out:
        out = Path(args.out).expanduser()
    else:
        folder = db_file.parent if db_file is not None else Path.cwd()
        out = folder / f"lrstudio-run-{stored.run_id}-history.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open_store(url) as store:
        rows = store.export_history_csv([stored.run_id], out)
    print(format_summary(stored))
    print(f"database: {display_db_url(url)}")  # a server URL without its password
    print(f"history CSV ({rows} rows): {out.resolve()}")
    print(f"run id: {stored.run_id}")
    return exit_code(stored.summary)
