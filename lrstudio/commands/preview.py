"""``lrstudio preview SPEC_OR_FILE --steps N --base-lr X [--csv out.csv | --json | --code] [--metrics FILE]``.

SPEC_OR_FILE is inline JSON (``'{"name": "cosine", "params": {"T_max": 50}}'``), a path to a JSON
file holding such a spec, or just a schedule name (``cosine``: its defaults). Prints a short summary
(as ``#`` comment lines) followed by ``step,lr`` for every update (steps count from 1), writes
that CSV to ``--csv``, prints the same as JSON (``--json``), or prints the PyTorch code of the
schedule (``--code``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lrstudio.core.errors import LrstudioError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("preview", help="print or save the learning-rate curve of a schedule",
                       description=__doc__.split("\n\n", 1)[1] if __doc__ else None)
    p.add_argument("spec", metavar="SPEC_OR_FILE", help="inline JSON spec, a JSON file, or a schedule name")
    p.add_argument("--steps", type=int, default=100, help="number of updates (default 100)")
    p.add_argument("--base-lr", type=float, default=0.01, help="base learning rate (default 0.01)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", metavar="OUT", help="write step,lr to this CSV file instead of printing")
    out.add_argument("--json", action="store_true",
                     help="print the curve and its summary as JSON: spec, base_lr, steps, first, min, max, "
                          "last, warnings, metric_driven, metrics, step, lr")
    out.add_argument("--code", action="store_true",
                     help="print a PyTorch snippet that makes the same schedule (a torch.optim.lr_scheduler "
                          "for an optimizer created with lr=--base-lr) instead of the curve")
    p.add_argument("--metrics", metavar="FILE",
                   help="metric per scheduling step for reduce_on_plateau (one number per line, or CSV: "
                        "the last column; non-numeric lines such as a header are skipped)")
    p.set_defaults(func=run)


def load_spec(text: str) -> Any:
    """Inline JSON, a JSON file, or a bare schedule name (JSON through core's reader: a BOM, deep
    warm-up chains, non-UTF-8 bytes and huge integers give one clear message)."""
    from lrstudio.core.jsonio import parse_user_json, read_user_json

    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        return parse_user_json(stripped, "inline spec")
    if Path(text).suffix.lower() == ".json" or _is_file(text):
        if not _is_file(text):
            raise LrstudioError(f"spec file not found: {text}")
        return read_user_json(text, "spec file")
    return {"name": stripped}


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL
        return False


def load_metrics(path: str) -> list[float]:
    from lrstudio.core.jsonio import read_user_text

    lines = read_user_text(path, "metrics file").splitlines()
    values = []
    for line in lines:
        field = line.strip().split(",")[-1].strip()
        if not field:
            continue
        try:
            values.append(float(field))
        except ValueError:
            if values:
                raise LrstudioError(f"metrics file {path}: not a number: {field[:40]!r}") from None
            continue  # a header before the first number
    return values


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from lrstudio.core.params import ParamError
    from lrstudio.core.schedules import SCHEDULES, lr_curve, schedule_fit, validate_spec

    if args.steps < 1:  # 0 printed only a header (issue 9)
        raise ParamError("steps", args.steps, "an integer >= 1 (the number of updates to show)", "preview")
    spec = validate_spec(load_spec(args.spec))
    if args.code:
        from lrstudio.core.schedules import resolve_lengths
        from lrstudio.core.schedules.pytorch_code import to_pytorch_code

        # shares of the run ("auto", "10%") are written as steps of --steps (issue 15)
        sys.stdout.write(to_pytorch_code(resolve_lengths(spec, args.steps), args.base_lr, steps=args.steps))
        return 0
    metrics = load_metrics(args.metrics) if args.metrics else None
    lrs = lr_curve(spec, args.steps, args.base_lr, metrics=metrics)
    steps = np.arange(1, len(lrs) + 1)
    warnings = schedule_fit(spec, len(lrs)).warnings
    if args.json:
        from lrstudio.commands._common import print_json

        print_json({"spec": spec, "base_lr": args.base_lr, "steps": len(lrs),
                    "first": float(lrs[0]), "min": float(lrs.min()), "max": float(lrs.max()),
                    "last": float(lrs[-1]), "warnings": list(warnings),
                    "metric_driven": SCHEDULES[spec["name"]].metric_driven, "metrics": metrics,
                    "step": steps.tolist(), "lr": lrs.tolist()})
        return 0
    body = "step,lr\n" + "".join(f"{s},{v!r}\n" for s, v in zip(steps.tolist(), lrs.tolist()))
    if args.csv:
        try:
            Path(args.csv).write_text(body, encoding="utf-8")
        except OSError as exc:
            raise LrstudioError(f"cannot write {args.csv}: {exc.strerror or exc}") from None
        for w in warnings:
            print(f"lrstudio: warning: {w}", file=sys.stderr)
        print(f"wrote {len(lrs)} steps to {args.csv}", file=sys.stderr)
        return 0
    head = [f"# {json.dumps(spec, sort_keys=True)}", f"# base_lr={args.base_lr!r} steps={len(lrs)}"]
    if len(lrs):
        head.append(f"# first={float(lrs[0])!r} min={float(lrs.min())!r} max={float(lrs.max())!r} "
                    f"last={float(lrs[-1])!r}")
    head += [f"# warning: {w}" for w in warnings]
    if SCHEDULES[spec["name"]].metric_driven and metrics is None:
        head.append("# no --metrics given: a metric-driven schedule holds the base LR")
    sys.stdout.write("\n".join(head) + "\n" + body)
    return 0
