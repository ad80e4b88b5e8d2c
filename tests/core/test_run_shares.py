"""Lengths that follow the run (issue 15): a schedule's length parameters may be given as a share of
the run ("auto" = all of it, "10%"), kept as such in the stored config, resolved to steps when the run
is planned (core/plan.py), by lr_curve for its own length, and by the training adapter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lrstudio.core.config import SCHEMA_VERSION, RunConfig, check_runnable, starter_config
from lrstudio.core.params import Param, ParamError
from lrstudio.core.plan import plan_run
from lrstudio.core.schedules import (
    ScheduleError,
    check_run_length,
    curve_at,
    has_shares,
    lr_curve,
    resolve_lengths,
    schedule_fit,
    validate_spec,
)
from lrstudio.core.schedules.pytorch_code import to_pytorch_code

WARM_COSINE = {"name": "linear_warmup", "params": {
    "warmup_steps": "10%", "inner": {"name": "cosine", "params": {"T_max": "auto", "after_end": "hold"}}}}


def _by_hand(total: int) -> dict:
    w = int(np.floor(total * 0.1 + 0.5))
    return {"name": "linear_warmup", "params": {
        "warmup_steps": w, "inner": {"name": "cosine", "params": {"T_max": total - w, "after_end": "hold"}}}}


# -- the stored form -------------------------------------------------------------------------------
@pytest.mark.parametrize("given,stored", [("auto", "auto"), ("AUTO", "auto"), ("10%", "10%"), (" 12.50 % ", "12.5%"),
                                          ("250%", "250%")])
def test_a_length_takes_a_share_of_the_run_kept_as_such(given, stored):
    spec = validate_spec({"name": "cosine", "params": {"T_max": given}})
    assert spec["params"]["T_max"] == stored
    again = validate_spec(json.loads(json.dumps(spec)))
    assert again == spec and has_shares(spec)


@pytest.mark.parametrize("bad", ["0%", "-5%", "1001%", "ten%", "auto%", "half", "0.1"])
def test_a_bad_share_is_refused_in_words(bad):
    with pytest.raises(ScheduleError) as info:
        validate_spec({"name": "cosine", "params": {"T_max": bad}})
    assert "T_max" in str(info.value) and "'auto'" in str(info.value) and "'10%'" in str(info.value)


def test_only_lengths_take_shares_and_a_plain_int_keeps_meaning_steps():
    with pytest.raises(ScheduleError, match="gamma"):
        validate_spec({"name": "step", "params": {"gamma": "10%"}})
    with pytest.raises(ScheduleError, match="patience"):
        validate_spec({"name": "reduce_on_plateau", "params": {"patience": "auto"}})
    assert validate_spec({"name": "cosine", "params": {"T_max": 300}})["params"]["T_max"] == 300
    assert not has_shares({"name": "cosine", "params": {"T_max": 300}})
    # lists: items may be shares; "auto" is not a milestone
    ms = validate_spec({"name": "multistep", "params": {"milestones": "30%, 60%, 900"}})
    assert ms["params"]["milestones"] == ["30%", "60%", 900]
    with pytest.raises(ScheduleError, match="milestones"):
        validate_spec({"name": "multistep", "params": {"milestones": ["auto"]}})
    from lrstudio.core.schedules import SCHEDULES

    assert {p.name for p in SCHEDULES["cosine"].params if p.is_length} == {"T_max", "warmup_steps"}
    # only schedules' declarations are lengths: a "steps" elsewhere (a playground's) is a plain int
    assert not Param("steps", "int", 1, "x").is_length
    assert Param("steps", "int", 1, "x").as_schedule_param().is_length
    assert not Param("steps", "int", 1, "x", extra={"length": False}).as_schedule_param().is_length
    with pytest.raises(ParamError):
        Param("steps", "int", 1, "x").coerce("10%")


# -- resolution --------------------------------------------------------------------------------------
@pytest.mark.parametrize("total", [1, 7, 100, 420, 1000, 12_345])
def test_resolved_spec_is_the_hand_resolved_one_and_lr_curve_follows_its_steps(total):
    assert resolve_lengths(WARM_COSINE, total) == validate_spec(_by_hand(total))
    np.testing.assert_array_equal(lr_curve(WARM_COSINE, total, 0.1), lr_curve(_by_hand(total), total, 0.1))


def test_changing_the_run_length_moves_the_resolved_schedule():
    cfg = starter_config()  # 14 steps an epoch
    cfg.schedule = WARM_COSINE
    seen = {}
    for epochs in (30, 60, 7):
        cfg.epochs = epochs
        plan = plan_run(cfg)
        assert plan.total_steps == 14 * epochs
        assert plan.schedule == resolve_lengths(WARM_COSINE, plan.total_steps) == validate_spec(_by_hand(14 * epochs))
        assert plan.resolved_lengths == (("warmup_steps", "10%", round(1.4 * epochs + 1e-9)),
                                         ("inner.T_max", "auto", 14 * epochs - round(1.4 * epochs + 1e-9)))
        lr = plan.planned_lr()
        assert lr[0] == 0.0 and lr.max() == pytest.approx(cfg.lr)
        assert lr[-1] < 1e-3 * cfg.lr  # the cosine ends with the run, whatever its length
        seen[epochs] = plan.schedule["params"]["warmup_steps"]
        assert schedule_fit(cfg.schedule, plan.total_steps).fits  # "auto" always fits
    assert seen == {30: 42, 60: 84, 7: 10}
    assert cfg.schedule == WARM_COSINE  # the config keeps the shares


def test_per_epoch_schedules_resolve_against_epochs():
    cfg = starter_config()
    cfg.schedule_unit, cfg.epochs = "epoch", 20
    cfg.schedule = {"name": "multistep", "params": {"milestones": ["50%", "75%"], "gamma": 0.1}}
    plan = plan_run(cfg)
    assert plan.schedule["params"]["milestones"] == [10, 15]
    lr = plan.planned_lr()
    spe = plan.steps_per_epoch
    assert lr[10 * spe - 1] == cfg.lr and lr[10 * spe] == pytest.approx(cfg.lr * 0.1)


def test_nested_shares_are_shares_of_the_part_of_the_run_they_run_for():
    spec = {"name": "sequential", "params": {"milestones": ["25%"], "schedules": [
        {"name": "constant"}, {"name": "multistep", "params": {"milestones": ["50%"]}}]}}
    r = resolve_lengths(spec, 1000)
    # the second child runs for steps 250..999 (750 steps): 50 % of it is 375, i.e. step 625 of the run
    assert r["params"]["milestones"] == [250] and r["params"]["schedules"][1]["params"]["milestones"] == [375]
    c = lr_curve(spec, 1000, 1.0)
    assert c[624] == 1.0 and c[625] == pytest.approx(0.1)


def test_shares_that_do_not_fit_a_run_length_are_said_at_resolution():
    spec = {"name": "multistep", "params": {"milestones": ["30%", 200]}}
    assert validate_spec(spec)  # fine without a run length
    lr_curve(spec, 500, 0.1)  # 150 < 200
    with pytest.raises(ScheduleError) as info:
        lr_curve(spec, 1000, 0.1)  # 300 > 200
    assert "milestones" in str(info.value) and "1,000 steps" in str(info.value) and "'30%'" in str(info.value)
    with pytest.raises(ScheduleError, match="warmup_steps"):
        check_run_length({"name": "cosine", "params": {"T_max": "50%", "warmup_steps": 300}}, 400)


def test_what_needs_steps_says_so_for_an_unresolved_spec():
    norm = validate_spec(WARM_COSINE)
    with pytest.raises(ScheduleError, match="needs the run length"):
        curve_at(norm, np.arange(5), 0.1)
    with pytest.raises(ScheduleError, match="needs the run length"):
        to_pytorch_code(WARM_COSINE, 0.1)
    code = to_pytorch_code(resolve_lengths(WARM_COSINE, 420), 0.1)
    assert "42" in code


# -- the config ----------------------------------------------------------------------------------------
def test_the_config_keeps_the_shares_and_the_pre_run_gate_resolves_them():
    cfg = starter_config()
    cfg.schedule = WARM_COSINE
    text = cfg.to_json()
    back = RunConfig.from_json(text)
    assert back.schedule == WARM_COSINE and json.loads(text)["schema_version"] == SCHEMA_VERSION
    assert check_runnable(back).schedule == validate_spec(WARM_COSINE)
    bad = starter_config()
    bad.schedule = {"name": "cosine", "params": {"T_max": "50%", "warmup_steps": 300}}  # 210 steps < 300
    with pytest.raises(ParamError, match="warmup_steps"):
        check_runnable(bad)


def test_schema_3_reads_a_schema_2_config_as_it_was():
    assert SCHEMA_VERSION >= 3
    old = {**starter_config().to_dict(), "schema_version": 2,
           "schedule": {"name": "sequential", "params": {"milestones": [40], "schedules": [
               {"name": "linear", "params": {"start_factor": 0.1, "total_iters": 40}},
               {"name": "cosine", "params": {"T_max": 380}}]}}}
    cfg = RunConfig.from_dict(old)
    assert cfg.schedule == old["schedule"] and cfg.validated().schema_version == SCHEMA_VERSION
    plan = plan_run(cfg)
    assert plan.resolved_lengths == () and plan.schedule == old["schedule"]
    np.testing.assert_array_equal(plan.planned_lr(), lr_curve(old["schedule"], 420, cfg.lr))


def test_cli_preview_code_writes_the_shares_as_steps_of_the_steps_asked(capsys):
    from lrstudio.cli import main

    spec = json.dumps({"name": "hf_cosine", "params": {"num_warmup_steps": "10%", "num_training_steps": "auto"}})
    assert main(["preview", spec, "--steps", "200", "--code"]) == 0
    code = capsys.readouterr().out
    assert "/ 20.0" in code and "180.0" in code  # warm-up 20 steps, 180 after it


def test_checks_that_do_not_need_the_run_length_still_run_with_shares():
    with pytest.raises(ScheduleError, match="only one"):
        validate_spec({"name": "hf_cosine_with_min_lr", "params": {
            "num_training_steps": "auto", "min_lr": 1e-5, "min_lr_rate": 0.1}})
    # one that needs the run length waits for it
    spec = {"name": "cosine", "params": {"T_max": "auto", "warmup_steps": 500}}
    assert validate_spec(spec)["params"]["warmup_steps"] == 500
    with pytest.raises(ScheduleError, match="warmup_steps"):
        lr_curve(spec, 400, 0.1)


def test_schema_4_keeps_the_noise_draws_an_older_config_had():
    """Schema 4: a noise wrapper without noise_draws in a schema <= 3 config keeps the draws it had
    ('fast'), nested ones too; one that says 'timm', and any schema-4 config, is left alone."""
    noise = {"name": "noise", "params": {"inner": {"name": "cosine"}}}
    old = {**starter_config().to_dict(), "schema_version": 3, "schedule": {"name": "sequential", "params": {
        "milestones": [10], "schedules": [noise, {"name": "noise", "params": {"noise_draws": "timm"}}]}}}
    got = RunConfig.from_dict(old).schedule["params"]["schedules"]
    assert [c["params"]["noise_draws"] for c in got] == ["fast", "timm"]
    assert got[0]["params"]["inner"] == {"name": "cosine"}
    new = RunConfig.from_dict({**old, "schema_version": SCHEMA_VERSION}).schedule["params"]["schedules"]
    assert "noise_draws" not in new[0]["params"]
    assert RunConfig.from_dict({**old, "schema_version": 2, "schedule": "noise"}).schedule == {
        "name": "noise", "params": {"noise_draws": "fast"}}
