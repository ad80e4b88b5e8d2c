"""Pieces shared by ``lrstudio train`` and ``lrstudio demo``: config from flags, a headless run that
stores every step, its progress (:mod:`lrstudio.commands._progress`), and a readable summary.

A headless run is :func:`lrstudio.services.training_run.run_training` (the one orchestration the GUI
uses too, with its failure policy: nothing is stored when a check before the data load fails; a data
file that cannot be read, or is too short for the schedule, ends the stored run ``failed``), plus the
progress fed from its event batches. Ctrl-C (or SIGTERM, SIGHUP) asks the loop to stop between
steps, so the run is stored as ``stopped`` with every step so far; a second one interrupts at once.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from lrstudio.commands._common import terminal_safe
from lrstudio.core.config import DATASET_FIELDS, RUN_FIELDS, RunConfig
from lrstudio.core.params import Param, ParamError

# Run fields that get their own flag, and the flag names of data-set fields whose names clash.
_DATASET_FLAG = {"name": "dataset"}
_SKIP_RUN: frozenset[str] = frozenset()


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _help(p: Param) -> str:
    text = p.help
    if p.kind not in ("choice", "bool"):
        text += f" ({p.describe_allowed()}"
        text += f"; default {p.default!r})" if p.default not in (None, "") else ")"
    elif p.kind == "choice":
        text += f" (default {p.default})"
    return text.replace("%", "%%")


def _add_param_flag(group: Any, p: Param, dest: str, flag: str) -> None:
    if p.kind == "bool":
        group.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=None, help=_help(p))
    elif p.kind == "choice":
        group.add_argument(flag, dest=dest, choices=p.choices, default=None, help=_help(p))
    else:
        # Values stay text here: Param.coerce converts and checks them with a message that names
        # the field and what is allowed.
        group.add_argument(flag, dest=dest, default=None, metavar=p.kind.upper(), help=_help(p))


def add_run_options(parser: argparse.ArgumentParser, *, config_file: bool = True) -> None:
    """Flags generated from ``RUN_FIELDS``/``DATASET_FIELDS`` plus optimizer and schedule specs."""
    if config_file:
        parser.add_argument("--config", metavar="RUN.JSON",
                            help="start from this run configuration (JSON); flags given override it")
    run = parser.add_argument_group("run")
    for p in RUN_FIELDS:
        if p.name not in _SKIP_RUN:
            _add_param_flag(run, p, f"run_{p.name}", _flag(p.name))
    run.add_argument("--optimizer", metavar="NAME", default=None,
                     help="optimizer: sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam, adamw "
                          "(default sgd; `lrstudio optimizers` lists their parameters)")
    run.add_argument("--opt-param", metavar="KEY=VALUE", action="append", default=[],
                     help="an optimizer parameter, e.g. --opt-param beta1=0.9 (repeatable)")
    run.add_argument("--schedule", metavar="SPEC_OR_FILE", default=None,
                     help='schedule: a name (cosine), a JSON spec {"name": ..., "params": {...}}, or a JSON '
                          "file holding one (default constant; `lrstudio schedules` lists them)")
    run.add_argument("--sched-param", metavar="KEY=VALUE", action="append", default=[],
                     help="a schedule parameter, e.g. --sched-param T_max=500 (repeatable; values may be JSON)")
    data = parser.add_argument_group("data set")
    for p in DATASET_FIELDS:
        _add_param_flag(data, p, f"ds_{p.name}", _flag(_DATASET_FLAG.get(p.name, p.name)))


def _key_values(items: Sequence[str], what: str) -> dict[str, Any]:
    from lrstudio.core.jsonio import parse_user_json

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParamError("", item[:60], f"{what} as KEY=VALUE (e.g. beta1=0.9)", "command line")
        try:
            out[key.strip()] = parse_user_json(value, f"{what} {key.strip()}")
        except ParamError:
            # Plain text: the declaration converts it (and says what is wrong). A value meant as
            # JSON (a number, a list, an object) that does not parse is an error of its own.
            if value.strip().lstrip("-").isdigit() or value.lstrip().startswith(("[", "{")):
                raise
            out[key.strip()] = value
    return out


def _is_file(text: str) -> bool:
    try:
        return Path(text).expanduser().is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL
        return False


def parse_schedule(text: str) -> dict[str, Any]:
    """A schedule spec from a name, a JSON object or a JSON file (through core's JSON reader:
    a BOM, deep warm-up chains, non-UTF-8 bytes and huge integers give one clear message)."""
    from lrstudio.core.jsonio import parse_user_json, read_user_json

    t = text.strip()
    if t.startswith(("{", "[")):
        spec = parse_user_json(t, "--schedule")
    elif t.endswith(".json") or _is_file(t):
        if not _is_file(t):
            raise ParamError("schedule", text, "a schedule name or an existing JSON file", "command line")
        spec = read_user_json(t, "schedule file")
        if isinstance(spec, dict) and "schedule" in spec and "name" not in spec:
            spec = spec["schedule"]  # a whole run config works too
    else:
        spec = {"name": t, "params": {}}
    if not isinstance(spec, dict) or "name" not in spec:
        raise ParamError("schedule", text[:60], 'a spec {"name": ..., "params": {...}}', "command line")
    spec.setdefault("params", {})
    return spec


def load_config_file(path: str) -> RunConfig:
    return RunConfig.from_file(path)


def _as_spec(value: Any, what: str) -> dict[str, Any]:
    """A config's optimizer/schedule as ``{"name": ..., "params": {...}}`` (a bare name is one)."""
    if isinstance(value, str):
        return {"name": value, "params": {}}
    if not isinstance(value, dict) or not isinstance(value.get("params", {}), dict):
        raise ParamError(what, value, 'a spec {"name": ..., "params": {...}} or a name', "config")
    return value


def config_from_args(args: argparse.Namespace, base: RunConfig | None = None) -> RunConfig:
    """``base`` (or ``--config``, or the defaults) with every given flag applied; validated."""
    from_config = base is not None or bool(getattr(args, "config", None))
    if base is None:
        base = load_config_file(args.config) if getattr(args, "config", None) else RunConfig()
    data = base.to_dict()
    for p in RUN_FIELDS:
        v = getattr(args, f"run_{p.name}", None)
        if v is not None:
            data[p.name] = v
    ds = dict(data["dataset"])
    for p in DATASET_FIELDS:
        v = getattr(args, f"ds_{p.name}", None)
        if v is not None:
            ds[p.name] = v
    data["dataset"] = ds
    data["optimizer"], data["schedule"] = _as_spec(data["optimizer"], "optimizer"), _as_spec(data["schedule"], "schedule")
    base_opt = data["optimizer"].get("name")
    new_opt = getattr(args, "optimizer", None)
    if new_opt:
        data["optimizer"] = {"name": new_opt, "params": {}}
    keeps_lr = from_config and (not new_opt or new_opt == base_opt)
    if getattr(args, "run_lr", None) is None and not keeps_lr:
        # No --lr: the optimizer's own default LR (Adadelta 1.0, issue 9), as the form offers when
        # the optimizer changes. A config's LR stays while the config's optimizer does.
        from lrstudio.core.optimizers import OPTIMIZERS

        info = OPTIMIZERS.get(str(new_opt or base_opt))
        if info is not None:  # an unknown name is reported by validation below
            data["lr"] = info.default_lr
    opt_params = _key_values(getattr(args, "opt_param", []) or [], "an optimizer parameter")
    if opt_params:
        data["optimizer"] = {**data["optimizer"],
                             "params": {**data["optimizer"].get("params", {}), **opt_params}}
    if getattr(args, "schedule", None):
        data["schedule"] = parse_schedule(args.schedule)
    sched_params = _key_values(getattr(args, "sched_param", []) or [], "a schedule parameter")
    if sched_params:
        data["schedule"] = {**data["schedule"], "params": {**data["schedule"].get("params", {}), **sched_params}}
    # Flag values are text; the declarations convert them when the config is validated.
    return RunConfig.from_dict(data).validated()


# -- a stored headless run ----------------------------------------------------------------------------
@dataclass
class StoredRun:
    run_id: int
    summary: Any  # RunSummary
    config: RunConfig
    db_url: str


def run_and_store(cfg: RunConfig, url: str, *, name: str | None = None, progress: bool = True,
                  stream: TextIO | None = None, heap_frozen: bool = False) -> StoredRun:
    """Train ``cfg`` headless through the run service and store every step in the database at ``url``.

    :func:`lrstudio.services.training_run.run_training` does the run (and decides what is stored
    when something fails); this adds the terminal: the fit warnings and the progress (a bar or plain lines) on
    ``stream`` (stderr), and Ctrl-C/SIGTERM/SIGHUP as a stop request. ``heap_frozen``: this process
    froze its heap for good (``gc.freeze``), so the run leaves it frozen at its end.
    """
    from lrstudio.commands._progress import TrainProgress
    from lrstudio.core.events import RunStarted, StepLogged
    from lrstudio.services.runtime import HEADLESS
    from lrstudio.services.training_run import run_training

    out = stream if stream is not None else sys.stderr
    bar = TrainProgress(stream, enabled=progress)
    stop = threading.Event()

    def warn(lines: Sequence[str]) -> None:
        for w in lines:
            print(f"lrstudio: warning: {terminal_safe(w)}", file=out)

    def on_events(batch: list) -> None:
        if isinstance(batch[0], RunStarted):  # flushed at once, so it opens its batch
            bar.start(batch[0].total_steps)
        for ev in reversed(batch):
            if isinstance(ev, StepLogged):
                bar.update(ev.step, ev.values.get("train/loss"), ev.values.get("lr"))
                break

    previous = _install_stop_signals(stop)  # before the run row exists: no window where a signal kills it
    try:
        options = replace(HEADLESS, freeze_heap_per_run=False) if heap_frozen else HEADLESS
        result = run_training(cfg, url, stop=stop, on_events=on_events, on_warnings=warn, name=name,
                              options=options)
    finally:
        _restore_signals(previous)
        bar.finish()
    return StoredRun(result.run_id, result.summary, result.config, url)


# SIGTERM (a scheduler, `kill`, a container stopping) and SIGHUP (the terminal closed) used to kill
# a headless run without its summary; they stop it like Ctrl-C (issue 9).
_STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def _install_stop_signals(stop: threading.Event) -> dict[int, Any] | None:
    """First SIGINT/SIGTERM/SIGHUP: stop between steps (the run is kept as ``stopped``).
    A second one: the usual KeyboardInterrupt. Returns the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        how = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        try:
            print(f"\nlrstudio: {how}: stopping after this step (Ctrl-C again to abort)", file=sys.stderr)
        except OSError:  # SIGHUP: the terminal may be gone already
            pass

    return {sig: signal.signal(sig, handler) for sig in _STOP_SIGNALS}


def _restore_signals(previous: dict[int, Any] | None) -> None:
    for sig, old in (previous or {}).items():
        signal.signal(sig, old)


# -- summary text -------------------------------------------------------------------------------------
def _num(v: Any, fmt: str = ".6g") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    if isinstance(v, float) and abs(v) >= 1e9:  # a diverged run: 2.1e+15, not 2100000000000000.0000
        return format(v, ".4g")
    return format(v, fmt)


def format_summary(stored: StoredRun) -> str:
    """A few readable lines: status, losses, R²/RMSE or accuracy, w/b, duration."""
    s, cfg = stored.summary, stored.config
    lines = [f"run {stored.run_id}: {cfg.describe()}  [{s.status}]"]
    steps = f"{s.steps} steps, {s.epochs} epochs in {s.duration_s:.2f} s"
    if s.duration_s > 0 and s.steps:
        steps += f" ({s.steps / s.duration_s:,.0f} steps/s)"
    lines.append("  " + steps)
    if s.status == "diverged":
        lines.append(f"  diverged at step {s.diverged_step} (loss {_num(s.final_loss)})")
    if s.error:
        lines.append(f"  error: {terminal_safe(s.error)}")
    ex = dict(s.extra)
    units = {"standardised": " (MSE, standardised target)", "raw": " (MSE)"}.get(ex.get("loss_units", ""), "")
    lines.append(f"  train loss: final {_num(s.final_loss)}, best {_num(s.best_loss)}{units}")
    if s.final_val_loss is not None:
        lines.append(f"  val loss:   final {_num(s.final_val_loss)}, best {_num(s.best_val_loss)}")
    if "r2" in ex:
        on = ex.get("metrics_on", "val")
        lines.append(f"  {on} R² {_num(ex['r2'], '.4f')}, RMSE {_num(ex['rmse'], ',.2f')} "
                     f"({ex.get('target', 'target')} units)")
    if "true_w" in ex:
        lw = ", ".join(_num(v, ".4g") for v in ex["learned_w"])
        tw = ", ".join(_num(v, ".4g") for v in ex["true_w"])
        lines.append(f"  learned w = [{lw}], b = {_num(ex['learned_b'], '.4g')}   "
                     f"(true w = [{tw}], b = {_num(ex['true_b'], '.4g')})")
    if s.best_accuracy is not None:
        lines.append(f"  val accuracy: final {_num(ex.get('val_acc'), '.2%')}, best {s.best_accuracy:.2%}")
    return "\n".join(lines)


def exit_code(summary: Any) -> int:
    """0 for a run that ran (completed, stopped, diverged: divergence is a result), 1 for failed."""
    return 1 if summary.status == "failed" else 0
