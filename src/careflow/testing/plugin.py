"""The careflow pytest plugin: fixtures, and every recorded history as its own test.

Registered through the ``pytest11`` entry point, so pytest imports this module in every run where
careflow is installed: it imports nothing of careflow at import time (fixtures and items do).

- ``careflow_process``: the definition under test, from ``@pytest.mark.careflow_process("psht")``,
  indirect parametrization (``parametrize("careflow_process", ["psht"], indirect=True)``) or the
  ``careflow_process`` ini option; an id or a file path.
- ``manual_clock``: a ``ManualClock`` at a fixed Monday morning (UTC), moved by hand.
- ``case_factory``: ``case_factory(process=None, case_id=None, *, data=None, actor=SYSTEM)`` opens a
  case on the manual clock (the process defaults to ``careflow_process``).
- ``careflow_histories`` (ini, paths) or ``--careflow-histories DIR``: each history file under those
  directories becomes a test item that replays it. The process is the one the file names, else the
  nearest directory named after a process, else the ``careflow_process`` ini option.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from careflow.cases.case import Case
    from careflow.clock import ManualClock
    from careflow.model.definition import ProcessDefinition

_SUFFIXES = (".jsonl", ".json", ".yaml", ".yml")  # careflow.history.HISTORY_SUFFIXES, not imported: see above


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("careflow_histories", "directories whose history files each become a replay test", type="paths")
    parser.addini("careflow_process", "the process (id or file) for careflow_process and for histories "
                  "that name none")
    group = parser.getgroup("careflow")
    group.addoption("--careflow-histories", action="append", default=[], metavar="DIR",
                    help="replay every history file under DIR as its own test (repeatable)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "careflow_process(process): the process (id or file path) that the "
                            "careflow_process fixture loads")


def _history_roots(config: pytest.Config) -> list[Path]:
    roots = [Path(p) for p in config.getini("careflow_histories")]
    roots += [Path(config.invocation_params.dir, p) for p in config.getoption("careflow_histories")]
    return [r.resolve() for r in roots]


def pytest_report_header(config: pytest.Config) -> str | None:
    roots = _history_roots(config)
    return "careflow histories: " + ", ".join(str(r) for r in roots) if roots else None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in _SUFFIXES:
        return None
    resolved = file_path.resolve()
    for root in _history_roots(parent.config):
        if resolved.is_relative_to(root):
            return HistoryFile.from_parent(parent, path=file_path, root=root)
    return None


class HistoryFile(pytest.File):
    """A history file: one item, named after the case it records."""

    def __init__(self, *, root: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = root

    def collect(self) -> Iterator[pytest.Item]:
        from careflow.errors import HistoryFileError
        from careflow.history.reader import read_history

        try:
            history = read_history(self.path)
        except HistoryFileError as exc:  # an unreadable file is a failing test, not a collection crash
            yield HistoryItem.from_parent(self, name=self.path.stem, process=None, problem=exc.format())
            return
        process = history.process_id() or self._process_from_directory() or self.config.getini("careflow_process")
        yield HistoryItem.from_parent(self, name=history.named_case_id() or self.path.stem, process=process or None,
                                      problem=None)

    def _process_from_directory(self) -> str | None:
        from careflow.definitions.loader import find_process
        from careflow.errors import CareflowError

        for directory in self.path.resolve().parents:
            if directory == self.root.parent:
                break
            try:
                find_process(directory.name)
            except CareflowError:
                continue
            return directory.name
        return None


class HistoryItem(pytest.Item):
    """Replays one history file on its process."""

    def __init__(self, *, process: str | None, problem: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.process, self.problem = process, problem

    def runtest(self) -> None:
        from careflow.testing.assertions import assert_replays

        if self.problem:
            raise AssertionError(f"cannot read the history:\n{self.problem}")
        if not self.process:
            raise AssertionError(f"{self.path}: no process: name it in the file, put the file in a directory "
                                 "named after the process, or set the careflow_process ini option")
        assert_replays(self.process, self.path, name=self.nodeid)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, AssertionError):
            return str(excinfo.value)  # the divergence says it all; the plugin's frames would not help
        from careflow.errors import CareflowError

        if isinstance(excinfo.value, CareflowError):
            return f"{self.path}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"replay {self.name} on {self.process or '?'}"


# -- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def careflow_process(request: pytest.FixtureRequest) -> ProcessDefinition:
    """The process under test (see the module docstring for the three ways to name it)."""
    from careflow.testing.assertions import load_process

    ref = getattr(request, "param", None)
    marker = request.node.get_closest_marker("careflow_process")
    if ref is None and marker is not None and marker.args:
        ref = marker.args[0]
    if ref is None:
        ref = request.config.getini("careflow_process") or None
    if ref is None:
        pytest.fail("careflow_process: name the process with @pytest.mark.careflow_process('id'), "
                    "indirect parametrization or the careflow_process ini option", pytrace=False)
    if isinstance(ref, str) and ("/" in ref or ref.endswith((".yaml", ".yml"))) and not Path(ref).is_absolute():
        near = Path(request.node.path).parent / ref  # a relative file path is read next to the test file
        ref = str(near) if near.exists() else str(Path(request.config.rootpath, ref))
    return load_process(ref)


@pytest.fixture
def manual_clock() -> ManualClock:
    """A clock at Monday 2026-01-05 08:00 UTC that only moves when the test moves it."""
    from careflow.clock import ManualClock

    return ManualClock()


@pytest.fixture
def case_factory(request: pytest.FixtureRequest, manual_clock: ManualClock) -> Callable[..., Case]:
    """Opens cases on ``manual_clock``; the process defaults to the ``careflow_process`` fixture."""
    from careflow.cases.case import Case
    from careflow.runtime.compiled import SYSTEM
    from careflow.testing.assertions import load_process

    counter = iter(range(1, 1_000_000))

    def open_case(process: Any = None, case_id: str | None = None, *, data: Mapping[str, Any] | None = None,
                  actor: Any = SYSTEM, **options: Any) -> Case:
        definition = load_process(process) if process is not None else request.getfixturevalue("careflow_process")
        return Case.open(definition, case_id or f"{definition.id}-test-{next(counter)}", actor=actor, data=data,
                         clock=options.pop("clock", manual_clock), **options)

    return open_case
