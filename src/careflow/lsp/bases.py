"""The files an ``extends`` chain reaches, indexed once per version of each file on disk.

Bases are found as the loader finds them (``CAREFLOW_PATH``, plug-ins, the bundled processes), so the
editor sees what ``careflow validate`` sees.
"""

from __future__ import annotations

from pathlib import Path

from careflow.definitions.loader import find_process
from careflow.errors import ProcessNotFound
from careflow.lsp.index import DocumentIndex, Occurrence, build_index

MAX_DEPTH = 8  # as the loader: a longer chain is an error there

_INDEXES: dict[tuple[str, int, int], DocumentIndex] = {}


def process_file(process_id: str) -> Path | None:
    try:
        return find_process(process_id)
    except ProcessNotFound:
        return None


def file_index(path: Path) -> DocumentIndex | None:
    """The index of a file on disk, cached by path, modification time and size."""
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
        if key not in _INDEXES:
            _INDEXES[key] = build_index(path.read_text(encoding="utf-8"), str(path))
        return _INDEXES[key]
    except (OSError, UnicodeDecodeError):
        return None


def base_chain(index: DocumentIndex) -> list[DocumentIndex]:
    """The bases of ``index``, nearest first; stops at a missing, unreadable or repeated base."""
    chain: list[DocumentIndex] = []
    seen = {index.doc.get("id")}
    base_id = index.extends
    while base_id is not None and base_id not in seen and len(chain) < MAX_DEPTH:
        seen.add(base_id)
        path = process_file(base_id)
        base = file_index(path) if path is not None else None
        if base is None or not base.readable:
            break
        chain.append(base)
        base_id = base.extends
    return chain


def find_definition(indexes: list[DocumentIndex], kind: str, name: str
                    ) -> tuple[DocumentIndex, Occurrence] | None:
    """The first of ``indexes`` that defines ``name`` as a ``kind``, with the definition."""
    for index in indexes:
        found = index.definition(kind, name)
        if found is not None:
            return index, found
    return None
