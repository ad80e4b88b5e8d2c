"""``lrstudio desktop install|uninstall``: put lrstudio in the desktop's application menu (Linux).

Installs the shipped ``lrstudio.desktop`` entry and the SVG icon under the XDG data directory
(``$XDG_DATA_HOME``, else ``~/.local/share``): ``applications/lrstudio.desktop`` and
``icons/hicolor/scalable/apps/lrstudio.svg``. The entry's ``Exec`` line names the ``lrstudio``
program this command was run from, so a pipx or venv install that is not on the menu's PATH still
starts. Each file is written to a temporary name and renamed, so an interrupted install leaves no
half-written entry.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import sys
from pathlib import Path

from lrstudio.core.errors import LrstudioError
from lrstudio.paths import resources_dir

DESKTOP_NAME = "lrstudio.desktop"
ICON_REL = Path("icons") / "hicolor" / "scalable" / "apps" / "lrstudio.svg"


def data_home() -> Path:
    """``$XDG_DATA_HOME`` or ``~/.local/share`` (the XDG base directory default)."""
    env = os.environ.get("XDG_DATA_HOME", "").strip()
    return Path(env) if env else Path.home() / ".local" / "share"


def _program() -> str:
    """The command line that starts this lrstudio: its console script if found, else ``python -m``."""
    script = Path(sys.executable).parent / "lrstudio"
    if script.is_file() and os.access(script, os.X_OK):
        return shlex.quote(str(script))
    found = shutil.which("lrstudio")
    if found:
        return shlex.quote(found)
    return f"{shlex.quote(sys.executable)} -m lrstudio"


def _write_atomically(dest: Path, data: bytes) -> None:
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise LrstudioError(f"cannot write {dest}: {exc.strerror or exc}") from None


def install(base: Path) -> list[Path]:
    """Write the desktop entry and the icon under ``base``; return the paths written."""
    entry = (resources_dir() / DESKTOP_NAME).read_text(encoding="utf-8")
    lines = [f"Exec={_program()}" if line.startswith("Exec=") else line for line in entry.splitlines()]
    icon = (resources_dir() / "icons" / "lrstudio.svg").read_bytes()
    written = [base / "applications" / DESKTOP_NAME, base / ICON_REL]
    _write_atomically(written[0], ("\n".join(lines) + "\n").encode("utf-8"))
    _write_atomically(written[1], icon)
    return written


def uninstall(base: Path) -> list[Path]:
    """Remove what :func:`install` wrote under ``base``; return the paths removed."""
    removed = []
    for path in (base / "applications" / DESKTOP_NAME, base / ICON_REL):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "desktop", help="add lrstudio to (or remove it from) the desktop's application menu",
        description="Install or remove the lrstudio.desktop menu entry and its icon under "
                    "$XDG_DATA_HOME (default ~/.local/share).",
    )
    p.add_argument("action", choices=("install", "uninstall"))
    p.add_argument("--data-home", metavar="DIR", default=None,
                   help="XDG data directory to use (default: $XDG_DATA_HOME or ~/.local/share)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    base = Path(args.data_home) if args.data_home else data_home()
    if args.action == "install":
        for path in install(base):
            print(f"wrote {path}")
        return 0
    removed = uninstall(base)
    for path in removed:
        print(f"removed {path}")
    if not removed:
        print(f"nothing to remove under {base}")
    return 0
