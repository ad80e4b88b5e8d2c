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
    with pytest.raises(SystemExit) as info:
        main(["export", "--db", str(db), "--runs", "1,x", "-o", str(out)])
    assert info.value.code == 2 and "whole numbers" in capsys.readouterr().err
    assert main(["export", "--db", str(db), "--runs", "99", "-o", str(out)]) == 2
    assert "no run with id 99" in capsys.readouterr().err


def test_db_path_current_upgrade(tmp_path, capsys):
    path = tmp_path / "new.sqlite"
    assert main(["db", "path", "--db", str(path)]) == 0
    assert capsys.readouterr().out.strip() == str(path)
    assert main(["db", "current", "--db", str(path)]) == 0
    assert capsys.readouterr().out.startswith("none")
    assert main(["db", "upgrade", "--db", str(path)]) == 0
    from lrstudio.storage.migrate import head_revision

    assert f"new database -> {head_revision()}" in capsys.readouterr().out
    assert main(["db", "current", "--db", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{head_revision()} (head)"
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


def test_export_onto_a_folder_is_one_line_and_leaves_nothing(db, tmp_path, capsys):
    folder = tmp_path / "exports"
    folder.mkdir()
    for args in (["--runs", "1"], ["--table"]):
        assert main(["export", "--db", str(db), *args, "-o", str(folder)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("lrstudio: error: ") and "is a folder" in err and err.count("\n") == 1
    assert list(folder.iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_export_on_a_full_disk_is_one_line_and_leaves_nothing(db, tmp_path, capsys, disk_fills_after):
    disk_fills_after(2)
    out = tmp_path / "h.csv"
    assert main(["export", "--db", str(db), "--runs", "1,2", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrstudio: error: ") and "No space left on device" in err and err.count("\n") == 1
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_export_to_dev_full_says_the_disk_is_full(db, tmp_path):
    import os

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    link = tmp_path / "full.csv"  # through a link: a regression replaces the link, not /dev/full
    link.symlink_to("/dev/full")
    r = subprocess.run([sys.executable, "-m", "lrstudio", "--db", str(db), "export", "--runs", "1,2,3",
                        "-o", str(link)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "No space left on device" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("what", [["--runs", "1,3"], ["--runs", "2", "--wide"], ["--table"]])
def test_export_dash_o_dash_writes_csv_to_stdout(db, tmp_path, what):
    import io

    r = subprocess.run([sys.executable, "-m", "lrstudio", "--db", str(db), "export", *what, "-o", "-"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    if what[0] == "--table":
        assert rows[0][:3] == ["id", "uuid", "name"] and [row[0] for row in rows[1:]] == ["1", "2", "3"]
        assert "wrote 3 run(s) to standard output" in r.stderr
    elif "--wide" in what:
        assert rows[0][-2:] == ["lr", "train/loss"] and len(rows) == 11
    else:
        assert rows[0] == ["run_id", "run_name", "step", "epoch", "wall_time", "metric", "value"]
        assert len(rows) == 1 + 2 * 20 and {row[0] for row in rows[1:]} == {"1", "3"}
        assert "wrote 40 row(s) to standard output" in r.stderr
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("ids", ["9223372036854775808", "100000000000000000000000", "0", "-1", "1,0"])
def test_run_ids_out_of_range_are_refused_like_argparse(db, tmp_path, capsys, ids):
    for args in (["--runs", ids], ["--table", "--only", ids]):
        with pytest.raises(SystemExit) as info:
            main(["export", "--db", str(db), *args, "-o", str(tmp_path / "x.csv")])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "lrstudio export: error: argument" in err and "between 1 and 9223372036854775807" in err
        assert "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()


def test_largest_run_id_is_accepted_and_not_found(db, tmp_path, capsys):
    assert main(["export", "--db", str(db), "--runs", str(2**63 - 1), "-o", str(tmp_path / "x.csv")]) == 2
    assert f"no run with id {2**63 - 1}" in capsys.readouterr().err


def test_runs_limit_is_checked(db, capsys):
    for bad in ("100000000000000000000000", "0", "-1"):
        with pytest.raises(SystemExit) as info:
            main(["runs", "--db", str(db), "--limit", bad])
        assert info.value.code == 2 and "argument --limit" in capsys.readouterr().err


def test_runs_escapes_terminal_control_codes(tmp_path, capsys):
    path = tmp_path / "esc.sqlite"
    evil = "\x1b[2J\x1b[31mred\x1b]0;title\x07\x9b1m\nnext\u202eabc"
    with open_store(f"sqlite:///{path}") as store:
        rid = store.create_run(RunConfig(name=evil))
        store.set_tags(rid, ["\x1b[5mblink"])
    assert main(["runs", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert not any(ch in out for ch in "\x1b\x07\x9b\u202e") and "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 2  # the newline in the name does not make a row of its own
    assert "\\x1b[2J\\x1b[31mred" in lines[1] and "\\x1b[5mblink" in lines[1]


def test_error_lines_escape_control_codes(db, tmp_path, capsys):
    folder = tmp_path / "\x1b[31mred\nfolder"
    folder.mkdir()
    assert main(["export", "--db", str(db), "--runs", "1", "-o", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and err.count("\n") == 1 and "\\x1b[31mred\\nfolder" in err


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_export_killed_politely_leaves_no_part_file(tmp_path, sig):
    """SIGTERM/SIGHUP during a long export: the process ends, the hidden .part file goes with it."""
    import signal
    import sqlite3
    import time

    path = tmp_path / "big.sqlite"
    with open_store(f"sqlite:///{path}") as store:
        rid = store.create_run(RunConfig())
        with store.recorder(rid) as rec:
            rec.handle([StepLogged(1, 0, 0.0, {"train/loss": 1.0})])
    con = sqlite3.connect(path)  # 400k points written directly as one chunk (issue 11 layout)
    import numpy as np
    steps = np.arange(2, 400_001, dtype="<i8")
    con.execute("INSERT INTO metric_chunks (series_id, seq, first_step, last_step, n, steps, vals, wall, epoch) "
                "VALUES (1, 1, 2, 400000, ?, ?, ?, ?, ?)",
                (steps.size, steps.tobytes(), (steps * 0.5).tobytes(), (steps * 0.01).tobytes(),
                 np.zeros(steps.size, "<i4").tobytes()))
    con.commit()
    con.close()
    out = tmp_path / "out" / "h.csv"
    part = out.with_name(".h.csv.part")
    proc = subprocess.Popen([sys.executable, "-m", "lrstudio", "--db", str(path), "export", "--runs", str(rid),
                             "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not part.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + getattr(signal, sig) and "Traceback" not in err, err
    assert f"stopped by {sig}" in err
    assert not part.exists() and not out.exists()
