"""Source positions: where each JSON pointer of a definition's file starts (Mark, SourceMap)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import attrs

from careflow.errors import SourceLocation


class Mark(NamedTuple):
    """Where a JSON pointer's key and value start in a file (1-based lines and columns).

    A NamedTuple, not an attrs class: the YAML reader makes one per node, and this is the
    cheapest immutable record to build.
    """

    file: str | None
    line: int
    column: int
    value_line: int
    value_column: int
    style: str | None = None  # scalar style of the value: None (plain), "'", '"', "|", ">"
    # The value's source text, kept only where it differs from the value (quoted, folded or
    # multi-line scalars), so that a column inside the value can be found in the file.
    raw: str | None = None


@attrs.frozen(eq=False)
class SourceMap:
    """JSON pointer -> Mark, for every node of the document(s) a definition came from."""

    marks: Mapping[str, Mark] = attrs.field(factory=dict)
    file: str | None = None

    def get(self, pointer: str) -> Mark | None:
        """The mark of ``pointer``, or of its nearest ancestor that has one."""
        p = pointer
        while True:
            if p in self.marks:
                return self.marks[p]
            if not p:
                return None
            p = p.rsplit("/", 1)[0]

    def locate(self, pointer: str, value: bool = False) -> SourceLocation:
        """A SourceLocation for ``pointer``: its key's position, or its value's with ``value=True``."""
        mark = self.get(pointer)
        if mark is None:
            return SourceLocation(self.file, None, None, pointer)
        if value:
            return SourceLocation(mark.file, mark.value_line, mark.value_column, pointer)
        return SourceLocation(mark.file, mark.line, mark.column, pointer)
