"""``retention:`` as the builder reads it: how long a closed case's data is kept, for the whole process
(top level) and per case data field (``data: {field: {retention: P5Y}}``).

Both are ISO-8601 durations counted from closing, checked like deadlines (CF109: not a duration, or
longer than P100Y). A field's own retention overrides the process's for that field, shorter or longer
(some records must be kept longer than the rest of the case). ``retention`` anywhere else a data type
is written (event ``params``, a list's ``items``, a mapping's ``properties``) means nothing: CF107.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from careflow.definitions.deadlines import duration_of
from careflow.errors import pointer_join
from careflow.model.durations import Duration

if TYPE_CHECKING:
    from careflow.definitions.builder import Builder

_NOT_HERE = ("retention applies to a whole case (top level) or to a case data field (under 'data:'); "
             "remove it here")


def process_retention(b: Builder, doc: dict[str, Any]) -> Duration | None:
    """The top-level ``retention``, or None when absent or wrong (reported)."""
    text = doc.get("retention")
    return duration_of(b, text, "/retention", "retention", "retention") if isinstance(text, str) else None


def field_retention(b: Builder, fdoc: Any, pointer: str) -> Duration | None:
    """A case data field's ``retention`` (``pointer``: the field's), None when absent or wrong (reported);
    ``retention`` inside its ``items`` or ``properties`` is reported (CF107)."""
    if not isinstance(fdoc, dict):
        return None
    nested_retention(b, fdoc, pointer, top=True)
    text = fdoc.get("retention")
    at = pointer_join(pointer, "retention")
    return duration_of(b, text, at, "retention", "retention") if isinstance(text, str) else None


def nested_retention(b: Builder, doc: Any, pointer: str, top: bool = False) -> None:
    """CF107 for each ``retention`` in a data type that is not a case data field (``top``: ``doc`` is one,
    so only what is inside it is looked at)."""
    if not isinstance(doc, dict):
        return
    if not top and "retention" in doc:
        b.report("CF107", "'retention' has no meaning here", pointer_join(pointer, "retention"), _NOT_HERE)
    if isinstance(doc.get("items"), dict):
        nested_retention(b, doc["items"], pointer_join(pointer, "items"))
    properties = doc.get("properties")
    if isinstance(properties, dict):
        for key, sub in properties.items():
            nested_retention(b, sub, pointer_join(pointer, "properties", key))


def params_retention(b: Builder, transitions: Any) -> None:
    """CF107 for ``retention`` on an event's ``params`` (event data follows the process's retention)."""
    if not isinstance(transitions, list):
        return
    for index, t in enumerate(transitions):
        params = t.get("params") if isinstance(t, dict) else None
        if isinstance(params, dict):
            for name, pdoc in params.items():
                nested_retention(b, pdoc, pointer_join("/transitions", index, "params", name))


__all__ = ["field_retention", "nested_retention", "params_retention", "process_retention"]
