"""Assertions for test suites: a history replays, a case reached a state, an event is refused.

Each failure says what happened in the words of the process: the entry index and reason of a
divergence with a diff of what the process does against what the history says, the path a case took,
or why an event was (not) refused. They raise ``AssertionError``, so they work in any test runner;
the pytest plugin only adds fixtures and collection around them.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from careflow.cases.case import Case, Explanation
from careflow.model.definition import ProcessDefinition
from careflow.runtime.compiled import Actor

ProcessRef = ProcessDefinition | str | os.PathLike[str]


def load_process(process: ProcessRef) -> ProcessDefinition:
    """A definition from itself, a bundled id or a file path."""
    if isinstance(process, ProcessDefinition):
        return process
    from careflow.definitions.loader import load

    return load(process)


# -- replay -------------------------------------------------------------------------------------------


def assert_replays(process: ProcessRef, history: Any, *, against: Any = None, name: str | None = None) -> Any:
    """Replay ``history`` (a file path, or entries) on ``process``; fail with the first divergence.

    Returns the replay result (its ``case`` is the rebuilt case). The failure message names the
    entry index and the reason, then shows a diff: ``-`` what the process produces, ``+`` what the
    history recorded.
    """
    __tracebackhide__ = True  # pytest shows the message, not this frame
    from careflow.history.replay import replay

    definition = load_process(process)
    if isinstance(history, str | os.PathLike) and not isinstance(history, Path):
        history = Path(history)
    result = replay(definition, history, against=against)
    if not result.ok:
        label = name or (str(history) if isinstance(history, Path) else "history")
        raise AssertionError(format_divergence(result.divergence, name=label, process=definition))
    return result


def format_divergence(divergence: Any, *, name: str = "history", process: ProcessDefinition | None = None) -> str:
    """A divergence as text: which entry and why (reason and code), then what the history recorded
    (``-`` lines) against what the process produces (``+`` lines)."""
    where = f" on {process.id}@{process.version}" if process is not None else ""
    index = getattr(divergence, "index", None)
    code = getattr(divergence, "code", None)
    lines = [f"{name} does not replay{where}: entry {index}" + (f" [{code}]" if code else "")]
    if hasattr(divergence, "format"):  # replay's own view: the reason, then only the fields that matter
        lines.extend("  " + line for line in divergence.format().splitlines())
        return "\n".join(lines)
    lines.append(f"  {getattr(divergence, 'reason', divergence)}")
    expected, actual = getattr(divergence, "expected", None), getattr(divergence, "actual", None)
    diff = difflib.unified_diff(_lines(expected), _lines(actual), "recorded", "replayed", lineterm="", n=100)
    lines.extend("  " + line for line in diff)
    return "\n".join(lines)


def _lines(value: Any) -> list[str]:
    """One line per field, keys sorted, so a diff shows exactly the fields that differ."""
    if value is None:
        return ["(nothing)"]
    if hasattr(value, "to_json"):
        value = value.to_json()
    if isinstance(value, Mapping):
        from careflow.runtime.data import to_json_value

        out = []
        for key in sorted(value):
            try:
                shown = to_json_value(value[key])
            except TypeError:
                shown = value[key]
            out.append(f"{key}: {shown!r}" if not isinstance(shown, str) else f"{key}: {shown}")
        return out
    return [str(line) for line in str(value).splitlines()] or [""]


# -- cases ----------------------------------------------------------------------------------------------


def assert_reaches(case: Case, state: str) -> None:
    """The case is in ``state``: a leaf id, a dotted path, or a compound state it is inside."""
    __tracebackhide__ = True
    here = case.state
    if state in (here, case.leaf) or state in here.split(".") or here.startswith(state + "."):
        return
    moves = [e for e in case.history if e.kind in ("opened", "fired", "deadline") and e.source != e.target]
    path = " → ".join(e.target or "?" for e in moves)
    denied = [f"{e.event} by {e.actor}: {e.detail}" for e in case.history if e.kind == "denied"]
    message = [f"case {case.case_id} is in '{here}', not in '{state}'", f"  path: {path}"]
    if denied:
        message.append("  refused on the way: " + "; ".join(denied[-3:]))
    raise AssertionError("\n".join(message))


def assert_denied(case: Case, event: str, actor: Actor, reason: str | type[BaseException] | None = None, *,
                  data: Mapping[str, Any] | None = None, fire: bool = False) -> Explanation:
    """``actor`` may not fire ``event`` now (with ``data``); with ``reason``, for that reason.

    ``reason`` is a refusal code (``role-denied``, ``guard-failed``, ``missing-data``,
    ``checklist-open``, ``event-not-allowed``, ``case-closed``, ``invalid-data``), a refusal class
    (``RoleDenied``) or words the explanation contains. By default nothing is logged (``Case.explain``);
    ``fire=True`` fires the event and checks the ``denied`` entry it leaves in the log.
    """
    __tracebackhide__ = True
    explanation = _fire_denied(case, event, actor, data) if fire else case.explain(event, actor, data)
    if explanation.possible:
        raise AssertionError(f"'{event}' by {actor.id} ({', '.join(sorted(actor.roles)) or 'no roles'}) is "
                             f"possible in '{case.state}' (it leads to '{explanation.target}'), expected a refusal")
    if reason is None or _matches(explanation, reason):
        return explanation
    wanted = reason.__name__ if isinstance(reason, type) else reason
    raise AssertionError(f"'{event}' by {actor.id} is refused in '{case.state}', but for "
                         f"{explanation.code}, not {wanted}: " + "; ".join(explanation.reasons))


def _fire_denied(case: Case, event: str, actor: Actor, data: Mapping[str, Any] | None) -> Explanation:
    from careflow.errors import CaseError

    try:
        result = case.fire(event, actor, data)
    except CaseError as exc:
        logged = case.history[-1]
        if logged.kind != "denied" or logged.code != exc.reason_code:
            raise AssertionError(f"'{event}' was refused ({exc.reason_code}) but the log's last entry is "
                                 f"{logged.kind} {logged.code}") from exc
        return Explanation(event, False, list(exc.reasons), exc.reason_code)
    return Explanation(event, True, [], None, (), result.state)


def _matches(explanation: Explanation, reason: str | type[BaseException]) -> bool:
    if isinstance(reason, type):
        return getattr(reason, "reason_code", None) == explanation.code
    text = "; ".join(explanation.reasons)
    return reason == explanation.code or reason in text


def entries_of(history: Sequence[Any]) -> list[Mapping[str, Any]]:
    """Entries as JSON objects (``AuditEntry`` or mappings)."""
    return [e.to_json() if hasattr(e, "to_json") else e for e in history]


__all__ = ["assert_denied", "assert_reaches", "assert_replays", "entries_of", "format_divergence", "load_process"]
