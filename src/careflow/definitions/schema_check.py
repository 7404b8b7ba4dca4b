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
from careflow.model.values import show_value

_LANGUAGE_HINT = "use nn (nynorsk), nb (bokmål), en (English) or sv (Swedish)"
_ID_HINT = ("ids use only a-z, 0-9 and '_' (no æ, ø, å, capitals, spaces or '-'), starting with a letter: "
            "e.g. 'motta_henvisning' or 'l1_s2'")


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


def transition_name(index: Any, doc: Any) -> str:
    """Transitions counted from 1, as an author counts them, with their event: "transition 9 (event 'x')"."""
    items = doc.get("transitions") if isinstance(doc, dict) else None
    item = items[index] if isinstance(items, list) and isinstance(index, int) and index < len(items) else None
    event = item.get("event") if isinstance(item, dict) else None
    number = index + 1 if isinstance(index, int) else index
    return f"transition {number} (event '{event}')" if isinstance(event, str) else f"transition {number}"


def _where(path: list[str | int], doc: Any = None) -> str:
    """A readable name for the place at ``path``: "state 'triage'", "transition 3", "the top level"."""
    if not path:
        return "the top level"
    if (isinstance(path[-1], int) and path[:1] != ["transitions"]) or (isinstance(path[-1], int) and len(path) > 2):
        return f"item {path[-1] + 1} of {_where(path[:-1], doc)}"
    names = {"roles": "role", "data": "data field", "events": "event"}
    if path[0] == "transitions" and len(path) >= 2:
        base = transition_name(path[1], doc)
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
        out.extend(_diagnose(error, marks, file, doc))
    return out


def _diagnose(error: Any, marks: Mapping[str, Mark], file: str | None, doc: Any = None) -> list[Diagnostic]:
    path: list[str | int] = list(error.absolute_path)
    pointer = pointer_join("", *path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    where = _where(path, doc)
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
        return [Diagnostic("CF102", f"'{m}' is required in {where}", source.locate(pointer), _required_hint(path, m))
                for m in missing]
    if kind == "type":
        return [_wrong_type(path, schema.get("type"), instance, where, at_value)]
    if kind == "const" and path == ["careflow"]:
        return [Diagnostic("CF110", f"unsupported format version {show_value(instance)}", at_value,
                           "this careflow reads format 1: write 'careflow: 1'")]
    if kind == "enum":
        return [_not_allowed(schema.get("enum", []), instance, where, at_value)]
    if kind == "pattern" and (path[-1:] in (["due"], ["every"], ["until"]) or _is_retention(path)):
        return []  # the builder says why, as CF109, with examples
    if kind == "pattern":
        return [Diagnostic("CF107", f"{show_value(instance)} is not a valid name for {where}", at_value, _ID_HINT)]
    if kind in ("minLength", "minProperties", "minItems") and instance in ("", {}, []):
        return [Diagnostic("CF107", f"{where} must not be empty", at_value, "give it a value, or remove the key")]
    if kind == "uniqueItems":
        return [Diagnostic("CF107", f"{where} lists the same value twice", at_value, "remove the repeated value")]
    # minimum, maximum, maxLength, …: jsonschema's message is already plain.
    return [Diagnostic("CF107", f"{where}: {error.message}", at_value, _limit_hint(kind, schema))]


def _is_retention(path: list[str | int]) -> bool:
    """``retention`` of the process or of a case data field (not a data field named ``retention``)."""
    return path == ["retention"] or (len(path) == 3 and path[0] == "data" and path[2] == "retention")


def _bad_key(path: list[str | int], key: str, where: str, at_key: SourceLocation) -> Diagnostic:
    """jsonschema reports a bad key at its mapping; we point at the key itself."""
    if path and path[-1] in ("label", "description", "title"):
        return Diagnostic("CF106", f"unknown language '{key}' in {where}", at_key, _LANGUAGE_HINT)
    return Diagnostic("CF107", f"{key!r} is not a valid name in {where}", at_key, _ID_HINT)  # repr: no raw line breaks


def _wrong_type(path: list[str | int], expected: Any, instance: Any, where: str, at: SourceLocation) -> Diagnostic:
    names = [expected] if isinstance(expected, str) else list(expected or [])
    want = " or ".join(JSON_TYPE_WORDS.get(n, n) for n in names)
    hint = None
    if _is_retention(path):
        hint = "a retention is an ISO-8601 duration: write e.g. P10Y (10 years) or P6M (6 months), without quotes"
    elif path[-1:] in (["due"], ["every"], ["until"]) and isinstance(instance, int | float):
        hint = "a deadline is an ISO-8601 duration: write e.g. P14D (14 days) or P2W (2 weeks), without quotes"
    elif path == ["version"] and isinstance(instance, int | float):
        hint = f'quote it: version: "{instance}"'
    elif ("string" in names and isinstance(instance, bool | int | float)) or instance is None:
        hint = "quote the value to make it text" if "string" in names else _shape_hint(names)
    elif "boolean" in names and isinstance(instance, str):
        hint = "write true or false without quotes (yes/no/on/off are text in careflow files)"
    else:
        hint = _shape_hint(names)
    return Diagnostic("CF101", f"{where} must be {want}, not {type_name(instance)}", at, hint)


def _not_allowed(enum: list[Any], instance: Any, where: str, at: SourceLocation) -> Diagnostic:
    options = [str(o) for o in enum]
    if set(options) <= {"nn", "nb", "en", "sv"}:
        close = did_you_mean(str(instance), options) or ""
        hint = (close + " " if close.startswith("did you mean") else "") + _LANGUAGE_HINT
        return Diagnostic("CF106", f"unknown language {show_value(instance)} in {where}", at, hint)
    close = did_you_mean(str(instance), options) or ""
    return Diagnostic("CF107", f"{show_value(instance)} is not allowed in {where}", at,
                      (close + " " if close.startswith("did you mean") else "") + "allowed: " + ", ".join(options))


# What to write when a required key is missing: an example line per key.
_REQUIRED_EXAMPLES = {
    "careflow": "careflow: 1", "id": "id: my_process", "version": 'version: "1.0"', "title": "title: {nb: …, en: …}",
    "language": "language: nb", "initial": "initial: <id of the first state>", "type": "type: string",
    "event": "event: <event id>", "from": "from: <state id>", "process": "process: <id of the process to start>",
    "label": "label: {nb: …}",
}


def _required_hint(path: list[str | int], key: str) -> str:
    if path and path[0] == "transitions" and key in ("event", "from"):
        return (f"add {_REQUIRED_EXAMPLES[key]}; every transition needs 'event' and 'from' "
                "(and 'to', or 'internal: true')")
    if path == [] and key in ("title", "language", "initial"):
        return f"add {_REQUIRED_EXAMPLES[key]} (only a file with 'extends' may leave it to its base)"
    return f"add {_REQUIRED_EXAMPLES.get(key, key + ': …')}"


def _shape_hint(names: list[str]) -> str | None:
    if "array" in names:
        return "write a list: [a, b] on one line, or one '- item' per line below the key"
    if "object" in names:
        return "write indented 'key: value' lines below it, or {key: value} on one line"
    if "integer" in names or "number" in names:
        return "write a number without quotes, e.g. 3"
    return None


def _limit_hint(kind: str, schema: dict[str, Any]) -> str:
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"use a number within the limit ({kind} {schema.get(kind)})"
    if kind in ("maxLength", "maxItems", "maxProperties"):
        return "make it shorter"
    return "see the format description in docs/format.md"
