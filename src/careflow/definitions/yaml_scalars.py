"""YAML 1.2 core-schema resolution of scalars: the reader calls ``resolve_scalar`` for each one."""

from __future__ import annotations

import math
import re
from typing import Any

_NULL = re.compile(r"null|Null|NULL|~|")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT10 = re.compile(r"[-+]?[0-9]+")
_INTX = re.compile(r"0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
_SPECIAL_START = frozenset("0123456789+-.~nNtTfF")  # first characters of core-schema nulls, bools, numbers
UNRESOLVED = object()  # a scalar that failed resolution
_TOO_MANY_DIGITS = 10**4300  # Python's default int_max_str_digits: every integer read can be printed


def resolve_scalar(text: str, kind: str | None = None) -> Any:
    """Resolve by the 1.2 core schema; ``kind`` forces one type (from a tag), else the first that fits."""
    if kind is None and text and text[0] not in _SPECIAL_START:
        return text  # most scalars are words: no null, bool or number starts like this
    if kind in (None, "null") and _NULL.fullmatch(text):
        return None
    if kind in (None, "bool") and text in _BOOL:
        return _BOOL[text]
    if kind in (None, "int", "float") and (_INT10.fullmatch(text) or _INTX.fullmatch(text)):
        try:
            number = int(text, 0) if text[:2] in ("0o", "0x") else int(text)  # int(.., 0) refuses 0755
        except ValueError:  # more digits than Python converts (sys.set_int_max_str_digits)
            return UNRESOLVED
        if abs(number) >= _TOO_MANY_DIGITS:  # a hex or octal one that could not be printed in decimal
            return UNRESOLVED
        return float(number) if kind == "float" else number
    if kind in (None, "float"):
        if _FLOAT.fullmatch(text):
            return float(text)
        if _INF.fullmatch(text):
            return -math.inf if text[0] == "-" else math.inf
        if _NAN.fullmatch(text):
            return math.nan
    return text if kind in (None, "str") else UNRESOLVED
