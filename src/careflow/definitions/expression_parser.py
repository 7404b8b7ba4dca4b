"""A guard's text: parsing it with depth and length limits, and locating its parts in the file.

``GuardText`` holds the source, turns positions inside the expression into file positions (through
the YAML mark of the value it came from) and records diagnostics; the compiler builds on it.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

from careflow.definitions.expression_types import Pos
from careflow.errors import Diagnostic, SourceLocation
from careflow.model.marks import Mark

# The bounds of a guard (docs/limits.md, "Process files"); past any of them a guard is CF408.
MAX_LENGTH = 2000  # characters
MAX_DEPTH = 50  # levels of parts (a + b + c is two); compiling recurses ~3 frames a level, Python allows 1000
MAX_BRACKETS = 100  # nested ( [ { ; Python's own parser refuses more than 200
TOO_COMPLEX = "CF408"
TOO_COMPLEX_HINT = ("split it: compute part of it in the application and read that data field, or write "
                    "long sums and chains with fewer terms")
_NEWLINE = re.compile(r"\r\n|\r|\n")


class Abandon(Exception):
    """Abandons a sub-expression after its diagnostic was recorded."""


# Mistakes authors make often, recognised in the text of a guard that does not parse.
_COMMON_MISTAKES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"&&"), "'{}' is not a guard operator", "write 'and': consent and score > 3"),
    (re.compile(r"\|\|"), "'{}' is not a guard operator", "write 'or': urgent or score > 3"),
    (re.compile(r"\b(og|eller|ikke)\b"), "'{}' is not a guard word",
     "guards use the English words and, or, not: consent and score > 3"),
    (re.compile(r"(?<![=!<>])=(?!=)"), "a single '=' sets a value, and a guard only compares",
     "write '==' to compare: priority == \"high\""),
)


class GuardText:
    """The source of one guard, its position in the file, and the diagnostics found in it."""

    def __init__(self, source: str, pointer: str, mark: Mark | None, file: str | None) -> None:
        self.source = source if isinstance(source, str) else str(source)
        self.pointer = pointer
        self.mark = mark
        # the mark knows its own file: under `extends` a guard may come from the base file
        self.file = mark.file if mark is not None and mark.file else file
        self.lines = _NEWLINE.split(self.source)
        self.shift = 0  # 1 when the text was parsed inside added parentheses
        self.parse_text = self.source
        self._split: tuple[str, list[bytes]] | None = None
        self.diagnostics: list[Diagnostic] = []

    # locations
    def location(self, pos: Pos) -> SourceLocation:
        if self.mark is None:
            return SourceLocation(self.file, None, None, self.pointer)
        (line, col), m = pos, self.mark
        if m.raw is None and m.style not in ("'", '"'):  # plain one-line or literal block: text as in the file
            return SourceLocation(self.file, m.value_line + line - 1, m.value_column + col, self.pointer)
        from careflow.definitions.yaml_positions import value_position

        offset = sum(len(text) + 1 for text in self.lines[: line - 1]) + col
        file_line, file_col = value_position(m, offset)
        return SourceLocation(self.file, file_line, file_col, self.pointer)

    def at(self, line: int, byte_col: int) -> Pos:
        line = min(max(line - self.shift, 1), len(self.lines))
        return line, len(self.lines[line - 1].encode()[:byte_col].decode("utf-8", "ignore"))

    def start(self, node: ast.AST) -> Pos:
        return self.at(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def end(self, node: ast.AST) -> Pos:
        return self.at(node.end_lineno or node.lineno, node.end_col_offset or 0)  # type: ignore[attr-defined]

    def between(self, left: ast.AST, right: ast.AST) -> Pos:
        """Where the operator between two operands is (it has no position of its own in the tree)."""
        line, col = self.end(left)
        while line <= len(self.lines):
            text = self.lines[line - 1]
            while col < len(text) and text[col] != "#":
                if not (text[col].isspace() or text[col] == ")"):
                    return line, col
                col += 1
            line, col = line + 1, 0
        return self.start(right)

    def report(self, code: str, pos: Pos, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, self.location(pos), hint))

    def forbid(self, pos: Pos, what: str, hint: str | None = None) -> Abandon:
        return self.fail("CF403", pos, f"not allowed in a guard: {what}", hint)

    def fail(self, code: str, pos: Pos, message: str, hint: str | None = None) -> Abandon:
        self.report(code, pos, message, hint)
        return Abandon()

    def text(self, node: ast.AST) -> str:
        """The node's source text (ast.get_source_segment, without re-splitting the text per call)."""
        if self._split is None or self._split[0] is not self.parse_text:
            self._split = (self.parse_text, [line.encode() for line in self.parse_text.split("\n")])
        lines = self._split[1]
        try:
            first, last = node.lineno - 1, node.end_lineno - 1  # type: ignore[attr-defined]
            start, end = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        except AttributeError:
            return ""
        if first == last:
            segment: bytes = lines[first][start:end]
            return segment.decode("utf-8", "replace")
        parts = [lines[first][start:], *lines[first + 1:last], lines[last][:end]]
        return b"\n".join(parts).decode("utf-8", "replace")

    def parse(self) -> ast.Expression | None:
        if self.brackets_too_deep():
            return None
        try:
            tree = ast.parse(self.source, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
            wrapped = self.parse_wrapped(error)
            if wrapped is None:
                return None
            tree = wrapped
        return tree if self.shallow(tree) else None

    def shallow(self, tree: ast.Expression) -> bool:
        """True when no part lies more than MAX_DEPTH parts deep; else CF408 at the first one that does.

        Only expressions count: a name's load context or an operator is no level of its own."""
        pending: list[tuple[ast.AST, int]] = [(tree.body, 1)]
        while pending:
            node, depth = pending.pop()
            if depth > MAX_DEPTH:  # always an expression: other nodes keep their parent's depth
                self.report(TOO_COMPLEX, self.start(node), "the guard is too complex: its parts nest more "
                            f"than {MAX_DEPTH} levels deep", TOO_COMPLEX_HINT)
                return False
            pending.extend((child, depth + 1 if isinstance(child, ast.expr) else depth)
                           for child in ast.iter_child_nodes(node))
        return True

    def brackets_too_deep(self) -> bool:
        """CF408 at the first bracket nested more than MAX_BRACKETS deep (brackets in texts and comments
        do not count). Read with Python's own tokenizer, inside added parentheses so that line breaks
        and indentation never stop it; a text it cannot read is left to the parser to report."""
        if sum(self.source.count(c) for c in "([{") <= MAX_BRACKETS:
            return False
        depth = 0
        try:
            for token in tokenize.generate_tokens(io.StringIO("(\n" + self.source + "\n)").readline):
                if token.type == tokenize.OP and token.string in "([{":
                    depth += 1
                    if depth > MAX_BRACKETS + 1:  # + 1: the added parenthesis
                        (line, col) = token.start
                        self.report(TOO_COMPLEX, (line - 1, col), "the guard is too complex: its brackets "
                                    f"nest more than {MAX_BRACKETS} levels deep", TOO_COMPLEX_HINT)
                        return True
                elif token.type == tokenize.OP and token.string in ")]}":
                    depth -= 1
        except (tokenize.TokenError, SyntaxError):
            pass
        return False

    def parse_wrapped(self, error: Exception) -> ast.Expression | None:
        """A multi-line block scalar reads as if in parentheses; otherwise report the syntax error."""
        if "\n" in self.source or "\r" in self.source:
            wrapped = "(\n" + self.source + "\n)"
            try:
                tree = ast.parse(wrapped, mode="eval")
                self.shift, self.parse_text = 1, wrapped
                return tree
            except (SyntaxError, ValueError, RecursionError, MemoryError) as second:
                # the wrapped parse finds the real mistake in a multi-line text, unless it blames our ')'
                if isinstance(second, SyntaxError) and 2 <= (second.lineno or 0) <= len(self.lines) + 1:
                    second.lineno = (second.lineno or 2) - 1
                    error = second
        self.syntax_error(error)
        return None

    def syntax_error(self, error: BaseException) -> None:
        if isinstance(error, SyntaxError):
            line = min(max(error.lineno or 1, 1), len(self.lines))
            col = (error.offset or 0) - 1
            if col < 0 or col > len(self.lines[line - 1]):
                col = len(self.lines[line - 1])  # the error is at the end of the text
            detail = error.msg
        elif isinstance(error, ValueError):  # a NUL character
            line, col, detail = 1, 0, str(error)
        else:  # RecursionError, MemoryError: Python's parser gave up
            self.report(TOO_COMPLEX, (1, 0), "the guard is too complex for Python's parser", TOO_COMPLEX_HINT)
            return
        if isinstance(error, SyntaxError) and "too many nested" in detail:
            self.report(TOO_COMPLEX, (line, col), f"the guard is too complex: {detail}", TOO_COMPLEX_HINT)
            return
        for n, text in enumerate(self.lines, start=1):
            for pattern, message, hint in _COMMON_MISTAKES:
                found = pattern.search(text)
                if found:
                    self.report("CF401", (n, found.start()), message.format(found.group()), hint)
                    return
        self.report("CF401", (line, col), f"the guard is not a valid expression: {detail}",
                    "write e.g. consent_relay_log and len(goals) > 0; texts go in quotes")
