"""``lrstudio train``: train one run headless, with its progress on stderr, and store it.

Flags are generated from the run and data-set declarations (``RUN_FIELDS``/``DATASET_FIELDS``),
so every bound and help text comes from ``lrstudio/core/config.py``::

    lrstudio train --model linear --dataset windsor --optimizer adam --lr 0.01 \\
        --schedule cosine --sched-param T_max=2000 --max-steps 2000
    lrstudio train --config run.json --seed 3
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import logging
import os
import sys
import threading
from pathlib import Path

from lrstudio.commands._common import add_db_option, db_url, json_safe, one_run_id, terminal_safe
from lrstudio.commands._run import add_run_options, config_from_args, exit_code, format_summary, run_and_store
from lrstudio.core.config import RunConfig, check_runnable
from lrstudio.core.errors import LrstudioError
from lrstudio.services.training_run import fit_warnings, require_torch


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a reference model headless and store the run",
        description="Train one run without a window: progress on stderr (a bar with ETA on a terminal, "
                    "plain lines otherwise), the run stored in the "
                    "database, a summary and the run id on stdout.",
        epilog="Example: lrstudio train --model linear --dataset windsor --optimizer adam --lr 0.01 "
               "--schedule cosine --sched-param T_max=2000 --max-steps 2000",
    )
    add_db_option(p)
    add_run_options(p)
    p.add_argument("--from-run", metavar="ID", type=one_run_id, default=None,
                   help="start from the configuration of this stored training run (`lrstudio runs` lists "
                        "them); flags given override it (--lr, --max-steps, --seed ...)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or lines")
    p.add_argument("--json", action="store_true", help="print the summary as JSON (with run_id)")
    p.add_argument("--print-config", action="store_true",
                   help="print the validated run configuration as JSON and exit (nothing is trained)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.print_config:
        return _train(args)
    # --print-config: the same pre-run gate as a real run (issue 9: a warm-up longer than the run
    # passed here), and the same warnings; stdout stays pure JSON.
    cfg = check_runnable(config_from_args(args, base=_stored_config(args) if args.from_run is not None else None))
    if cfg.device == "cuda":
        require_torch()
        from lrstudio.trainer.loop import check_device

        check_device(cfg.device)
    for w in fit_warnings(cfg):
        print(f"lrstudio: warning: {terminal_safe(w)}", file=sys.stderr)
    print(cfg.to_json())
    return 0


def _train(args: argparse.Namespace) -> int:
    cfg, frozen_for_good = _import_for_run(args)
    stored = run_and_store(cfg, db_url(args), name=cfg.name or None,
                           progress=not args.quiet and not args.json, heap_frozen=frozen_for_good)
    if args.json:
        # One line of strict JSON (non-finite losses as "inf"/"nan": issue 14)
        print(json.dumps(json_safe({"run_id": stored.run_id, **stored.summary.to_dict()}), allow_nan=False))
    else:
        print(format_summary(stored))
        print(f"run id: {stored.run_id}")
    if stored.summary.status == "failed":
        print(f"lrstudio: run {stored.run_id} failed: {terminal_safe(stored.summary.error or '')}",
              file=sys.stderr)
    code = exit_code(stored.summary)
    _exit_now_if_command(code)
    return code


# Compiled modules (or modules that load one) the run imports before torch, imported before the
# preload thread starts (_preload_torch_beside): numpy comes with the parser; bisect for the
# schedules; sqlite3; sqlalchemy.engine loads all of SQLAlchemy's compiled parts; the others are
# what torch's pure-Python dependencies below load (POSIX only: grp, _posixshmem).
_COMPILED_FIRST = ("bisect", "sqlite3", "sqlalchemy.engine", "queue", "grp", "_multiprocessing", "_posixshmem")
# Pure-Python modules from outside the torch package that ``import torch`` imports (torch 2.13,
# ``python -X importtime``: ~0.03-0.04 s here, torchgen.model alone ~0.015 s): imported while the
# preload thread maps libtorch, when this thread would otherwise wait for it. A module torch no
# longer imports costs its import; one missing from the list only costs the overlap.
_TORCH_PURE_DEPENDENCIES = ("torchgen.model", "opt_einsum", "unittest.mock", "tqdm", "urllib.request", "tarfile",
                            "multiprocessing.connection", "multiprocessing.resource_tracker", "difflib", "timeit",
                            "pickletools")

# ``import torch`` loads every out-of-tree device backend that an installed distribution declares
# (entry points ``torch.backends``), scanning all installed distributions for them (~0.015 s in
# the dev venv). lrstudio trains on cpu or cuda, both in torch itself, so the lrstudio process
# turns that off unless the environment asks for it (``TORCH_DEVICE_BACKEND_AUTOLOAD=1``).
_NO_BACKEND_AUTOLOAD = ("TORCH_DEVICE_BACKEND_AUTOLOAD", "0")


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:  # another platform or torch version: only the overlap is lost
            pass


def _preload_torch_beside() -> None:
    """Map torch's native libraries in a thread while this one imports the store and the run's
    modules (issue 11: a 1-second ``lrstudio train`` spent most of its start importing).

    ``dlopen`` of libtorch runs without the GIL there (:func:`~lrstudio.services.runtime.
    preload_torch_libraries`), so it overlaps Python imports, which hold the GIL; the
    ``import torch`` later finds the libraries loaded (``bench/bench_cli_start.py``). But ``dlopen``
    also holds the dynamic loader's lock the whole time it maps libtorch_cpu (~0.13-0.19 s here):
    a compiled module (``.so``) imported by this thread meanwhile waits for that lock, holding the
    GIL, and nothing overlaps. So every compiled module the run imports before torch is imported
    first (``_COMPILED_FIRST``), and the thread starts after them: what this thread imports while it
    runs (the schedules, SQLAlchemy's ORM, the store, torch's pure-Python dependencies) is pure
    Python (``tests/cli/test_train_preload.py``).
    """
    _import_all(_COMPILED_FIRST)
    from lrstudio.services.runtime import preload_torch_libraries

    thread = threading.Thread(target=preload_torch_libraries, name=_PRELOAD_THREAD, daemon=True)
    thread.start()
    _preloads.append(thread)


_PRELOAD_THREAD = "lrstudio-preload-torch"
_preloads: list[threading.Thread] = []


def _wait_for_preload() -> None:
    """Let a preload that is still mapping libtorch finish before this command returns on an error.

    A process that ends while the thread is inside ``dlopen`` (libtorch's static initialisers)
    aborted now and then (``c10::Error``, exit status 134) after printing the right one-line error,
    e.g. ``lrstudio train --epochs abc``. Costs at most the rest of the mapping (~0.15 s), on the
    error path only.
    """
    while _preloads:
        _preloads.pop().join(timeout=30.0)


def _import_for_run(args: argparse.Namespace) -> tuple[RunConfig, bool]:
    """The run's config, with torch, the store and the training loop imported with the cyclic
    garbage collector paused; and True when the imported heap was then frozen for good
    (``gc.freeze``).

    Issue 11: importing torch, SQLAlchemy and numpy allocates hundreds of thousands of objects,
    and the collections they trigger scan them again and again (~0.15-0.25 s of a 1-second
    ``lrstudio train``, ``bench/bench_cli_start.py``; the GUI's ``services.runtime.prewarm`` does the
    same). Frozen for good only in the ``lrstudio`` process itself, which ends after this run
    (its run then leaves the freeze in place: ``RuntimeOptions.freeze_heap_per_run``); a caller of
    :func:`lrstudio.cli.main` gets its collector back as it was. A torch that does not import is
    left to the run's own check, which says so and stores nothing.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    command = _is_the_lrstudio_command()  # the lrstudio process itself, which ends after this run
    try:
        new_db = _is_new_sqlite_file(args)
        if new_db:
            _import_all(_ALEMBIC_COMPILED)
        _preload_torch_beside()
        # Pure Python from here until torch (_preload_torch_beside): the config (the schedules),
        # then the store (SQLAlchemy's ORM), while the preload thread maps libtorch.
        cfg = config_from_args(args, base=_stored_config(args) if args.from_run is not None else None)
        import lrstudio.storage

        _import_all(_TORCH_PURE_DEPENDENCIES)
        if new_db:  # the migrations that create it run after torch: their imports fit in the wait
            _import_all(_ALEMBIC_PURE)
        if command:
            os.environ.setdefault(*_NO_BACKEND_AUTOLOAD)
        try:
            require_torch()
        except LrstudioError:
            return cfg, False
        import lrstudio.trainer.loop  # noqa: F401
    except BaseException:  # a bad config, an interrupt: the command ends here
        _wait_for_preload()
        raise
    finally:
        if command:
            gc.freeze()
        if gc_was_enabled:
            gc.enable()
    return cfg, command


# The first run on a new SQLite file creates its schema with the migrations (Alembic, ~0.07 s of
# imports): its pure-Python modules are imported while libtorch is mapped, the compiled modules
# they load before the preload starts (issue 11: the new-database case of bench_cli_start.py).
_ALEMBIC_COMPILED = ("_zoneinfo", "markupsafe._speedups", "termios")
_ALEMBIC_PURE = ("alembic.config", "alembic.script", "alembic.runtime.migration", "alembic.operations",
                 "alembic.command")


def _is_new_sqlite_file(args: argparse.Namespace) -> bool:
    """True when the run's database is an SQLite file that does not exist yet or is empty."""
    from lrstudio.paths import sqlite_path

    try:
        path = sqlite_path(db_url(args))
        return path is not None and (not path.exists() or path.stat().st_size == 0)
    except (LrstudioError, OSError, ValueError):
        return False  # the store says what is wrong with it when it opens


def _stored_config(args: argparse.Namespace) -> RunConfig:
    """The config of the training run ``--from-run`` names (issue 14: re-run or tweak a stored run)."""
    from lrstudio.storage import open_store

    if getattr(args, "config", None):
        raise LrstudioError("use --from-run or --config, not both (flags given override either)")
    with open_store(db_url(args)) as store:
        info = store.get_run(args.from_run)
    kind = getattr(info, "kind", "training")
    if kind != "training":
        article = "an" if kind[:1] in "aeiou" else "a"
        raise LrstudioError(f"run {info.id} ({info.name}) is {article} {kind} run, not a training run: only "
                            "training runs can be trained again with --from-run")
    return info.config()


def _is_the_lrstudio_command() -> bool:
    """True when this process is ``lrstudio ...`` or ``python -m lrstudio ...`` (not a caller of
    :func:`lrstudio.cli.main` inside another program, such as the tests)."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    return argv0.name in ("lrstudio", "lrstudio.exe") or (
        argv0.name == "__main__.py" and argv0.parent.name == "lrstudio")


def _exit_now_if_command(code: int) -> None:
    """End the ``lrstudio train`` process here, skipping the interpreter's teardown.

    Issue 11: with torch, SQLAlchemy and the data loaded, the interpreter's finalisation (module
    teardown, C++ destructors) took 1.1-1.5 s of a 5 s ``lrstudio train`` of a one-second run,
    measured on the dev machine. Everything of the run is stored and closed by now, the output is
    printed; what is left is flushed here (stdout, stderr, logging) before ``os._exit``. Only when
    this process is the lrstudio command (``LRSTUDIO_SLOW_EXIT=1`` keeps the normal exit).
    """
    if not _is_the_lrstudio_command() or os.environ.get("LRSTUDIO_SLOW_EXIT"):
        return
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be written anyway
            pass
    os._exit(code)
