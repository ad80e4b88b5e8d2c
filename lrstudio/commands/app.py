"""``lrstudio app`` (also ``lrstudio`` with no command): open the desktop app."""

from __future__ import annotations

import argparse
import sys

from lrstudio.commands._common import add_db_option, db_url, has_display


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("app", help="open the desktop app (the default when no command is given)")
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not has_display():
        print(
            "lrstudio: no display found (DISPLAY/WAYLAND_DISPLAY unset), so the window cannot open.\n"
            "  Headless: `lrstudio demo` trains a reference model and stores the run;\n"
            "  `lrstudio --help` lists the other commands. QT_QPA_PLATFORM=offscreen forces Qt anyway.",
            file=sys.stderr,
        )
        return 1
    from lrstudio.gui.app import main as gui_main  # Qt is imported only here

    return gui_main(db=db_url(args))
