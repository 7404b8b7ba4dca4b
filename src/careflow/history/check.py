"""The history schema as located diagnostics: which entry, which key, what is wrong, and a hint.

Only files that fail ``careflow.history.entries``' fast checks come here, so jsonschema is imported lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from careflow.definitions.schema_check import JSON_TYPE_WORDS, packaged_schema, type_name
from careflow.errors import Diagnostic, SourceLocation, did_you_mean, pointer_join


def history_schema() -> dict[str, Any]:
    """The history file schema (``careflow schema --history``)."""
    return packaged_schema("careflow.history", "history.schema.json")


@cache
def _validator(definition: str) -> Any:
    import jsonschema  # lazy: only files with problems get here

    schema = history_schema()
    return jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"})


def entry_diagnostics(obj: Any, problem: Any, index: int,
                       locate: Callable[[str], SourceLocation]) -> list[Diagnostic]:
    found = schema_diagnostics(obj, "entry", locate, f"entry {index}")
    if found:
        return found
    pointer = pointer_join("", problem.key) if problem.key else ""
    return [Diagnostic("CF107", f"entry {index}: {problem.message}", locate(pointer), problem.hint)]


def schema_diagnostics(value: Any, definition: str, locate: Callable[[str], SourceLocation],
                        where: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for error in _validator(definition).iter_errors(value):
        path = list(error.absolute_path)
        pointer = pointer_join("", *path)
        at = _where(path, where)
        schema = error.schema if isinstance(error.schema, dict) else {}
        kind, instance = error.validator, error.instance
        if kind == "additionalProperties" and isinstance(instance, dict):
            allowed = list(schema.get("properties", {}))
            for key in instance:
                if key not in allowed:
                    hint = "write 'from'/'to'" if key in ("source", "target") else did_you_mean(key, allowed, "key")
                    out.append(Diagnostic("CF103", f"unknown key '{key}' in {at}",
                                          locate(pointer_join(pointer, key)), hint))
        elif kind == "required":
            for name in schema.get("required", []):
                if isinstance(instance, dict) and name not in instance:
                    out.append(Diagnostic("CF102", f"'{name}' is required in {at}", locate(pointer)))
        elif kind == "type":
            names = [schema["type"]] if isinstance(schema.get("type"), str) else list(schema.get("type", []))
            want = " or ".join(JSON_TYPE_WORDS.get(n, n) for n in names)
            out.append(Diagnostic("CF101", f"{at} must be {want}, not {type_name(instance)}", locate(pointer)))
        elif kind == "enum":
            options = [str(o) for o in schema.get("enum", [])]
            out.append(Diagnostic("CF107", f"{at} must be one of {', '.join(options)}, not {instance!r}",
                                  locate(pointer), did_you_mean(str(instance), options)))
        elif kind == "const":
            out.append(Diagnostic("CF110", f"{at} must be {schema.get('const')!r}, not {instance!r}", locate(pointer)))
        else:
            out.append(Diagnostic("CF107", f"{at}: {error.message}", locate(pointer)))
    return out


def _where(path: list[str | int], where: str) -> str:
    names = [str(p) for p in path]
    if where and not names:
        return where
    if not names:
        return "the top level"
    if len(names) >= 2 and names[0] in ("entries", "history") and isinstance(path[1], int):
        entry = f"entry {names[1]}"
        return entry if len(names) == 2 else f"'{'/'.join(names[2:])}' of {entry}"
    return f"'{'/'.join(names)}'" + (f" of {where}" if where else "")


__all__ = ["entry_diagnostics", "history_schema", "schema_diagnostics"]
