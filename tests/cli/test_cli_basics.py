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


@pytest.mark.parametrize(("argv", "words", "hint"), [
    (["bogus"], "invalid choice: 'bogus'", "lrstudio -h"),
    (["--nope"], "unrecognized arguments: --nope", "lrstudio -h"),
    (["train", "--nope"], "unrecognized arguments: --nope", "lrstudio train -h"),
    (["runs", "show"], "the following arguments are required", "lrstudio runs show -h"),
    (["sweep", "list", "--nope"], "unrecognized arguments: --nope", "lrstudio sweep list -h"),
    (["schedules", "--nope"], "unrecognized arguments: --nope", "lrstudio schedules -h"),
    (["completion", "tcsh-ish"], "invalid choice: 'tcsh-ish'", "lrstudio completion -h"),
])
def test_argparse_errors_are_one_line_naming_the_help_without_the_usage_block(capsys, argv, words, hint):
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert len(err.strip().splitlines()) == 1 and "usage:" not in err, err
    assert words in err and hint in err, err
    assert err.startswith(hint.removesuffix(" -h") + ": error: "), err


def test_an_unknown_command_lists_the_commands_in_one_line_from_the_real_command():
    res = subprocess.run([sys.executable, "-m", "lrstudio", "bogus"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 1 and "usage:" not in res.stderr, res.stderr
    for name in ("train", "sweep", "runs", "playground"):
        assert name in res.stderr
