"""careflow on the anchors' shared case-flow workload (see ../../shared/bench-anchors/README.md).

The anchors' ``run.py --extra bench`` imports this module beside its own ``lib_*.py`` files, so the
imports of ``workload`` below resolve to the anchors' module. The process is generated from
``workload.TRANSITIONS``: the same 21 states (flat, like every anchor), the same 26 transitions,
``advance`` guarded by ``when: consent``. Unlike the anchors, every transition requires a role (the
actor has it), and every fire appends one audit entry to the case's in-memory log (careflow always
does; the hash chain is sealed lazily, when the history is read — measured separately by run.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from workload import GUARD_FIELD, INITIAL, STATES, TRANSITIONS, Adapter

import careflow
import careflow.runtime.engine
from careflow.clock import Clock, FixedClock

NAME = "careflow"
PACKAGE = "careflow"
ROLE = "worker"
ACTOR = careflow.Actor("ann", roles={ROLE})


def state_id(name: str) -> str:
    """careflow state ids are ``[a-z][a-z0-9_]*``: ``L0S1`` becomes ``l0s1`` (``closed`` stays)."""
    return name.lower()


def process_yaml() -> str:
    """The workload as a careflow process definition."""
    lines = [
        "careflow: 1",
        "id: bench_bti",
        'version: "1.0"',
        "title: {en: Anchor benchmark workload}",
        "language: en",
        f"roles: {{{ROLE}: {{label: Worker}}}}",
        f"data: {{{GUARD_FIELD}: {{type: boolean, default: false, label: Consent}}}}",
        f"initial: {state_id(INITIAL)}",
        "states:",
    ]
    for name in STATES:
        final = ", final: true" if name == "closed" else ""
        lines.append(f"  {state_id(name)}: {{label: {name}{final}}}")
    lines.append("transitions:")
    for event, source, target, guarded in TRANSITIONS:
        when = f", when: {GUARD_FIELD}" if guarded else ""
        lines.append(f"  - {{event: {event}, from: {state_id(source)}, to: {state_id(target)}, "
                     f"roles: [{ROLE}]{when}, label: {event}}}")
    return "\n".join(lines) + "\n"


def load() -> Any:
    """The parsed definition (a ``careflow.ProcessDefinition``)."""
    return careflow.loads(process_yaml())


def _adapter(clock: Clock | None) -> Adapter:
    # Compiled once up front, as a service does for its hot path (Case.open also takes the definition
    # and finds the compiled tables in a cache: about 0.1 µs more per case).
    process = careflow.runtime.engine.compile(load())
    # case.state is the dotted path of the leaf; with flat states that is the leaf id itself.
    names: dict[str, str] = {state_id(name): name for name in STATES}
    open_case = careflow.Case.open
    actor = ACTOR

    def create(consent: bool = True) -> careflow.Case:
        # The public call an application makes: the compiled process, a generated id, the data.
        return open_case(process, actor=actor, data={GUARD_FIELD: consent}, clock=clock)

    def fire(case: careflow.Case, event: str) -> None:
        case.fire(event, actor)  # a refused guard raises GuardFailed (after logging a 'denied' entry)

    def state(case: careflow.Case) -> str:
        return names[str(case.state)]

    return Adapter(create, fire, state)


def system_clock() -> Adapter:
    return _adapter(None)  # Case.open's default: careflow.clock.SystemClock, datetime.now(UTC) per entry


def fixed_clock() -> Adapter:
    # One shared FixedClock: no syscall per entry, the choice of tests, replay and batch imports.
    return _adapter(FixedClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC)))


VARIANTS: dict[str, Callable[[], Adapter]] = {
    "Case.fire, system clock": system_clock,
    "Case.fire, fixed clock": fixed_clock,
}
