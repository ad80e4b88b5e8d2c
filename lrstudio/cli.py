"""The ``lrstudio`` command.

With no arguments it opens the desktop app (or, on a machine with no display, says how to run
headless). Subcommands do the headless work; each lives in ``lrstudio/commands/<name>.py`` and
registers itself through a ``register(subparsers)`` function, so this module stays a dispatcher.
``lrstudio <command> ...`` builds the parser with that command alone, so a headless command does not
import the other fourteen (issue 11: ~0.1-0.3 s of a 1-second ``lrstudio train``); ``lrstudio -h``,
an unknown word and ``lrstudio completion`` get the whole parser.

Errors meant for the user (:class:`~lrstudio.core.errors.LrstudioError`) are printed as one line
on stderr with exit status 2; nothing else is caught here.
"""

from __future__ import annotations

import argparse
import importlib
import keyword
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from lrstudio import __version__
from lrstudio.commands._common import StopSignal, terminal_safe
from lrstudio.core.allocator import tune_allocator
from lrstudio.core.errors import LrstudioError

# Order = order in --help.
COMMAND_MODULES = ("app", "demo", "train", "sweep", "find_lr", "schedules", "preview", "optimizers", "runs", "export", "db",
                   "import", "desktop", "completion", "playground")


_READ_BY = "_lrstudio_read_by"  # the namespace attribute naming the innermost parser that read the line


class _Parser(argparse.ArgumentParser):
    """argparse's parser whose own errors (an unknown command or option, a missing or bad value)
    are one line on stderr like the CLI's other errors: what is wrong, what is allowed when argparse
    says it (the commands, the choices), and which ``-h`` lists the rest; exit status 2, no usage
    block. ``add_subparsers`` makes the commands' parsers of this class too, and an unrecognized
    word is reported by the innermost command that read the line (``lrstudio train -h``)."""

    def error(self, message: str) -> NoReturn:
        what = "commands" if self._subparsers is not None else "options"
        self.exit(2, f"{self.prog}: error: {terminal_safe(message)} ({self.prog} -h lists the {what})\n")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if not hasattr(parsed, _READ_BY):  # a command's parser ran inside this one: its name stays
            setattr(parsed, _READ_BY, self)
        return parsed, extras

    def parse_args(self, args: Any = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        parsed, extras = self.parse_known_args(args, namespace)
        reader = vars(parsed).pop(_READ_BY, self)
        if extras:
            reader.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``lrstudio`` parser with every command, or with the command module ``only`` alone."""
    parser = _Parser(
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
    for name in COMMAND_MODULES if only is None else (only,):
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


def _command_word(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names after the root's ``--db``; None when something else comes first."""
    i = 0
    while i < len(argv):
        if argv[i] == "--db":
            i += 2
        elif argv[i].startswith("--db="):
            i += 1
        else:
            return None if argv[i].startswith("-") else argv[i]
    return None


def _parser_for(argv: Sequence[str]) -> argparse.ArgumentParser:
    """A parser with only the command ``argv`` names when that command is known for sure (its
    module registers that word); else the whole parser, which also says what an unknown word is."""
    word = _command_word(argv)
    name = word.replace("-", "_") if word else None
    if name in COMMAND_MODULES and name != "completion":  # completion writes the whole parser out
        parser = build_parser(only=name)
        if word in _command_choices(parser):
            return parser
    return build_parser()


def _command_choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def main(argv: Sequence[str] | None = None) -> int:
    tune_allocator()  # lrstudio's own process (lrstudio.core.allocator)
    argv = list(argv) if argv is not None else sys.argv[1:]
    parser = _parser_for(argv)
    args = parser.parse_args(argv)
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
