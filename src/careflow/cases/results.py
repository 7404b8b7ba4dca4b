"""What the ``Case`` facade hands out: ``FireResult``, ``Explanation`` and the read-only ``CaseView``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from careflow.runtime.audit import AuditEntry
from careflow.runtime.fields import Link

if TYPE_CHECKING:
    from careflow.cases.case import Case


class FireResult(NamedTuple):
    """What ``fire``/``tick`` committed: ``entries`` (sealed on access), ``entry`` (the last one),
    ``spawned`` (cases opened by handoffs; the application decides where to keep them)."""

    case: Case
    start: int
    stop: int
    spawned: tuple[Case, ...] = ()

    @property
    def entries(self) -> tuple[AuditEntry, ...]:
        return self.case.entries_between(self.start, self.stop)

    @property
    def entry(self) -> AuditEntry:
        return self.entries[-1]

    @property
    def state(self) -> str:
        return self.case.state


@attrs.frozen
class Explanation:
    """Whether ``event`` is possible for an actor now, and why (not).

    ``code`` is the refusal code when not possible; ``needs_data`` the event data still to be given
    (missing required fields, or fields a false guard reads) when no data was passed; ``target`` the
    dotted state it would lead to when possible; ``message`` the refusal in a case worker's words
    (``Case.explain``'s ``lang``).
    """

    event: str
    possible: bool
    reasons: list[str]
    code: str | None = None
    needs_data: tuple[str, ...] = ()
    target: str | None = None
    message: str | None = None


@attrs.frozen
class CaseView:
    """A read-only view of a case as it is when an action runs (``CaseView.of(case)``)."""

    case_id: str
    process_id: str
    process_version: str
    state: str
    leaf: str
    data: Mapping[str, Any]
    roles: Mapping[str, str]
    links: tuple[Link, ...]

    @classmethod
    def of(cls, case: Case) -> CaseView:
        return cls(case.case_id, case.process_id, case.process_version, case.state, case.leaf, case.data,
                   case.roles, case.links)


__all__ = ["CaseView", "Explanation", "FireResult"]
