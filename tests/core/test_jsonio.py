"""User JSON and text files: deep nesting, encodings, huge integers (lrstudio.core.jsonio)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lrstudio.core.config import DatasetConfig, RunConfig, check_runnable
from lrstudio.core.events import ListReporter
from lrstudio.core.jsonio import (
    MAX_JSON_DEPTH,
    MAX_SCHEDULE_DEPTH,
    parse_user_json,
    read_user_json,
    read_user_text,
)
from lrstudio.core.params import ParamError
from lrstudio.core.schedules import ScheduleError, lr_curve, validate_spec


def _chain(depth: int, warm: int = 1) -> dict:
    spec: dict = {"name": "constant", "params": {}}
    for _ in range(depth):
        spec = {"name": "linear_warmup", "params": {"warmup_steps": warm, "inner": spec}}
    return spec


def _deep_config_text(depth: int) -> str:
    cfg = RunConfig(dataset=DatasetConfig(name="synthetic", n_samples=40), lr=0.05, epochs=600,
                    schedule=_chain(depth))
    return cfg.to_json()  # json.dumps of ~1,000 levels: needs the recursion headroom of jsonio


def test_a_500_deep_warmup_chain_parses_validates_curves_and_trains():
    cfg = RunConfig.from_json(_deep_config_text(500))
    valid = check_runnable(cfg)  # 40 samples, 32 train rows, full batch: 600 steps >= 500 of warm-up
    assert valid.schedule["params"]["warmup_steps"] == 1
    lrs = lr_curve(valid.schedule, 600, 0.05)
    assert lrs[0] == 0.0 and np.all(np.isfinite(lrs)) and lrs[-1] == pytest.approx(0.05)
    assert RunConfig.from_json(valid.to_json()) == valid  # round trip through the stored form
    reporter = ListReporter()
    from lrstudio.trainer.loop import train

    summary = train(RunConfig(**{**valid.__dict__, "max_steps": 510}), reporter)
    assert summary.status == "completed" and summary.steps == 510, summary.error


def test_nesting_beyond_the_limit_is_a_clear_error():
    with pytest.raises(ScheduleError, match=f"nest at most {MAX_SCHEDULE_DEPTH:,} deep") as info:
        validate_spec(_chain(MAX_SCHEDULE_DEPTH + 5))
    msg = str(info.value)
    assert "more…" in msg and len(msg) < 300, msg  # the 1,000-link path is shown by its ends
    with pytest.raises(ParamError, match=f"nested more than {MAX_JSON_DEPTH:,} levels deep"):
        parse_user_json("[" * 100_000 + "]" * 100_000, "spec")
    with pytest.raises(ParamError, match="not valid JSON: Expecting value at line 1 column 1501"):
        parse_user_json("[" * 1500 + "}", "spec")


def test_the_iterative_parser_agrees_with_json():
    samples = ['{"a": [1, 2.5, -3e2, "x\\"y\\u00e9", null, true, false, {}, []], "b": {"c": NaN}}',
               '[[[]], [{}], "é", -0, 1E+2, Infinity, -Infinity]', '  "s"  ', "12"]
    for text in samples:
        deep = "[" * 600 + text + "]" * 600
        got, want = parse_user_json(deep), json.loads(deep)
        assert json.dumps(got) == json.dumps(want)
    for bad, msg in [("[" * 600 + "1,]" + "]" * 599, "Expecting value"),
                     ("[" * 600 + '{"a" 1}' + "]" * 600, "Expecting ':' delimiter"),
                     ("[" * 600 + "1 2" + "]" * 600, "Expecting ',' delimiter"),
                     ("[" * 600 + "]" * 600 + "x", "Extra data")]:
        with pytest.raises(ParamError, match=msg):
            parse_user_json(bad, "x")


def test_a_config_file_that_is_not_utf8_names_the_byte_and_offset(tmp_path):
    p = tmp_path / "run.json"
    p.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(ParamError) as info:
        RunConfig.from_file(p)
    assert str(info.value) == f"config file {str(p)!r} is not UTF-8 text (byte 0xe9 at offset 13); save it as UTF-8"
    m = tmp_path / "metrics.csv"
    m.write_bytes(b"loss\n0.5\n\xff\xfe")
    with pytest.raises(ParamError, match=r"metrics file .* is not UTF-8 text \(byte 0xff at offset 9\)"):
        read_user_text(m, "metrics file")


def test_a_config_file_with_a_bom_is_accepted(tmp_path):
    p = tmp_path / "run.json"
    p.write_bytes(b"\xef\xbb\xbf" + RunConfig(epochs=3).to_json().encode())
    assert RunConfig.from_file(p).epochs == 3
    assert RunConfig.from_json("\ufeff" + RunConfig(epochs=4).to_json()).epochs == 4
    assert read_user_json(p, "spec")["epochs"] == 3


def test_missing_and_folder_paths(tmp_path):
    with pytest.raises(ParamError, match="does not exist"):
        RunConfig.from_file(tmp_path / "nope.json")
    with pytest.raises(ParamError, match="is a folder"):
        RunConfig.from_file(tmp_path)


@pytest.mark.parametrize("digits", [30, 2_000, 5_000, 100_000])
def test_huge_integers_give_a_short_param_error(digits):
    text = RunConfig().to_json().replace('"epochs": 10', f'"epochs": {"7" * digits}')
    with pytest.raises(ParamError) as info:
        RunConfig.from_json(text).validated()
    msg = str(info.value)
    assert len(msg) < 250, msg
    assert ("epochs" in msg) if digits <= 1000 else ("line 30 column 13" in msg and f"{digits:,} digits" in msg), msg
