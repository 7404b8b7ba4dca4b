"""Testing helpers for careflow processes: hypothesis strategies, path generation, a pytest plugin.

- ``assert_replays``, ``assert_reaches``, ``assert_denied`` (``careflow.testing.assertions``);
- ``generate_paths`` — complete histories covering every state, transition or decision exit
  (``careflow.testing.paths``; ``careflow paths`` on the command line);
- ``history_coverage`` — what recorded histories used (``careflow coverage``); ``read_history`` and
  ``History`` are ``careflow.history``'s, the one reader;
- ``walks`` — hypothesis strategies for random valid walks (``careflow.testing.strategies``);
- the pytest plugin (``careflow.testing.plugin``): fixtures and one test per history file.

Names are imported lazily: the pytest plugin imports this package in every test run, and neither
networkx nor hypothesis should be paid for there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from careflow.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "assert_replays": "careflow.testing.assertions",
    "assert_reaches": "careflow.testing.assertions",
    "assert_denied": "careflow.testing.assertions",
    "format_divergence": "careflow.testing.assertions",
    "generate_paths": "careflow.testing.paths",
    "PathSet": "careflow.testing.paths",
    "GeneratedPath": "careflow.testing.paths",
    "history_coverage": "careflow.testing.coverage",
    "CoverageReport": "careflow.testing.coverage",
    "History": "careflow.history.entries",
    "read_history": "careflow.history.reader",
    "walks": "careflow.testing.strategies",
}

if TYPE_CHECKING:
    from careflow.history.entries import History
    from careflow.history.reader import read_history
    from careflow.testing.assertions import assert_denied, assert_reaches, assert_replays, format_divergence
    from careflow.testing.coverage import CoverageReport, history_coverage
    from careflow.testing.paths import GeneratedPath, PathSet, generate_paths
    from careflow.testing.strategies import walks

__all__ = [
    "CoverageReport",
    "GeneratedPath",
    "History",
    "PathSet",
    "assert_denied",
    "assert_reaches",
    "assert_replays",
    "format_divergence",
    "generate_paths",
    "history_coverage",
    "read_history",
    "walks",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
