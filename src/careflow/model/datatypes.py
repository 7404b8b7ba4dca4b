"""Declared data: the supported subset of JSON Schema (DataType) and the fields that use it."""

from __future__ import annotations

from typing import Any

import attrs

from careflow.model.durations import Duration
from careflow.model.text import EMPTY_TEXT, Text

DATA_KINDS: tuple[str, ...] = ("boolean", "integer", "number", "string", "array", "object")
STRING_FORMATS: tuple[str, ...] = ("date", "date-time")


@attrs.frozen
class DataType:
    """The supported subset of JSON Schema for case and event data."""

    kind: str  # one of DATA_KINDS
    nullable: bool = False
    enum: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    format: str | None = None  # for strings: "date" or "date-time"
    items: DataType | None = None  # for arrays
    min_items: int | None = None
    max_items: int | None = None
    unique_items: bool = False  # for arrays: no value twice (with an ``items`` enum: a set from a declared list)
    properties: tuple[tuple[str, DataType], ...] = ()  # for objects
    required: tuple[str, ...] = ()

    def property(self, name: str) -> DataType | None:
        for key, value in self.properties:
            if key == name:
                return value
        return None

    def describe(self) -> str:
        base = self.kind
        if self.kind == "string" and self.format:
            base = self.format
        if self.kind == "array" and self.items is not None:
            base = f"array of {'distinct ' if self.unique_items else ''}{self.items.describe()}"
        return base + (" or null" if self.nullable else "")


@attrs.frozen
class DataField:
    """A declared case data field or event parameter."""

    name: str
    type: DataType
    default: Any = None  # frozen JSON value; None means "not set"
    has_default: bool = False
    label: Text = EMPTY_TEXT
    description: Text = EMPTY_TEXT
    pointer: str = ""
    #: How long the field's values are kept after the case closes (overrides the process's); None: the process's.
    retention: Duration | None = None
