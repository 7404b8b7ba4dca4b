"""Registry: Python guards bound up front (CF205), actions after commit, ActionFailed semantics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from careflow.cases.case import Case
from careflow.cases.results import CaseView
from careflow.clock import ManualClock
from careflow.errors import ActionFailed, DefinitionError, GuardFailed
from careflow.runtime.audit import AuditEntry
from careflow.runtime.compiled import Actor, compile
from careflow.runtime.registry import Registry
from tests.support import load_process

PROCESS = load_process("school")
TEACHER = Actor("tia", {"teacher"})


def registry_with_guards(calls: list[Any] | None = None) -> Registry:
    registry = Registry()

    @registry.guard("has_contact")
    def has_contact(case_data: Mapping[str, Any], event_data: Mapping[str, Any], actor: Actor) -> bool:
        if calls is not None:
            calls.append((dict(case_data), dict(event_data), actor.id))
        return actor.id != "nobody"

    @registry.guard("grade_ok")
    def grade_ok(case_data: Mapping[str, Any], event_data: Mapping[str, Any], actor: Actor) -> bool:
        if case_data["grade"] is None:
            raise ValueError("no grade yet")
        return bool(case_data["grade"] >= 2)

    return registry


def test_bind_reports_every_missing_guard_with_cf205() -> None:
    registry = Registry()

    @registry.guard("has_contactt")
    def typo(case_data: Mapping[str, Any], event_data: Mapping[str, Any], actor: Actor) -> bool:
        return True

    with pytest.raises(DefinitionError) as info:
        registry.bind(PROCESS)
    codes = [(d.code, d.location.pointer) for d in info.value.diagnostics]
    assert codes == [("CF205", "/transitions/0/guard"), ("CF205", "/transitions/1/guard")]
    assert "did you mean 'has_contactt'" in (info.value.diagnostics[0].hint or "")
    assert info.value.diagnostics[0].location.line is not None


def test_compiling_without_a_registry_is_refused_up_front() -> None:
    with pytest.raises(DefinitionError) as info:
        compile(PROCESS)
    assert {d.code for d in info.value.diagnostics} == {"CF205"}


def test_python_guards_decide_and_explain() -> None:
    calls: list[Any] = []
    registry = registry_with_guards(calls)
    case = Case.open(PROCESS, "s1", registry=registry, clock=ManualClock())
    with pytest.raises(GuardFailed, match="guard 'has_contact' is false"):
        case.fire("submit", Actor("nobody", {"teacher"}), {"grade": 1})
    case.fire("submit", TEACHER, {"grade": 1})
    assert calls[-1] == ({"grade": None}, {"grade": 1}, "tia")
    why = case.explain("finish", TEACHER)
    assert not why.possible and why.reasons == ["guard 'grade_ok' is false"]
    with pytest.raises(GuardFailed) as info:
        blank = Case.open(PROCESS, "s3", registry=registry, clock=ManualClock())
        blank.fire("submit", TEACHER)  # grade stays null, so grade_ok raises
        blank.fire("finish", TEACHER)
    assert "ValueError: no grade yet" in info.value.reasons[0]


def test_actions_run_after_commit_by_event_id_and_star() -> None:
    registry = registry_with_guards()
    seen: list[tuple[str, str, str]] = []

    @registry.action("submit")
    def on_event(view: CaseView, entry: AuditEntry) -> None:
        seen.append(("event", view.state, entry.event or ""))
        assert entry.hash is not None  # actions see sealed entries

    @registry.action("finish@review")
    def on_id(view: CaseView, entry: AuditEntry) -> None:
        seen.append(("id", view.state, entry.event or ""))

    @registry.action("*")
    def on_all(view: CaseView, entry: AuditEntry) -> None:
        seen.append(("all", view.state, entry.event or ""))

    case = Case.open(PROCESS, "s1", registry=registry, clock=ManualClock())
    case.fire("submit", TEACHER, {"grade": 3})
    case.fire("finish", TEACHER)
    assert seen == [("event", "review", "submit"), ("all", "review", "submit"),
                    ("id", "done", "finish"), ("all", "done", "finish")]


def test_a_failing_action_leaves_the_transition_committed() -> None:
    registry = registry_with_guards()
    later: list[str] = []

    @registry.action("submit")
    def notify(view: CaseView, entry: AuditEntry) -> None:
        raise ConnectionError("mail server down")

    @registry.action("submit")
    def second(view: CaseView, entry: AuditEntry) -> None:
        later.append("ran")

    case = Case.open(PROCESS, "s1", registry=registry, clock=ManualClock())
    with pytest.raises(ActionFailed) as info:
        case.fire("submit", TEACHER, {"grade": 4})
    err = info.value
    assert isinstance(err.__cause__, ConnectionError) and err.action.endswith("notify")
    assert case.state == "review" and case.data["grade"] == 4  # committed
    assert err.result.entry.kind == "fired" and err.result.entry.target == "review"
    failed = case.history[-1]
    assert (failed.kind, failed.code, failed.ref and failed.ref["seq"]) == ("action_failed", "action-failed",
                                                                             err.result.entry.seq)
    assert "mail server down" in (failed.detail or "") and later == [] and case.verify_chain()
    case.fire("finish", TEACHER)  # the case goes on
    assert case.closed


def test_duplicate_guard_names_are_refused() -> None:
    registry = registry_with_guards()
    with pytest.raises(ValueError):
        registry.guard("grade_ok")(lambda c, e, a: True)
    assert registry.guards == {"has_contact", "grade_ok"} and registry.check(PROCESS) == []
