"""JSON and text a user hands to the CLI (config files, ``--schedule`` text or file, ``--sched-param``
values, ``preview`` specs, metrics files): odd input is a one-line error with exit status 2, never a
traceback (issue 9). Legitimate odd input (a UTF-8 BOM, a 500-deep warm-up chain) is accepted."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lrstudio.cli import main

HUGE = "9" * 5000  # past Python's 4,300-digit int conversion limit
LONG = "9" * 1500  # under it, but far past any parameter


def _chain(n: int) -> str:
    """A warm-up chain n deep, as text (json.dumps itself recurses too deep for this)."""
    inner = '{"name": "cosine", "params": {"T_max": 100}}'
    return '{"name": "linear_warmup", "params": {"warmup_steps": 1, "inner": ' * n + inner + "}}" * n


TOO_DEEP = "[" * 100_000 + "]" * 100_000


def _error(args, capsys, *words):
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("lrstudio: error: ") and err.count("\n") == 1, err[:500]
    assert len(err) < 600, err[:600]  # the input is never echoed whole
    for w in words:
        assert w in err, (w, err)
    return err


@pytest.fixture
def files(tmp_path):
    def write(name: str, data: str | bytes):
        p = tmp_path / name
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data, encoding="utf-8")
        return str(p)

    return write


# -- train --config ---------------------------------------------------------------------------------
def test_config_not_utf8(files, capsys):
    path = files("latin1.json", '{"name": "caf\xe9"}'.encode("latin-1"))
    _error(["train", "--config", path, "--print-config"], capsys, "not UTF-8", "0xe9")


def test_config_with_bom_is_accepted(files, capsys):
    path = files("bom.json", b"\xef\xbb\xbf" + json.dumps({"max_steps": 10, "lr": 0.2}).encode())
    assert main(["train", "--config", path, "--print-config"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["max_steps"] == 10 and cfg["lr"] == 0.2


def test_config_with_a_500_deep_warmup_chain_is_accepted(files, capsys):
    path = files("deep.json", '{"max_steps": 1000, "schedule": ' + _chain(500) + "}")
    assert main(["train", "--config", path, "--print-config"]) == 0
    assert capsys.readouterr().out.count('"linear_warmup"') == 500


@pytest.mark.parametrize("body, words", [
    (TOO_DEEP, ["nested more than"]),
    ('{"max_steps": ' + HUGE + "}", ["5,000 digits"]),
    ('{"max_steps": ' + LONG + "}", ["1,500 digits"]),
    ('{"max_steps": 10,', ["not valid JSON"]),
])
def test_config_bad_json(files, capsys, body, words):
    path = files("bad.json", body)
    _error(["train", "--config", path, "--print-config"], capsys, *words)


# -- train --schedule / --sched-param ---------------------------------------------------------------
@pytest.mark.parametrize("text, words", [
    (TOO_DEEP[:20_000] + TOO_DEEP[-20_000:], ["schedule"]),
    ('{"name": "cosine", "params": {"T_max": ' + HUGE + "}}", ["5,000 digits"]),
    ('{"name": "cosine", "params": {"T_max": ' + LONG + "}}", ["1,500 digits"]),
    ("[1, 2]", ["schedule"]),
    ("[" * 5000, ["schedule"]),  # not a file name (too long for one)
])
def test_schedule_inline_bad_json(capsys, text, words):
    _error(["train", "--schedule", text, "--print-config"], capsys, *words)


def test_schedule_files(files, capsys):
    path = files("deep.json", _chain(500))
    assert main(["train", "--schedule", path, "--max-steps", "1000", "--print-config"]) == 0
    assert capsys.readouterr().out.count('"linear_warmup"') == 500
    path = files("bom.json", b"\xef\xbb\xbf" + b'{"name": "cosine", "params": {"T_max": 40}}')
    assert main(["train", "--schedule", path, "--max-steps", "40", "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["schedule"]["params"]["T_max"] == 40
    _error(["train", "--schedule", files("latin1.json", b'{"name": "cosine\xe9"}'), "--print-config"], capsys,
           "not UTF-8")
    _error(["train", "--schedule", files("too_deep.json", TOO_DEEP), "--print-config"], capsys,
           "nested more than")
    _error(["train", "--schedule", files("huge.json", '{"name": "cosine", "params": {"T_max": ' + HUGE + "}}"),
            "--print-config"], capsys, "5,000 digits")


@pytest.mark.parametrize("value, words", [
    (HUGE, ["5,000 digits"]),
    (LONG, ["T_max"]),
    ("[" * 5000 + "]" * 5000, ["T_max"]),
])
def test_sched_param_values(capsys, value, words):
    _error(["train", "--schedule", "cosine", "--sched-param", f"T_max={value}", "--print-config"], capsys, *words)


# -- preview --------------------------------------------------------------------------------------
def test_preview_spec_files_and_text(files, capsys):
    assert main(["preview", files("deep.json", _chain(500)), "--steps", "3"]) == 0
    assert capsys.readouterr().out.endswith("3,0.0\n")  # 3 steps, all inside the 500-step warm-up chain
    assert main(["preview", files("bom.json", b'\xef\xbb\xbf{"name": "constant"}'), "--steps", "2"]) == 0
    assert capsys.readouterr().out.endswith("2,0.01\n")
    _error(["preview", files("latin1.json", b'{"name": "cosine\xe9"}')], capsys, "not UTF-8")
    _error(["preview", files("too_deep.json", TOO_DEEP)], capsys, "nested more than")
    _error(["preview", files("huge.json", '{"name": "cosine", "params": {"T_max": ' + HUGE + "}}")], capsys,
           "5,000 digits")
    _error(["preview", '{"name": "cosine", "params": {"T_max": ' + HUGE + "}}"], capsys, "5,000 digits")
    _error(["preview", TOO_DEEP[:20_000] + TOO_DEEP[-20_000:]], capsys)


def test_preview_metrics_files(files, capsys):
    _error(["preview", "reduce_on_plateau", "--metrics", files("m.txt", "loss\xe9\n1.0\n".encode("latin-1"))],
           capsys, "not UTF-8")
    bom = files("bom.txt", b"\xef\xbb\xbf1.0\n0.5\n")
    assert main(["preview", "reduce_on_plateau", "--metrics", bom, "--steps", "3"]) == 0
    assert "no --metrics" not in capsys.readouterr().out
    _error(["preview", "reduce_on_plateau", "--metrics", str(files("x", "")) + "-missing"], capsys,
           "does not exist")


def test_subprocess_no_traceback(files):
    """The same inputs through the real entry point: one line on stderr, exit 2."""
    cases = [
        ["train", "--config", files("latin1.json", b'{"name": "caf\xe9"}'), "--print-config"],
        ["train", "--schedule", files("too_deep.json", TOO_DEEP), "--print-config"],
        ["preview", files("huge.json", '{"name": "cosine", "params": {"T_max": ' + HUGE + "}}")],
    ]
    for args in cases:
        r = subprocess.run([sys.executable, "-m", "lrstudio", *args], capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)
