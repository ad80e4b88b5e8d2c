"""Start-up of ``lrstudio train`` (issue 11): what a headless run imports, in real processes.

A run on a database that is already at head imports no Alembic (the probe reads the head from the
shipped scripts), and ``lrstudio <command>`` imports that command's module only, not the other
commands' (playground, sweep, find-lr ...); ``lrstudio -h`` still lists every command.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

# Runs ``lrstudio.cli.main(argv)`` in a fresh interpreter; the last stdout line lists the modules
# it imported that the tests look at.
_DRIVER = """
import json, sys
from lrstudio.cli import main
rc = main(sys.argv[1:])
mods = sorted(m for m in sys.modules if m.split(".")[0] in ("alembic", "mako", "lrstudio"))
print(json.dumps({"rc": rc, "modules": mods}))
"""

_TRAIN = ["train", "--dataset", "synthetic", "--max-steps", "5", "--quiet", "--json"]


def _run(*argv: str) -> tuple[dict, str]:
    res = subprocess.run([sys.executable, "-c", _DRIVER, *argv], capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    return json.loads(lines[-1]), "\n".join(lines[:-1])


def _revision(db) -> str:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        con.close()


def test_train_on_a_database_at_head_imports_no_alembic(tmp_path):
    from lrstudio.storage.migrate import head_revision

    db = str(tmp_path / "runs.sqlite")
    first, _ = _run("--db", db, *_TRAIN)  # a new file: created by the migrations
    assert first["rc"] == 0 and "alembic" in first["modules"]
    assert _revision(db) == head_revision()
    second, out = _run("--db", db, *_TRAIN)
    assert second["rc"] == 0
    assert json.loads(out)["status"] == "completed" and json.loads(out)["run_id"] == 2
    assert not [m for m in second["modules"] if m.split(".")[0] in ("alembic", "mako")]


def test_train_on_a_database_behind_head_still_upgrades_it(tmp_path):
    from lrstudio.storage import open_store
    from lrstudio.storage.engine import make_engine
    from lrstudio.storage.migrate import head_revision, run_upgrade

    db = str(tmp_path / "old.sqlite")
    engine = make_engine(f"sqlite:///{db}")
    try:
        run_upgrade(engine, "0003")
    finally:
        engine.dispose()
    assert _revision(db) == "0003"
    res, out = _run("--db", db, *_TRAIN)
    assert res["rc"] == 0 and json.loads(out)["status"] == "completed"
    assert _revision(db) == head_revision() != "0003"
    assert list(tmp_path.glob("old.sqlite.bak-0003-to-*"))
    with open_store(f"sqlite:///{db}") as store:
        assert [r.id for r in store.list_runs()] == [1]


@pytest.mark.parametrize("argv", [("train", "--print-config"), ("optimizers",)])
def test_a_command_imports_no_other_command(argv):
    res, out = _run(*argv)
    assert res["rc"] == 0 and out
    commands = {m for m in res["modules"] if m.startswith("lrstudio.commands.") and not m.split(".")[-1].startswith("_")}
    assert commands == {f"lrstudio.commands.{argv[0]}"}
    assert "lrstudio.core.playground" not in res["modules"] and "lrstudio.core.lr_finder" not in res["modules"]


def test_help_still_lists_every_command():
    from lrstudio.cli import build_parser

    res = subprocess.run([sys.executable, "-m", "lrstudio", "-h"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0
    assert res.stdout == build_parser().format_help()
    for name in ("train", "sweep", "find-lr", "playground", "import", "completion"):
        assert f"    {name}" in res.stdout


@pytest.mark.parametrize("argv", [("find_lr", "-h"), ("--db", "x.sqlite", "train", "-h"), ("train", "-h")])
def test_a_subcommand_help_is_unchanged(argv):
    from lrstudio.cli import build_parser

    res = subprocess.run([sys.executable, "-m", "lrstudio", *argv], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    sub = build_parser()._subparsers._group_actions[0].choices[argv[-2]]  # type: ignore[union-attr]
    assert res.stdout == sub.format_help()


def test_an_unknown_command_is_still_refused_by_the_whole_parser():
    res = subprocess.run([sys.executable, "-m", "lrstudio", "trian"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert "invalid choice: 'trian'" in res.stderr and "playground" in res.stderr


# Stands for the `lrstudio` process (its heap may be frozen for good, it ends with os._exit);
# prints what the collector looks like when the run starts recording.
_AS_COMMAND = """
import gc, json, sys
import lrstudio.commands.train as train
import lrstudio.services.training_run as tr
train._is_the_lrstudio_command = lambda: True
execute = tr.execute_run
def probe(*a, **k):
    print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                      "torch": "torch" in sys.modules}), flush=True)
    return execute(*a, **k)
tr.execute_run = probe
from lrstudio.cli import main
main(sys.argv[1:])
"""


def test_the_command_imports_with_the_collector_paused_and_freezes_that_heap(tmp_path):
    db = str(tmp_path / "runs.sqlite")
    res = subprocess.run([sys.executable, "-c", _AS_COMMAND, "--db", db, *_TRAIN], capture_output=True,
                         text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    probe, summary = (json.loads(line) for line in res.stdout.strip().splitlines())
    assert summary["status"] == "completed"
    # torch, SQLAlchemy and numpy are frozen before the run (hundreds of thousands of objects),
    # and the collector is on again for the run itself.
    assert probe["torch"] and probe["enabled"] and probe["frozen"] > 100_000


def test_main_called_in_a_process_gives_its_collector_back(tmp_path, monkeypatch, capsys):
    import gc

    import lrstudio.trainer.loop as loop
    from lrstudio.cli import main

    during = []
    real_train = loop.train

    def spy(*a, **k):
        during.append(gc.isenabled())
        return real_train(*a, **k)

    monkeypatch.setattr(loop, "train", spy)
    frozen = gc.get_freeze_count()
    assert gc.isenabled()
    assert main(["--db", str(tmp_path / "runs.sqlite"), *_TRAIN]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "completed"
    assert during == [True] and gc.isenabled() and gc.get_freeze_count() == frozen
