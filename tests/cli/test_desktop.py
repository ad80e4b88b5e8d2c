"""`lrstudio desktop install|uninstall` puts a valid menu entry and the icon under XDG_DATA_HOME."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys

from lrstudio.cli import main


def test_install_writes_a_valid_entry_and_icon(tmp_path, capsys):
    assert main(["desktop", "install", "--data-home", str(tmp_path)]) == 0
    entry = tmp_path / "applications" / "lrstudio.desktop"
    icon = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "lrstudio.svg"
    assert entry.is_file() and icon.read_bytes().startswith(b"<svg")
    ini = configparser.ConfigParser(interpolation=None)
    ini.optionxform = str
    ini.read(entry, encoding="utf-8")
    sec = ini["Desktop Entry"]
    assert sec["Type"] == "Application" and sec["Icon"] == "lrstudio" and sec["Terminal"] == "false"
    # Exec names a program that exists (the console script or this python with -m lrstudio)
    exe = sec["Exec"].split()[0].strip("'")
    assert os.access(exe, os.X_OK), sec["Exec"]
    assert not list(tmp_path.rglob(".*.part"))
    out = capsys.readouterr().out
    assert str(entry) in out and str(icon) in out

    assert main(["desktop", "uninstall", "--data-home", str(tmp_path)]) == 0
    assert not entry.exists() and not icon.exists()


def test_install_follows_xdg_data_home(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    res = subprocess.run([sys.executable, "-m", "lrstudio", "desktop", "install"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "xdg" / "applications" / "lrstudio.desktop").is_file()


def test_unwritable_target_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["desktop", "install", "--data-home", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrstudio: error: cannot write") and "Traceback" not in err
