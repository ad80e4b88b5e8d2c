"""``lrstudio sweep``: create, run, resume, show and list sweeps (issue 13).

::

    lrstudio sweep run --model linear --dataset windsor --space '{"lr": {"log_uniform": [1e-4, 1]}}' \\
        --method random --trials 20 --seeds 3 --parallel 2
    lrstudio sweep create ... (stores it, runs nothing; prints its id)    lrstudio sweep resume ID
    lrstudio sweep show ID [--json]        the trials sorted by the metric (mean over the seeds)
    lrstudio sweep list [--json]
    lrstudio --db postgresql+psycopg://... sweep run ... --executor ray --ray-address auto

The base run is given with the flags of ``lrstudio train`` (or ``--config RUN.JSON``); ``--spec
SWEEP.JSON`` reads a whole sweep spec (``lrstudio.core.sweep.ExperimentSpec`` as JSON), which the
flags given override. Ctrl-C, SIGTERM or SIGHUP cancel cleanly: running trials stop and are stored
``stopped``, queued ones never start, the sweep is ``cancelled`` (``resume`` continues it); a second
one interrupts at once. Exit status: 0 completed, 1 some runs did not finish, 130 cancelled.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from typing import Any

from lrstudio.commands._common import (
    add_db_option,
    add_json_option,
    db_url,
    one_run_id,
    print_json,
    terminal_safe,
)
from lrstudio.core.params import ParamError
from lrstudio.core.sweep import (
    METHODS,
    METRICS,
    PRUNERS,
    SAMPLERS,
    UNRANKED_STATUSES,
    ExperimentSpec,
    summarise_trials,
)

SPACE_HELP = ('the search space as JSON (or @FILE): {"path": {"log_uniform": [lo, hi]}} with paths such as lr, '
              'epochs, batch_size, weight_decay, optimizer.params.beta1, schedule.params.T_max; distributions '
              'uniform, log_uniform, int ([lo, hi]; "num": k for a grid), choice ([values]; a bare list is one)')


def register(sub: argparse._SubParsersAction) -> None:
    from lrstudio.commands._run import add_run_options

    p = sub.add_parser("sweep", help="sweeps: many runs over a search space, in parallel, resumable",
                       description="Create, run, resume, show and list sweeps (experiments): a base run "
                                   "config, a search space, a method (grid, random, optuna) and seeds per "
                                   "point; trials train in worker processes (or Ray tasks).")
    actions = p.add_subparsers(dest="sweep_action", metavar="ACTION", title="actions", required=True)

    def spec_options(q: argparse.ArgumentParser) -> None:
        add_db_option(q)
        add_run_options(q)
        s = q.add_argument_group("sweep")
        s.add_argument("--spec", metavar="SWEEP.JSON", help="a whole sweep spec (JSON); flags given override it")
        s.add_argument("--space", metavar="JSON", help=SPACE_HELP)
        s.add_argument("--method", choices=METHODS, help="grid, random or optuna (default random)")
        s.add_argument("--trials", metavar="N", help="points to try (random/optuna: required; grid: a cap)")
        s.add_argument("--seeds", metavar="N", help="runs per point, seeds SEED..SEED+N-1 (default 1)")
        s.add_argument("--sweep-seed", metavar="N", help="seed of the random/Optuna sampling (default 0)")
        s.add_argument("--metric", choices=tuple(METRICS), help="what to optimise (default best_val_loss)")
        s.add_argument("--sampler", choices=tuple(SAMPLERS), help="optuna: the sampler (default tpe)")
        s.add_argument("--prune", action=argparse.BooleanOptionalAction, default=None,
                       help="optuna: stop trials whose validation loss is poor (per epoch)")
        s.add_argument("--pruner", choices=tuple(PRUNERS), help="optuna: the pruner (default median)")
        s.add_argument("--sweep-name", metavar="NAME", help="the sweep's name (default: made from the space)")

    def run_options(q: argparse.ArgumentParser) -> None:
        q.add_argument("--parallel", metavar="N", type=int, default=None,
                       help="trials at a time (default: the number of cores; Ray: the cluster's CPUs)")
        q.add_argument("--executor", choices=("local", "ray"), default="local",
                       help="local worker processes (default) or Ray tasks (pip install 'lrstudio[ray]')")
        q.add_argument("--ray-address", metavar="ADDR", default=None,
                       help="an existing Ray cluster (ray://host:10001, auto); default: a new local Ray")
        q.add_argument("--quiet", action="store_true", help="no progress lines")
        add_json_option(q)

    def id_argument(q: argparse.ArgumentParser) -> None:
        q.add_argument("experiment_id", metavar="ID", type=sweep_id, help="the sweep's id (`lrstudio sweep list`)")

    def action(name: str, help_text: str, func: Any, *options: Any) -> argparse.ArgumentParser:
        """The parser of ``lrstudio sweep NAME``: ``options`` add its arguments in order; it calls
        ``func`` and says its argparse errors in one line."""
        q = actions.add_parser(name, help=help_text)
        for add in options:
            add(q)
        q.set_defaults(func=func)
        return q

    create = action("create", "store a sweep without running it (prints its id)", run_create,
                    spec_options, add_json_option)
    create.add_argument("--print-spec", action="store_true", help="print the validated spec as JSON; store nothing")
    action("run", "create a sweep and run it", run_run, spec_options, run_options)
    action("resume", "run what a sweep has not finished (after a cancel or a crash)", run_resume,
           id_argument, add_db_option, run_options)
    action("show", "a sweep's trials sorted by the metric", run_show, id_argument, add_db_option, add_json_option)
    action("list", "the stored sweeps", run_list, add_db_option, add_json_option)


def sweep_id(text: str) -> int:
    """argparse ``type`` for one sweep id (``one_run_id``'s checks, worded for sweeps)."""
    try:
        return one_run_id(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("run ids", "sweep ids")) from None


# -- the spec from flags ------------------------------------------------------------------------------
def _whole(text: str | None, what: str, low: int, high: int) -> int | None:
    if text is None:
        return None
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ParamError(what, text, f"a whole number from {low} to {high}", "command line") from None
    if not low <= value <= high:
        raise ParamError(what, value, f"a whole number from {low} to {high}", "command line")
    return value


def _space(text: str) -> Any:
    from lrstudio.core.jsonio import parse_user_json, read_user_json

    t = text.strip()
    if t.startswith("@"):
        return read_user_json(t[1:], "--space file")
    return parse_user_json(t, '--space (a JSON object such as {"lr": {"log_uniform": [1e-4, 1]}})')


def spec_from_args(args: argparse.Namespace) -> ExperimentSpec:
    from lrstudio.commands._run import config_from_args

    data: dict[str, Any] = {}
    base = None
    if args.spec:
        from lrstudio.core.jsonio import read_user_json

        given = ExperimentSpec.from_dict(read_user_json(args.spec, "sweep spec"))
        data = given.to_dict()
        data.pop("spec_version", None)
        base = given.base
    cfg = config_from_args(args, base=base)
    data["base"] = cfg.to_dict()
    if args.space is not None:
        data["space"] = _space(args.space)
    elif "space" not in data:
        raise ParamError("space", None, SPACE_HELP.replace("the search space", "a search space (--space)"),
                         "command line")
    for key, value in (("method", args.method), ("metric", args.metric), ("sampler", args.sampler),
                       ("pruner", args.pruner), ("name", args.sweep_name), ("prune", args.prune)):
        if value is not None:
            data[key] = value
    trials = _whole(args.trials, "trials", 1, 100_000)
    if trials is not None:
        data["trials"] = trials
    n_seeds = _whole(args.seeds, "seeds", 1, 1000)
    if n_seeds is not None or "seeds" not in data:
        data["seeds"] = [cfg.seed + i for i in range(n_seeds or 1)]
    sweep_seed = _whole(args.sweep_seed, "sweep-seed", 0, 2**32 - 1)
    if sweep_seed is not None:
        data["sweep_seed"] = sweep_seed
    return ExperimentSpec.from_dict(data).validated()


# -- actions ------------------------------------------------------------------------------------------------
def run_create(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    if args.print_spec:
        print(spec.to_json())
        return 0
    from lrstudio.storage import open_store

    with open_store(db_url(args)) as store:
        eid = store.create_experiment(spec)
        info = store.get_experiment(eid)
    if args.json:
        print_json({"experiment_id": eid, "name": info.name, "trials": spec.n_trials(),
                    "runs": spec.n_trials() * len(spec.seeds)})
    else:
        print(f"sweep {eid} ({terminal_safe(info.name)}): {spec.n_trials()} trials x {len(spec.seeds)} seeds; "
              f"run it with: lrstudio sweep resume {eid}")
    return 0


def run_run(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    from lrstudio.services.sweep import check_shareable, start_forkserver
    from lrstudio.storage import open_store

    url = db_url(args)
    check_shareable(url)
    if args.executor == "local":
        start_forkserver()  # it imports torch and warms up while the sweep is stored and claimed
    with open_store(url) as store:
        executor = _executor(args)  # before the sweep is stored: a bad --executor stores nothing
        eid = store.create_experiment(spec)
        if not args.json:
            print(f"sweep {eid}: {spec.n_trials()} trials x {len(spec.seeds)} seeds, "
                  f"{executor.capacity} at a time", file=sys.stderr)
        return _run(store, eid, executor, args)


def run_resume(args: argparse.Namespace) -> int:
    from lrstudio.services.sweep import start_forkserver
    from lrstudio.storage import open_store

    if args.executor == "local":
        start_forkserver()  # it imports torch and warms up while the sweep is read and claimed
    with open_store(db_url(args)) as store:
        store.get_experiment(args.experiment_id)  # not found: one line, nothing started
        return _run(store, args.experiment_id, _executor(args), args)


def _executor(args: argparse.Namespace) -> Any:
    from lrstudio.services.sweep import make_executor

    if args.parallel is not None and not 1 <= args.parallel <= 1024:
        raise ParamError("parallel", args.parallel, "a whole number from 1 to 1024", "command line")
    return make_executor(args.executor, args.parallel, args.ray_address)


_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def _run(store: Any, eid: int, executor: Any, args: argparse.Namespace) -> int:
    from lrstudio.services.sweep import SweepProgress, SweepRunner

    def progress(p: SweepProgress) -> None:
        if args.quiet or args.json or p.last is None:
            return
        o = p.last
        value = o.summary.get(metric) if o.summary else None
        eta = f", about {p.eta_s:.0f} s left" if p.eta_s is not None and p.done < p.total else ""
        err = f": {terminal_safe(o.error)[:120]}" if o.error and o.status != "completed" else ""
        print(f"[{p.done}/{p.total}] trial {o.trial} seed {o.seed} {o.status} {metric} {_num(value)}{eta}{err}",
              file=sys.stderr)

    metric = store.get_experiment(eid).spec().metric
    runner = SweepRunner(store, eid, executor, on_progress=progress)
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        if runner.cancelled:
            raise KeyboardInterrupt
        runner.cancel()
        how = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        try:
            print(f"\nlrstudio: {how}: cancelling the sweep (running trials stop after this step; "
                  "Ctrl-C again to abort)", file=sys.stderr)
        except OSError:
            pass

    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, handler) for sig in _SIGNALS}
    try:
        result = runner.run()
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    if args.json:
        print_json(_show_data(store, eid))
    else:
        print(_show_text(store, eid))
    return {"completed": 0, "cancelled": 130}.get(result.status, 1)


def _num(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    return format(v, ".6g") if isinstance(v, float) else str(v)


def _show_data(store: Any, eid: int) -> dict[str, Any]:
    info = store.get_experiment(eid)
    spec = info.spec()
    runs = store.list_trials(eid)
    rows = summarise_trials(spec, runs)
    counts: dict[str, int] = {}
    for r in runs:
        counts[r.status] = counts.get(r.status, 0) + 1
    return {
        "experiment": {"id": info.id, "name": info.name, "method": info.method, "status": info.status,
                       "created_at": info.created_at, "metric": spec.metric, "direction": spec.direction,
                       "trials": spec.n_trials(), "seeds": list(spec.seeds), "runs_by_status": counts,
                       "study_trials": info.state.get("study_trials"), "spec": spec.to_dict()},
        # "mean" only for a complete trial (every seed completed); an incomplete one says how many
        # of its seeds finished and their "partial_mean", which is never ranked.
        "trials": [{"trial": t.trial, "params": dict(t.params), "status": t.status, "mean": t.mean, "std": t.std,
                    "min": t.min, "max": t.max, "values": list(t.values), "seeds": list(t.seeds),
                    "run_ids": list(t.run_ids), "statuses": list(t.statuses), "complete": t.complete,
                    "n_done": t.n_done, "n_seeds": t.n_seeds, "partial_mean": t.partial_mean} for t in rows],
    }


def _show_text(store: Any, eid: int) -> str:
    data = _show_data(store, eid)
    e = data["experiment"]
    lines = [f"sweep {e['id']}: {terminal_safe(e['name'])}  [{e['status']}]  {e['method']}, "
             f"{e['trials']} trials x {len(e['seeds'])} seeds; runs: "
             + (", ".join(f"{n} {s}" for s, n in sorted(e["runs_by_status"].items())) or "none yet")]
    paths = list(e["spec"]["space"])
    heads = ["trial", *[p.rsplit(".", 1)[-1] if p.count(".") else p for p in paths],
             f"{e['metric']} mean", "std", "min", "max", "seeds", "status", "runs"]
    table = [heads]
    for t in data["trials"]:
        mean = _num(t["mean"]) if t["partial_mean"] is None else f"({_num(t['partial_mean'])})"
        table.append([str(t["trial"]), *[terminal_safe(_num(t["params"].get(p)))[:20] for p in paths],
                      mean, _num(t["std"]), _num(t["min"]), _num(t["max"]), f"{t['n_done']}/{t['n_seeds']}",
                      t["status"], ",".join(str(i) for i in t["run_ids"])])
    widths = [max(len(row[i]) for row in table) for i in range(len(heads))]
    for row in table:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    if not data["trials"]:
        lines.append("(no trials yet)")
    if any(t["partial_mean"] is not None for t in data["trials"]):
        lines.append(f"((x) = incomplete trial: the mean of the n/N seeds that completed; not ranked and not "
                     f"the trial's {e['metric']}; resume the sweep to finish it)")
    unranked = sorted({s for t in data["trials"] for s in t["statuses"] if s in UNRANKED_STATUSES})
    if unranked:
        lines.append(f"(- = no mean: a seed was pruned, diverged or failed; such a trial is not ranked, its "
                     f"partial {e['metric']} is not averaged; here: {', '.join(unranked)})")
    return "\n".join(lines)


def run_show(args: argparse.Namespace) -> int:
    from lrstudio.storage import open_store

    with open_store(db_url(args)) as store:
        if args.json:
            print_json(_show_data(store, args.experiment_id))
        else:
            print(_show_text(store, args.experiment_id))
    return 0


def run_list(args: argparse.Namespace) -> int:
    from lrstudio.storage import open_store

    with open_store(db_url(args)) as store:
        store.recover_experiments()
        exps = store.list_experiments()
        counts = {e.id: len(store.list_trials(e.id)) for e in exps}
    if args.json:
        print_json([{"id": e.id, "name": e.name, "method": e.method, "status": e.status,
                     "created_at": e.created_at, "runs": counts[e.id]} for e in exps])
        return 0
    if not exps:
        print("no sweeps yet (lrstudio sweep run --help)")
        return 0
    for e in exps:
        print(f"{e.id:>4}  {e.status:<11} {e.method:<6} {counts[e.id]:>5} runs  {terminal_safe(e.name)}  "
              f"({e.created_at:%Y-%m-%d %H:%M})")
    return 0


__all__ = ["register", "spec_from_args"]
