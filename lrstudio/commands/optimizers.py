"""``lrstudio optimizers [--json]``: list the optimizers with declared hyper-parameters."""

from __future__ import annotations

import argparse
import sys

from lrstudio.commands._common import add_json_option, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("optimizers", help="list the optimizers and their hyper-parameters")
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lrstudio.core.optimizers import OPTIMIZERS
    from lrstudio.core.params import param_table

    if args.json:
        data = [{"name": o.name, "title": o.title, "torch_class": o.torch_class, "default_lr": o.default_lr,
                 "default_weight_decay": o.default_weight_decay, "doc": o.doc, "params": param_table(o.params)}
                for o in OPTIMIZERS.values()]
        print_json(data)
        return 0
    out = []
    for o in OPTIMIZERS.values():
        extra = f"; default lr {o.default_lr:g}"
        out.append(f"{o.name}: {o.title} (torch.optim.{o.torch_class}{extra})")
        out.append(f"  {o.doc}")
        for p in o.params:
            default = "(empty)" if p.default is None else p.default
            out.append(f"  {p.name} ({p.kind}, default {default}; {p.describe_allowed()}): {p.help}")
        out.append("")
    sys.stdout.write("\n".join(out))
    return 0
