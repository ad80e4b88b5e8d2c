"""``lrstudio train`` and ``lrstudio demo``: in-process through ``cli.main`` plus one subprocess smoke test."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from lrstudio.cli import main
from lrstudio.storage import open_store


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "runs.sqlite")


def _store(db):
    return open_store(f"sqlite:///{db}")


def test_train_stores_the_run_and_prints_its_id(db, capsys):
    rc = main(["--db", db, "train", "--model", "linear", "--dataset", "synthetic", "--optimizer", "adam",
               "--lr", "0.05", "--max-steps", "60", "--schedule", "cosine", "--sched-param", "T_max=60",
               "--opt-param", "beta1=0.8", "--seed", "3"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "run id: 1" in out and "[completed]" in out and "learned w = [" in out and "(true w = [2]" in out
    assert "step 60/60" in err  # the progress line
    with _store(db) as store:
        info = store.get_run(1)
        assert info.status == "completed"
        cfg = info.config()
        assert cfg.optimizer["params"]["beta1"] == 0.8 and cfg.schedule["params"]["T_max"] == 60
        assert cfg.seed == 3 and cfg.dataset.name == "synthetic" and cfg.max_steps == 60
        series = store.load_series(1)
        assert len(series["train/loss"]) == 60 and len(series["lr"]) == 60


def test_train_from_config_file_with_overrides_and_schedule_file(db, tmp_path, capsys):
    assert main(["train", "--dataset", "windsor", "--optimizer", "sgd", "--lr", "0.1", "--max-steps", "30",
                 "--print-config"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["dataset"]["name"] == "windsor" and cfg["lr"] == 0.1 and cfg["optimizer"]["name"] == "sgd"
    path = tmp_path / "run.json"
    path.write_text(json.dumps(cfg))
    sched = tmp_path / "sched.json"
    sched.write_text(json.dumps({"name": "step", "params": {"step_size": 10, "gamma": 0.5}}))
    rc = main(["--db", db, "train", "--config", str(path), "--schedule", str(sched), "--lr", "0.2", "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    summary = json.loads(out)
    assert summary["run_id"] == 1 and summary["status"] == "completed" and summary["steps"] == 30
    with _store(db) as store:
        stored = store.get_run(1).config()
        assert stored.lr == 0.2 and stored.schedule["name"] == "step" and stored.dataset.name == "windsor"
        lrs = store.load_series(1, keys=["lr"])["lr"].value
        assert lrs[0] == pytest.approx(0.2) and lrs[-1] == pytest.approx(0.2 * 0.5 ** 2)


def test_bad_flag_value_is_one_line_error_exit_2(db, capsys):
    assert main(["--db", db, "train", "--lr", "fast"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrstudio: error:") and "lr = 'fast' is not allowed" in err
    assert main(["--db", db, "train", "--opt-param", "beta1"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_data_error_ends_the_stored_run_failed_with_its_message(db, tmp_path, capsys):
    """Issue 10, one failure policy with the GUI: the data file is read after the run row exists,
    so a file that does not load is a stored ``failed`` run with the message (exit 1). It was: exit
    2 and nothing stored, while the GUI stored a failed run."""
    rc = main(["--db", db, "train", "--dataset", "csv", "--path", str(tmp_path / "nope.csv")])
    err = capsys.readouterr().err
    assert rc == 1 and "does not exist" in err and err.startswith("lrstudio: run 1 failed: ")
    with _store(db) as store:
        info = store.get_run(1)
        assert info.status == "failed" and "nope.csv" in (info.error or "") and info.steps == 0


def test_diverged_run_is_a_result_not_an_error(db, capsys):
    rc = main(["--db", db, "train", "--dataset", "synthetic", "--unscaled", "--optimizer", "sgd", "--lr", "0.1",
               "--epochs", "50", "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "[diverged]" in out and "diverged at step" in out
    with _store(db) as store:
        assert store.get_run(1).status == "diverged"


def test_demo_stores_exports_and_summarises(db, tmp_path, capsys):
    out_csv = tmp_path / "hist.csv"
    rc = main(["--db", db, "demo", "--steps", "120", "--quiet", "--out", str(out_csv)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "R² 0." in out and "RMSE" in out and f"database: {db}" in out and str(out_csv) in out
    with out_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    metrics = {r["metric"] for r in rows}
    assert {"train/loss", "lr", "lr/planned", "grad/norm", "val/loss"} <= metrics
    assert sum(r["metric"] == "train/loss" for r in rows) == 120


def test_demo_csv_goes_next_to_the_database_by_default(db, tmp_path, capsys):
    assert main(["--db", db, "demo", "--steps", "30", "--quiet"]) == 0
    assert (tmp_path / "lrstudio-run-1-history.csv").is_file()
    assert str(tmp_path / "lrstudio-run-1-history.csv") in capsys.readouterr().out


def test_train_subprocess_smoke(db):
    res = subprocess.run(
        [sys.executable, "-m", "lrstudio", "--db", db, "train", "--dataset", "synthetic", "--max-steps", "20"],
        capture_output=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert b"run id: 1" in res.stdout and b"[completed]" in res.stdout
    # stderr is a pipe: plain progress lines, no \r frames (issue 14; tests/cli/test_progress.py)
    assert res.stderr.startswith(b"step 20/20 (100%)") and b"\r" not in res.stderr



def _count(db, sql):
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    except sqlite3.OperationalError:  # no file yet
        return 0
    try:
        return con.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # no tables yet
        return 0
    finally:
        con.close()


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_train_stops_on_a_signal_and_keeps_the_run(db, sig):
    """A headless run killed politely (SIGTERM from a scheduler, SIGHUP when the terminal closes)
    ends like Ctrl-C: stored as stopped with every step so far, summary printed."""
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "lrstudio", "--db", db, "train", "--dataset", "synthetic", "--max-steps",
         "5000000", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while _count(db, "SELECT coalesce(sum(n), 0) FROM metric_chunks") < 50:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never stored a point"
            time.sleep(0.2)
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "[stopped]" in out and "run id: 1" in out and "Traceback" not in err
    assert "stopping after this step" in err
    with _store(db) as store:
        info = store.get_run(1)
        assert info.status == "stopped" and 50 <= info.steps < 5_000_000
        assert len(store.load_series(1, keys=["train/loss"])["train/loss"]) == info.steps


@pytest.mark.parametrize("error", ["ImportError('libtorch_cpu.so: cannot open shared object file')",
                                   "OSError('[WinError 126] fbgemm.dll not found')"])
def test_train_without_a_working_torch_says_so_and_stores_nothing(db, tmp_path, error):
    fake = tmp_path / "fake"
    (fake / "torch").mkdir(parents=True)
    (fake / "torch" / "__init__.py").write_text(f"raise {error}\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, "-m", "lrstudio", "--db", db, "train", "--dataset", "synthetic",
                          "--max-steps", "20"], capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and res.stderr.count("\n") == 1
    assert res.stderr.startswith("lrstudio: error: PyTorch is not installed or failed to import: ")
    assert "fbgemm.dll" in res.stderr or "libtorch_cpu.so" in res.stderr
    assert "pip install torch" in res.stderr
    assert _count(db, "SELECT count(*) FROM runs") == 0
    # --print-config needs no torch
    res = subprocess.run([sys.executable, "-m", "lrstudio", "train", "--print-config"], capture_output=True,
                         text=True, timeout=120, env=env)
    assert res.returncode == 0 and json.loads(res.stdout)["model"] == "linear"


def _printed_config(args, capsys):
    assert main(["train", *args, "--print-config"]) == 0
    return json.loads(capsys.readouterr().out)


def test_train_uses_the_optimizers_default_lr_without_lr(tmp_path, capsys):
    from lrstudio.core.optimizers import OPTIMIZERS

    assert OPTIMIZERS["adadelta"].default_lr == 1.0
    assert _printed_config(["--optimizer", "adadelta"], capsys)["lr"] == 1.0
    assert _printed_config(["--optimizer", "adadelta", "--lr", "0.5"], capsys)["lr"] == 0.5
    assert _printed_config(["--optimizer", "adam"], capsys)["lr"] == OPTIMIZERS["adam"].default_lr
    assert _printed_config([], capsys)["lr"] == OPTIMIZERS["sgd"].default_lr
    # A config file's LR belongs to its optimizer: kept, unless another optimizer replaces it.
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"optimizer": {"name": "adam", "params": {}}, "lr": 0.2}))
    assert _printed_config(["--config", str(path)], capsys)["lr"] == 0.2
    assert _printed_config(["--config", str(path), "--optimizer", "adam"], capsys)["lr"] == 0.2
    assert _printed_config(["--config", str(path), "--optimizer", "adadelta"], capsys)["lr"] == 1.0
    assert _printed_config(["--config", str(path), "--optimizer", "adadelta", "--lr", "3"], capsys)["lr"] == 3.0


def test_config_file_with_a_malformed_spec_is_one_line(tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"optimizer": 3}))
    assert main(["train", "--config", str(path), "--opt-param", "beta1=0.9", "--print-config"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrstudio: error: ") and "optimizer = 3" in err and err.count("\n") == 1


def _runs_in(db):
    return _count(db, "SELECT count(*) FROM runs")


LONG_WARMUP = json.dumps({"name": "linear_warmup", "params": {
    "warmup_steps": 500, "inner": {"name": "cosine", "params": {"T_max": 100}}}})


def test_print_config_refuses_a_warmup_longer_than_the_run(db, capsys):
    args = ["--db", db, "train", "--dataset", "synthetic", "--max-steps", "100", "--schedule", LONG_WARMUP]
    assert main([*args, "--print-config"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and "warmup_steps = 500 is not allowed" in cap.err and "100 steps" in cap.err
    for _ in range(2):  # the real run refuses the same way, on every try, and stores nothing
        assert main([*args, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("lrstudio: error: ") and "warmup_steps = 500" in err and err.count("\n") == 1
    assert _runs_in(db) == 0


def test_run_length_known_only_after_the_data_loads_fails_the_stored_run(db, tmp_path, capsys):
    """Issue 10, one failure policy with the GUI: a csv's length is known once the file is read,
    after the run row exists, so a warm-up longer than that run is a stored ``failed`` run with the
    message (exit 1); with a built-in data set the length is known first and nothing is stored
    (test_print_config_refuses_a_warmup_longer_than_the_run)."""
    data = tmp_path / "small.csv"
    data.write_text("x,y\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(20)))
    # 16 training rows, full batch, 10 epochs: 10 steps, shorter than the 500-step warm-up.
    args = ["--db", db, "train", "--dataset", "csv", "--path", str(data), "--target", "y", "--epochs", "10",
            "--schedule", LONG_WARMUP, "--quiet"]
    assert main(args) == 1
    assert "warmup_steps = 500" in capsys.readouterr().err
    assert _runs_in(db) == 1
    with _store(db) as store:
        info = store.get_run(1)
        assert info.status == "failed" and "warmup_steps = 500" in (info.error or "") and info.steps == 0


@pytest.mark.parametrize("sched, words", [
    ('{"name": "cosine", "params": {"T_max": 100}}', "schedule ends at step 100 of 1,350"),
    ('{"name": "one_cycle", "params": {"total_steps": 5000}}', "schedule is cut off at 27 % of its length"),
])
def test_print_config_warns_when_the_schedule_does_not_fit(sched, words, capsys):
    assert main(["train", "--dataset", "synthetic", "--max-steps", "1350", "--schedule", sched,
                 "--print-config"]) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)["max_steps"] == 1350  # stdout stays pure JSON
    assert f"lrstudio: warning: {words}" in cap.err


def test_print_config_is_quiet_when_the_schedule_fits(capsys):
    assert main(["train", "--dataset", "synthetic", "--max-steps", "1350", "--schedule", "cosine",
                 "--sched-param", "T_max=1350", "--print-config"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_train_warns_before_training_when_the_schedule_does_not_fit(db, capsys):
    rc = main(["--db", db, "train", "--dataset", "synthetic", "--max-steps", "40", "--schedule", "cosine",
               "--sched-param", "T_max=10"])
    err = capsys.readouterr().err
    assert rc == 0
    warning = err.find("lrstudio: warning: schedule ends at step 10 of 40")
    assert 0 <= warning < err.find("\nstep ")  # before the progress starts


# -- train --from-run (issue 14) -----------------------------------------------------------------------
def _train_first(db, capsys):
    rc = main(["--db", db, "train", "--dataset", "synthetic", "--optimizer", "adam", "--lr", "0.05",
               "--max-steps", "20", "--schedule", "cosine", "--sched-param", "T_max=20", "--seed", "4",
               "--quiet"])
    assert rc == 0, capsys.readouterr().err
    capsys.readouterr()


def test_train_from_run_trains_the_stored_config_again(db, capsys):
    _train_first(db, capsys)
    assert main(["--db", db, "train", "--from-run", "1", "--quiet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == 2
    with _store(db) as store:
        first, again = store.get_run(1), store.get_run(2)
        assert again.config() == first.config()
        assert again.status == "completed" and again.final_loss == first.final_loss  # same seed, same numbers


def test_train_from_run_flags_override_the_stored_config(db, capsys):
    _train_first(db, capsys)
    assert main(["train", "--db", db, "--from-run", "1", "--lr", "0.01", "--max-steps", "12",
                 "--sched-param", "T_max=12", "--quiet"]) == 0
    capsys.readouterr()
    with _store(db) as store:
        first, tweaked = store.get_run(1).config(), store.get_run(2).config()
    assert (tweaked.lr, tweaked.max_steps, tweaked.schedule["params"]["T_max"]) == (0.01, 12, 12)
    assert (tweaked.optimizer, tweaked.seed, tweaked.dataset) == (first.optimizer, first.seed, first.dataset)
    assert main(["train", "--db", db, "--from-run", "1", "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(first.to_json())


def test_train_from_run_errors_are_one_line(db, capsys, tmp_path):
    _train_first(db, capsys)
    assert main(["train", "--db", db, "--from-run", "7"]) == 2
    err = capsys.readouterr().err
    assert err == "lrstudio: error: no run with id 7 in this database\n"
    cfg = tmp_path / "run.json"
    cfg.write_text("{}")
    assert main(["train", "--db", db, "--from-run", "1", "--config", str(cfg)]) == 2
    assert "use --from-run or --config, not both" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["train", "--db", db, "--from-run", "one"])
    assert info.value.code == 2 and "whole numbers" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["external", "lr_range_test", "playground"])
def test_train_from_run_refuses_a_run_that_is_not_a_training_run(db, capsys, kind):
    from dataclasses import fields

    from lrstudio.core.config import RunConfig
    from lrstudio.core.runs import RunInfo

    if "kind" not in {f.name for f in fields(RunInfo)}:
        pytest.skip("this database schema has no run kinds")
    with _store(db) as store:
        config = RunConfig(max_steps=10) if kind == "lr_range_test" else {"hidden": 64, "lr": 0.1}
        rid = store.create_run(config, name="mine", kind=kind, status="completed")
    assert main(["train", "--db", db, "--from-run", str(rid)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrstudio: error: ") and err.count("\n") == 1
    assert f"run {rid} (mine) is an {kind} run" in err if kind == "external" else f"is a {kind} run" in err
    assert "only training runs can be trained again" in err
    with _store(db) as store:
        assert [r.id for r in store.list_runs()] == [rid]


def test_train_json_of_a_diverged_run_is_strict_json(db, capsys):
    """A loss that overflowed was printed as the bare word Infinity, which is not JSON (issue 14)."""
    rc = main(["--db", db, "train", "--dataset", "synthetic", "--lr", "1e6", "--max-steps", "30",
               "--divergence-factor", "1e30", "--json"])
    out = capsys.readouterr().out
    assert rc == 0 and len(out.splitlines()) == 1  # one line: scripts read the last line

    def refuse(word):
        raise AssertionError(f"non-standard JSON constant {word}")

    summary = json.loads(out, parse_constant=refuse)
    assert summary["status"] == "diverged" and summary["final_loss"] == "inf"
