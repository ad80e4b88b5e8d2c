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
