"""Declared, validated parameters.

Schedules, optimizers and the run configuration declare their parameters once as :class:`Param`
objects. The same declaration drives validation (here), the GUI forms (``lrstudio.gui``) and the
CLI (``lrstudio schedules``), so a bound or a help text is written in exactly one place.

Validation never asserts: every problem raises :class:`ParamError` (a ``ValueError``) whose
message names the parameter, the value it got and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from lrstudio.core.errors import LrstudioError

#: Largest magnitude of an integer parameter (fits int64 with room: 10**18 - 1).
INT_LIMIT = 10**18 - 1

ParamKind = Literal[
    "float",  # a real number
    "int",  # an integer
    "bool",  # true/false
    "choice",  # one of ``choices`` (strings)
    "str",  # free text (names)
    "expr",  # a safe arithmetic expression (lambda schedules)
    "int_list",  # a list of integers (milestones, boundaries)
    "float_list",  # a list of reals (piecewise values, betas)
    "schedule",  # a nested schedule spec {"name": ..., "params": {...}}
    "schedule_list",  # a list of nested schedule specs
]


#: Names of the length parameters of schedules (steps counted in the run): they also take a share of
#: the run, ``"auto"`` (the whole run) or a percentage such as ``"10%"``, kept as such in a stored
#: config and resolved to steps when the run is planned (:func:`resolve_share`; issue 15). A plain
#: integer keeps meaning steps. ``register_schedule`` marks the int / int-list parameters of these
#: names ``extra["length"] = True`` (a schedule may say False); other declarations are never lengths.
LENGTH_NAMES = frozenset({
    "T_max", "T_0", "decay_steps", "total_steps", "total_iters", "warmup_steps", "num_warmup_steps",
    "num_training_steps", "num_stable_steps", "num_decay_steps", "step_size", "step_size_up", "step_size_down",
    "milestones", "boundaries", "steps", "t_initial", "warmup_t", "transition_steps", "transition_begin",
    "noise_range_t",
})

#: The largest share of the run a length may be given as (1000 %: ten runs long).
MAX_SHARE_PERCENT = 1000.0


def is_share(value: Any) -> bool:
    """True for a stored share of the run: ``"auto"`` or ``"<number>%"`` (already normalised)."""
    return isinstance(value, str) and (value == "auto" or value.endswith("%"))


def share_fraction(value: str) -> float:
    """The fraction of the run a share stands for: ``"auto"`` 1.0, ``"12.5%"`` 0.125."""
    return 1.0 if value == "auto" else float(value[:-1]) / 100.0


def resolve_share(value: Any, total: int, low: float | None = None, high: float | None = None) -> Any:
    """Steps for a share of a run of ``total`` steps: ``round(total * fraction)`` (halves up), kept
    within ``[low, high]``; any other value comes back unchanged."""
    if not is_share(value):
        return value
    steps = int(math.floor(total * share_fraction(value) + 0.5))
    if low is not None:
        steps = max(steps, math.ceil(low))
    if high is not None:
        steps = min(steps, math.floor(high))
    return steps


def _parse_share(value: str, p: Param, owner: str, allow_auto: bool = True) -> str:
    text = value.strip().lower()
    if text == "auto" and allow_auto:
        return "auto"
    if text.endswith("%"):
        try:
            pct = float(text[:-1].strip())
        except ValueError:
            pct = math.nan
        if math.isfinite(pct) and 0 < pct <= MAX_SHARE_PERCENT:
            return f"{pct:g}%"
    raise ParamError(p.name, value, p.describe_allowed(), owner)


class ParamError(LrstudioError, ValueError):
    """A parameter value is not allowed.

    Attributes
    ----------
    param:
        Name of the offending parameter (``"gamma"``), or ``""`` for a whole-object problem.
    value:
        The value that was rejected.
    allowed:
        Plain-words description of what is allowed (``"a number > 0"``).
    owner:
        What the parameter belongs to (``"schedule 'step'"``), used in the message.
    """

    def __init__(self, param: str, value: Any, allowed: str, owner: str = "") -> None:
        self.param = param
        self.value = value
        self.allowed = allowed
        self.owner = owner
        where = f"{owner}: " if owner else ""
        if param:
            msg = f"{where}{param} = {short_repr(value)} is not allowed; expected {allowed}"
        elif value is NO_VALUE:
            msg = f"{where}{allowed}"
        else:
            msg = f"{where}{allowed} (got {short_repr(value)})"
        super().__init__(msg)


#: Pass as ``value`` when the message (``allowed``) already says what the value was.
NO_VALUE: Any = type("_NoValue", (), {"__repr__": lambda self: "<no value>"})()

#: Longest value shown whole in a message; a longer one is cut and its length given.
SHORT_REPR_CHARS = 60


def short_repr(value: Any, limit: int = SHORT_REPR_CHARS) -> str:
    """``repr(value)`` cut to about ``limit`` characters: ``'1234…' (5,000 characters)``.

    A 1,000-digit integer or a pasted file must not fill the user's screen; the start of the value
    and its length are enough to find it. (An int too long for ``repr``, over Python's
    4,300-digit limit, is described by its size.)
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 14_000:
        return f"<an integer of about {int(value.bit_length() * 0.30103):,} digits>"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"<a {type(value).__name__} too large to show>"
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text):,} characters)"


@dataclass(frozen=True, slots=True)
class Param:
    """Declaration of one parameter.

    ``low``/``high`` bound numbers (and the items of number lists); ``low_open``/``high_open``
    make the bound exclusive. ``optional`` allows ``None`` (shown as an empty field).
    ``min_len``/``max_len`` bound list lengths.
    """

    name: str
    kind: ParamKind
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False
    min_len: int = 0
    max_len: int | None = None
    title: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.title or self.name.replace("_", " ")

    @property
    def is_length(self) -> bool:
        """A length in steps that also takes a share of the run (``"auto"``, ``"10%"``): a schedule's
        parameter marked by ``register_schedule`` (see :data:`LENGTH_NAMES`)."""
        return bool(self.extra.get("length", False))

    def as_schedule_param(self) -> Param:
        """This declaration as a schedule's: marked a length when its name is one of :data:`LENGTH_NAMES`
        (an int or a list of ints), unless ``extra["length"]`` already says."""
        if "length" in self.extra or self.kind not in ("int", "int_list") or self.name not in LENGTH_NAMES:
            return self
        return replace(self, extra={**self.extra, "length": True})

    def describe_allowed(self) -> str:
        """Plain words for what this parameter accepts."""
        if self.kind in ("float", "int", "int_list", "float_list"):
            noun = {
                "float": "a number",
                "int": "an integer",
                "int_list": "a list of integers",
                "float_list": "a list of numbers",
            }[self.kind]
            bounds = self._bounds_text()
            text = f"{noun}{' ' + bounds if bounds else ''}"
            if self.kind.endswith("_list"):
                if self.min_len:
                    text += f" (at least {self.min_len} item{'s' if self.min_len != 1 else ''})"
                if self.max_len is not None:
                    text += f" (at most {self.max_len} items)"
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "expr":
            text = "an arithmetic expression"
        elif self.kind == "schedule":
            text = 'a schedule spec {"name": ..., "params": {...}}'
        elif self.kind == "schedule_list":
            text = "a list of schedule specs"
        else:
            text = "text"
        if self.is_length:
            text += (" or a share of the run: 'auto' (all of it) or e.g. '10%'"
                     if self.kind == "int" else " or e.g. '25%' of the run")
        if self.optional:
            text += " or empty"
        return text

    def _bounds_text(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_fmt(self.low)}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {_fmt(self.high)}")
        if len(parts) == 2 and self.low is not None and self.high is not None:
            lo = "(" if self.low_open else "["
            hi = ")" if self.high_open else "]"
            return f"in {lo}{_fmt(self.low)}, {_fmt(self.high)}{hi}"
        return " and ".join(parts)

    # -- validation --------------------------------------------------------------------------
    def coerce(self, value: Any, owner: str = "") -> Any:
        """Return ``value`` converted to this parameter's type, or raise :class:`ParamError`."""
        if value is None or (isinstance(value, str) and value.strip() == "" and self.kind != "str"):
            if self.optional:
                return None
            raise ParamError(self.name, value, self.describe_allowed(), owner)
        k = self.kind
        if k == "float":
            return self._check_number(_to_float(value, self, owner), owner)
        if k == "int":
            if isinstance(value, str) and self.is_length and not _looks_numeric(value):
                return _parse_share(value, self, owner)
            return int(self._check_number(_to_int(value, self, owner), owner))
        if k == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.strip().lower() in ("true", "1", "yes")
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            raise ParamError(self.name, value, self.describe_allowed(), owner)
        if k == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            # extra["renamed"]: old stored names of a choice -> the name of the same behaviour now
            renamed = self.extra.get("renamed", {})
            if isinstance(value, str) and value in renamed:
                return renamed[value]
            raise ParamError(self.name, value, self.describe_allowed(), owner)
        if k in ("str", "expr"):
            if not isinstance(value, str):
                raise ParamError(self.name, value, self.describe_allowed(), owner)
            return value
        if k in ("int_list", "float_list"):
            items = _to_list(value, self, owner)
            conv = _to_int if k == "int_list" else _to_float
            out: list[Any]
            if k == "int_list" and self.is_length:
                out = [_parse_share(v, self, owner, allow_auto=False)
                       if isinstance(v, str) and not _looks_numeric(v)
                       else int(self._check_number(conv(v, self, owner), owner, whole=value)) for v in items]
            else:
                out = [self._check_number(conv(v, self, owner), owner, whole=value) for v in items]
                if k == "int_list":
                    out = [int(v) for v in out]
            if len(out) < self.min_len or (self.max_len is not None and len(out) > self.max_len):
                raise ParamError(self.name, value, self.describe_allowed(), owner)
            return out
        if k == "schedule":
            if not isinstance(value, Mapping) or "name" not in value:
                raise ParamError(self.name, value, self.describe_allowed(), owner)
            return dict(value)
        if k == "schedule_list":
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                raise ParamError(self.name, value, self.describe_allowed(), owner)
            specs = list(value)
            if len(specs) < self.min_len or any(not isinstance(s, Mapping) or "name" not in s for s in specs):
                raise ParamError(self.name, value, self.describe_allowed(), owner)
            return [dict(s) for s in specs]
        raise ParamError(self.name, value, f"a value of kind {k}", owner)  # pragma: no cover

    def _check_number(self, v: float, owner: str, whole: Any = None) -> float:
        shown = v if whole is None else whole
        if isinstance(v, float) and not math.isfinite(v):
            raise ParamError(self.name, shown, self.describe_allowed(), owner)
        if isinstance(v, int) and not -INT_LIMIT <= v <= INT_LIMIT:
            # Unbounded ints (max_steps) must still fit the int64 that torch, numpy and SQL use.
            raise ParamError(self.name, shown, f"{self.describe_allowed()} of at most 18 digits", owner)
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            raise ParamError(self.name, shown, self.describe_allowed(), owner)
        if self.high is not None and (v > self.high or (self.high_open and v == self.high)):
            raise ParamError(self.name, shown, self.describe_allowed(), owner)
        return v


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _fmt(x: float) -> str:
    return repr(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)


def _to_float(value: Any, p: Param, owner: str) -> float:
    if isinstance(value, bool):
        raise ParamError(p.name, value, p.describe_allowed(), owner)
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: float(10**400)
        raise ParamError(p.name, value, p.describe_allowed(), owner) from None


def _to_int(value: Any, p: Param, owner: str) -> int:
    if isinstance(value, bool):
        raise ParamError(p.name, value, p.describe_allowed(), owner)
    if isinstance(value, int):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: float(10**400)
        raise ParamError(p.name, value, p.describe_allowed(), owner) from None
    if not math.isfinite(f) or not f.is_integer():
        raise ParamError(p.name, value, p.describe_allowed(), owner)
    return int(f)


def _to_list(value: Any, p: Param, owner: str) -> list[Any]:
    if isinstance(value, str):
        text = value.strip().strip("[]()")
        return [t for t in (s.strip() for s in text.replace(";", ",").split(",")) if t]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return list(value)
    raise ParamError(p.name, value, p.describe_allowed(), owner)


def validate_params(
    decls: Sequence[Param], params: Mapping[str, Any] | None, owner: str = "",
    error: type[ParamError] = ParamError,
) -> dict[str, Any]:
    """Check ``params`` against ``decls``; return a new dict with every declared name filled.

    Unknown names are rejected (a typo must not silently fall back to a default). Problems are
    raised as ``error`` (a :class:`ParamError` subclass such as ``ScheduleError``).
    """
    try:
        return _validate_params(decls, params, owner)
    except ParamError as exc:
        if isinstance(exc, error):
            raise
        raise error(exc.param, exc.value, exc.allowed, exc.owner) from None


def _validate_params(decls: Sequence[Param], params: Mapping[str, Any] | None, owner: str) -> dict[str, Any]:
    params = dict(params or {})
    known = {p.name: p for p in decls}
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ParamError(
            unknown[0], params[unknown[0]], "one of the parameters " + ", ".join(known) if known else "no parameters",
            owner,
        )
    out: dict[str, Any] = {}
    for p in decls:
        out[p.name] = p.coerce(params[p.name], owner) if p.name in params else p.default
    return out


def param_table(decls: Sequence[Param]) -> list[dict[str, Any]]:
    """JSON-able description of declarations (for ``lrstudio schedules --json`` and docs)."""
    rows = []
    for p in decls:
        rows.append(
            {
                "name": p.name,
                "kind": p.kind,
                "default": p.default,
                "allowed": p.describe_allowed(),
                "help": p.help,
            }
        )
    return rows
