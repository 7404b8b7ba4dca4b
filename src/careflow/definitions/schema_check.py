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

from careflow.definitions.schema_fast import ecma_regex
from careflow.errors import Diagnostic, SourceLocation, did_you_mean, pointer_join
from careflow.model.marks import Mark, SourceMap

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

    def pattern(validator: Any, regex: str, instance: Any, schema: Any) -> Any:  # "$" as JSON Schema reads it
        if validator.is_type(instance, "string") and not ecma_regex(regex).search(instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {regex!r}")

    strict = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator, {"pattern": pattern})
    return strict(process_schema())


# bool before int: True is an int too
_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (type(None), "null"), (bool, "true/false"), (int, "a whole number"), (float, "a number"), (str, "text"),
    (list, "a list"), (dict, "a mapping"))


def type_name(value: Any) -> str:
    return next((name for kind, name in _TYPE_NAMES if isinstance(value, kind)), type(value).__name__)


JSON_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number",
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


def _diagnose(error: Any, marks: Mapping[str, Mark], file: str | None) -> list[Diagnostic]:
    path: list[str | int] = list(error.absolute_path)
    pointer = pointer_join("", *path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    where = _where(path)
    source = SourceMap(marks, file)
    at_value = source.locate(pointer, value=True)

    if "propertyNames" in error.schema_path and isinstance(instance, str):
        return [_bad_key(path, instance, where, source.locate(pointer_join(pointer, instance)))]
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        return [Diagnostic("CF103", f"unknown key '{key}' in {where}", source.locate(pointer_join(pointer, key)),
                           did_you_mean(key, allowed, "key"))
                for key in instance if key not in allowed]
    if kind == "required":
        missing = [m for m in schema.get("required", []) if isinstance(instance, dict) and m not in instance]
        hint = None
        if path and path[0] == "transitions" and "event" in missing:
            hint = "every transition needs 'event' and 'from' (and 'to', or 'internal: true')"
        return [Diagnostic("CF102", f"'{m}' is required in {where}", source.locate(pointer), hint) for m in missing]
    if kind == "type":
        return [_wrong_type(path, schema.get("type"), instance, where, at_value)]
    if kind == "const" and path == ["careflow"]:
        return [Diagnostic("CF110", f"unsupported format version {instance!r}", at_value,
                           "this careflow reads format 1: write 'careflow: 1'")]
    if kind == "enum":
        return [_not_allowed(schema.get("enum", []), instance, where, at_value)]
    if kind == "pattern":
        return [Diagnostic("CF107", f"{instance!r} is not a valid name for {where}", at_value, _ID_HINT)]
    if kind in ("minLength", "minProperties", "minItems") and instance in ("", {}, []):
        return [Diagnostic("CF107", f"{where} must not be empty", at_value)]
    if kind == "uniqueItems":
        return [Diagnostic("CF107", f"{where} lists the same value twice", at_value, "remove the repeated value")]
    # minimum, maximum, maxLength, …: jsonschema's message is already plain.
    return [Diagnostic("CF107", f"{where}: {error.message}", at_value)]


def _bad_key(path: list[str | int], key: str, where: str, at_key: SourceLocation) -> Diagnostic:
    """jsonschema reports a bad key at its mapping; we point at the key itself."""
    if path and path[-1] in ("label", "description", "title"):
        return Diagnostic("CF106", f"unknown language '{key}' in {where}", at_key, _LANGUAGE_HINT)
    return Diagnostic("CF107", f"{key!r} is not a valid name in {where}", at_key, _ID_HINT)  # repr: no raw line breaks


def _wrong_type(path: list[str | int], expected: Any, instance: Any, where: str, at: SourceLocation) -> Diagnostic:
    names = [expected] if isinstance(expected, str) else list(expected or [])
    want = " or ".join(JSON_TYPE_WORDS.get(n, n) for n in names)
    hint = None
    if path == ["version"] and isinstance(instance, int | float):
        hint = f'quote it: version: "{instance}"'
    elif ("string" in names and isinstance(instance, bool | int | float)) or instance is None:
        hint = "quote the value to make it text" if "string" in names else None
    elif "boolean" in names and isinstance(instance, str):
        hint = "write true or false without quotes (yes/no/on/off are text in careflow files)"
    return Diagnostic("CF101", f"{where} must be {want}, not {type_name(instance)}", at, hint)


def _not_allowed(enum: list[Any], instance: Any, where: str, at: SourceLocation) -> Diagnostic:
    options = [str(o) for o in enum]
    if set(options) <= {"nn", "nb", "en", "sv"}:
        close = did_you_mean(str(instance), options) or ""
        hint = (close + " " if close.startswith("did you mean") else "") + _LANGUAGE_HINT
        return Diagnostic("CF106", f"unknown language {instance!r} in {where}", at, hint)
    return Diagnostic("CF107", f"{instance!r} is not allowed in {where}", at, "allowed: " + ", ".join(options))
