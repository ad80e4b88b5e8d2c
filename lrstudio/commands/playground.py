"""``lrstudio playground --function rosenbrock --optimizer adam --lr 0.01 --steps 200 [--schedule ...]
[--start x1,x2] [--csv out.csv]``.

Runs one real torch.optim optimizer on a test function of the optimizer playground (issue 16),
prints where it ended (the final point and loss, or the step where it diverged), and stores the
trajectory as a run of kind ``playground`` (series x or x1/x2, loss, lr). ``--preset NAME`` runs a
preset of the d2l chapter instead (every trajectory of it, each stored) and prints what to look at.
``--csv`` also writes the stored trajectory as CSV (the same rows as ``lrstudio export``).
"""

from __future__ import annotations

import argparse
import math
import re
from typing import Any

from lrstudio.commands._common import add_db_option, db_url
from lrstudio.core.params import ParamError

_NUM = r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
_NUMBER_LIST = re.compile(rf"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(,{_NUM})*$")


def register(sub: argparse._SubParsersAction) -> None:
    from lrstudio.core.playground import FUNCTIONS, PRESETS

    p = sub.add_parser("playground", help="an optimizer on a test function (d2l's pictures), stored as a run",
                       description=__doc__.split("\n\n", 1)[1] if __doc__ else None)
    p.add_argument("--function", default="rosenbrock", metavar="NAME",
                   help="test function: " + ", ".join(FUNCTIONS) + " (default rosenbrock)")
    p.add_argument("--expression", metavar="TEXT",
                   help="for expr1d / expr2d: an expression of x (or x1, x2), e.g. 'x1**2 + 3*sin(x2)'")
    p.add_argument("--domain", metavar="LO,HI[,LO,HI]", help="for expr1d / expr2d: the domain drawn "
                   "(the bound box beyond which a trajectory counts as diverged is 50x larger)")
    p.add_argument("--optimizer", default="sgd", metavar="NAME",
                   help="optimizer of the registry (`lrstudio optimizers` lists them; default sgd)")
    p.add_argument("--opt-param", metavar="KEY=VALUE", action="append", default=[],
                   help="an optimizer parameter, e.g. --opt-param beta1=0.9 (repeatable)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the optimizer's, 0.01 mostly)")
    p.add_argument("--schedule", metavar="SPEC_OR_FILE", default=None,
                   help="schedule: a name, a JSON spec or a JSON file (default constant)")
    p.add_argument("--sched-param", metavar="KEY=VALUE", action="append", default=[],
                   help="a schedule parameter (repeatable)")
    p.add_argument("--steps", type=int, default=100, help="number of updates (default 100)")
    p.add_argument("--start", metavar="X[,X2]", help="start point (default: the function's)")
    p.add_argument("--noise", type=float, default=0.0, help="sigma of Gaussian gradient noise (default 0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the gradient noise (default 0)")
    p.add_argument("--name", help="name of the stored run")
    p.add_argument("--preset", metavar="NAME", help="run a preset instead: " + ", ".join(PRESETS))
    p.add_argument("--csv", metavar="OUT", help="also write the stored trajectory to this CSV file")
    add_db_option(p)
    # `--start -1.5,2`: argparse takes a word starting with "-" for an option unless it looks like a
    # negative number; teach this parser that comma-separated numbers are values too.
    p._negative_number_matcher = _NUMBER_LIST  # type: ignore[attr-defined]
    p.set_defaults(func=run)


def _numbers(text: str, what: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ParamError(what, text[:60], "numbers separated by commas, e.g. -1.5,2", "command line") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise ParamError(what, text[:60], "finite numbers separated by commas, e.g. -1.5,2", "command line")
    return values


def _spec(args: argparse.Namespace, default_start: tuple[float, ...]) -> Any:
    from lrstudio.commands._run import _key_values, parse_schedule
    from lrstudio.core.optimizers import OPTIMIZERS
    from lrstudio.core.playground import TrajectorySpec

    optimizer = {"name": args.optimizer, "params": _key_values(args.opt_param, "--opt-param")}
    schedule = None
    if args.schedule or args.sched_param:
        schedule = parse_schedule(args.schedule or "constant")
        schedule["params"].update(_key_values(args.sched_param, "--sched-param"))
    lr = args.lr
    if lr is None:
        info = OPTIMIZERS.get(args.optimizer)
        lr = info.default_lr if info is not None else 0.01
    start = tuple(_numbers(args.start, "--start")) if args.start else default_start
    return TrajectorySpec(optimizer, lr, start, args.steps, schedule, args.noise, args.seed)


def _describe(traj: Any, names: tuple[str, ...]) -> str:
    point = ", ".join(f"{n}={v:.6g}" for n, v in zip(names, traj.xs[-1]))
    if traj.diverged:
        return (f"diverged at step {traj.diverged_step} ({traj.reason}); last point inside: {point}, "
                f"loss {traj.loss[-1]:.6g}")
    return f"final point after {traj.steps_done} steps: {point}; loss {traj.loss[-1]:.6g}"


def run(args: argparse.Namespace) -> int:
    from lrstudio.core.playground import PRESETS, resolve_function
    from lrstudio.services.playground import compute, compute_and_save, save_trajectories
    from lrstudio.storage import open_store

    domain = None
    if args.domain:
        flat = _numbers(args.domain, "--domain")
        if len(flat) % 2:
            raise ParamError("--domain", args.domain, "pairs LO,HI (one per variable)", "command line")
        domain = [flat[i:i + 2] for i in range(0, len(flat), 2)]
    if args.preset:
        if args.preset not in PRESETS:  # checked here, not by argparse: one line, like --function
            raise ParamError("--preset", args.preset, "one of " + ", ".join(PRESETS), "command line")
        preset = PRESETS[args.preset]
        info, surface = resolve_function(preset.function)
        trajs = compute(info, preset.trajectories, surface=surface)
        with open_store(db_url(args)) as store:
            ids = save_trajectories(store, info, trajs)
            _export(store, ids, args.csv)
            print(f"{preset.title}: {preset.text}")
            for run_id, traj in zip(ids, trajs):
                print(f"run {run_id} {traj.spec.label}: {_describe(traj, info.variables)}")
        return 0
    info, _ = resolve_function(args.function, args.expression, domain)
    spec = _spec(args, info.start)
    with open_store(db_url(args)) as store:
        run_id, info, traj = compute_and_save(store, args.function, spec, expression=args.expression,
                                              domain=domain, name=args.name)
        _export(store, [run_id], args.csv)
        print(f"run {run_id}: {_describe(traj, info.variables)}")
    return 0


def _export(store: Any, ids: list[int], csv: str | None) -> None:
    """``--csv``: write the runs just stored; if that fails, delete them again (nothing is kept
    from a command that reports an error) and let the error through."""
    if not csv:
        return
    from lrstudio.services.playground import delete_runs

    try:
        store.export_history_csv(ids, csv)
    except BaseException:
        delete_runs(store, ids)
        raise
    print(f"wrote {csv}")
