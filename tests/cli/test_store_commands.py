"""``lrstudio runs``, ``lrstudio export``, ``lrstudio db``: in-process, plus one subprocess smoke test."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from lrstudio.cli import main
from lrstudio.core.config import RunConfig
from lrstudio.core.events import RunFinished, RunSummary, StepLogged
from lrstudio.storage import open_store


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.sqlite"
    with open_store(f"sqlite:///{path}") as store:
        for i, (name, opt) in enumerate([("first, run", "sgd"), ("=cmd()", "adam"), ("third", "adam")]):
            rid = store.create_run(RunConfig(name=name, lr=0.1 * (i + 1), optimizer={"name": opt, "params": {}}))
            with store.recorder(rid) as rec:
                rec.handle([StepLogged(s, 0, s * 0.1, {"train/loss": 1.0 / s, "lr": 0.1}) for s in range(1, 11)]
                           + [RunFinished(RunSummary("completed" if i < 2 else "diverged", 10, 1, 1.0,
                                                     final_loss=0.1 * (i + 1), best_loss=0.1))])
        store.set_tags(1, ["keep"])
    return path


def _csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_runs_table_and_filters(db, capsys):
    assert main(["--db", str(db), "runs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["id", "name", "status"]
    assert [line.split()[0] for line in out[1:]] == ["3", "2", "1"]
    assert main(["runs", "--db", str(db), "--optimizer", "adam", "--status", "completed"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[1].split()[0] == "2"
    assert main(["runs", "--db", str(db), "--tag", "keep"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:3] == ["1", "first,", "run"]
    assert main(["runs", "--db", str(db), "--sort=-final_loss"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["3", "2", "1"]
    assert main(["runs", "--db", str(db), "--search", "nothing"]) == 0
    assert capsys.readouterr().out.strip() == "no runs"
    assert main(["runs", "--db", str(db), "--sort", "colour"]) == 2
    assert "cannot sort by 'colour'" in capsys.readouterr().err


def test_export_history_and_table(db, tmp_path, capsys):
    out = tmp_path / "h.csv"
    assert main(["export", "--db", str(db), "--runs", "1,2", "-o", str(out)]) == 0
    rows = _csv(out)
    assert rows[0] == ["run_id", "run_name", "step", "epoch", "wall_time", "metric", "value"]
    assert len(rows) == 1 + 2 * 20 and {r[1] for r in rows[1:]} == {"first, run", "'=cmd()"}
    assert main(["export", "--db", str(db), "--runs", "3", "--wide", "-o", str(tmp_path / "w.csv")]) == 0
    assert _csv(tmp_path / "w.csv")[0][-2:] == ["lr", "train/loss"]
    assert main(["export", "--db", str(db), "--table", "-o", str(tmp_path / "t.csv")]) == 0
    rows = _csv(tmp_path / "t.csv")
    table = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert [r["id"] for r in table] == ["1", "2", "3"] and table[1]["config.optimizer.name"] == "adam"
    capsys.readouterr()
    assert main(["export", "--db", str(db), "--runs", "1,x", "-o", str(out)]) == 2
    assert "whole numbers" in capsys.readouterr().err
    assert main(["export", "--db", str(db), "--runs", "99", "-o", str(out)]) == 2
    assert "no run with id 99" in capsys.readouterr().err


def test_db_path_current_upgrade(tmp_path, capsys):
    path = tmp_path / "new.sqlite"
    assert main(["db", "path", "--db", str(path)]) == 0
    assert capsys.readouterr().out.strip() == str(path)
    assert main(["db", "current", "--db", str(path)]) == 0
    assert capsys.readouterr().out.startswith("none")
    assert main(["db", "upgrade", "--db", str(path)]) == 0
    assert "new database -> 0001" in capsys.readouterr().out
    assert main(["db", "current", "--db", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "0001 (head)"
    assert main(["db", "upgrade", "--db", str(path)]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_db_errors_are_one_line(tmp_path, capsys):
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database")
    assert main(["db", "current", "--db", str(junk)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrstudio: error: ") and "not an lrstudio database" in err and err.count("\n") == 1
    assert main(["runs", "--db", str(junk)]) == 2


def test_subprocess_smoke(db):
    r = subprocess.run([sys.executable, "-m", "lrstudio", "--db", str(db), "runs", "--limit", "1"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 2
