"""Reading text and JSON that a user hands over: config files, schedule specs, metrics files.

One door for user JSON and user text files, so every caller (the CLI's ``--config`` and
``--schedule``, ``preview``, the GUI's open dialogs, :meth:`RunConfig.from_json`) gives the same
clear message instead of a traceback:

* :func:`read_user_text` reads a file as UTF-8 (a UTF-8 byte-order mark is dropped, as Notepad
  writes one); other bytes give ``FILE is not UTF-8 text (byte 0xff at offset 12)``.
* :func:`parse_user_json` parses JSON text. Nesting is safe to :data:`MAX_JSON_DEPTH` levels (a
  warm-up chain of :data:`MAX_SCHEDULE_DEPTH` schedules inside a run config fits); deeper input,
  a syntax error or an integer of more than :data:`MAX_INT_DIGITS` digits is a
  :class:`~lrstudio.core.params.ParamError` that says where, never the whole input.
* :func:`read_user_json` is the two together.

Deep nesting and recursion
    Python's json module, ``copy.deepcopy``, ``dataclasses.asdict`` and the schedule code all
    recurse once or twice per level, and the default recursion limit (1,000) stops at ~500 JSON
    levels. :func:`ensure_recursion_headroom` raises the limit once per process to
    :data:`RECURSION_LIMIT` (never lowers it); it is called when this module is imported (the config
    and schedule modules import it). Measured (CPython 3.11, Linux, 8 MiB stack): a 1,000-deep
    schedule chain (2,000 JSON levels) round-trips through json, deepcopy and asdict with a limit
    of 4,500; 8,000 leaves room for the caller's own stack. (Python-to-Python calls use no C stack
    in 3.11; C-level recursion such as the json encoder needs under 1 KiB per level, measured in a
    2 MiB thread.)
"""

from __future__ import annotations

import json
import re
import sys
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from lrstudio.core.params import NO_VALUE, ParamError

__all__ = [
    "MAX_INT_DIGITS",
    "MAX_JSON_DEPTH",
    "MAX_SCHEDULE_DEPTH",
    "ensure_recursion_headroom",
    "parse_user_json",
    "read_user_json",
    "read_user_text",
]

#: Deepest nesting of schedule specs (``linear_warmup.inner`` / ``sequential.schedules``).
MAX_SCHEDULE_DEPTH = 1_000
#: Deepest JSON accepted: two levels per schedule (spec object, its params) plus a run config.
MAX_JSON_DEPTH = 2 * MAX_SCHEDULE_DEPTH + 20
#: Longest integer literal accepted in JSON (Python itself refuses to convert over 4,300 digits).
MAX_INT_DIGITS = 1_000
#: Recursion limit set by :func:`ensure_recursion_headroom` (see the module docstring).
RECURSION_LIMIT = 8_000

_BOM = b"\xef\xbb\xbf"


def ensure_recursion_headroom() -> None:
    """Raise the interpreter's recursion limit to :data:`RECURSION_LIMIT` (never lower it)."""
    if sys.getrecursionlimit() < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)


ensure_recursion_headroom()


def decode_user_bytes(raw: bytes, where: str) -> str:
    """``raw`` as UTF-8 text without a leading byte-order mark; ParamError naming ``where`` otherwise."""
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start]
        raise ParamError(
            "", NO_VALUE,
            f"{where} is not UTF-8 text (byte 0x{bad:02x} at offset {exc.start}); save it as UTF-8", "",
        ) from None


def read_user_text(path: str | Path, what: str = "file") -> str:
    """The text of a user's file, read as UTF-8 (a leading BOM dropped).

    ``what`` names the file's role in messages (``"config file"``). Raises :class:`ParamError`
    for a missing or unreadable file, a folder, or bytes that are not UTF-8.
    """
    p = Path(path).expanduser()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ParamError("", NO_VALUE, f"{what} {str(p)!r} does not exist", "") from None
    except IsADirectoryError:
        raise ParamError("", NO_VALUE, f"{what} {str(p)!r} is a folder, not a file", "") from None
    except OSError as exc:
        raise ParamError("", NO_VALUE, f"cannot read {what} {str(p)!r}: {exc.strerror or exc}", "") from None
    return decode_user_bytes(raw, f"{what} {str(p)!r}")


def read_user_json(path: str | Path, what: str = "JSON file") -> Any:
    """:func:`read_user_text` then :func:`parse_user_json`; messages name ``what`` and the path."""
    p = Path(path).expanduser()
    return parse_user_json(read_user_text(p, what), f"{what} {str(p)!r}")


def parse_user_json(text: str, what: str = "JSON") -> Any:
    """Parse JSON a user wrote; :class:`ParamError` with ``what``, the line and the column otherwise.

    A leading BOM is ignored. Nesting up to :data:`MAX_JSON_DEPTH` levels is parsed (the C parser
    first; on a RecursionError an iterative parser of this module); integers of more than
    :data:`MAX_INT_DIGITS` digits are refused without being echoed.
    """
    if isinstance(text, (bytes, bytearray)):
        text = decode_user_bytes(bytes(text), what)
    if not isinstance(text, str):
        raise ParamError("", NO_VALUE, f"{what}: expected JSON text, got {type(text).__name__}", "")
    if text.startswith("\ufeff"):
        text = text[1:]
    def parse_int(s: str) -> int:
        return _parse_int(s, text, what)

    try:
        if _may_nest_deeper_than(text, _C_PARSER_DEPTH):
            # Deep input goes to the iterative parser: the C parser recurses on the C stack.
            return _loads_iterative(text, parse_int, what)
        try:
            return json.loads(text, parse_int=parse_int)
        except RecursionError:  # called with little recursion left
            return _loads_iterative(text, parse_int, what)
    except json.JSONDecodeError as exc:
        raise ParamError("", NO_VALUE, f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column "
                         f"{exc.colno}", "") from None


#: Nesting the C parser is given; deeper input is parsed iteratively.
_C_PARSER_DEPTH = 400
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def _may_nest_deeper_than(text: str, limit: int) -> bool:
    if text.count("{") + text.count("[") <= limit:  # an upper bound on the depth, in C
        return False
    depth = top = 0
    for m in _BRACKET.finditer(_STRING.sub("", text)):
        depth += 1 if m.group() in "{[" else -1
        if depth > top:
            top = depth
            if top > limit:
                return True
    return False


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line} column {col}"


def _parse_int(s: str, text: str, what: str) -> int:
    digits = len(s) - s.startswith("-")
    if digits > MAX_INT_DIGITS:
        pos = text.find(s[: 50])
        raise ParamError(
            "", NO_VALUE,
            f"{what}: the integer at {_where(text, max(pos, 0))} has {digits:,} digits; numbers in lrstudio have "
            f"at most {MAX_INT_DIGITS:,} digits (and a parameter accepts far fewer)", "",
        )
    return int(s)


_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_LITERALS = (("null", None), ("true", True), ("false", False), ("NaN", float("nan")),
             ("Infinity", float("inf")), ("-Infinity", float("-inf")))


def _loads_iterative(s: str, parse_int: Any, what: str) -> Any:
    """The JSON value of ``s`` (as ``json.loads`` gives it), with an explicit stack instead of recursion.

    Used only when the C parser runs out of recursion; strings go through json's own ``scanstring``.
    """
    err = json.JSONDecodeError

    def skip_ws(i: int) -> int:
        m = _WS.match(s, i)  # never None: the pattern accepts the empty string
        return i if m is None else m.end()

    stack: list[tuple[Any, Any]] = []  # (container, pending key for objects)

    def key_at(i: int) -> tuple[str, int]:
        if s[i:i + 1] != '"':
            raise err("Expecting property name enclosed in double quotes", s, i)
        k, i = scanstring(s, i + 1)
        i = skip_ws(i)
        if s[i:i + 1] != ":":
            raise err("Expecting ':' delimiter", s, i)
        return k, skip_ws(i + 1)

    idx = skip_ws(0)
    while True:
        # -- one value at idx (or the opening of a container) --
        ch = s[idx:idx + 1]
        value: Any
        if ch in ("{", "["):
            if len(stack) >= MAX_JSON_DEPTH:
                raise ParamError("", NO_VALUE, f"{what} is nested more than {MAX_JSON_DEPTH:,} levels deep (at "
                                 f"{_where(s, idx)}); schedules nest at most {MAX_SCHEDULE_DEPTH:,} deep", "")
            idx = skip_ws(idx + 1)
            close = "}" if ch == "{" else "]"
            if s[idx:idx + 1] == close:
                value, idx = ({} if ch == "{" else []), idx + 1
            elif ch == "{":
                k, idx = key_at(idx)
                stack.append(({}, k))
                continue
            else:
                stack.append(([], None))
                continue
        elif ch == '"':
            value, idx = scanstring(s, idx + 1)
        else:
            m = _NUMBER.match(s, idx)
            if m is not None:
                integer, frac, exp = m.groups()
                value = float(integer + (frac or "") + (exp or "")) if frac or exp else parse_int(integer)
                idx = m.end()
            else:
                for word, lit in _LITERALS:
                    if s.startswith(word, idx):
                        value, idx = lit, idx + len(word)
                        break
                else:
                    raise err("Expecting value", s, idx)
        # -- attach the finished value to its parents, closing containers as they end --
        while True:
            idx = skip_ws(idx)
            if not stack:
                if idx != len(s):
                    raise err("Extra data", s, idx)
                return value
            container, k = stack[-1]
            ch = s[idx:idx + 1]
            if isinstance(container, dict):
                container[k] = value
                if ch == ",":
                    k, idx = key_at(skip_ws(idx + 1))
                    stack[-1] = (container, k)
                    break
                if ch != "}":
                    raise err("Expecting ',' delimiter", s, idx)
            else:
                container.append(value)
                if ch == ",":
                    idx = skip_ws(idx + 1)
                    break
                if ch != "]":
                    raise err("Expecting ',' delimiter", s, idx)
            idx += 1
            stack.pop()
            value = container
