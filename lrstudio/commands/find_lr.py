"""``lrstudio find-lr``: the LR range test headless (issue 12); prints the suggestions, stores the run.

The run options are ``lrstudio train``'s (generated from the same declarations; the schedule and
run length are accepted and stored with the run but play no part in the test)::

    lrstudio find-lr --model cnn --dataset digits --optimizer adam --batch-size 32
    lrstudio find-lr --model linear --dataset windsor --seeds 5 --convention lightning --json
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
from typing import Any

from lrstudio.commands._common import add_db_option, db_url, json_safe, terminal_safe
from lrstudio.commands._progress import TrainProgress
from lrstudio.commands._run import _install_stop_signals, _restore_signals, add_run_options, config_from_args
from lrstudio.core.lr_finder import CONVENTIONS, MODES, RangeTestOptions, RuleResult


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "find-lr", aliases=["find_lr"], help="LR range test: suggest a learning rate and store the test",
        description="Raise the LR every update from --start-lr to --end-lr over --num-it updates on fresh "
                    "copies of the run's model and optimizer, over --seeds seeds; print every rule's "
                    "suggestion (fastai valley/slide/minimum/steep, torch-lr-finder's and Lightning's "
                    "steepest gradient) with the seeds' spread, and store the test as a run of kind "
                    "lr_range_test. Defaults are fastai's (1e-7 to 10, 100 updates, debiased EMA 0.98, "
                    "stop at 4x the best smoothed loss); --convention picks torch-lr-finder's or "
                    "Lightning's defaults instead. See docs/lr_finder.md.",
        epilog="Example: lrstudio find-lr --model cnn --dataset digits --optimizer adam --batch-size 32",
    )
    add_db_option(p)
    add_run_options(p)
    rt = p.add_argument_group("range test")
    rt.add_argument("--start-lr", type=float, default=None, metavar="LR",
                    help="first LR (default: the convention's: fastai 1e-7, lightning 1e-8, torch_lr_finder "
                         "the run's --lr)")
    rt.add_argument("--end-lr", type=float, default=None, metavar="LR",
                    help="last LR (default: 10; lightning 1)")
    rt.add_argument("--num-it", type=int, default=None, metavar="N", help="updates per seed (default 100)")
    rt.add_argument("--mode", choices=MODES, default="exp", help="LR spacing (default exp)")
    rt.add_argument("--seeds", type=int, default=3, metavar="N",
                    help="repetitions with seeds seed, seed+1, ... (default 3)")
    rt.add_argument("--convention", choices=CONVENTIONS, default="fastai",
                    help="whose LR positions, smoothing, stop rule and defaults (default fastai)")
    rt.add_argument("--smooth-beta", type=float, default=None, metavar="B",
                    help="smoothing: the running average's weight (fastai, lightning: 0.98) or the new "
                         "loss's weight (torch_lr_finder smooth_f: 0.05)")
    rt.add_argument("--diverge-threshold", type=float, default=None, metavar="X",
                    help="stop once the smoothed loss exceeds X times the best (default 4; torch_lr_finder 5)")
    rt.add_argument("--val-loss", action="store_true",
                    help="torch-lr-finder's option: smooth, stop and suggest on the validation loss, "
                         "evaluated after every update")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--json", action="store_true",
                   help="print run_id, status, options and suggestions as strict JSON")
    p.set_defaults(func=run)


def options_from_args(args: argparse.Namespace) -> RangeTestOptions:
    return RangeTestOptions(start_lr=args.start_lr, end_lr=args.end_lr, num_it=args.num_it, mode=args.mode,
                            convention=args.convention, beta=args.smooth_beta,
                            diverge_threshold=args.diverge_threshold, seeds=args.seeds,
                            val_loss=bool(args.val_loss))


def run(args: argparse.Namespace) -> int:
    from lrstudio.core.events import RunStarted, StepLogged
    from lrstudio.services.range_test_run import run_range_test

    cfg = config_from_args(args)
    opts = options_from_args(args)
    bar = TrainProgress(enabled=not args.quiet and not args.json)
    stop = threading.Event()
    done = {"before": 0, "seed": 0, "last": 0}

    def on_events(batch: list[Any]) -> None:
        if isinstance(batch[0], RunStarted):
            bar.start(batch[0].total_steps)
        for ev in batch:
            if isinstance(ev, StepLogged):
                seed = next((int(k[4:k.index("/")]) for k in ev.values if k.startswith("seed")), None)
                if seed is None:
                    continue
                if seed != done["seed"]:
                    done["before"] += done["last"]
                    done["seed"] = seed
                done["last"] = ev.step
                loss = ev.values.get(f"seed{seed}/smoothed")
                bar.update(done["before"] + ev.step, loss, ev.values.get(f"seed{seed}/lr"))

    previous = _install_stop_signals(stop)
    try:
        res = run_range_test(cfg, opts, db_url(args), stop=stop, on_events=on_events,
                             name=cfg.name or None)
    finally:
        _restore_signals(previous)
        bar.finish()
    s = res.summary
    rt = dict(s.extra.get("range_test", {}))
    if args.json:
        import json

        out = {"run_id": res.run_id, "status": s.status, "error": s.error, "options": rt.get("options"),
               "default_rule": rt.get("default_rule"), "updates": rt.get("updates"),
               "suggestions": [r.to_dict() for r in res.suggestions]}
        print(json.dumps(json_safe(out), allow_nan=False))
    else:
        print(format_table(res.suggestions, rt.get("default_rule")))
        updates = ", ".join(str(n) for n in rt.get("updates", []))
        print(f"run id: {res.run_id}  [{s.status}]  updates per seed: {updates}  ({s.duration_s:.1f} s)")
    if s.status == "failed":
        print(f"lrstudio: range test {res.run_id} failed: {terminal_safe(s.error or '')}", file=sys.stderr)
        return 1
    return 0


def _g(v: float | None, fmt: str = ".3g") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return format(v, fmt)


def format_table(rules: tuple[RuleResult, ...] | list[RuleResult], default: str | None = None) -> str:
    """The suggestions as an aligned text table: rule, LR, loss, seed spread, reliable."""
    head = ("rule", "LR", "loss", "seed spread", "reliable")
    rows = []
    for r in rules:
        name = r.name + (" (default)" if r.name == default else "")
        spread = "-" if math.isnan(r.spread) else f"x{r.spread:.2f}"
        reliable = "yes" if r.reliable else ("no: " + r.reason if r.reason else "no")
        rows.append((name, _g(r.lr), _g(r.loss, ".4g"), spread, reliable))
    widths = [max(len(row[i]) for row in (head, *rows)) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in (head, *rows)]
    return "\n".join(lines)
