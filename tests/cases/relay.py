"""The relay world the store suites share: a relay process that hands off to a follow-up process."""

from __future__ import annotations

from typing import Any

from careflow.cases.case import Case
from careflow.cases.store import CaseStore
from careflow.clock import ManualClock
from careflow.definitions.loader import loads
from careflow.runtime.compiled import Actor, CompiledProcess, compile
from tests.support import process_text

RELAY = process_text("relay_store")

FOLLOWUP = process_text("followup")

ANN = Actor("ann", {"employee"})
BOB = Actor("bob")
_FOLLOWUP = loads(FOLLOWUP)


def _resolve(process_id: str) -> Any:
    assert process_id == "followup"
    return _FOLLOWUP


RELAY_C: CompiledProcess = compile(loads(RELAY, known_processes=["followup"]), None, _resolve)
FOLLOWUP_C: CompiledProcess = compile(_FOLLOWUP)


def new_case(clock: ManualClock, case_id: str = "k1", **data: Any) -> Case:
    return Case.open(RELAY_C, case_id, actor=ANN, data=data, clock=clock)


def started(store: CaseStore, clock: ManualClock, case_id: str = "k1") -> None:
    store.create(new_case(clock, case_id, consent=True))
    store.fire(case_id, "start", ANN, {"who": "bob"})
