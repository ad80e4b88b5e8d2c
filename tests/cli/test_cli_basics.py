import subprocess
import sys

import pytest

from lrstudio import __version__
from lrstudio.cli import COMMAND_MODULES, main


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"lrstudio {__version__}"


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in COMMAND_MODULES:  # a module find_lr registers the command find-lr
        assert f"    {name.replace('_', '-')}" in out, name


def test_python_dash_m_lists_subcommands():
    res = subprocess.run([sys.executable, "-m", "lrstudio", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    for name in ("train", "schedules", "preview", "runs", "export", "db", "demo"):
        assert name in res.stdout


def test_app_without_display_explains_instead_of_crashing(monkeypatch, capsys):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert main(["app"]) == 1
    assert "lrstudio demo" in capsys.readouterr().err
