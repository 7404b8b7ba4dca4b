"""Text and files to frozen definitions: read safely, merge ``extends``, run the schema, build, check.

Public API: ``load``, ``load_id``, ``loads``, ``validate``, ``resolve``, ``bundled_processes``,
``find_process``, ``scope_for``. ``load`` and ``loads`` raise one ``DefinitionError`` holding every diagnostic;
``validate`` returns them.

Processes are found by id on a search path, in this order: directories in ``CAREFLOW_PATH``
(``os.pathsep``-separated), directories registered by installed packages under the entry point
group ``careflow.processes``, then the processes bundled with careflow. A process ``<id>`` is the
file ``<id>.yaml`` (or ``.yml``) in one of them.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from careflow.definitions.extends import Merged
from careflow.definitions.searchpath import forget_warnings, listing, usable_dir
from careflow.errors import (
    DefinitionError,
    Diagnostic,
    DiagnosticsHolder,
    NotAProcessId,
    ProcessNotFound,
    SourceLocation,
)
from careflow.model.definition import ProcessDefinition, Transition
from careflow.model.marks import Mark

if TYPE_CHECKING:
    from careflow.definitions.expressions import Scope

ENTRY_POINT_GROUP = "careflow.processes"
_SUFFIXES = (".yaml", ".yml")
_MAX_EXTENDS_DEPTH = 8


@attrs.frozen
class ProcessSource:
    id: str
    path: Path
    origin: str  # "CAREFLOW_PATH", "entry point <name>", "bundled"


@attrs.frozen
class Validation(DiagnosticsHolder):
    """What ``validate`` found: the definition (None when there are errors) and every diagnostic."""

    definition: ProcessDefinition | None
    diagnostics: tuple[Diagnostic, ...]
    source: str | None = None

    def ok(self, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)


# -- discovery ------------------------------------------------------------------------------------


def bundled_dir() -> Path:
    """The processes shipped with careflow (in the wheel), or the checkout's ``processes/``."""
    packaged = Path(str(resources.files("careflow"))) / "processes"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "processes"


@functools.cache
def _entry_point_dirs() -> list[tuple[str, Path]]:
    """Directories that installed packages register; read once per process (see ``refresh``)."""
    from importlib.metadata import entry_points

    out: list[tuple[str, Path]] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            target: Any = ep.load()
            if callable(target):
                target = target()
            paths = [target] if isinstance(target, str | os.PathLike) or hasattr(target, "joinpath") else target
            out.extend((f"entry point {ep.name}", Path(str(p))) for p in paths)
        except Exception:  # a broken plugin must not stop careflow from finding the others
            continue
    return out


def refresh() -> None:
    """Forget cached plugin directories and definitions (after installing a process package)."""
    _entry_point_dirs.cache_clear()
    _CACHE.clear()
    forget_warnings()


def search_path() -> list[tuple[str, Path]]:
    """The directories processes are looked for in. A ``CAREFLOW_PATH`` entry that cannot be one is
    skipped with a ``SearchPathWarning`` saying why (once per entry and process)."""
    dirs = [("CAREFLOW_PATH", Path(p)) for p in os.environ.get("CAREFLOW_PATH", "").split(os.pathsep)
            if p and usable_dir(p)]
    return [*dirs, *_entry_point_dirs(), ("bundled", bundled_dir())]


def discover() -> dict[str, ProcessSource]:
    """Every process on the search path by id; the first directory that has an id wins."""
    found: dict[str, ProcessSource] = {}
    for origin, directory in search_path():
        for path in listing(directory):
            if path.suffix in _SUFFIXES and path.stem not in found:
                found[path.stem] = ProcessSource(path.stem, path, origin)
    return found


def bundled_processes() -> list[str]:
    """Ids of the processes shipped with careflow."""
    return sorted(p.stem for p in bundled_dir().iterdir() if p.suffix in _SUFFIXES)


def find_process(process_id: str) -> Path:
    """The file of the process ``process_id`` on the search path."""
    known = discover()
    if process_id in known:
        return known[process_id].path
    raise ProcessNotFound(process_id, known)


PROCESS_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")


def load_id(process_id: object) -> ProcessDefinition:
    """The process with the id ``process_id``, found on the search path only: for an id read from data
    (a case file, a store row), which must never be taken for a path. Raises ``NotAProcessId`` when it is
    not of the id form, else as ``load``."""
    if not isinstance(process_id, str) or not PROCESS_ID.fullmatch(process_id):
        raise NotAProcessId(process_id)
    return load(find_process(process_id))


# -- reading --------------------------------------------------------------------------------------


def _read(text: str | bytes | None, path: Path | None,
          file: str | None) -> tuple[Any, dict[str, Mark], list[Diagnostic], bool]:
    from careflow.definitions.yamlsafe import read_yaml, read_yaml_file

    doc = read_yaml_file(path) if text is None and path is not None else read_yaml(text or "", file)
    return doc.value, dict(doc.marks), list(doc.diagnostics), doc.fatal


def _resolve_extends(doc: dict[str, Any], marks: dict[str, Mark], file: str | None, depth: int,
                     seen: tuple[str, ...]) -> tuple[Merged | None, list[Diagnostic]]:
    """The merged document (None when the base cannot be merged at all) and the problems found."""
    from careflow.definitions.extends import merge

    base_id = doc.get("extends")
    where = SourceLocation(file, *(_value_pos(marks.get("/extends"))), "/extends")
    if not isinstance(base_id, str):
        return Merged(doc, marks, (), frozenset()), []  # the schema reports a wrong type
    if depth == 0 and base_id == doc.get("id"):
        return None, [Diagnostic("CF118", f"this file has the id '{base_id}' of the process it extends", where,
                                 f"a variant needs an id of its own, e.g. id: {base_id}_local")]
    if base_id in seen or depth > _MAX_EXTENDS_DEPTH:
        chain = " -> ".join((*seen, base_id))
        return None, [Diagnostic("CF118", f"'extends' goes round in a circle: {chain}", where,
                                 "a process cannot extend itself, directly or through others")]
    try:
        base_path = find_process(base_id)
    except ProcessNotFound as exc:
        return None, [Diagnostic("CF118", f"cannot extend '{base_id}': {exc}", where,
                                 "put the base process on CAREFLOW_PATH, or correct its id")]
    base, base_marks, problems, fatal = _read(None, base_path, str(base_path))
    if fatal or not isinstance(base, dict) or problems:
        return None, [Diagnostic("CF118", f"the base process '{base_id}' cannot be read", where,
                                 f"run: careflow validate {base_path}")]
    if "extends" in base:
        inner, more = _resolve_extends(base, base_marks, str(base_path), depth + 1, (*seen, base_id))
        if inner is None:  # report it here, in the file being validated, not in the base
            reason = more[0].message if more else "it cannot be merged"
            return None, [Diagnostic("CF118", f"cannot extend '{base_id}': {reason}", where,
                                     more[0].hint if more else None)]
        base, base_marks = inner.document, inner.marks
        problems += more
    merged = merge(base, base_marks, doc, marks, base_id=base_id, file=file)
    return merged, [*problems, *merged.diagnostics]


# Reference errors the merge already reported at the entry the adapting file removed.
_REFERENCE_CODES = frozenset({"CF104", "CF105", "CF108", "CF114", "CF115", "CF119", "CF402"})


def _in_author_file(diagnostics: list[Diagnostic], merged: Merged, file: str | None) -> list[Diagnostic]:
    """Diagnostics of an adapting file, each located in that file: one that arises in the base points at
    the nearest entry the adapting file changes (else at its 'extends'), and names the base place as related."""
    out = []
    for d in diagnostics:
        if d.location.pointer in merged.explained and d.code in _REFERENCE_CODES:
            continue
        if d.location.file == file or d.location.line is None:
            out.append(d)
            continue
        pointer, mark, value = d.location.pointer, None, False
        while pointer.count("/") >= 2 and mark is None:
            found = merged.marks.get(pointer)
            if found is not None and found.file == file:
                mark = found
            else:
                pointer = pointer.rsplit("/", 1)[0]
        if mark is None:
            pointer, mark, value = "/extends", merged.marks.get("/extends"), True
        line, column = _value_pos(mark) if value else _key_pos(mark)
        out.append(attrs.evolve(d, location=SourceLocation(file, line, column, pointer),
                                related=(d.location, *d.related)))
    return out


def _value_pos(mark: Mark | None) -> tuple[int | None, int | None]:
    return (mark.value_line, mark.value_column) if mark else (None, None)


def _key_pos(mark: Mark | None) -> tuple[int | None, int | None]:
    return (mark.line, mark.column) if mark else (None, None)


def _validate(text: str | bytes | None, path: Path | None, file: str | None,
              known_processes: Iterable[str] | None) -> tuple[Validation, dict[str, Any] | None]:
    """The validation, and the document it checked (merged with its base for an ``extends`` file)."""
    from careflow.definitions.builder import Builder
    from careflow.definitions.schema_check import check_schema

    doc, marks, problems, fatal = _read(text, path, file)
    if fatal:
        return Validation(None, tuple(problems), file), None
    if not isinstance(doc, dict):
        found = {type(None): "an empty file", list: "a list", str: "a single text", int: "a number",
                 float: "a number", bool: "true/false"}.get(type(doc), "a single value")
        problems.append(Diagnostic("CF008", f"a process file must be a mapping of keys, but this is {found}",
                                   SourceLocation(file, 1, 1, ""), "start with 'careflow: 1' and 'id: …'"))
        return Validation(None, tuple(problems), file), None
    merged = None
    if "extends" in doc:
        merged, more = _resolve_extends(doc, marks, file, 0, (str(doc.get("id")),))
        problems += more
        if merged is None:  # without its base the file is only a fragment: nothing more to say about it
            return Validation(None, tuple(problems), file), None
        doc, marks = merged.document, merged.marks
    # a value the reader refused (a forbidden tag, a bad alias) is null now: its type is no news
    refused = {d.location.pointer for d in problems if d.code in ("CF001", "CF003")}
    schema_problems = [d for d in check_schema(doc, marks, file) if d.location.pointer not in refused]
    problems += schema_problems
    broken = frozenset(d.location.pointer for d in schema_problems if d.code == "CF101")
    builder = Builder(doc, marks, file, broken)
    definition = builder.build()
    problems += builder.diagnostics
    # the semantic checks run on every part that no error touches: all problems at once
    if builder.draft is not None:
        from careflow.definitions.checks import broken_sections, check

        known = set(known_processes) if known_processes is not None else set(discover())
        known.add(builder.draft.id)
        broken = broken_sections(problems)
        problems += check(builder.draft, known_processes=known, broken=broken)
        if "transitions" not in broken and "data" not in broken:
            from careflow.definitions.handoffs import check_known

            problems += check_known(builder.draft, known)
    from careflow.errors import sort_diagnostics

    if merged is not None:
        problems = _in_author_file(problems, merged, file)
    diagnostics = tuple(sort_diagnostics(problems))
    ok = not any(d.is_error for d in diagnostics)
    return Validation(definition if ok else None, diagnostics, file), doc


def _validate_source(source: str | os.PathLike[str],
                     known_processes: Iterable[str] | None) -> tuple[Validation, dict[str, Any] | None]:
    path = Path(source)
    if not path.exists() and isinstance(source, str) and "/" not in source and not path.suffix:
        try:
            path = find_process(source)
        except ProcessNotFound as exc:
            return Validation(None, (Diagnostic("CF010", str(exc), SourceLocation(source, None, None, "")),),
                              source), None
    return _validate(None, path, str(path), known_processes)


def validate(source: str | os.PathLike[str], *, known_processes: Iterable[str] | None = None) -> Validation:
    """Validate a file (a path) or a process id on the search path; never raises for bad content."""
    return _validate_source(source, known_processes)[0]


def resolve(source: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, Validation]:
    """The process document as careflow reads it (an ``extends`` file merged with its base, without the
    ``extends`` key), or None when it cannot be read; and its validation."""
    result, document = _validate_source(source, None)
    if document is not None:
        document = {k: v for k, v in document.items() if k != "extends"}
    return document, result


def validate_text(text: str | bytes, file: str | None = None, *,
                  known_processes: Iterable[str] | None = None) -> Validation:
    return _validate(text, None, file, known_processes)[0]


def _raise_or_return(result: Validation, strict: bool) -> ProcessDefinition:
    if result.definition is None or (strict and result.warnings):
        raise DefinitionError(list(result.diagnostics), result.source)
    return result.definition


_CACHE: dict[tuple[str, int, int, str], ProcessDefinition] = {}


def load(source: str | os.PathLike[str], *, strict: bool = False) -> ProcessDefinition:
    """A process by path or by id (``careflow.load("psht")``). Raises ``DefinitionError`` or
    ``ProcessNotFound``. Files are cached by path, size and modification time."""
    path = Path(source)
    if not path.exists():
        if isinstance(source, str) and not path.suffix and "/" not in source:
            path = find_process(source)
        else:
            raise ProcessNotFound(str(source))
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size, os.environ.get("CAREFLOW_PATH", ""))
    except OSError:
        key = None
    if key is not None and key in _CACHE and not strict:
        return _CACHE[key]
    definition = _raise_or_return(_validate(None, path, str(path), None)[0], strict)
    if key is not None:
        _CACHE[key] = definition
    return definition


def loads(text: str | bytes, file: str | None = None, *, strict: bool = False,
          known_processes: Iterable[str] | None = None) -> ProcessDefinition:
    """A process from YAML text. Raises one ``DefinitionError`` holding every diagnostic."""
    return _raise_or_return(_validate(text, None, file, known_processes)[0], strict)


def scope_for(process: ProcessDefinition, transition: Transition) -> Scope:
    """The names and types a transition's guard may use: case data and the event data it takes."""
    from careflow.definitions.builder import scope_fields
    from careflow.definitions.expressions import Scope

    return Scope(data={f.name: f.type for f in process.data}, event=scope_fields(process, transition))
