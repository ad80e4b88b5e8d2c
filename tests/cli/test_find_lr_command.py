"""``lrstudio find-lr``: in-process through ``cli.main`` plus one subprocess smoke test."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lrstudio.cli import main
from lrstudio.core.lr_finder import SUGGESTERS
from lrstudio.services.range_test_run import suggestions_of
from lrstudio.storage import open_store

RUN = ["--model", "linear", "--dataset", "windsor", "--batch-size", "32"]


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "runs.sqlite")


def test_find_lr_prints_the_suggestions_table_and_stores_the_run(db, capsys):
    rc = main(["--db", db, "find-lr", *RUN, "--num-it", "50", "--seeds", "2"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["rule", "LR", "loss", "seed", "spread", "reliable"]
    assert lines[1].startswith("valley (default)")
    assert [ln.split()[0] for ln in lines[1:7]] == list(SUGGESTERS)
    assert "run id: 1  [completed]" in out
    with open_store(f"sqlite:///{db}") as store:
        info = store.get_run(1)
        assert info.kind == "lr_range_test" and info.config().model == "linear"
        rules = suggestions_of(info)
    valley = rules[0]
    assert f"{valley.lr:.3g}" == lines[1].split()[2]
    assert info.info["range_test"]["seeds"] == 2 and info.info["range_test"]["num_it"] == 50


def test_find_lr_json_and_options(db, capsys):
    rc = main(["--db", db, "find-lr", *RUN, "--num-it", "40", "--seeds", "1", "--mode", "linear",
               "--start-lr", "1e-4", "--end-lr", "1", "--convention", "lightning", "--smooth-beta", "0.9",
               "--diverge-threshold", "3", "--val-loss", "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    data = json.loads(out)
    assert data["run_id"] == 1 and data["status"] == "completed"
    assert data["options"] == {"start_lr": 1e-4, "end_lr": 1.0, "num_it": 40, "mode": "linear",
                               "convention": "lightning", "beta": 0.9, "diverge_threshold": 3.0,
                               "stop_on_nonfinite": True, "seeds": 1, "val_loss": True}
    assert data["default_rule"] == "lightning_steepest"
    assert [s["name"] for s in data["suggestions"]] == list(SUGGESTERS)
    with open_store(f"sqlite:///{db}") as store:
        assert "seed0/val_loss" in store.load_series(1)


@pytest.mark.parametrize(("flags", "words"), [
    (["--num-it", "3"], "num_it"),
    (["--seeds", "0"], "seeds"),
    (["--start-lr", "1", "--end-lr", "0.1"], "end_lr"),
    (["--smooth-beta", "1.5"], "beta"),
    (["--model", "cnn"], "model"),
    # issue 12 review, used as a user would
    (["--num-it", "1"], "num_it = 1"),
    (["--num-it", "1", "--convention", "torch_lr_finder"], "integer >= 2"),
    (["--seeds", "-2"], "seeds = -2"),
    (["--seeds", "1000"], "from 1 to 100"),
    (["--start-lr", "nan"], "start_lr = nan"),
    (["--start-lr", "0.1", "--end-lr", "0.1"], "greater than start_lr"),
    (["--diverge-threshold", "0"], "diverge_threshold"),
    (["--convention", "torch_lr_finder", "--smooth-beta", "1"], "smooth_f = 1.0"),
    (["--schedule", "one_cycle", "--sched-param", "pct_start=3"], "pct_start"),
    (["--schedule", "bogus"], "name = 'bogus'"),
])
def test_find_lr_bad_options_are_one_line_errors_and_store_nothing(db, capsys, flags, words):
    rc = main(["--db", db, "find-lr", *RUN, *flags])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert err.startswith("lrstudio: error:") and words in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    with open_store(f"sqlite:///{db}") as store:
        assert store.list_runs() == []


def test_find_lr_subprocess_smoke(db):
    res = subprocess.run([sys.executable, "-m", "lrstudio", "--db", db, "find_lr", *RUN, "--num-it", "30",
                          "--seeds", "1", "--quiet"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "valley (default)" in res.stdout and "run id: 1" in res.stdout
