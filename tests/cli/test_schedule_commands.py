"""``lrstudio schedules``, ``lrstudio preview`` and ``lrstudio optimizers``, in-process and as a subprocess."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from lrstudio.cli import main
from lrstudio.core.optimizers import OPTIMIZERS
from lrstudio.core.schedules import SCHEDULES, lr_curve


def test_schedules_lists_every_schedule_and_param(capsys):
    assert main(["schedules"]) == 0
    out = capsys.readouterr().out
    for name, info in SCHEDULES.items():
        assert f"{name}: {info.title}" in out
        for p in info.params:
            assert f"  {p.name} ({p.kind}, default " in out
    assert "one of 'rise', 'hold'" in out  # allowed values are shown


def test_schedules_json(capsys):
    assert main(["schedules", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in data] == list(SCHEDULES)
    cos = next(d for d in data if d["name"] == "cosine")
    t_max = next(p for p in cos["params"] if p["name"] == "T_max")
    assert t_max == {"name": "T_max", "kind": "int", "default": 100,
                     "allowed": "an integer in [1, 1000000000] or a share of the run: 'auto' (all of it) or e.g. '10%'",
                     "help": t_max["help"]}  # a length: also a share of the run (issue 15)
    assert next(d for d in data if d["name"] == "reduce_on_plateau")["metric_driven"] is True


def test_schedules_one_name_shows_doc(capsys):
    assert main(["schedules", "cosine"]) == 0
    out = capsys.readouterr().out
    assert "after_end" in out and "torch ``CosineAnnealingLR``" in out
    assert main(["schedules", "nope"]) == 2
    assert "one of constant" in capsys.readouterr().err


def test_optimizers(capsys):
    assert main(["optimizers"]) == 0
    out = capsys.readouterr().out
    for name in OPTIMIZERS:
        assert f"{name}: " in out
    assert main(["optimizers", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["name"] for d in data} == set(OPTIMIZERS)
    assert next(d for d in data if d["name"] == "adadelta")["default_lr"] == 1.0


def _body(out: str) -> list[list[str]]:
    return [line.split(",") for line in out.splitlines() if line and not line.startswith("#")]


@pytest.mark.parametrize("form", ["name", "inline", "file"])
def test_preview_forms(form, tmp_path, capsys):
    spec = {"name": "cosine", "params": {"T_max": 20}}
    if form == "name":
        arg, spec = "cosine", {"name": "cosine"}
    elif form == "inline":
        arg = json.dumps(spec)
    else:
        f = tmp_path / "spec.json"
        f.write_text(json.dumps(spec))
        arg = str(f)
    assert main(["preview", arg, "--steps", "30", "--base-lr", "0.5"]) == 0
    rows = _body(capsys.readouterr().out)
    assert rows[0] == ["step", "lr"]
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 31))
    np.testing.assert_array_equal([float(r[1]) for r in rows[1:]], lr_curve(spec, 30, 0.5))


def test_preview_csv_and_metrics(tmp_path, capsys):
    metrics = tmp_path / "m.csv"
    metrics.write_text("step,val_loss\n" + "".join(f"{i},{v}\n" for i, v in enumerate([1.0, 0.9, 0.95, 0.97, 0.99, 0.98])))
    out = tmp_path / "out.csv"
    spec = '{"name": "reduce_on_plateau", "params": {"patience": 1, "factor": 0.5}}'
    assert main(["preview", spec, "--steps", "8", "--base-lr", "1", "--csv", str(out), "--metrics", str(metrics)]) == 0
    with out.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["step", "lr"]
    # reductions after metrics 4 and 6 (two bad steps each, patience 1); past the metrics it holds
    assert [float(r[1]) for r in rows[1:]] == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25]


@pytest.mark.parametrize("args,words", [
    (['{"name": '], "not valid JSON"),
    (["nope"], "one of constant"),
    (['{"name": "step", "params": {"gamma": 0}}'], "gamma = 0"),
    (["missing.json"], "spec file not found"),
    (["cosine", "--steps", "-5"], "steps"),
    (["cosine", "--base-lr", "-1"], "base_lr"),
    (["reduce_on_plateau", "--metrics", "/nonexistent/m.txt"], "metrics file '/nonexistent/m.txt' does not exist"),
])
def test_preview_errors_are_one_line(args, words, capsys):
    assert main(["preview", *args]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and err.count("\n") == 1


def test_preview_subprocess():
    res = subprocess.run([sys.executable, "-m", "lrstudio", "preview", "step", "--steps", "3"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith("3,0.01")


@pytest.mark.parametrize("steps", ["0", "-3"])
def test_preview_needs_at_least_one_step(steps, tmp_path, capsys):
    out = tmp_path / "lr.csv"
    for extra in ([], ["--csv", str(out)]):
        assert main(["preview", "cosine", "--steps", steps, *extra]) == 2
        cap = capsys.readouterr()
        assert cap.out == "" and cap.err.startswith("lrstudio: error: ") and cap.err.count("\n") == 1
        assert f"steps = {steps} is not allowed" in cap.err and "an integer >= 1" in cap.err
    assert not out.exists()


def test_preview_warns_when_the_schedule_does_not_fit(capsys):
    assert main(["preview", '{"name": "cosine", "params": {"T_max": 100}}', "--steps", "1350"]) == 0
    out = capsys.readouterr().out
    head = [line for line in out.splitlines() if line.startswith("#")]
    assert any(line.startswith("# warning: schedule ends at step 100 of 1,350") for line in head), head
    assert main(["preview", '{"name": "cosine", "params": {"T_max": 100}}', "--steps", "100"]) == 0
    assert "warning" not in capsys.readouterr().out


# -- scripting (issue 14): --json everywhere, --code ------------------------------------------------
def _strict_json(text):
    def refuse(word):
        raise AssertionError(f"non-standard JSON constant {word}")

    return json.loads(text, parse_constant=refuse)


def test_preview_json(capsys):
    spec = {"name": "cosine", "params": {"T_max": 20}}
    assert main(["preview", json.dumps(spec), "--steps", "30", "--base-lr", "0.5", "--json"]) == 0
    data = _strict_json(capsys.readouterr().out)
    expected = lr_curve(spec, 30, 0.5)
    assert data["spec"]["name"] == "cosine" and data["spec"]["params"]["T_max"] == 20
    assert data["base_lr"] == 0.5 and data["steps"] == 30
    assert data["step"] == list(range(1, 31))
    np.testing.assert_array_equal(data["lr"], expected)
    assert (data["first"], data["min"], data["max"], data["last"]) == (
        expected[0], expected.min(), expected.max(), expected[-1])
    assert data["warnings"] and "schedule ends at step 20 of 30" in data["warnings"][0]
    assert data["metric_driven"] is False


def test_preview_json_of_a_metric_driven_schedule_says_no_metrics(capsys):
    assert main(["preview", "reduce_on_plateau", "--steps", "3", "--json"]) == 0
    data = _strict_json(capsys.readouterr().out)
    assert data["metric_driven"] is True and data["metrics"] is None and data["lr"] == [0.01] * 3


def test_preview_code_prints_the_pytorch_snippet(capsys):
    from lrstudio.core.schedules.pytorch_code import to_pytorch_code

    for spec in ({"name": "cosine", "params": {"T_max": 20}},
                 {"name": "linear_warmup", "params": {"warmup_steps": 5,
                                                      "inner": {"name": "cosine", "params": {"T_max": 50}}}}):
        assert main(["preview", json.dumps(spec), "--base-lr", "0.3", "--code"]) == 0
        out, err = capsys.readouterr()
        assert out == to_pytorch_code(spec, 0.3) and err == ""
        compile(out, "<snippet>", "exec")
        assert "scheduler = " in out


def test_preview_code_refusal_is_one_line(capsys):
    spec = {"name": "reduce_on_plateau", "params": {"cooldown": 2, "cooldown_convention": "paddle"}}
    assert main(["preview", json.dumps(spec), "--code"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.startswith("lrstudio: error: ") and cap.err.count("\n") == 1


@pytest.mark.parametrize("extra", [["--csv", "x.csv"], ["--json"]])
def test_preview_code_goes_alone(extra, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["preview", "cosine", "--code", *extra])
    assert info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("command", ["schedules", "optimizers"])
def test_catalogue_json_is_strict(command, capsys):
    assert main([command, "--json"]) == 0
    assert len(_strict_json(capsys.readouterr().out)) >= 8
