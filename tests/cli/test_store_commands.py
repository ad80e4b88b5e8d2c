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


# -- scripting (issue 14): --json, runs show, runs delete -------------------------------------------
def _strict_json(text):
    """json.loads that refuses NaN/Infinity (not JSON: jq and JavaScript reject them)."""
    import json

    def refuse(word):
        raise AssertionError(f"non-standard JSON constant {word}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def odd_db(tmp_path):
    """One diverged run with infinite/NaN summary values and NaN points, one external-looking name."""
    path = tmp_path / "odd.sqlite"
    with open_store(f"sqlite:///{path}") as store:
        rid = store.create_run(RunConfig(name="blew up", lr=5.0))
        with store.recorder(rid) as rec:
            rec.handle([StepLogged(1, 0, 0.0, {"train/loss": 2.0, "lr": 5.0}),
                        StepLogged(2, 0, 0.1, {"train/loss": float("nan"), "lr": 5.0}),
                        RunFinished(RunSummary("diverged", 2, 0, 0.1, final_loss=float("inf"),
                                               best_loss=2.0, final_val_loss=float("-inf"),
                                               best_val_loss=float("nan"), diverged_step=2))])
        store.set_notes(rid, "too hot")
    return path


def test_runs_json_is_strict_json_with_stable_keys(db, odd_db, capsys):
    assert main(["runs", "--db", str(db), "--json"]) == 0
    runs = _strict_json(capsys.readouterr().out)
    assert [r["id"] for r in runs] == [3, 2, 1]
    keys = {"id", "uuid", "name", "status", "created_at", "started_at", "ended_at", "model", "dataset",
            "optimizer", "schedule", "base_lr", "final_loss", "best_loss", "final_val_loss",
            "best_val_loss", "best_accuracy", "steps", "epochs", "duration_s", "diverged_step", "tags",
            "error", "lrstudio_version"}
    assert keys <= set(runs[0])
    assert runs[2]["name"] == "first, run" and runs[2]["tags"] == ["keep"] and runs[1]["optimizer"] == "adam"
    assert runs[0]["status"] == "diverged" and runs[0]["final_loss"] == pytest.approx(0.3)
    assert runs[0]["best_accuracy"] is None
    from dataclasses import fields

    from lrstudio.core.runs import RunInfo

    if "kind" in {f.name for f in fields(RunInfo)}:  # schema 0004 (issue 14)
        assert list(runs[0])[4] == "kind" and {r["kind"] for r in runs} == {"training"}
        assert runs[0]["experiment_id"] is None and runs[0]["trial"] is None
    import datetime as dt

    assert dt.datetime.fromisoformat(runs[0]["created_at"]).tzinfo is not None
    # filters apply as in the table; no runs is an empty list, not "no runs"
    assert main(["runs", "--db", str(db), "--json", "--tag", "keep"]) == 0
    assert [r["id"] for r in _strict_json(capsys.readouterr().out)] == [1]
    assert main(["runs", "--db", str(db), "--json", "--search", "nothing"]) == 0
    assert _strict_json(capsys.readouterr().out) == []
    # non-finite numbers are strings float() reads back
    assert main(["runs", "--db", str(odd_db), "--json"]) == 0
    (run,) = _strict_json(capsys.readouterr().out)
    assert (run["final_loss"], run["final_val_loss"], run["best_val_loss"]) == ("inf", "-inf", "nan")
    assert float(run["final_loss"]) == float("inf") and run["best_loss"] == 2.0


def test_runs_json_pipes_into_json_load(db):
    """The acceptance line: `lrstudio runs --json | python -c 'import json,sys; json.load(sys.stdin)'`."""
    cmd = (f"{sys.executable} -m lrstudio --db '{db}' runs --json | "
           f"{sys.executable} -c 'import json,sys; print(len(json.load(sys.stdin)))'")
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "3"


def test_runs_show_prints_config_summary_tags_notes_and_series(db, odd_db, capsys):
    assert main(["runs", "--db", str(db), "show", "1"]) == 0
    out = capsys.readouterr().out
    assert "run 1: first, run" in out and "status: completed" in out and "tags: keep" in out
    assert '"lr": 0.1' in out  # the config, as JSON
    assert "train/loss" in out and "10 points" in out and "steps 1..10" in out
    assert main(["runs", "show", "2", "--db", str(db), "--json"]) == 0
    shown = _strict_json(capsys.readouterr().out)
    assert shown["run"]["id"] == 2 and shown["run"]["name"] == "=cmd()"
    assert shown["config"]["optimizer"]["name"] == "adam" and shown["config"]["lr"] == pytest.approx(0.2)
    assert shown["summary"]["status"] == "completed" and shown["summary"]["final_loss"] == pytest.approx(0.2)
    assert shown["notes"] == "" and shown["tags"] == []
    assert shown["series"] == {
        "lr": {"points": 10, "first_step": 1, "last_step": 10, "last_value": 0.1},
        "train/loss": {"points": 10, "first_step": 1, "last_step": 10, "last_value": pytest.approx(0.1)},
    }
    assert main(["runs", "--json", "show", "1", "--db", str(odd_db)]) == 0  # --json before show too
    shown = _strict_json(capsys.readouterr().out)
    assert shown["notes"] == "too hot" and shown["summary"]["final_loss"] == "inf"
    assert shown["series"]["train/loss"]["last_value"] == "nan" and shown["series"]["train/loss"]["points"] == 2


def test_runs_show_unknown_id_is_one_line(db, capsys):
    assert main(["runs", "--db", str(db), "show", "99"]) == 2
    err = capsys.readouterr().err
    assert err == "lrstudio: error: no run with id 99 in this database\n"
    with pytest.raises(SystemExit) as info:
        main(["runs", "--db", str(db), "show", "x"])
    assert info.value.code == 2 and "whole numbers" in capsys.readouterr().err


def _ids(db):
    with open_store(f"sqlite:///{db}") as store:
        return sorted(r.id for r in store.list_runs())


def test_runs_delete_with_yes_deletes_every_given_run(db, capsys):
    assert main(["runs", "--db", str(db), "delete", "1", "3", "--yes"]) == 0
    assert "deleted 2 runs: 1, 3" in capsys.readouterr().out
    assert _ids(db) == [2]
    with open_store(f"sqlite:///{db}") as store:
        with pytest.raises(KeyError):
            store.load_series(1)


def test_runs_delete_with_an_unknown_id_deletes_nothing(db, capsys):
    assert main(["runs", "--db", str(db), "delete", "1", "98", "2", "99", "--yes"]) == 2
    err = capsys.readouterr().err
    assert err == "lrstudio: error: no run with id 98, 99 in this database; nothing was deleted\n"
    assert _ids(db) == [1, 2, 3]


class _FakeTty:
    def __init__(self, answer):
        self.answer, self.asked = answer, 0

    def isatty(self):
        return True

    def readline(self):
        self.asked += 1
        return self.answer


@pytest.mark.parametrize("answer,deleted", [("y\n", True), ("yes\n", True), ("n\n", False), ("\n", False),
                                            ("", False)])
def test_runs_delete_asks_on_a_terminal(db, capsys, monkeypatch, answer, deleted):
    tty = _FakeTty(answer)
    monkeypatch.setattr(sys, "stdin", tty)
    assert main(["runs", "--db", str(db), "delete", "2"]) == 0
    out, err = capsys.readouterr()
    assert tty.asked == 1 and "Delete run 2 (=cmd()) and all its points?" in err and "[y/N]" in err
    assert _ids(db) == ([1, 3] if deleted else [1, 2, 3])
    assert ("deleted 1 run: 2" in out) if deleted else ("nothing deleted" in out)


def test_runs_delete_without_a_terminal_needs_yes(db, capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    assert main(["runs", "--db", str(db), "delete", "2"]) == 2
    assert "add --yes" in capsys.readouterr().err
    assert _ids(db) == [1, 2, 3]


def test_db_current_json(tmp_path, capsys):
    from lrstudio.storage.migrate import head_revision

    path = tmp_path / "new.sqlite"
    assert main(["db", "current", "--db", str(path), "--json"]) == 0
    assert _strict_json(capsys.readouterr().out) == {"revision": None, "head": head_revision(),
                                                     "is_head": False, "database": str(path)}
    assert main(["db", "upgrade", "--db", str(path)]) == 0
    capsys.readouterr()
    assert main(["db", "current", "--db", str(path), "--json"]) == 0
    assert _strict_json(capsys.readouterr().out) == {"revision": head_revision(), "head": head_revision(),
                                                     "is_head": True, "database": str(path)}


def test_runs_show_an_external_run_keeps_the_users_own_config(tmp_path, capsys):
    from dataclasses import fields

    from lrstudio.core.runs import RunInfo

    if "kind" not in {f.name for f in fields(RunInfo)}:
        pytest.skip("this database schema has no run kinds")
    path = tmp_path / "ext.sqlite"
    with open_store(f"sqlite:///{path}") as store:
        rid = store.create_run({"hidden": [64, 32], "dropout": float("nan"), "lr": 0.1}, name="my loop",
                               kind="external")
        with store.recorder(rid) as rec:
            rec.handle([StepLogged(s, 0, 0.0, {"train/loss": 1.0 / s}) for s in range(1, 6)])
    assert main(["runs", "--db", str(path), "show", str(rid), "--json"]) == 0
    shown = _strict_json(capsys.readouterr().out)
    assert shown["run"]["kind"] == "external"
    assert shown["config"] == {"hidden": [64, 32], "dropout": "nan", "lr": 0.1}
    assert shown["series"]["train/loss"]["points"] == 5
    assert main(["runs", "--db", str(path), "show", str(rid)]) == 0
    out = capsys.readouterr().out
    assert "kind: external" in out and '"hidden": [' in out and '"dropout": "nan"' in out


def test_runs_delete_refuses_a_run_that_is_still_running(db, capsys):
    with open_store(f"sqlite:///{db}") as store:
        live = store.create_run(RunConfig(name="live"))  # running, owned by this (alive) process
    assert main(["runs", "--db", str(db), "delete", "1", str(live), "--yes"]) == 2
    err = capsys.readouterr().err
    assert f"run {live} (live) is still running" in err and "nothing was deleted" in err and err.count("\n") == 1
    assert _ids(db) == [1, 2, 3, live]


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs a pseudo-terminal")
def test_runs_delete_asks_on_a_real_terminal(db):
    import os
    import select
    import time

    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "lrstudio", "--db", str(db), "runs", "delete", "3"],
                            stdin=slave, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen, deadline = b"", time.monotonic() + 60
    try:
        while b"[y/N]" not in seen:
            assert time.monotonic() < deadline, seen
            if select.select([master], [], [], 0.5)[0]:
                seen += os.read(master, 4096)
        os.write(master, b"y\n")
        out = proc.stdout.read().decode()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        os.close(master)
    assert b"Delete run 3 (third) and all its points?" in seen
    assert "deleted 1 run: 3" in out and _ids(db) == [1, 2]
