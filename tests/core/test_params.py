import math

import pytest

from lrstudio.core.errors import LrstudioError
from lrstudio.core.params import Param, ParamError, param_table, validate_params

DECLS = (
    Param("gamma", "float", 0.1, "decay factor", low=0.0, low_open=True),
    Param("step_size", "int", 10, "period", low=1),
    Param("mode", "choice", "min", "direction", choices=("min", "max")),
    Param("milestones", "int_list", [30, 80], "steps", low=0, min_len=1),
    Param("verbose", "bool", False, "chatty"),
    Param("cap", "float", None, "optional cap", optional=True, low=0.0),
)


def test_defaults_fill_missing_names():
    out = validate_params(DECLS, {"gamma": 0.5})
    assert out == {"gamma": 0.5, "step_size": 10, "mode": "min", "milestones": [30, 80], "verbose": False,
                   "cap": None}


def test_coercion_from_text_like_a_form_or_cli_gives_it():
    out = validate_params(DECLS, {"gamma": "1e-3", "step_size": "5", "milestones": "10, 20;30",
                                  "verbose": "true", "cap": ""})
    assert out["gamma"] == 1e-3 and out["step_size"] == 5 and out["milestones"] == [10, 20, 30]
    assert out["verbose"] is True and out["cap"] is None


@pytest.mark.parametrize(
    ("params", "name", "fragment"),
    [
        ({"gamma": 0}, "gamma", "> 0"),
        ({"gamma": -1}, "gamma", "> 0"),
        ({"gamma": "abc"}, "gamma", "a number"),
        ({"gamma": float("nan")}, "gamma", "a number"),
        ({"gamma": True}, "gamma", "a number"),
        ({"step_size": 0}, "step_size", ">= 1"),
        ({"step_size": 2.5}, "step_size", "an integer"),
        ({"mode": "up"}, "mode", "one of 'min', 'max'"),
        ({"milestones": []}, "milestones", "at least 1 item"),
        ({"milestones": [5, -1]}, "milestones", ">= 0"),
        ({"verbose": "maybe"}, "verbose", "true or false"),
        ({"cap": -1.0}, "cap", ">= 0"),
        ({"gama": 0.1}, "gama", "one of the parameters gamma"),
    ],
)
def test_rejections_name_parameter_value_and_what_is_allowed(params, name, fragment):
    with pytest.raises(ParamError) as info:
        validate_params(DECLS, params, owner="schedule 'step'")
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, LrstudioError)
    assert err.param == name
    msg = str(err)
    assert msg.startswith("schedule 'step': ") and name in msg and fragment in msg
    assert repr(list(params.values())[0])[:3] in msg


def test_required_value_missing_is_rejected():
    p = Param("lr", "float", 0.1, "lr", low=0.0)
    with pytest.raises(ParamError, match="lr = None"):
        p.coerce(None)


def test_interval_bounds_text():
    p = Param("pct", "float", 0.3, "fraction", low=0.0, high=1.0, low_open=True, high_open=True)
    assert p.describe_allowed() == "a number in (0, 1)"
    assert p.coerce(0.5) == 0.5
    for bad in (0.0, 1.0, 2.0):
        with pytest.raises(ParamError):
            p.coerce(bad)
    assert math.isclose(p.coerce("0.25"), 0.25)


def test_param_table_is_json_ready():
    rows = param_table(DECLS)
    assert [r["name"] for r in rows] == [p.name for p in DECLS]
    assert rows[0]["allowed"] == "a number > 0"


def test_problems_are_raised_as_the_requested_subclass():
    class ScheduleishError(ParamError):
        pass

    with pytest.raises(ScheduleishError, match="gamma"):
        validate_params(DECLS, {"gamma": -1}, "schedule 'step'", ScheduleishError)
    with pytest.raises(ScheduleishError, match="one of the parameters"):
        validate_params(DECLS, {"nope": 1}, "schedule 'step'", ScheduleishError)


def test_long_values_are_cut_in_messages_with_their_length():
    big = 10**999  # 1,000 digits
    msg = str(ParamError("epochs", big, "an integer in [1, 1000000]", "run"))
    assert len(msg) < 160, msg
    assert "(1,000 characters)" in msg and msg.startswith("run: epochs = 1000000")
    # beyond Python's 4,300-digit repr limit: described by its size, no ValueError
    assert "digits" in str(ParamError("epochs", 10**5000, "an integer", "run"))
    assert "(got 'aaaa" in str(ParamError("", "a" * 500, "a short text", "x"))
    assert len(str(ParamError("", "a" * 500, "a short text", "x"))) < 120


@pytest.mark.parametrize("decl", [
    Param("max_steps", "int", None, "unbounded above", low=1, optional=True),
    Param("lr", "float", 0.1, "a float", low=0.0),
    Param("milestones", "int_list", [], "a list", low=1),
])
def test_huge_integers_are_refused_briefly(decl):
    with pytest.raises(ParamError) as info:
        decl.coerce(10**3000 if decl.kind != "int_list" else [5, 10**3000], "run")
    assert decl.name in str(info.value) and len(str(info.value)) < 200, str(info.value)
