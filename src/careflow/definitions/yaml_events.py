"""The event reader behind ``read_yaml``: one pass over PyYAML's parser events with an explicit stack.

It builds plain values and a Mark per node, resolves scalars by the YAML 1.2 core schema, refuses
unsafe tags and duplicate keys, and stops (``Fatal``) when a limit it was given is exceeded.
"""

from __future__ import annotations

from typing import Any, NamedTuple, NoReturn

import attrs
import yaml

from careflow.definitions.yaml_positions import LINE_BREAK, parser_position
from careflow.definitions.yaml_scalars import UNRESOLVED, resolve_scalar
from careflow.errors import Diagnostic, SourceLocation, pointer_join
from careflow.model.marks import Mark

_STD = "tag:yaml.org,2002:"
_STD_TAGS = ("str", "int", "float", "bool", "null", "map", "seq")
DEPTH_HINT = "flatten the structure"


class Limits(NamedTuple):
    max_nodes: int
    max_aliases: int
    max_depth: int


def depth_message(max_depth: int) -> str:
    return f"the document is nested more than {max_depth} levels deep"


class Fatal(Exception):
    """Stops reading at once (bounds exceeded); the diagnostic is already recorded."""


def _tagname(tag: str) -> str:
    return "!!" + tag[len(_STD):] if tag.startswith(_STD) else tag


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


@attrs.define
class _Frame:
    """An open mapping or sequence. ``value`` is None when a bad tag made it unusable."""

    kind: str  # "map" or "seq"
    value: Any
    pointer: str
    keep: bool  # its nodes' marks go into the document's marks
    record: bool  # its nodes go into ``order`` (so aliases of anchors around them can copy marks)
    mark: Mark
    anchor: str | None
    count0: int  # the node count when it started
    order0: int  # where its descendants start in ``order``
    height: int = 0
    index: int = 0  # the next sequence index
    want_key: bool = True  # (mappings) the next node is a key
    key: str | None = None  # the pending entry's key, when it is a string
    key_pos: tuple[int, int] = (0, 0)
    skip: bool = False  # the pending entry is dropped (duplicate or bad key)
    seen: dict[str, tuple[int, int]] = attrs.Factory(dict)


@attrs.define
class _Anchor:
    value: Any
    count: int  # nodes in the subtree, aliases expanded
    height: int  # containers nested in it, aliases expanded
    base: str  # its pointer; the marks under it are order[start:end]
    start: int
    end: int
    style: str | None


class EventReader:
    """Builds the value and marks of one document from parser events, within the limits it is given."""

    def __init__(self, text: str, file: str | None, loader: Any, limits: Limits) -> None:
        self.text, self.file = text, file
        self.loader = loader
        self.max_nodes, self.max_aliases, self.max_depth = limits
        self.documents = 0  # "---" starts another; more than one is refused
        self.marks: dict[str, Mark] = {}
        self.order: list[tuple[str, Mark]] = []  # every recorded node, so aliases can copy marks
        self.diags: list[Diagnostic] = []
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Anchor] = {}
        self.open_anchors: set[str] = set()
        self.nodes = self.aliases = 0
        self.root: Any = None
        self._lines: list[str] | None = None

    def error(self, code: str, message: str, line: int | None, column: int | None, pointer: str,
              hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, SourceLocation(self.file, line, column, pointer), hint))

    def line(self, n: int) -> str:
        if self._lines is None:
            self._lines = LINE_BREAK.split(self.text)
        return self._lines[n] if 0 <= n < len(self._lines) else ""

    def here(self) -> str:
        """The pointer of the place being read (for syntax errors): where the next node would go."""
        return self.slot((0, 0), (0, 0), None)[0]

    # -- the event loop ------------------------------------------------------------------------

    def run(self) -> None:
        self.documents = 0
        for event in yaml.parse(self.text, Loader=self.loader):
            if isinstance(event, yaml.ScalarEvent):  # the most common event first
                self.scalar(event)
            elif isinstance(event, yaml.CollectionStartEvent):
                self.start(event)
            elif isinstance(event, yaml.CollectionEndEvent):
                self.end()
            elif isinstance(event, yaml.AliasEvent):
                self.alias(event)
            elif isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    self.error("CF001", "the file holds more than one YAML document",
                               *parser_position(event.start_mark), "", "a process is one document: remove the '---' "
                               "line, or split the documents into separate files")
                    return

    def slot(self, start: tuple[int, int], vpos: tuple[int, int], style: str | None
             ) -> tuple[str, bool, bool, Mark]:
        """Pointer, keep (goes into marks), record (goes into order) and mark of a node starting here."""
        if not self.stack:
            return "", True, True, Mark(self.file, *start, *vpos, style)
        top = self.stack[-1]
        live = top.record and top.value is not None
        if top.kind == "seq":
            ptr = pointer_join(top.pointer, top.index)
            return ptr, top.keep and live, live, Mark(self.file, *start, *vpos, style)
        if top.want_key:  # keys have no pointer of their own; report them at the mapping
            return top.pointer, False, live, Mark(self.file, *start, *vpos, style)
        ptr = top.pointer if top.key is None else pointer_join(top.pointer, top.key)
        keep = top.keep and live and not top.skip and top.key is not None
        return ptr, keep, live, Mark(self.file, *top.key_pos, *vpos, style)

    def count(self, n: int, line: int, column: int, pointer: str) -> None:
        self.nodes += n
        if self.nodes > self.max_nodes:
            self.fatal("CF004", f"the document has more than {self.max_nodes} nodes (aliases expanded)",
                       line, column, pointer, "a process file is never this big; check aliases ('*name')")

    def check_depth(self, depth: int, line: int, column: int, pointer: str) -> None:
        if depth > self.max_depth:
            self.fatal("CF005", depth_message(self.max_depth), line, column, pointer, DEPTH_HINT)

    def fatal(self, code: str, message: str, line: int, column: int, pointer: str, hint: str) -> NoReturn:
        self.error(code, message, line, column, pointer, hint)
        raise Fatal

    def note(self, pointer: str, keep: bool, record: bool, mark: Mark) -> None:
        if keep:
            self.marks.setdefault(pointer, mark)
        if record:
            self.order.append((pointer, mark))

    def bad_tag(self, tag: str, line: int, column: int, pointer: str, kind: str = "scalar") -> None:
        name = _tagname(tag)
        if tag.startswith(_STD) and tag[len(_STD):] in _STD_TAGS:  # a standard tag on the wrong kind
            self.error("CF101", f"a {kind} cannot be tagged {name}", line, column, pointer, f"remove {name}")
        else:
            self.error("CF003", f"the tag '{name}' is not allowed", line, column, pointer,
                       "only the standard tags !!str, !!int, !!float, !!bool, !!null, !!map and !!seq "
                       "are allowed; nothing in a file is ever executed")

    def scalar(self, ev: yaml.ScalarEvent) -> None:
        line, col = parser_position(ev.start_mark)
        style = ev.style or None
        vpos = self.block_start(ev) if style in ("|", ">") else (line, col)
        ptr, keep, record, mark = self.slot((line, col), vpos, style)
        end: Any = ev.end_mark
        if style in ("'", '"', ">") or (style is None and end.line + 1 > line):
            mark = mark._replace(raw=self.raw_text(ev, vpos))
        self.count(1, line, col, ptr)
        tag, bad = ev.tag, False
        value: Any
        if tag is None:
            value = resolve_scalar(ev.value) if style is None else ev.value
        elif tag == "!":  # the non-specific tag: a string, whatever it looks like
            value = ev.value
        elif tag.startswith(_STD) and tag[len(_STD):] in _STD_TAGS[:5]:
            value = resolve_scalar(ev.value, tag[len(_STD):])
            if value is UNRESOLVED:
                value, bad = None, True
                self.error("CF101", f"'{_short(ev.value)}' is not a valid {_tagname(tag)}", line, col, ptr,
                           f"remove the {_tagname(tag)} tag or fix the value")
        else:
            value, bad = None, True
            self.bad_tag(tag, line, col, ptr)
        if value is UNRESOLVED:  # an untagged int with too many digits
            value, bad = None, True
            self.error("CF101", "the number has too many digits", line, col, ptr, "quote it if it is text")
        self.note(ptr, keep, record, mark)
        if ev.anchor is not None:
            n = len(self.order)
            self.anchors[ev.anchor] = _Anchor(value, 1, 0, ptr, n, n, style)
        merge = tag is None and style is None and ev.value == "<<"
        self.finish(value, 0, bad, merge, line, col, ev.value)

    def raw_text(self, ev: yaml.ScalarEvent, vpos: tuple[int, int]) -> str:
        """The scalar's source text, from its first character (``vpos``, 1-based) to its end."""
        end: Any = ev.end_mark
        first, last = vpos[0] - 1, end.line
        lines = [self.line(n) for n in range(first, last + 1)]
        lines[-1] = lines[-1][: end.column] if last > first else lines[-1][vpos[1] - 1: end.column]
        if last > first:
            lines[0] = lines[0][vpos[1] - 1:]
        return "\n".join(lines)

    def block_start(self, ev: yaml.ScalarEvent) -> tuple[int, int]:
        """Where a block scalar's text starts: the first non-space character after its header line.

        The event's mark is at the indicator (or at an anchor/tag before it), not at the text.
        """
        start: Any = ev.start_mark
        end: Any = ev.end_mark
        text = self.line(start.line)[start.column:]
        header = start.line
        while header < end.line:  # skip the node's properties, which may stand on lines of their own
            text = text.lstrip(" \t")
            if text[:1] in ("|", ">"):
                break
            if text[:1] in ("&", "!"):
                text = text.split(None, 1)[1] if len(text.split(None, 1)) > 1 else ""
                continue
            header += 1
            text = self.line(header)
        if ev.value.strip():
            for n in range(header + 1, end.line + 1):
                text = self.line(n)
                stripped = text.lstrip(" ")
                if stripped:
                    if (n, len(text) - len(stripped)) < (end.line, end.column):
                        return n + 1, len(text) - len(stripped) + 1
                    break
        return start.line + 1, start.column + 1

    def alias(self, ev: yaml.AliasEvent) -> None:
        line, col = parser_position(ev.start_mark)
        name = ev.anchor or ""
        found = self.anchors.get(name)
        ptr, keep, record, mark = self.slot((line, col), (line, col), found.style if found else None)
        if found is None or name in self.open_anchors:
            self.count(1, line, col, ptr)
            if name in self.open_anchors:
                self.error("CF001", f"the alias '*{name}' is used inside the node it names", line, col,
                           ptr, "a value cannot contain itself; repeat the data instead")
            else:
                self.error("CF001", f"the alias '*{name}' has no anchor", line, col, ptr,
                           f"define '&{name}' on a value above this line, or check the spelling")
            self.note(ptr, keep, record, mark)
            self.finish(None, 0, True, False, line, col)
            return
        self.aliases += 1
        if self.aliases > self.max_aliases:
            self.fatal("CF004", f"more than {self.max_aliases} aliases", line, col, ptr,
                       "repeat the data or simplify the file")
        self.count(found.count, line, col, ptr)
        self.check_depth(len(self.stack) + found.height, line, col, ptr)
        self.note(ptr, keep, record, mark)
        if keep or record:
            cut = len(found.base)
            for sub, submark in self.order[found.start:found.end]:  # a copy: note() appends to order
                self.note(ptr + sub[cut:], keep, record,
                          Mark(self.file, line, col, line, col, submark.style))
        self.finish(found.value, found.height, False, False, line, col)

    def start(self, ev: yaml.CollectionStartEvent) -> None:
        line, col = parser_position(ev.start_mark)
        kind = "map" if isinstance(ev, yaml.MappingStartEvent) else "seq"
        ptr, keep, record, mark = self.slot((line, col), (line, col), None)
        self.count(1, line, col, ptr)
        self.check_depth(len(self.stack) + 1, line, col, ptr)
        value: Any = {} if kind == "map" else []
        tag = ev.tag
        if tag is not None and tag != "!" and tag != _STD + kind:
            value = None  # its contents are still read (and checked) but dropped
            self.bad_tag(tag, line, col, ptr, "mapping" if kind == "map" else "sequence")
        self.note(ptr, keep, record, mark)
        self.stack.append(_Frame(kind, value, ptr, keep, record, mark, ev.anchor, self.nodes,
                                 len(self.order)))
        if ev.anchor is not None:
            self.open_anchors.add(ev.anchor)

    def end(self) -> None:
        frame = self.stack.pop()
        height = frame.height + 1
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = _Anchor(frame.value, self.nodes - frame.count0 + 1, height,
                                                 frame.pointer, frame.order0, len(self.order), None)
        self.finish(frame.value, height, frame.value is None, False, frame.mark.line, frame.mark.column)

    def finish(self, value: Any, height: int, bad: bool, merge: bool, line: int, col: int, raw: str = ""
               ) -> None:
        """Attach a finished node to its parent."""
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        top.height = max(top.height, height)
        if top.kind == "seq":
            if top.value is not None:
                top.value.append(value)
            top.index += 1
            return
        if not top.want_key:
            if not top.skip and top.key is not None and top.value is not None:
                top.value[top.key] = value
            top.want_key = True
            return
        # a key: decide whether its entry is kept
        top.want_key, top.key, top.key_pos, top.skip = False, None, (line, col), True
        if merge:
            self.error("CF003", "merge keys ('<<') are not supported", line, col, top.pointer,
                       "merge keys are not supported; repeat the keys")
        elif isinstance(value, str) and not bad:
            top.key = value
            first = top.seen.get(value)
            if first is None:
                top.seen[value], top.skip = (line, col), False
            else:
                self.error("CF002", f"duplicate key '{_short(value)}'", line, col, top.pointer,
                           f"first defined at line {first[0]}, column {first[1]}")
        elif not bad:
            complex_key = isinstance(value, dict | list)
            text = _short(raw or ("" if value is None else str(value)))
            kind = {bool: "a boolean", int: "a number", float: "a number"}.get(type(value), "null")
            self.error("CF007", "a key that is a mapping or sequence" if complex_key else
                       f"the key '{text}' is {kind}, not a string", line, col, top.pointer,
                       "keys must be plain text" if complex_key else f"quote it: \"{text}\"")
