"""Helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lrstudio.core.errors import LrstudioError


def add_db_option(parser: argparse.ArgumentParser) -> None:
    """Accept ``--db`` after the subcommand too (``lrstudio runs --db x.sqlite``).

    ``default=SUPPRESS`` keeps a value given before the subcommand (``lrstudio --db x runs``).
    """
    parser.add_argument("--db", metavar="PATH_OR_URL", default=argparse.SUPPRESS,
                        help="database file or SQLAlchemy URL (overrides $LRSTUDIO_DB)")


def db_url(args: argparse.Namespace) -> str:
    from lrstudio.paths import resolve_db

    return resolve_db(getattr(args, "db", None))


def existing_db_url(args: argparse.Namespace) -> str:
    """:func:`db_url` for commands that only read or change stored runs (``runs``, ``export``):
    a SQLite file the user named (``--db`` or ``$LRSTUDIO_DB``) that does not exist is an error,
    not a new empty database created at a mistyped path. The default database may be missing
    (a fresh install simply has no runs yet)."""
    from lrstudio.paths import sqlite_path

    url = db_url(args)
    named = getattr(args, "db", None) or os.environ.get("LRSTUDIO_DB")
    path = sqlite_path(url)
    if named and path is not None and not path.exists():
        folder = "" if path.parent.is_dir() else f" (its folder {terminal_safe(str(path.parent))} does not exist)"
        raise LrstudioError(f"no database at {terminal_safe(str(path))}{folder}: check the path (nothing was "
                            "created there; `lrstudio train`, `lrstudio demo` or the app create a database)")
    return url


def has_display() -> bool:
    """True when a Qt window can be shown (X11/Wayland, macOS, Windows, or a forced QPA platform)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


# SQLite integers are signed 64-bit; a larger id used to end in OverflowError inside the driver.
MAX_ID = 2**63 - 1


def _whole(text: str, what: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} are whole numbers, got {text.strip()[:40]!r}") from None
    if not 1 <= value <= MAX_ID:
        shown = text.strip() if len(text.strip()) <= 25 else text.strip()[:22] + "..."
        raise argparse.ArgumentTypeError(f"{what} are between 1 and {MAX_ID}, got {shown}")
    return value


def run_ids(text: str) -> list[int]:
    """argparse ``type`` for ``1,2,3``: run ids, each in 1..2**63-1 (argparse reports the error)."""
    ids = [_whole(part, "run ids") for part in text.split(",") if part.strip()]
    if not ids:
        raise argparse.ArgumentTypeError("give at least one run id, e.g. 1,2,3")
    return ids


def one_run_id(text: str) -> int:
    """argparse ``type`` for one run id in 1..2**63-1."""
    return _whole(text, "run ids")


def count(text: str) -> int:
    """argparse ``type`` for a positive count (``--limit``), at most 2**63-1."""
    return _whole(text, "counts")


def _is_control(ch: str) -> bool:
    # C0/C1 controls (ESC starts terminal escape codes; CSI \x9b is one on its own), line and
    # paragraph separators, and the bidi embedding/override/isolate characters that make text read
    # backwards: the same set the GUI's runs table writes out (gui/runs/model.display_text).
    return (unicodedata.category(ch) in ("Cc", "Zl", "Zp") or "\u202a" <= ch <= "\u202e"
            or "\u2066" <= ch <= "\u2069")


def terminal_safe(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with control characters written out as Python escapes (``\\x1b``, ``\\n``).

    Run names, tags and paths come from anywhere (a user's script, another process); printed raw,
    an escape code can clear the screen, retitle the terminal or hide what follows (issue 9).
    """
    if not any(_is_control(ch) for ch in text):
        return text
    return "".join(
        ch if (keep_newlines and ch == "\n") or not _is_control(ch)
        else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


class StopSignal(BaseException):
    """SIGTERM or SIGHUP arrived while a command ran (a BaseException, like KeyboardInterrupt, so
    no ``except Exception`` swallows it); ``lrstudio.cli.main`` exits with 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def stop_signals_unwind() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP raise :class:`StopSignal` instead of ending the
    process on the spot, so ``finally`` blocks and context managers run: an export killed
    politely removes its ``.part`` file and closes the database (issue 9)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise StopSignal(signum)

    sigs = [getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    previous = {sig: signal.signal(sig, handler) for sig in sigs}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# -- JSON output (--json) -------------------------------------------------------------------------
# Every --json output is strict JSON (RFC 8259; `python -m json.tool`, jq and JavaScript read it):
# a number that is not finite is written as the string "nan", "inf" or "-inf" (``float()`` reads
# each back), a missing value as null, a time as an ISO 8601 string with its UTC offset, a tuple
# as a list. Keys are stable: new keys may be added, existing ones keep their name and meaning.
def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as strings, datetimes as ISO text, tuples as lists, numpy
    scalars as Python numbers (recursively), ready for ``json.dumps(..., allow_nan=False)``."""
    import datetime as dt
    import math

    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # a numpy scalar
        return json_safe(value.item())
    return str(value)


def print_json(data: Any) -> None:
    """Write ``data`` to stdout as indented strict JSON (see :func:`json_safe`) and a newline."""
    import json

    sys.stdout.write(json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n")


def add_json_option(parser: argparse.ArgumentParser, *, keep_parent: bool = False) -> None:
    """``--json``; ``keep_parent=True`` on a sub-subcommand keeps a ``--json`` given before it
    (``lrstudio runs --json show 3``)."""
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS if keep_parent else False,
                        help='machine-readable output (strict JSON; non-finite numbers as "nan", "inf", '
                             '"-inf"; missing values null)')


def confirm(question: str) -> bool:
    """Ask ``question`` on stderr and read one line of stdin: True for y/yes (any case)."""
    sys.stderr.write(question)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer.endswith("\n"):  # end of input: leave the prompt's line
        sys.stderr.write("\n")
    return answer.strip().lower() in ("y", "yes")
