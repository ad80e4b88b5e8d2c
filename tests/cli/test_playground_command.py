"""``lrstudio playground`` (issue 16): prints the final point and loss, stores the run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lrstudio.cli import main
from lrstudio.paths import resolve_db
from lrstudio.storage import open_store as _open_store


def open_store(path):
    return _open_store(resolve_db(path))


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "pg.sqlite")


def test_issue_command_prints_the_final_point_and_stores_the_run(db, tmp_path, capsys):
    out_csv = tmp_path / "out.csv"
    rc = main(["--db", db, "playground", "--function", "rosenbrock", "--optimizer", "adam", "--lr", "0.01",
               "--steps", "200", "--schedule", "cosine", "--sched-param", "T_max=200", "--start", "-1.5,2",
               "--csv", str(out_csv)])
    out = capsys.readouterr().out
    assert rc == 0 and "final point after 200 steps: x1=" in out and "loss" in out
    with open_store(db) as store:
        (run,) = store.list_runs(kind="playground")
        assert run.optimizer == "adam" and run.schedule == "cosine" and run.steps == 200
        assert run.config_dict["start"] == [-1.5, 2.0]
        assert len(store.load_series(run.id)["x1"].value) == 201
    assert out_csv.read_text().count("\n") > 4 * 200


def test_a_diverging_setting_says_so(db, capsys):
    assert main(["--db", db, "playground", "--function", "x2", "--lr", "1.1", "--steps", "40", "--start", "10"]) == 0
    assert "diverged at step 22 (the point left the bound box)" in capsys.readouterr().out
    with open_store(db) as store:
        assert [r.status for r in store.list_runs()] == ["diverged"]


def test_preset_prints_its_text_and_stores_each_trajectory(db, capsys):
    assert main(["--db", db, "playground", "--preset", "adagrad"]) == 0
    out = capsys.readouterr().out
    assert "outside the root" in out and out.count("run ") >= 2
    with open_store(db) as store:
        assert len(store.list_runs(kind="playground")) == 2


@pytest.mark.parametrize(("argv", "words"), [
    (["--function", "quad", "--start", "1"], "2 finite numbers"),
    (["--function", "quad", "--start", "a,b"], "numbers separated by commas"),
    (["--function", "expr2d", "--expression", "__import__('os')"], "not an allowed function"),
    (["--function", "nope"], "one of x2"),
    (["--optimizer", "adam", "--opt-param", "beta1=2"], "beta1"),
    (["--steps", "0"], "steps"),
    (["--steps", "100000000"], "a whole number in [1, 100000]"),
    (["--start", "nan,1"], "finite numbers"),
    (["--lr", "-0.1"], "a finite number in [0, 1e6]"),
    (["--lr", "nan"], "lr"),
    (["--noise", "-1"], "sigma of the gradient noise"),
    (["--function", "expr2d", "--expression", "x1.__class__"], "Attribute is not allowed"),
    (["--function", "expr1d", "--expression", "log(x)", "--start", "-1"], "where the function is finite"),
    (["--start", "1e9,1"], "inside the bound box"),
    (["--preset", "nope"], "one of gd_lr_good"),
])
def test_bad_input_is_one_line_and_stores_nothing(db, capsys, argv, words):
    assert main(["--db", db, "playground", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrstudio: error:") and words in err and "Traceback" not in err
    assert err.count("\n") == 1  # one line
    with open_store(db) as store:
        assert store.list_runs() == []


@pytest.mark.parametrize("preset", [[], ["--preset", "momentum"]])
def test_a_csv_that_cannot_be_written_stores_nothing(db, tmp_path, capsys, preset):
    # the folder itself as --csv: the export fails after the run was stored; it must not stay
    assert main(["--db", db, "playground", "--function", "quad", "--steps", "5", *preset,
                 "--csv", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrstudio: error:") and "folder" in err and err.count("\n") == 1
    with open_store(db) as store:
        assert store.list_runs() == []


def test_subprocess_smoke(db):
    proc = subprocess.run([sys.executable, "-m", "lrstudio", "--db", db, "playground", "--function", "quad",
                           "--steps", "20", "--lr", "0.1", "--start", "-5,-2"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "final point after 20 steps" in proc.stdout


@pytest.mark.parametrize(("argv", "words"), [
    (["--steps", "abc"], "argument --steps: invalid int value: 'abc'"),
    (["--lr", "fast"], "argument --lr: invalid float value: 'fast'"),
    (["--noise"], "argument --noise: expected one argument"),
])
def test_a_bad_option_is_one_line_too(db, capsys, argv, words):
    with pytest.raises(SystemExit) as exc:
        main(["--db", db, "playground", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("lrstudio playground: error:") and words in err and err.count("\n") == 1
    assert "lrstudio playground -h" in err
