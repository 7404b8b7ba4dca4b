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
* A second document is CF001 and fatal: the first alone is a fragment whose gaps would only be
  knock-on errors.
* Syntax errors are worded by ``yaml_mistakes`` (a missing ':', indentation, tabs, a ': ' or ' #'
  in a text, brackets) at the line the author must change.
* ``fatal`` means "do not use ``value``": it is then None and ``marks`` is empty.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from typing import Any

import attrs
import yaml

from careflow.definitions.yaml_events import DEPTH_HINT, EventReader, Fatal, Limits, depth_message
from careflow.definitions.yaml_mistakes import Complaint, plain_words
from careflow.definitions.yaml_positions import LINE_BREAK, parser_position, text_position
from careflow.definitions.yaml_syntax import syntax_hint, unclosed_quote
from careflow.errors import Diagnostic, SourceLocation
from careflow.model.marks import Mark

__all__ = ["MAX_ALIASES", "MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "YamlDocument", "read_yaml",
           "read_yaml_file"]

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 100
MAX_NODES = 100_000

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# YAML's printable set (1.2 §5.1); checked up front so the position is exact for either parser.
_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# libyaml's own nesting limit ("exceeded maximum nesting depth", since 0.2.6 / PyYAML 6.0.3+)
_PARSER_DEPTH = re.compile(r"nesting depth", re.IGNORECASE)


@attrs.frozen
class YamlDocument:
    value: Any
    marks: dict[str, Mark]
    diagnostics: list[Diagnostic]
    fatal: bool


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
                           *text_position(prefix, len(prefix)), "save the file as UTF-8")
    text = text.removeprefix("\ufeff")
    bad = _UNPRINTABLE.search(text)
    if bad:
        return _failed("CF001", f"the character U+{ord(bad.group()):04X} is not allowed in YAML", file,
                       *text_position(text, bad.start()), "remove it (often pasted from another program); "
                       "inside double quotes an escape such as \"\\x07\" can stand for it")
    reader = EventReader(text, file, _Loader, Limits(MAX_NODES, MAX_ALIASES, MAX_DEPTH))
    try:
        reader.run()
        if reader.documents > 1:  # the first document alone is a fragment: its gaps would be knock-on errors
            return YamlDocument(None, {}, reader.diags, True)
        return YamlDocument(reader.root, reader.marks, reader.diags, False)
    except Fatal:
        pass
    except yaml.MarkedYAMLError as exc:
        line, col = parser_position(exc.problem_mark)
        problem, context = exc.problem or "invalid YAML", exc.context or ""
        if _PARSER_DEPTH.search(problem):
            return _too_deep(text, file, line, col, reader.here())
        opened = unclosed_quote(reader.line, exc, line)
        if opened is not None:  # the parser complains far from the cause: point at the open quote
            reader.error("CF001", "this quote is not closed", *opened, reader.here(),
                         "close the quote on the same line, or quote the whole text")
            return YamlDocument(None, {}, reader.diags, True)
        last = max(1, len(LINE_BREAK.split(text)) - (1 if text.endswith("\n") else 0))
        if line > last:  # "end of stream" lies past the last line: show it at that line's end
            line, col = last, len(reader.line(last - 1)) + 1
        context_at = parser_position(exc.context_mark) if exc.context_mark is not None else (None, None)
        mistake = plain_words(Complaint(problem, context, line, col, *context_at), reader.line)
        if mistake is not None:
            reader.error("CF001", mistake.message, mistake.line, mistake.column, reader.here(), mistake.hint)
            return YamlDocument(None, {}, reader.diags, True)
        if context and exc.context_mark is not None and parser_position(exc.context_mark) != (line, col):
            problem += " ({} started at line {}, column {})".format(context, *parser_position(exc.context_mark))
        reader.error("CF001", problem, line, col, reader.here(),
                     syntax_hint(problem, context, reader.line(line - 1)[col - 1:col])
                     or "check this line and the one above it (see 'YAML rules' in docs/format.md)")
    except (yaml.YAMLError, ValueError, RecursionError, MemoryError) as exc:
        code = "CF009" if isinstance(exc, UnicodeError) else "CF001"
        reader.error(code, "the file cannot be read as YAML: " + " ".join(str(exc).split()), None, None,
                     reader.here())
    return YamlDocument(None, {}, reader.diags, True)


def _too_deep(text: str, file: str | None, line: int, col: int, pointer: str) -> YamlDocument:
    """The parser's own nesting limit (libyaml >= 0.2.6 stops at 1000) tripped before ours (MAX_DEPTH).

    Our limit is far lower, so the pure-Python parser, which has no limit of its own, reaches it
    and reports CF005 at the same place whichever parser is installed.
    """
    again = EventReader(text, file, yaml.SafeLoader, Limits(MAX_NODES, MAX_ALIASES, MAX_DEPTH))
    try:
        again.run()
    except Fatal:
        if again.diags and again.diags[-1].code == "CF005":
            return YamlDocument(None, {}, again.diags, True)
    except (yaml.YAMLError, ValueError, RecursionError, MemoryError):
        pass
    location = SourceLocation(file, line, col, pointer)
    return YamlDocument(None, {}, [Diagnostic("CF005", depth_message(MAX_DEPTH), location, DEPTH_HINT)], True)


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


