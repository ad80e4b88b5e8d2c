"""Helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import os
import sys


def add_db_option(parser: argparse.ArgumentParser) -> None:
    """Accept ``--db`` after the subcommand too (``lrstudio runs --db x.sqlite``).

    ``default=SUPPRESS`` keeps a value given before the subcommand (``lrstudio --db x runs``).
    """
    parser.add_argument("--db", metavar="PATH_OR_URL", default=argparse.SUPPRESS,
                        help="database file or SQLAlchemy URL (overrides $LRSTUDIO_DB)")


def db_url(args: argparse.Namespace) -> str:
    from lrstudio.paths import resolve_db

    return resolve_db(getattr(args, "db", None))


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


def count(text: str) -> int:
    """argparse ``type`` for a positive count (``--limit``), at most 2**63-1."""
    return _whole(text, "counts")
