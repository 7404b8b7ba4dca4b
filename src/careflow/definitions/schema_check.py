"""Run the process JSON Schema over a document and turn every error into a located Diagnostic.

jsonschema's own messages speak of schemas; an author needs "unknown key 'lable' in state
'triage'; did you mean 'label'?". So each validator kind gets its own wording and hint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from careflow.errors import Diagnostic, SourceLocation, did_you_mean, pointer_join
from careflow.model.definition import Mark

_LANGUAGE_HINT = "use nn (nynorsk), nb (bokmål), en (English) or sv (Swedish)"
_ID_HINT = "use lower-case letters, digits and '_', starting with a letter (e.g. 'l1_s2')"


@cache
def packaged_schema(package: str, name: str) -> dict[str, Any]:
    """A JSON Schema shipped inside a careflow package (the process and the history schema), read once."""
    text = resources.files(package).joinpath(name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def process_schema() -> dict[str, Any]:
    return packaged_schema("careflow.definitions", "process.schema.json")


@cache
def _validator() -> Any:
    import jsonschema  # lazy: jsonschema is a cold-path import

    return jsonschema.Draft202012Validator(process_schema())


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


EXPECTED_TYPES = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number",
             "number": "a number", "boolean": "true or false", "null": "null"}


def _where(path: list[str | int]) -> str:
    """A readable name for the place at ``path``: "state 'triage'", "transition 3", "the top level"."""
    if not path:
        return "the top level"
    if (isinstance(path[-1], int) and path[:1] != ["transitions"]) or (isinstance(path[-1], int) and len(path) > 2):
        return f"item {path[-1]} of {_where(path[:-1])}"
    names = {"roles": "role", "data": "data field", "events": "event"}
    if path[0] == "transitions" and len(path) >= 2:
        base = f"transition {path[1]}"
        return base if len(path) == 2 else f"'{path[-1]}' of {base}"
    if path[0] == "states":
        states = [str(path[i + 1]) for i in range(len(path) - 1) if path[i] == "states"]
        if path[-1] == states[-1] if states else False:
            return f"state '{states[-1]}'"
        return f"'{path[-1]}' of state '{states[-1]}'" if states else f"'{path[-1]}'"
    if path[0] in names and len(path) >= 2:
        base = f"{names[str(path[0])]} '{path[1]}'"
        return base if len(path) == 2 else f"'{path[-1]}' of {base}"
    return f"'{path[-1]}'"


@cache
def _fast() -> Any:
    from careflow.definitions.schema_fast import compile_schema

    return compile_schema(process_schema())


def check_schema(doc: Any, marks: Mapping[str, Mark], file: str | None) -> list[Diagnostic]:
    """Every schema problem in ``doc``, located through ``marks``."""
    fast = _fast()
    if fast is not None and fast(doc):  # valid: no need for jsonschema's full (slower) walk
        return []
    out: list[Diagnostic] = []
    for error in _validator().iter_errors(doc):
        out.extend(_diagnose(error, marks, file))
    return out


def locate(marks: Mapping[str, Mark], file: str | None, pointer: str, value: bool) -> SourceLocation:
    p = pointer
    while p not in marks and p:
        p = p.rsplit("/", 1)[0]
    mark = marks.get(p)
    if mark is None:
        return SourceLocation(file, None, None, pointer)
    if value:
        return SourceLocation(mark.file, mark.value_line, mark.value_column, pointer)
    return SourceLocation(mark.file, mark.line, mark.column, pointer)


def _diagnose(error: Any, marks: Mapping[str, Mark], file: str | None) -> list[Diagnostic]:
    path: list[str | int] = list(error.absolute_path)
    pointer = pointer_join("", *path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    where = _where(path)

    if "propertyNames" in error.schema_path and isinstance(instance, str):
        # jsonschema reports a bad key at its mapping; point at the key itself
        kp = pointer_join(pointer, instance)
        if path and path[-1] in ("label", "description", "title"):
            return [Diagnostic("CF106", f"unknown language '{instance}' in {where}", locate(marks, file, kp, False),
                               _LANGUAGE_HINT)]
        return [Diagnostic("CF107", f"'{instance}' is not a valid name in {where}", locate(marks, file, kp, False),
                           _ID_HINT)]
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        out = []
        for key in instance:
            if key in schema.get("properties", {}):
                continue
            kp = pointer_join(pointer, key)
            out.append(Diagnostic("CF103", f"unknown key '{key}' in {where}", locate(marks, file, kp, False),
                                  did_you_mean(key, allowed, "key")))
        return out
    if kind == "required":
        missing = [m for m in schema.get("required", []) if isinstance(instance, dict) and m not in instance]
        hint = None
        if path and path[0] == "transitions" and "event" in missing:
            hint = "every transition needs 'event' and 'from' (and 'to', or 'internal: true')"
        return [Diagnostic("CF102", f"'{m}' is required in {where}", locate(marks, file, pointer, False), hint)
                for m in missing]
    if kind == "type":
        expected = schema.get("type")
        names = [expected] if isinstance(expected, str) else list(expected or [])
        want = " or ".join(EXPECTED_TYPES.get(n, n) for n in names)
        hint = None
        if path == ["version"] and isinstance(instance, int | float):
            hint = f'quote it: version: "{instance}"'
        elif ("string" in names and isinstance(instance, bool | int | float)) or instance is None:
            hint = "quote the value to make it text" if "string" in names else None
        elif "boolean" in names and isinstance(instance, str):
            hint = "write true or false without quotes (yes/no/on/off are text in careflow files)"
        return [Diagnostic("CF101", f"{where} must be {want}, not {type_name(instance)}",
                           locate(marks, file, pointer, True), hint)]
    if kind == "const" and path == ["careflow"]:
        return [Diagnostic("CF110", f"unsupported format version {instance!r}", locate(marks, file, pointer, True),
                           "this careflow reads format 1: write 'careflow: 1'")]
    if kind == "enum":
        options = [str(o) for o in schema.get("enum", [])]
        if set(options) <= {"nn", "nb", "en", "sv"}:
            close = did_you_mean(str(instance), options) or ""
            hint = (close + " " if close.startswith("did you mean") else "") + _LANGUAGE_HINT
            return [Diagnostic("CF106", f"unknown language {instance!r} in {where}",
                               locate(marks, file, pointer, True), hint)]
        return [Diagnostic("CF107", f"{instance!r} is not allowed in {where}", locate(marks, file, pointer, True),
                           "allowed: " + ", ".join(options))]
    if kind == "pattern":
        return [Diagnostic("CF107", f"{instance!r} is not a valid name for {where}",
                           locate(marks, file, pointer, True), _ID_HINT)]
    if kind in ("minLength", "minProperties", "minItems") and instance in ("", {}, []):
        return [Diagnostic("CF107", f"{where} must not be empty", locate(marks, file, pointer, True))]
    if kind == "uniqueItems":
        return [Diagnostic("CF107", f"{where} lists the same value twice", locate(marks, file, pointer, True),
                           "remove the repeated value")]
    # minimum, maximum, maxLength, …: jsonschema's message is already plain.
    return [Diagnostic("CF107", f"{where}: {error.message}", locate(marks, file, pointer, True))]
