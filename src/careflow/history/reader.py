"""History files: reading recorded or hand-written case histories, checking their structure, writing them.

A history file is JSON Lines (one entry a line), a YAML/JSON mapping ``{process, version, case_id,
entries, expect}``, a bare YAML/JSON list of entries, or the case JSON ``Case.to_json`` writes; the
contract is ``schema/history.schema.json``. Entries are read into one internal form (``normalise``): a
tuple in ``AuditEntry`` field order with ``ABSENT`` where the file does not give a field (absent
fields are not compared by replay), ``time`` parsed, ``roles`` a tuple, ``data``/``ref`` as pairs
(the engine's stored form, ``audit.store``).

Checking is two-tier, for speed: every entry goes through hand-written type checks (a fraction of a
microsecond for a complete entry); only a file that fails them is run through the JSON Schema, whose
errors become located diagnostics (``file:line``, JSON pointer). The checks accept nothing the schema
rejects (the tests hold them to it), so the schema stays the contract.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from careflow.errors import CareflowError, Diagnostic, SourceLocation, did_you_mean
from careflow.history.check import _type_name, entry_diagnostics, history_schema, schema_diagnostics
from careflow.model.frozen import freeze
from careflow.runtime.audit import JSON_FIELDS, KINDS, AuditEntry, store


class _Absent:
    """Falsy, so ``data or None`` reads an absent ``data`` as no data."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


#: A field the history does not give: replay does not compare it.
ABSENT: Any = _Absent()
SEQ, TIME, CASE_ID, KIND, ACTOR, ROLES, EVENT, SOURCE, TARGET, DATA, REASON, CODE, DETAIL, REF, TRANSITION, \
    PROCESS_ID, PROCESS_VERSION, PREV_HASH, HASH = range(19)
#: The time of a first entry that gives none.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CASE_FORMAT = "careflow.case/1"
ENVELOPE_KEYS = ("process", "version", "case_id", "entries", "expect")
Entry = tuple[Any, ...]


class Problem(NamedTuple):
    """What is wrong with one entry: the key (``""``: the entry itself) and a message."""

    key: str
    message: str
    hint: str | None = None


class HistoryFileError(CareflowError):
    """A history file that cannot be read or does not fit the history schema; ``diagnostics`` says where."""

    code = "CF009"

    def __init__(self, diagnostics: Sequence[Diagnostic], file: str | None = None) -> None:
        self.diagnostics = list(diagnostics)
        self.file = file
        first = self.diagnostics[0].format() if self.diagnostics else "unreadable"
        super().__init__(f"{file or 'history'}: {len(self.diagnostics)} problem(s); first: {first}")

    def format(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)


class History:
    """A parsed history: ``entries`` (internal form), ``given`` (the entries as read, for messages),
    and what the file says around them. ``texts`` are the JSON Lines as read: a line written in the
    canonical form lets replay check its hash without re-encoding the entry."""

    __slots__ = ("_given", "case_id", "entries", "expect", "file", "lines", "problem", "process", "sealed",
                 "stored", "texts", "version")

    def __init__(self, entries: list[Entry], given: Sequence[Any] | None, *, file: str | None = None,
                 lines: list[int | None] | None = None, texts: list[str] | None = None,
                 process: str | None = None, version: str | None = None, case_id: str | None = None,
                 expect: Mapping[str, Any] | None = None, stored: Mapping[str, Any] | None = None,
                 problem: tuple[int, Problem] | None = None) -> None:
        self.entries, self._given, self.file, self.lines, self.texts = entries, given, file, lines, texts
        self.process, self.version, self.case_id, self.expect, self.stored = process, version, case_id, expect, stored
        self.problem = problem  # the first structural problem of in-memory entries (files raise instead)
        self.sealed = any(e[HASH] is not ABSENT and e[HASH] is not None for e in entries)

    @property
    def given(self) -> Sequence[Any]:
        """The entries as the history gives them (JSON mappings or ``AuditEntry``)."""
        if self._given is None:
            self._given = [json.loads(t) for t in self.texts or ()]
        return self._given

    def given_entry(self, index: int) -> Any:
        """Entry ``index`` as the history gives it (None past the end)."""
        if self._given is not None:
            return self._given[index] if index < len(self._given) else None
        if self.texts is not None and index < len(self.texts):
            return json.loads(self.texts[index])  # JSON Lines keep their text only: fewer live objects
        return None

    def line(self, index: int) -> int | None:
        return self.lines[index] if self.lines is not None and index < len(self.lines) else None

    def __len__(self) -> int:
        return len(self.entries)


# -- one entry ----------------------------------------------------------------------------------------

_SLOTS = {name: i for i, name in enumerate(JSON_FIELDS)}
_ALL = itemgetter(*JSON_FIELDS[:17])  # all but prev_hash and hash, which may be left out
_ATOMIC = frozenset({str, int, float, bool, type(None)})
_HASH_TYPES = frozenset({str, type(None), _Absent})
_KINDS = frozenset(KINDS)
_NEEDS_EVENT = frozenset({"fired", "denied", "deadline"})
_STR, _OPT = (str,), (str, type(None))
_TYPES: tuple[tuple[type, ...], ...] = (
    (int,), _STR, _STR, _STR, _STR, (list, tuple), _OPT, _OPT, _OPT, (dict,), _OPT, _OPT, _OPT, (dict, type(None)),
    _OPT, _STR, _STR, _OPT, _OPT)
_GOOD_SIGNATURES: set[tuple[type, ...]] = set()  # type signatures of complete entries seen to be right
_GOOD_ROLES: set[tuple[str, ...]] = set()
_TIME_HINT = "write an ISO 8601 time with a UTC offset, e.g. 2026-09-07T08:30:00+00:00"


def _time(value: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _roles_ok(roles: tuple[Any, ...]) -> bool:
    if roles in _GOOD_ROLES:
        return True
    if all(type(r) is str and r for r in roles):
        if len(_GOOD_ROLES) < 10_000:
            _GOOD_ROLES.add(roles)
        return True
    return False


def _pairs(value: Any) -> tuple[tuple[str, Any], ...] | None:
    """``data``/``ref`` in the stored form the engine produces: (key, frozen value) pairs, None when empty."""
    if not value:
        return None
    for v in value.values():
        if type(v) not in _ATOMIC:
            return tuple((k, freeze(v)) for k, v in value.items())
    return tuple(value.items())


def normalise(obj: Any) -> Entry | Problem:
    """``obj`` (an ``AuditEntry`` or a JSON entry) in the internal form, or what is wrong with it.

    The internal form is the engine's stored form (``audit.store``): a plain tuple in field order,
    ``data``/``ref`` as pairs of frozen values or None. So a recorded entry and the entry the engine
    produces for it compare as one tuple comparison when they agree, the case that must be fast.
    """
    if type(obj) is AuditEntry:
        return store(obj)
    size = len(obj) if type(obj) is dict else 0
    if 17 <= size <= 19:
        # Complete entries as careflow writes them: one C call gets the fields, their types are checked
        # as one signature, so the cost is a few hundred nanoseconds.
        try:
            v = _ALL(obj)
        except KeyError:
            return _normalise_slowly(obj)
        prev, digest = obj.get("prev_hash", ABSENT), obj.get("hash", ABSENT)
        sig = tuple(map(type, v))
        if (17 + (prev is not ABSENT) + (digest is not ABSENT) == size
                and (sig in _GOOD_SIGNATURES or _good_signature(sig))
                and type(prev) in _HASH_TYPES and type(digest) in _HASH_TYPES):
            kind, event, roles = v[KIND], v[EVENT], tuple(v[ROLES])
            time = _time(v[TIME])
            if (time is not None and kind in _KINDS and v[ACTOR] and v[SEQ] >= 0 and _roles_ok(roles)
                    and (event if kind in _NEEDS_EVENT else event != "") and (kind != "assigned" or _ref_ok(v[REF]))):
                ref = v[13]
                return (v[0], time, v[2], kind, v[4], roles, event, v[7], v[8], _pairs(v[9]), v[10], v[11], v[12],
                        None if ref is None else _pairs(ref) or (), v[14], v[15], v[16], prev, digest)
    return _normalise_slowly(obj)


def _good_signature(sig: tuple[type, ...]) -> bool:
    if all(t in ok for t, ok in zip(sig, _TYPES, strict=False)):
        _GOOD_SIGNATURES.add(sig)
        return True
    return False


def _ref_ok(ref: Any) -> bool:
    return (isinstance(ref, Mapping) and type(ref.get("role")) is str
            and "person" in ref and (ref["person"] is None or type(ref["person"]) is str))


def _normalise_slowly(obj: Any) -> Entry | Problem:
    """Any entry, partial or complete; the first problem in it, worded for an author."""
    if not isinstance(obj, Mapping):
        return Problem("", f"an entry must be a mapping, not {_type_name(obj)}")
    out: list[Any] = [ABSENT] * 19
    for key, value in obj.items():
        slot = _SLOTS.get(key)
        if slot is None:
            hint = "write 'from'/'to'" if key in ("source", "target") else did_you_mean(str(key), JSON_FIELDS, "key")
            return Problem(str(key), f"unknown key '{key}'", hint)
        problem = _field_problem(slot, value)
        if problem is not None:
            return Problem(key, f"'{key}' {problem}", _TIME_HINT if slot == TIME else None)
        out[slot] = value
    for required in ("actor", "roles"):
        if required not in obj:
            return Problem("", f"'{required}' is required")
    kind = out[KIND] if out[KIND] is not ABSENT else "fired"
    out[KIND] = kind
    if kind in _NEEDS_EVENT and not isinstance(out[EVENT], str):
        return Problem("event" if "event" in obj else "", f"'event' is required in a '{kind}' entry")
    if kind == "assigned" and not _ref_ok(out[REF]):
        return Problem("ref", "an 'assigned' entry needs 'ref: {role: ..., person: ...}'")
    if out[TIME] is not ABSENT:
        out[TIME] = _time(out[TIME])
    out[ROLES] = tuple(out[ROLES])
    if out[DATA] is not ABSENT:
        out[DATA] = _pairs(out[DATA])
    if out[REF] is not ABSENT and out[REF] is not None:
        out[REF] = _pairs(out[REF]) or ()  # an empty ref is not a null one (as in audit.store): the hash differs
    return tuple(out)


def _field_problem(slot: int, value: Any) -> str | None:
    if type(value) not in _TYPES[slot]:
        if slot in (DATA, REF) and isinstance(value, Mapping):
            return None
        words = {SEQ: "a whole number", ROLES: "a list of role ids", DATA: "a mapping", REF: "a mapping or null"}
        want = words.get(slot) or ("text" if _TYPES[slot] == _STR else "text or null")
        return f"must be {want}, not {_type_name(value)}"
    if slot == SEQ and value < 0:
        return "must be 0 or more"
    if slot == TIME and _time(value) is None:
        return f"is not an ISO 8601 time with a UTC offset: {value!r}"
    if slot == KIND and value not in _KINDS:
        hint = did_you_mean(value, KINDS)
        return f"must be one of {', '.join(KINDS)}, not {value!r}" + (f" ({hint})" if hint else "")
    if slot in (ACTOR, EVENT) and value == "":
        return "must not be empty"
    if slot == ROLES and not all(type(r) is str and r for r in value):
        return "must be a list of role ids (non-empty text)"
    return None


def from_entries(entries: Iterable[Any], **meta: Any) -> History:
    """In-memory entries (``AuditEntry`` or JSON mappings) as a ``History``; the first structural problem
    is kept in ``problem`` (replay reports it as a divergence), not raised."""
    given = entries if isinstance(entries, list | tuple) else list(entries)
    out: list[Entry] = []
    problem = None
    for index, obj in enumerate(given):
        entry = normalise(obj)
        if isinstance(entry, Problem):
            problem = (index, entry)
            break
        out.append(entry)
    return History(out, given, problem=problem, **meta)


# -- files ----------------------------------------------------------------------------------------------


def read_history(path: str | os.PathLike[str]) -> History:
    """A history file; ``HistoryFileError`` (located diagnostics) when it cannot be read or is malformed."""
    file = os.fspath(path)
    try:
        raw = Path(file).read_bytes()
    except OSError as exc:
        raise HistoryFileError([Diagnostic("CF009", f"cannot read the file: {exc.strerror or exc}",
                                           SourceLocation(file))], file) from None
    suffix = Path(file).suffix.lower()
    fmt = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(suffix)
    return loads_history(raw, file, fmt)


def loads_history(text: str | bytes, file: str | None = None, fmt: str | None = None) -> History:
    """A history from text; ``fmt`` is ``jsonl``, ``json`` or ``yaml`` (None: guessed from the text)."""
    if fmt == "yaml":
        return _yaml(text, file)
    if isinstance(text, bytes):
        raw = text
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            raise HistoryFileError([Diagnostic("CF009", f"not UTF-8: {exc.reason}", SourceLocation(file, line))],
                                   file) from None
    if fmt is None:
        head = text.lstrip()[:1]
        fmt = "json" if head in ("{", "[") else "yaml"
        if fmt == "yaml":
            return _yaml(text, file)
    if fmt == "json":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":
                raise HistoryFileError([Diagnostic("CF001", f"not JSON: {exc.msg}",
                                                   SourceLocation(file, exc.lineno, exc.colno))], file) from None
        else:
            return _document(value, file, None, text)
    return _jsonl(text, file)


def _jsonl(text: str, file: str | None) -> History:
    lines: list[int | None] = []
    texts: list[str] = []
    # split on "\n" only: a JSON string may hold U+2028 and friends, which str.splitlines would split on
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip()
        if line:
            lines.append(number)
            texts.append(line)
    # One json.loads over all lines is ~3x faster than one per line (per-call overhead, shared key
    # strings). A line holds no raw newline, so the array has exactly one element per line exactly when
    # every line is one JSON value; anything else is parsed again line by line to say where it fails.
    try:
        objs = json.loads("[" + ",".join(texts) + "]")
    except json.JSONDecodeError:
        objs = None
    if objs is None or len(objs) != len(texts):
        objs = _jsonl_slowly(texts, lines, file)
    entries: list[Entry] = []
    problems: list[Diagnostic] = []
    for index, obj in enumerate(objs):
        entry = normalise(obj)
        if isinstance(entry, Problem):
            problems.extend(entry_diagnostics(obj, entry, index, _at_line(file, lines[index] or 0)))
        else:
            entries.append(entry)
    if problems:
        raise HistoryFileError(problems, file)
    return History(entries, None, file=file, lines=lines, texts=texts)


def _jsonl_slowly(texts: list[str], lines: list[int | None], file: str | None) -> list[Any]:
    problems = []
    objs = []
    for number, line in zip(lines, texts, strict=True):
        try:
            objs.append(json.loads(line))
        except json.JSONDecodeError as exc:
            problems.append(Diagnostic("CF001", f"not JSON: {exc.msg}", SourceLocation(file, number, exc.colno)))
    if problems:
        raise HistoryFileError(problems, file)
    return objs


def _yaml(text: str | bytes, file: str | None) -> History:
    from careflow.definitions.yamlsafe import read_yaml

    doc = read_yaml(text, file)
    if doc.fatal or any(d.is_error for d in doc.diagnostics):
        raise HistoryFileError(doc.diagnostics, file)
    return _document(doc.value, file, doc.marks, None)


def from_document(value: Any, file: str | None = None) -> History:
    """A history from a parsed JSON/YAML value (list, envelope or case); ``HistoryFileError`` if malformed."""
    return _document(value, file, None, None)


def _document(value: Any, file: str | None, marks: Mapping[str, Any] | None, text: str | None) -> History:
    """A parsed YAML/JSON document: a list of entries, an envelope, or a case."""
    meta: dict[str, Any] = {}
    items: Any
    if isinstance(value, list):
        items, base, kind = value, "", "entries"
    elif isinstance(value, dict) and "format" in value:
        items, base, kind = value.get("history"), "/history", "case"
        meta["stored"] = value
        meta["case_id"] = value.get("case_id") if isinstance(value.get("case_id"), str) else None
    elif isinstance(value, dict):
        items, base, kind = value.get("entries"), "/entries", "envelope"
        for key in ("process", "version", "case_id", "expect"):
            meta[key] = value.get(key)
    else:
        raise HistoryFileError([Diagnostic("CF008", f"a history is a list of entries or a mapping with 'entries', "
                                                    f"not {_type_name(value)}", SourceLocation(file, 1, 1))], file)
    top_ok = _top_ok(value, kind)
    if marks is None and not top_ok and text is not None:
        marks = _marks(text, file)
    locate = _locator(file, marks)
    problems: list[Diagnostic] = [] if top_ok else schema_diagnostics(value, kind, locate, "")
    if not top_ok and not problems:
        problems = [Diagnostic("CF107", "this is not a history the schema describes", locate(""))]
    entries: list[Entry] = []
    lines: list[int | None] = []
    for index, obj in enumerate(items if isinstance(items, list) else ()):
        entry = normalise(obj)
        if isinstance(entry, Problem):
            if marks is None and text is not None:
                marks = _marks(text, file)
                locate = _locator(file, marks)
            problems.extend(entry_diagnostics(obj, entry, index, _under(locate, f"{base}/{index}")))
        else:
            entries.append(entry)
        mark = marks.get(f"{base}/{index}") if marks else None
        lines.append(mark.line if mark is not None else None)
    if problems:
        raise HistoryFileError(problems, file)
    return History(entries, items, file=file, lines=lines, **meta)


def _top_ok(value: Any, kind: str) -> bool:
    if kind == "entries":
        return True
    if kind == "case":
        return value.get("format") == CASE_FORMAT and isinstance(value.get("history"), list)
    return (isinstance(value.get("entries"), list) and all(k in ENVELOPE_KEYS for k in value)
            and all((isinstance(value.get(k, ""), str) and value.get(k, "") != "") or k not in value
                    for k in ("process", "version", "case_id"))
            and _expect_ok(value.get("expect", {})))


def _expect_ok(expect: Any) -> bool:
    return (isinstance(expect, dict) and all(k in ("state", "data") for k in expect)
            and isinstance(expect.get("state", "x"), str) and expect.get("state", "x") != ""
            and isinstance(expect.get("data", {}), dict))


def _at_line(file: str | None, line: int) -> Callable[[str], SourceLocation]:
    return lambda pointer: SourceLocation(file, line, None, pointer)


def _under(locate: Callable[[str], SourceLocation], base: str) -> Callable[[str], SourceLocation]:
    return lambda pointer: locate(base + pointer)


def _marks(text: str, file: str | None) -> dict[str, Any] | None:
    """Positions for a JSON document that has problems (JSON is YAML, and our YAML reader keeps marks)."""
    from careflow.definitions.yamlsafe import read_yaml

    doc = read_yaml(text, file)
    return None if doc.fatal else doc.marks


def _locator(file: str | None, marks: Mapping[str, Any] | None) -> Callable[[str], SourceLocation]:
    def locate(pointer: str) -> SourceLocation:
        if not marks:
            return SourceLocation(file, None, None, pointer)
        from careflow.model.marks import SourceMap

        return SourceMap(marks, file).locate(pointer)
    return locate


def check_file(path: str | os.PathLike[str]) -> list[Diagnostic]:
    """Every problem in a history file (empty when it reads cleanly)."""
    try:
        read_history(path)
    except HistoryFileError as exc:
        return exc.diagnostics
    return []


# -- writing --------------------------------------------------------------------------------------------


def dumps_jsonl(entries: Iterable[AuditEntry]) -> str:
    """JSON Lines in the canonical form (sorted keys, no spaces): replay checks their hashes fastest."""
    return "".join(json.dumps(e.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
                   for e in entries)


def dumps_yaml(entries: Iterable[AuditEntry | Mapping[str, Any]], **envelope: Any) -> str:
    """A YAML history: the envelope fields given (``process``, ``version``, ``case_id``, ``expect``) and
    ``entries`` (an ``AuditEntry`` is written in full)."""
    import yaml

    body = {k: v for k, v in envelope.items() if v is not None}
    body["entries"] = [e.to_json() if isinstance(e, AuditEntry) else dict(e) for e in entries]
    text: str = yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=120)
    return text


__all__ = ["ABSENT", "EPOCH", "History", "HistoryFileError", "Problem", "check_file", "dumps_jsonl", "dumps_yaml",
           "from_document", "from_entries", "history_schema", "loads_history", "normalise", "read_history"]
