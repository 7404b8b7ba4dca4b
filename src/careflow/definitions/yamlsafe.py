"""A YAML reader that never executes anything, never crashes, is bounded, and remembers positions.

We drive PyYAML's *event* parser (libyaml when available) and build plain JSON-like values in
one pass with an explicit stack, so no constructor ever runs and a 10,000-deep document cannot
hit Python's recursion limit. Choices the loader relies on:

* Plain scalars resolve by the YAML 1.2 core schema (``yes``/``on``/dates stay strings,
  ``0755`` is 755); quoted scalars are strings. Standard ``!!str/int/float/bool/null/map/seq``
  tags and the non-specific ``!`` are honoured; a value that does not fit its tag is CF101.
  Any other tag is CF003 and the node becomes None; reading goes on to collect more problems.
* Keys must be strings (CF007); a duplicate key is CF002 at the second occurrence and the first
  value wins. A plain ``<<`` merge key is refused (CF003) and its entry skipped.
* Aliases share the anchored value by reference (treat values as read-only). Marks under an
  alias point at the alias. An undefined or self-containing alias is CF001 (value None).
* Bounds: > MAX_ALIASES aliases or > MAX_NODES nodes (keys included, aliases expanded) -> CF004;
  nesting (aliases expanded) > MAX_DEPTH -> CF005; > MAX_BYTES (UTF-8) -> CF006. All fatal.
* Bytes are decoded here as YAML prescribes (UTF-16 by BOM, else UTF-8) so a bad byte or a
  control character is reported at its exact line and column (CF009, CF001).
* A second document is CF001 but not fatal: the first document's value is kept, the rest unread.
* ``fatal`` means "do not use ``value``": it is then None and ``marks`` is empty.
"""

from __future__ import annotations

import codecs
import math
import os
import re
import stat
from typing import Any, NoReturn

import attrs
import yaml

from careflow.errors import Diagnostic, SourceLocation, pointer_join
from careflow.model.marks import Mark

__all__ = ["MAX_ALIASES", "MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "YamlDocument", "read_yaml",
           "read_yaml_file"]

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 100
MAX_NODES = 100_000

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STD = "tag:yaml.org,2002:"
_NULL = re.compile(r"null|Null|NULL|~|")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT10 = re.compile(r"[-+]?[0-9]+")
_INTX = re.compile(r"0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
# YAML's printable set (1.2 §5.1); checked up front so the position is exact for either parser.
_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # the line breaks libyaml counts
_STD_TAGS = ("str", "int", "float", "bool", "null", "map", "seq")
_MISSING = object()  # a scalar that failed resolution
_DEPTH_HINT = "flatten the structure"
# libyaml's own nesting limit ("exceeded maximum nesting depth", since 0.2.6 / PyYAML 6.0.3+)
_PARSER_DEPTH = re.compile(r"nesting depth", re.IGNORECASE)
_SPECIAL_START = frozenset("0123456789+-.~nNtTfF")  # first characters of core-schema nulls, bools, numbers


@attrs.frozen
class YamlDocument:
    value: Any
    marks: dict[str, Mark]
    diagnostics: list[Diagnostic]
    fatal: bool


class _Fatal(Exception):
    """Stops reading at once (bounds exceeded); the diagnostic is already recorded."""


def _tagname(tag: str) -> str:
    return "!!" + tag[len(_STD):] if tag.startswith(_STD) else tag


def _at(mark: Any) -> tuple[int, int]:
    """A parser mark as a 1-based (line, column); events always carry marks."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _core(text: str, kind: str | None = None) -> Any:
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
            return _MISSING
        return float(number) if kind == "float" else number
    if kind in (None, "float"):
        if _FLOAT.fullmatch(text):
            return float(text)
        if _INF.fullmatch(text):
            return -math.inf if text[0] == "-" else math.inf
        if _NAN.fullmatch(text):
            return math.nan
    return text if kind in (None, "str") else _MISSING


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


class _Reader:
    def __init__(self, text: str, file: str | None, loader: Any = None) -> None:
        self.text, self.file = text, file
        self.loader = _Loader if loader is None else loader
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
            self._lines = _BREAK.split(self.text)
        return self._lines[n] if 0 <= n < len(self._lines) else ""

    def here(self) -> str:
        """The pointer of the place being read (for syntax errors): where the next node would go."""
        return self.slot((0, 0), (0, 0), None)[0]

    # -- the event loop ------------------------------------------------------------------------

    def run(self) -> None:
        documents = 0
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
                documents += 1
                if documents > 1:
                    self.error("CF001", "the file holds more than one YAML document",
                               *_at(event.start_mark), "", "a process is one document: remove the '---' "
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
        if self.nodes > MAX_NODES:
            self.fatal("CF004", f"the document has more than {MAX_NODES} nodes (aliases expanded)",
                       line, column, pointer, "a process file is never this big; check aliases ('*name')")

    def check_depth(self, depth: int, line: int, column: int, pointer: str) -> None:
        if depth > MAX_DEPTH:
            self.fatal("CF005", _depth_message(), line, column, pointer, _DEPTH_HINT)

    def fatal(self, code: str, message: str, line: int, column: int, pointer: str, hint: str) -> NoReturn:
        self.error(code, message, line, column, pointer, hint)
        raise _Fatal

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
        line, col = _at(ev.start_mark)
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
            value = _core(ev.value) if style is None else ev.value
        elif tag == "!":  # the non-specific tag: a string, whatever it looks like
            value = ev.value
        elif tag.startswith(_STD) and tag[len(_STD):] in _STD_TAGS[:5]:
            value = _core(ev.value, tag[len(_STD):])
            if value is _MISSING:
                value, bad = None, True
                self.error("CF101", f"'{_short(ev.value)}' is not a valid {_tagname(tag)}", line, col, ptr,
                           f"remove the {_tagname(tag)} tag or fix the value")
        else:
            value, bad = None, True
            self.bad_tag(tag, line, col, ptr)
        if value is _MISSING:  # an untagged int with too many digits
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
        line, col = _at(ev.start_mark)
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
        if self.aliases > MAX_ALIASES:
            self.fatal("CF004", f"more than {MAX_ALIASES} aliases", line, col, ptr,
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
        line, col = _at(ev.start_mark)
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


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character index, counting line breaks as libyaml does."""
    lines = _BREAK.split(text[:index])
    return len(lines), len(lines[-1]) + 1


def _syntax_hint(problem: str, context: str, char: str) -> str | None:
    if char == "\t" or "tab" in problem:
        return "use spaces, not tabs, to indent"
    if "mapping values are not allowed" in problem:
        return "quote a value that contains ': ' (note: \"Step 1: call\"), or fix the indentation"
    if "quoted scalar" in context and "end of stream" in problem:
        return "a quote is not closed"
    if "flow sequence" in context:
        return "a '[' is not closed with ']', or items need a ',' between them"
    if "flow mapping" in context:
        return "a '{' is not closed with '}', or entries need a ',' between them"
    if "escape" in problem:
        return "in double quotes write a backslash as '\\\\', or use single quotes"
    if "cannot start any token" in problem and char and char in "@`%":
        return f"quote a value that starts with '{char}'"
    if "expected key" in problem or "'-' indicator" in problem or "expected ':'" in problem:
        return "check the indentation: entries of one mapping or list must line up"
    if "document start" in problem:
        return "there is text after the end of the document; check brackets and indentation"
    return None


_KEY_LINE = re.compile(r"^\s*(- )?[A-Za-z_][\w-]*:(\s|$)")
_QUOTE_START = re.compile(r"""(?:^|[:,\[{-])\s*(["'])""")


def _closes(text: str, quote: str) -> bool:
    if quote == '"':
        return '"' in text.replace("\\\\", "").replace('\\"', "")
    return "'" in text.replace("''", "")


def _unclosed_quote(reader: _Reader, exc: yaml.MarkedYAMLError, error_line: int) -> tuple[int, int] | None:
    """(line, column) of a quote that opens a value and runs away, swallowing later "key:" lines."""
    context_mark: Any = exc.context_mark
    if "quoted scalar" in (exc.context or "") and "escape" not in (exc.problem or "") and context_mark is not None:
        return _at(context_mark)
    n = 0
    while n < error_line:
        text, after = reader.line(n), n + 1
        for m in _QUOTE_START.finditer(text):
            quote, start = m.group(1), m.end()
            if _closes(text[start:], quote):
                continue
            k = n + 1
            while k <= error_line:  # a quoted text may go on over lines: find where it closes
                line = reader.line(k)
                if _KEY_LINE.match(line):
                    return n + 1, start
                if _closes(line, quote):
                    break
                k += 1
            after = k + 1
            break
        n = after
    return None


def _failed(code: str, message: str, file: str | None, line: int | None = None, column: int | None = None,
            hint: str | None = None) -> YamlDocument:
    return YamlDocument(None, {}, [Diagnostic(code, message, SourceLocation(file, line, column), hint)], True)


def read_yaml(text: str | bytes, file: str | None = None) -> YamlDocument:
    """Read one YAML document safely. Never raises for any input."""
    size = len(text) if isinstance(text, bytes) or len(text) > MAX_BYTES else len(
        text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        return _failed("CF006", f"the file is {size} bytes; the limit is {MAX_BYTES}", file,
                       hint="split the process into several files")
    if isinstance(text, bytes):  # decoded here, as YAML says (UTF-16 BOMs, else UTF-8), to locate errors
        data = text
        encoding = "utf-16" if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8"
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            prefix = data[:exc.start].decode(encoding, "replace")
            return _failed("CF009", f"the file is not valid {encoding.upper()} text", file,
                           *_position(prefix, len(prefix)), "save the file as UTF-8")
    text = text.removeprefix("\ufeff")
    bad = _UNPRINTABLE.search(text)
    if bad:
        return _failed("CF001", f"the character U+{ord(bad.group()):04X} is not allowed in YAML", file,
                       *_position(text, bad.start()), "remove it (often pasted from another program); "
                       "inside double quotes an escape such as \"\\x07\" can stand for it")
    reader = _Reader(text, file)
    try:
        reader.run()
        return YamlDocument(reader.root, reader.marks, reader.diags, False)
    except _Fatal:
        pass
    except yaml.MarkedYAMLError as exc:
        line, col = _at(exc.problem_mark)
        problem, context = exc.problem or "invalid YAML", exc.context or ""
        if _PARSER_DEPTH.search(problem):
            return _too_deep(text, file, line, col, reader.here())
        opened = _unclosed_quote(reader, exc, line)
        if opened is not None:  # the parser complains far from the cause: point at the open quote
            reader.error("CF001", "this quote is not closed", *opened, reader.here(),
                         "close the quote on the same line, or quote the whole text")
            return YamlDocument(None, {}, reader.diags, True)
        last = max(1, len(_BREAK.split(text)) - (1 if text.endswith("\n") else 0))
        if line > last:  # "end of stream" lies past the last line: show it at that line's end
            line, col = last, len(reader.line(last - 1)) + 1
        if context and exc.context_mark is not None and _at(exc.context_mark) != (line, col):
            problem += " ({} started at line {}, column {})".format(context, *_at(exc.context_mark))
        reader.error("CF001", problem, line, col, reader.here(),
                     _syntax_hint(problem, context, reader.line(line - 1)[col - 1:col]))
    except (yaml.YAMLError, ValueError, RecursionError, MemoryError) as exc:
        code = "CF009" if isinstance(exc, UnicodeError) else "CF001"
        reader.error(code, "the file cannot be read as YAML: " + " ".join(str(exc).split()), None, None,
                     reader.here())
    return YamlDocument(None, {}, reader.diags, True)


def _depth_message() -> str:
    return f"the document is nested more than {MAX_DEPTH} levels deep"


def _too_deep(text: str, file: str | None, line: int, col: int, pointer: str) -> YamlDocument:
    """The parser's own nesting limit (libyaml >= 0.2.6 stops at 1000) tripped before ours (MAX_DEPTH).

    Our limit is far lower, so the pure-Python parser, which has no limit of its own, reaches it
    and reports CF005 at the same place whichever parser is installed.
    """
    again = _Reader(text, file, yaml.SafeLoader)
    try:
        again.run()
    except _Fatal:
        if again.diags and again.diags[-1].code == "CF005":
            return YamlDocument(None, {}, again.diags, True)
    except (yaml.YAMLError, ValueError, RecursionError, MemoryError):
        pass
    return YamlDocument(None, {}, [Diagnostic("CF005", _depth_message(), SourceLocation(file, line, col, pointer),
                                              _DEPTH_HINT)], True)


def read_yaml_file(path: str | os.PathLike[str]) -> YamlDocument:
    """Read a YAML file safely: CF010 when missing, CF009 when unreadable, CF006 when too large."""
    name = os.fspath(path)
    try:
        info = os.stat(name)
        if stat.S_ISDIR(info.st_mode):
            return _failed("CF009", "this is a directory, not a file", name)
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device could block or never end
            return _failed("CF009", "this is not a regular file", name)
        if info.st_size > MAX_BYTES:
            return _failed("CF006", f"the file is {info.st_size} bytes; the limit is {MAX_BYTES}", name,
                           hint="split the process into several files")
        with open(name, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)  # the file may have grown since stat
    except (FileNotFoundError, NotADirectoryError):
        return _failed("CF010", "no such file", name)
    except OSError as exc:
        return _failed("CF009", f"the file cannot be read: {exc.strerror or exc}", name)
    return read_yaml(data, name)


# -- columns inside a scalar ----------------------------------------------------------------------

_ESCAPE_LENGTH = {"x": 4, "u": 6, "U": 10}


def _scalar_positions(raw: str, style: str | None) -> list[tuple[int, int]]:
    """For each character of a scalar's value, its (line, column) in ``raw``, both 0-based.

    Follows YAML's folding (a line break between text becomes one space, empty lines become
    line breaks, indentation and trailing spaces go) and quoting ('' and backslash escapes).
    """
    out: list[tuple[int, int]] = []
    lines = raw.split("\n")
    joined = True  # the previous line ended in an escaped line break: no folding space
    blank_run = 0
    for ln, text in enumerate(lines):
        j = 1 if ln == 0 and style in ("'", '"') else (0 if ln == 0 else len(text) - len(text.lstrip(" \t")))
        body = text if ln == len(lines) - 1 else text.rstrip(" \t")
        if ln > 0:
            if j >= len(body) and ln < len(lines) - 1:  # an empty line: one line break
                blank_run += 1
                out.append((ln, 0))
                continue
            if not joined and blank_run == 0:
                out.append((ln, max(j - 1, 0)))  # the folding space, shown where the line's text begins
        joined, blank_run = False, 0
        while j < len(body):
            c = body[j]
            if style == '"' and c == "\\":
                if j + 1 >= len(body):  # an escaped line break joins the lines without a space
                    joined = True
                    break
                out.append((ln, j))
                j += _ESCAPE_LENGTH.get(body[j + 1], 2)
            elif style == "'" and c == "'":
                if body[j + 1: j + 2] != "'":
                    return out  # the closing quote
                out.append((ln, j))
                j += 2
            elif style == '"' and c == '"':
                return out
            else:
                out.append((ln, j))
                j += 1
    return out


def value_position(mark: Mark, offset: int) -> tuple[int, int]:
    """The 1-based file (line, column) of character ``offset`` of the value that ``mark`` marks."""
    if mark.raw is None:
        return mark.value_line, mark.value_column + offset + (1 if mark.style in ("'", '"') else 0)
    positions = _scalar_positions(mark.raw, mark.style)
    if not positions:
        return mark.value_line, mark.value_column
    ln, col = positions[min(offset, len(positions) - 1)]
    if offset >= len(positions):
        col += 1
    if ln == 0:
        return mark.value_line, mark.value_column + col
    return mark.value_line + ln, col + 1
