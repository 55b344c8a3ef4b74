"""JSON from clients, read with limits: the request body and JSON texts inside v2 BYTES inputs.

Python's parser accepts what a server must not pass on: nesting as deep as its recursion limit
(the next recursive walk, such as pickling for the model process, then fails), `1e999` as
infinity (while NaN and Infinity are refused), and integers of 4300 digits with an error that
names `sys.set_int_max_str_digits`. Every refusal names where in the JSON it happened.
"""
from __future__ import annotations

import json
import re
import sys
from array import array
from itertools import accumulate
from typing import Any

from ..errors import InputError
from .responses import limit_error

# A float literal parses as infinity only with an exponent of 3+ digits or 200+ integer digits
# (1e308 is the largest double); only bodies holding such a run are walked for infinities.
_BIG_EXPONENT = re.compile(rb"[eE]\+?0*[1-9][0-9]{2}")
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")  # then a run is one substring search
_INFINITIES = (float("inf"), float("-inf"))
# Depth is measured on the bytes, at C speed: strings removed, then +1/-1 per bracket.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SIGNS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # read as signed bytes: +1, -1


def parse_json(data: bytes | str, *, max_depth: int, where: str) -> Any:
    """The JSON value of data.

    InputError (naming `where`) when data is not JSON or holds a number no double can carry; a 422
    HttpError naming max_json_depth when it nests deeper than max_depth containers.
    """
    try:
        value = json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise _too_deep(where, [], max_depth) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{where} is not valid JSON: {exc}") from None
    except ValueError as exc:  # UnicodeDecodeError, NaN/Infinity, integers past Python's digit limit
        raise InputError(f"{where} is not valid JSON: {_plain_reason(exc)}") from None
    if not isinstance(value, (list, dict)):
        if value in _INFINITIES:
            raise InputError(f"{where}: a number too large for a double (it would read as infinity)")
        return value
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    too_deep = raw.count(b"[") + raw.count(b"{") > max_depth and _depth(raw) > max_depth
    if too_deep or _BIG_EXPONENT.search(raw) or b"0" * 200 in raw.translate(_DIGITS_AS_ZERO):
        found = _first_problem(value, max_depth)
        if found is not None:
            problem, path = found
            path.reverse()
            if problem == "depth":
                raise _too_deep(where, path, max_depth)
            raise InputError(f"{where}{path_text(path)}: a number too large for a double (it would read as "
                             f"infinity); JSON numbers must be finite")
    return value


def _depth(raw: bytes) -> int:
    """Deepest nesting of containers in valid JSON bytes."""
    signs = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS).translate(_SIGNS)
    return max(accumulate(array("b", signs)), default=0)


def _first_problem(value: list | dict, budget: int) -> tuple[str, list] | None:
    """("depth" or "infinity", reversed path) of the first container past `budget` levels or infinite float."""
    if budget <= 0:
        return "depth", []
    for key, item in (value.items() if isinstance(value, dict) else enumerate(value)):
        if isinstance(item, (list, dict)):
            found = _first_problem(item, budget - 1)
            if found is not None:
                found[1].append(key)
                return found
        elif type(item) is float and item in _INFINITIES:
            return "infinity", [key]
    return None


def _too_deep(where: str, path: list, max_depth: int) -> Exception:
    return limit_error(422, "max_json_depth", max_depth,
                       f"{where}{path_text(path)}: JSON nested more than {max_depth} levels deep")


def path_text(path: list, shown: int = 6) -> str:
    """`['a'][0]...` for keys and indexes leading into a JSON value (the first `shown` of them)."""
    parts = "".join(f"[{k!r}]" if isinstance(k, str) else f"[{k}]" for k in path[:shown])
    return parts + ("[...]" if len(path) > shown else "")


def _plain_reason(exc: ValueError) -> str:
    if "integer string conversion" in str(exc):
        digits = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
        return f"an integer has more than {digits} digits"
    return str(exc)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON (numbers must be finite)")
