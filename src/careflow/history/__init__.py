"""Case histories: the one reader and writer, and replay of histories through the step function.

- ``read_history``, ``loads_history``, ``history_files`` (``careflow.history.reader``):
  JSON Lines, YAML/JSON documents and case JSON, files or directories; ``HistoryFileError`` with located
  diagnostics for anything that does not fit the history schema (``history_schema``);
- JSON Lines are read one line at a time (``careflow.history.jsonl``); ``replay`` of a file path streams it and
  keeps nothing (``open_history``); JSON text is parsed strictly (``careflow.history.jsontext``: depth,
  number, Unicode and duplicate-key limits as located diagnostics, at most 100 per file);
- ``dumps_jsonl``, ``dumps_yaml`` (``careflow.history.writer``);
- ``History``, ``from_entries`` (``careflow.history.entries``): a parsed history;
- ``replay``, ``ReplayResult``, ``Divergence`` (``careflow.history.replay``).

None of these imports yaml, jsonschema or networkx until a file needs it.
"""

from __future__ import annotations

from careflow.errors import HistoryFileError
from careflow.history.check import history_schema
from careflow.history.entries import History, from_entries
from careflow.history.reader import (
    HISTORY_SUFFIXES,
    check_file,
    history_files,
    loads_history,
    read_history,
)
from careflow.history.replay import ReplayResult, replay
from careflow.history.report import Divergence
from careflow.history.writer import dumps_jsonl, dumps_yaml

__all__ = ["HISTORY_SUFFIXES", "Divergence", "History", "HistoryFileError", "ReplayResult", "check_file",
           "dumps_jsonl", "dumps_yaml", "from_entries", "history_files", "history_schema", "loads_history",
           "read_history", "replay"]
