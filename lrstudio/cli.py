"""The ``lrstudio`` command.

With no arguments it opens the desktop app (or, on a machine with no display, says how to run
headless). Subcommands do the headless work; each lives in ``lrstudio/commands/<name>.py`` and
registers itself through a ``register(subparsers)`` function, so this module stays a dispatcher.

Errors meant for the user (:class:`~lrstudio.core.errors.LrstudioError`) are printed as one line
on stderr with exit status 2; nothing else is caught here.
"""

from __future__ import annotations

import argparse
import importlib
import keyword
import sys
from collections.abc import Sequence

from lrstudio import __version__
from lrstudio.commands._common import StopSignal, terminal_safe
from lrstudio.core.errors import LrstudioError

# Order = order in --help.
COMMAND_MODULES = ("app", "demo", "train", "sweep", "find_lr", "schedules", "preview", "optimizers", "runs", "export", "db",
                   "import", "desktop", "completion", "playground")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lrstudio",
        description="A desktop lab for learning rates. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"lrstudio {__version__}")
    parser.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        default=None,
        help="database file or SQLAlchemy URL (default: $LRSTUDIO_DB, else a SQLite file in the user data dir)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in COMMAND_MODULES:
        # A command named by a Python keyword lives in <name>_.py (`lrstudio import`: import_.py).
        path = f"lrstudio.commands.{name}_" if keyword.iskeyword(name) else f"lrstudio.commands.{name}"
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as exc:  # a command module not written yet must not break the others
            if exc.name != path:
                raise
            continue
        module.register(sub)
    parser.set_defaults(root_parser=parser)  # `lrstudio completion` generates its script from the whole parser
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.command is None:
        args = parser.parse_args(["app", *(["--db", args.db] if args.db else [])])
        if not hasattr(args, "func"):
            parser.print_help()
            return 0
    try:
        return int(args.func(args) or 0)
    except LrstudioError as exc:
        print(f"lrstudio: error: {terminal_safe(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lrstudio: interrupted", file=sys.stderr)
        return 130
    except StopSignal as stop:
        import signal

        print(f"lrstudio: stopped by {signal.Signals(stop.signum).name}", file=sys.stderr)
        return 128 + stop.signum
    except BrokenPipeError:
        # `lrstudio runs | head`: the reader left; exit quietly like other Unix tools. Point
        # stdout at devnull so the interpreter's final flush does not raise again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
