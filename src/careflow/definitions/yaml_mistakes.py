"""The common YAML mistakes, recognised from the parser's complaint and the text around it.

The parser says where it gave up, in its own words ("mapping values are not allowed in this
context"), often a line after the cause. An author needs the line to change, what is wrong there
in plain words, and the fix written out. ``plain_words`` returns that, or None when the mistake is
not one we recognise (the caller then words the parser's complaint as best it can).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs

LineAt = Callable[[int], str]  # 0-based line number -> its text ("" past the end)

_KEY = re.compile(r"^(\s*)(- +)?([A-Za-z_][\w-]*):(?:\s|$)")  # "  - key: ..." -> indent, dash, key
_NO_SPACE = re.compile(r"^(\s*)(- +)?([A-Za-z_][\w-]*):(\S.*)$")  # "step:1"
_BARE = re.compile(r"^(\s*)(- +)?([A-Za-z_][\w-]*)(?:(\s+)(\S.*))?$")  # "on_due intake_overdue", "intake"


@attrs.frozen
class Mistake:
    line: int  # 1-based, where the author must act
    column: int
    message: str
    hint: str


@attrs.frozen
class Complaint:
    """What the parser said: its problem and context, and both positions (1-based)."""

    problem: str
    context: str
    line: int
    column: int
    context_line: int | None
    context_column: int | None


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _key_column(text: str) -> int:
    """1-based column where the key of a block line starts ('  - from: x' -> 5)."""
    m = _KEY.match(text) or _BARE.match(text)
    if m is None:
        return _indent(text) + 1
    return len(m.group(1)) + len(m.group(2) or "") + 1


def _significant(line_at: LineAt, before: int) -> tuple[int, str] | None:
    """The nearest line above ``before`` (1-based) that is neither blank nor a comment."""
    n = before - 1
    while n >= 1:
        text = line_at(n - 1)
        if text.strip() and not text.lstrip().startswith("#"):
            return n, text
        n -= 1
    return None


def plain_words(c: Complaint, line_at: LineAt) -> Mistake | None:
    text = line_at(c.line - 1)
    char = text[c.column - 1:c.column]
    for rule in (_tab, _start_character, _document_end, _missing_colon_key, _mapping_values, _flow, _block,
                 _stray):
        found = rule(c, line_at, text, char)
        if found is not None:
            return found
    return None


def _stray(c: Complaint, line_at: LineAt, text: str, char: str) -> Mistake | None:
    """A ':' glued into a text inside brackets, or a character that cannot stand where it is."""
    if "found unexpected ':'" in c.problem:
        return Mistake(c.line, c.column, "a ':' inside a text",
                       "put the text in quotes, or put a space after the ':' if it ends a key")
    if "expected node content" in c.problem or "expected comment or line break" in c.problem:
        shown = f"'{char}'" if char.strip() else "this"
        return Mistake(c.line, c.column, f"{shown} cannot stand here",
                       "remove it, or put the whole text in quotes")
    return None


def _tab(c: Complaint, line_at: LineAt, text: str, char: str) -> Mistake | None:
    if char != "\t" and "tab" not in c.problem:
        return None
    column = text.find("\t") + 1 or c.column
    return Mistake(c.line, column, "a tab is used to indent this line",
                   "use spaces, not tabs: YAML counts the spaces to see what belongs where")


def _start_character(c: Complaint, line_at: LineAt, text: str, char: str) -> Mistake | None:
    if "cannot start any token" in c.problem and char and char in "@`%":
        return Mistake(c.line, c.column, f"a value cannot start with '{char}'",
                       f"put the text in quotes: \"{text[c.column - 1:].strip()}\"")
    if "alias" in c.context and c.context_line is not None and c.context_column is not None:
        start = line_at(c.context_line - 1)[c.context_column - 1:].strip()
        return Mistake(c.context_line, c.context_column,
                       "a value cannot start with '*' (it would refer to an anchor '&name')",
                       f"put the text in quotes: \"{start}\"")
    return None


def _document_end(c: Complaint, line_at: LineAt, text: str, char: str) -> Mistake | None:
    if "document start" not in c.problem:
        return None
    prev = _significant(line_at, c.line)
    if prev is not None and prev[1].strip() == "...":
        return Mistake(prev[0], 1, "'...' ends the document, but more text follows",
                       "remove the '...' line: a process is one document")
    if char in "]}":
        return Mistake(c.line, c.column, f"an extra '{char}' with nothing to close",
                       f"remove this '{char}', or add the '{'[' if char == ']' else '{'}' it should close")
    return Mistake(c.line, c.column, "more text follows where the file should end",
                   "check the brackets and the indentation above")


def _missing_colon_key(c: Complaint, line_at: LineAt, text: str, char: str) -> Mistake | None:
    """'could not find expected ':'': the key that started it (a line above) lacks its colon."""
    if "expected ':'" not in c.problem or c.context_line is None:
        return None
    return _no_colon(c.context_line, line_at(c.context_line - 1)) or Mistake(
        c.context_line, c.context_column or 1, "this line is read as a key, but no ':' follows it",
        "if it is a key, write ':' and a space after it; if it continues a text, indent it like the text "
        "above, or put the whole text in quotes")


def _no_colon(line: int, text: str) -> Mistake | None:
    m = _BARE.match(text.rstrip())
    if m is None:
        return None
    key, rest = m.group(3), m.group(5)
    column = len(m.group(1)) + len(m.group(2) or "") + len(key) + 1
    fixed = f"{key}: {rest}" if rest else f"{key}:"
    return Mistake(line, column, f"'{key}' has no ':' after it", f"write {fixed}")


def _mapping_values(c: Complaint, line_at: LineAt, text: str, char: str) -> Mistake | None:
    """'mapping values are not allowed here': a ': ' inside a text, or the line above is wrong."""
    if "mapping values are not allowed" not in c.problem:
        return None
    bare = _BARE.match(text.rstrip())
    if bare is not None and (bare.group(5) or "")[:1] in ("{", "["):  # "label {nb: …}"
        return _no_colon(c.line, text)
    key = _KEY.match(text)
    if key is not None and key.end() < c.column:  # a second ': ' on a "key: value" line
        value = text[key.end():].strip()
        return Mistake(c.line, key.end() + 1, f"the text after '{key.group(3)}:' contains ': '",
                       f"put the text in quotes: {key.group(3)}: \"{value}\"")
    prev = _significant(line_at, c.line)
    if prev is None:
        return None
    line, above = prev
    no_space = _NO_SPACE.match(above.rstrip())
    if no_space is not None and not no_space.group(4).startswith(("//", "\"", "'")):
        column = len(no_space.group(1)) + len(no_space.group(2) or "") + len(no_space.group(3)) + 2
        return Mistake(line, column, f"'{no_space.group(3)}:' needs a space after the ':'",
                       f"write {no_space.group(3)}: {no_space.group(4)}")
    if ":" not in above.split("#")[0]:
        return _no_colon(line, above)
    if _indent(text) > _key_column(above) - 1:
        return _too_far_right(c.line, text, line, above)
    return None


def _too_far_right(line: int, text: str, above_line: int, above: str) -> Mistake:
    return Mistake(line, _indent(text) + 1, f"{_named(text)} is indented more than the line above",
                   f"move it left to column {_key_column(above)}, in line with {_line_ref(above, above_line)}")


def _block(c: Complaint, line_at: LineAt, text: str, char: str) -> Mistake | None:
    """'did not find expected key / '-' indicator': the line does not line up with its block."""
    if "expected key" not in c.problem and "'-' indicator" not in c.problem:
        return None
    stripped = text.strip()
    if char in ("]", "}"):
        opener = "[" if char == "]" else "{"
        return Mistake(c.line, c.column, f"an extra '{char}' with nothing to close",
                       f"remove this '{char}', or add the '{opener}' it should close")
    before = text[:c.column - 1].rstrip()
    if before.endswith(('"', "'")) and c.column > _indent(text) + 1:
        quoted = before[before.find(before[-1]):]
        key = text.split(":")[0].strip()
        return Mistake(c.line, c.column, "there is text after the closing quote",
                       f"put all of the text inside the quotes: {key}: {quoted[:-1]} {text[c.column - 1:].strip()}"
                       f"{quoted[-1]}")
    if stripped.startswith("-") and not stripped.startswith(("- ", "---")) and stripped != "-":
        return Mistake(c.line, _indent(text) + 1, "a '-' that starts a list item needs a space after it",
                       f"write - {stripped[1:]}")
    if stripped.startswith("- ") and "expected key" in c.problem:
        return Mistake(c.line, _indent(text) + 1, "a list item in the middle of a mapping",
                       "put the items under a key of their own (roles:, then '- nurse' indented below it)")
    prev = _significant(line_at, c.line)
    if prev is None:
        return None
    return _misaligned(c, text, *prev)


def _named(text: str) -> str:
    """How to name a line in a message: by its key, or as "this line" when it holds none."""
    key = _KEY.match(text)
    if key is not None:
        return f"'{key.group(3)}:'"
    bare = _BARE.match(text.rstrip())
    return f"'{bare.group(3)}'" if bare is not None and not bare.group(5) else "this line"


def _line_ref(text: str, line: int) -> str:
    """"'label:' on line 24", or "line 24" for a line without a key."""
    named = _named(text)
    return f"line {line}" if named == "this line" else f"{named} on line {line}"


def _misaligned(c: Complaint, text: str, above_line: int, above: str) -> Mistake:
    column, above_column = _indent(text) + 1, _key_column(above)
    word = _named(text)
    above_ref = _line_ref(above, above_line)
    if column > above_column:
        return _too_far_right(c.line, text, above_line, above)
    outer = c.context_column if c.context_column is not None and c.context_column < column else None
    if outer is not None and c.context_line is not None:
        return Mistake(c.line, column, f"{word} lines up with no other line of its block",
                       f"move it to column {above_column} (in line with {above_ref}) "
                       f"or to column {outer} (in line with the keys of the block that starts on line "
                       f"{c.context_line})")
    return Mistake(c.line, column, f"{word} is indented less than the lines of its block",
                   f"move it right to column {above_column}, in line with {above_ref}")


def _flow(c: Complaint, line_at: LineAt, text: str, char: str) -> Mistake | None:
    """Inside [ ] or { }: a bracket left open, a ' #' that hides the rest, or a ':' in a text."""
    closer = "]" if "flow sequence" in c.context else "}" if "flow mapping" in c.context else None
    if closer is None or c.context_line is None or c.context_column is None:
        return None
    opener = "[" if closer == "]" else "{"
    start = line_at(c.context_line - 1)
    comment = start.find(" #", c.context_column)
    if comment >= 0:
        return Mistake(c.context_line, comment + 2,
                       f"' #' starts a comment, which hides the rest of the line and its '{closer}'",
                       "put the text that holds the '#' in quotes: \"Sak #3\"")
    runs_on = _open_count(start[c.context_column - 1:], opener, closer) > 0 and c.column > len(text.rstrip())
    if c.line != c.context_line or runs_on:
        return Mistake(c.context_line, c.context_column, f"this '{opener}' is not closed",
                       f"add '{closer}' at the end of the line, after the last item")
    segment = text[:c.column - 1]
    entry = re.split(r"[,{\[]", segment)[-1]
    if char == ":" and ": " in entry:
        first = entry.split(":")[0].strip()
        later = re.split(r"[,}\]]", entry.split(":", 1)[1] + text[c.column - 1:])[0].strip()
        return Mistake(c.line, c.column, f"a second ':' in the entry '{first}: …'",
                       f"if '{later}' is one text, quote it: {first}: \"{later}\"; "
                       f"if '{entry.split()[-1]}' starts a new entry, put a ',' before it")
    word = entry.strip()
    if word and " " not in word and ":" not in word and closer == "}":
        return Mistake(c.line, c.column - 1 - (len(segment) - len(segment.rstrip())), f"'{word}' has no ':' after it",
                       f"write {word}: …")
    return Mistake(c.line, c.column, f"items in '{opener} {closer}' need a ',' between them",
                   f"separate the items with ', ' and close with '{closer}'")


def _open_count(text: str, opener: str, closer: str) -> int:
    depth, quote = 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == opener:
            depth += 1
        elif ch == closer:
            depth -= 1
    return depth
