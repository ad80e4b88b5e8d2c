"""``lrstudio sweep`` (issue 13): run/show/list/create/resume, --json against the stored runs, bad
input as one line with nothing stored, SIGTERM cancels cleanly (a real process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lrstudio.cli import main
from lrstudio.storage import open_store


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "runs.sqlite")


BASE = ["--model", "linear", "--dataset", "windsor", "--epochs", "3", "--batch-size", "32"]


def test_sweep_run_then_show_json_agrees_with_the_stored_runs(db, capsys):
    rc = main(["--db", db, "sweep", "run", *BASE, "--space", '{"lr": {"log_uniform": [1e-3, 1]}}',
               "--method", "random", "--trials", "3", "--seeds", "2", "--parallel", "2", "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    shown = json.loads(out)
    assert main(["--db", db, "sweep", "show", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == shown
    with open_store(f"sqlite:///{db}") as store:
        runs = {r.id: r for r in store.list_trials(1)}
    assert len(runs) == 6 and shown["experiment"]["runs_by_status"] == {"completed": 6}
    means = []
    for t in shown["trials"]:
        stored = [runs[i] for i in t["run_ids"]]
        assert {r.trial for r in stored} == {t["trial"]} and sorted(r.config_dict["seed"] for r in stored) == [0, 1]
        assert all(r.base_lr == t["params"]["lr"] for r in stored)
        vals = [r.best_val_loss for r in stored]
        assert t["values"] == vals and t["mean"] == pytest.approx(sum(vals) / 2, rel=1e-15)
        means.append(t["mean"])
    assert means == sorted(means)  # sorted by the metric
    assert main(["--db", db, "sweep", "show", "1"]) == 0
    text = capsys.readouterr().out
    assert "best_val_loss mean" in text and "[completed]" in text
    assert main(["--db", db, "sweep", "list", "--json"]) == 0
    assert [(e["id"], e["runs"], e["status"]) for e in json.loads(capsys.readouterr().out)] == [(1, 6, "completed")]


def test_create_then_resume_runs_a_grid(db, capsys):
    assert main(["--db", db, "sweep", "create", *BASE, "--space", '{"lr": [0.1, 0.01]}', "--method", "grid",
                 "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made == {"experiment_id": 1, "name": "sweep grid lr", "trials": 2, "runs": 2}
    assert main(["--db", db, "sweep", "resume", "1", "--parallel", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "[completed]" in out and "2 completed" in out


@pytest.mark.parametrize("extra,words", [
    (["--space", "{lr: 1}"], "--space"),
    (["--space", "lr=0.1", "--trials", "2"], '--space (a JSON object such as {"lr": {"log_uniform"'),
    (["--space", '{"seed": [1, 2]}'], "seeds"),
    (["--space", '{"lr": {"log_uniform": [0, 1]}}'], "0 < low"),
    (["--space", '{"lr": [0.1]}', "--method", "random"], "number of trials"),
    (["--space", '{"lr": [0.1]}', "--trials", "0"], "from 1"),
    (["--space", '{"lr": [0.1]}', "--method", "grid", "--parallel", "0"], "parallel"),
    (["--space", '{"lr": [0.1]}', "--method", "grid", "--ray-address", "x"], "--executor ray"),
])
def test_bad_input_is_one_line_and_stores_nothing(db, capsys, extra, words):
    rc = main(["--db", db, "sweep", "run", *BASE, *extra])
    err = capsys.readouterr().err
    assert rc == 2 and words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    with open_store(f"sqlite:///{db}") as store:
        assert store.list_experiments() == [] and store.list_runs() == []


@pytest.mark.parametrize("argv,words", [
    (["run", *BASE, "--space", '{"lr": [0.1]}', "--method", "optuna", "--trials", "2", "--sampler", "tpee"],
     "choose from 'tpe', 'random'"),
    (["run", *BASE, "--space", '{"lr": [0.1]}', "--method", "grd"], "choose from 'grid', 'random', 'optuna'"),
    (["run", *BASE, "--space", '{"lr": [0.1]}', "--method", "grid", "--parallel", "x"], "--parallel"),
    (["run", *BASE, "--space"], "--space"),
    (["show", "x"], "sweep ids are whole numbers"),
    (["resume", "-3"], "sweep ids are between 1"),
    (["shw", "1"], "choose from"),
])
def test_argparse_errors_are_one_line_too(db, capsys, argv, words):
    # argparse's own errors (a misspelt choice, a word where a number goes) printed the whole
    # usage block first; they read like the sweep's other errors: one line, what is allowed.
    with pytest.raises(SystemExit) as exc:
        main(["--db", db, "sweep", *argv])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert "usage:" not in err and "-h" in err


def test_unknown_sweep_is_one_line(db, capsys):
    assert main(["--db", db, "sweep", "resume", "7"]) == 2
    assert "no experiment with id 7" in capsys.readouterr().err


def test_sigterm_cancels_running_trials_stop_queued_never_start(db):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lrstudio", "--db", db, "sweep", "run", "--model", "linear", "--dataset", "windsor",
         "--epochs", "2000", "--batch-size", "32", "--space", '{"lr": [0.1, 0.05, 0.02, 0.01]}', "--method", "grid",
         "--parallel", "1"], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        with open_store(f"sqlite:///{db}") as store:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if any(r.status == "running" for r in store.list_runs()):
                        break
                except Exception:  # the file is being created
                    pass
                time.sleep(0.2)
            time.sleep(0.5)  # a few steps in
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 130, err
            assert "cancelling the sweep" in err and "Traceback" not in err
            assert "[cancelled]" in out
            runs = store.list_runs()
            assert [(r.trial, r.status) for r in runs] == [(0, "stopped")]
            assert store.get_experiment(1).status == "cancelled" and store.get_experiment(1).owner_pid is None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_optuna_sweep_with_pruning_from_the_cli(db, capsys):
    rc = main(["--db", db, "sweep", "run", "--model", "linear", "--dataset", "windsor", "--epochs", "8",
               "--batch-size", "32", "--space", '{"lr": {"log_uniform": [1e-3, 1]}, "weight_decay": [0, 0.001]}',
               "--method", "optuna", "--trials", "7", "--prune", "--parallel", "1", "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    shown = json.loads(out)
    assert shown["experiment"]["method"] == "optuna" and shown["experiment"]["study_trials"] == 7
    with open_store(f"sqlite:///{db}") as store:
        runs = {r.id: r for r in store.list_trials(1)}
    assert sorted(r.trial for r in runs.values()) == list(range(7))
    assert sum(shown["experiment"]["runs_by_status"].values()) == 7
    for t in shown["trials"]:
        (rid,) = t["run_ids"]
        assert runs[rid].status == t["status"] and t["params"]["lr"] == runs[rid].base_lr
        completed = runs[rid].status == "completed" and runs[rid].best_val_loss is not None
        assert t["values"] == ([runs[rid].best_val_loss] if completed else [])
        # A pruned trial's partial metric is neither its mean nor a candidate for the best.
        assert t["mean"] == (runs[rid].best_val_loss if completed else None)
    ranked = [t["mean"] is not None for t in shown["trials"]]
    assert ranked == sorted(ranked, reverse=True)  # the unranked ones last
    assert main(["--db", db, "sweep", "show", "1"]) == 0
    text = capsys.readouterr().out
    if "pruned" in shown["experiment"]["runs_by_status"]:
        assert "no mean: a seed was pruned, diverged or failed" in text


def test_an_unreachable_ray_address_is_one_line_at_once(db):
    pytest.importorskip("ray")
    proc = subprocess.run(
        [sys.executable, "-m", "lrstudio", "--db", db, "sweep", "run", *BASE, "--space", '{"lr": [0.1]}',
         "--method", "grid", "--executor", "ray", "--ray-address", "127.0.0.1:1"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("lrstudio: error: cannot reach the Ray cluster at 127.0.0.1:1")
    assert "Traceback" not in proc.stderr
    with open_store(f"sqlite:///{db}") as store:
        assert store.list_experiments() == []


def test_an_in_memory_database_is_refused_before_anything_runs(capsys):
    rc = main(["--db", "sqlite://", "sweep", "run", *BASE, "--space", '{"lr": [0.1]}', "--method", "grid"])
    err = capsys.readouterr().err
    assert rc == 2 and "in-memory database" in err and len(err.strip().splitlines()) == 1


def test_sweep_show_says_a_trial_is_incomplete_and_does_not_rank_it(capsys):
    # A cancelled sweep (2 seeds): trial 0 finished one seed (0.5; the other stopped), trial 1 both
    # (1.0, 1.2). Trial 0's one seed is not its mean: it is shown as a partial value, n of N.
    import datetime as dt
    from types import SimpleNamespace

    from lrstudio.commands.sweep import _show_data, _show_text
    from lrstudio.core.config import RunConfig
    from lrstudio.core.sweep import ExperimentInfo, ExperimentSpec

    spec = ExperimentSpec(base=RunConfig(model="linear"), space={"lr": [0.1, 0.01]}, method="grid",
                          seeds=(0, 1)).validated()
    now = dt.datetime.now(dt.UTC)
    info = ExperimentInfo(1, "u", "s", "grid", "cancelled", now, now, spec.to_json(), 1)

    def run(rid, trial, seed, status, best):
        return SimpleNamespace(id=rid, trial=trial, status=status, best_val_loss=best,
                               config_dict={"seed": seed, "lr": [0.1, 0.01][trial]})

    runs = [run(1, 0, 0, "completed", 0.5), run(2, 0, 1, "stopped", 0.3),
            run(3, 1, 0, "completed", 1.0), run(4, 1, 1, "completed", 1.2)]
    store = SimpleNamespace(get_experiment=lambda eid: info, list_trials=lambda eid: runs)
    data = _show_data(store, 1)
    t1, t0 = data["trials"]
    assert t1["trial"] == 1 and t1["complete"] and t1["mean"] == pytest.approx(1.1)
    assert t0["trial"] == 0 and not t0["complete"] and t0["mean"] is None
    assert (t0["n_done"], t0["n_seeds"], t0["partial_mean"]) == (1, 2, 0.5)
    text = _show_text(store, 1)
    row0 = next(line for line in text.splitlines() if line.startswith("0 "))
    assert "(0.5)" in row0 and "1/2" in row0 and "stopped" in row0
    assert "incomplete" in text and "not ranked" in text
