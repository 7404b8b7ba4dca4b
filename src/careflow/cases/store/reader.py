"""``store.reader(actor, purpose)``: a view of a store whose every read is recorded as that reader's.

The view offers the store's reading methods with the same arguments and results; each records one
access entry per case it returns (``query`` and ``overdue``: one per case listed) before it returns.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from careflow.cases.store import CaseInfo
from careflow.cases.store.access import Reader

if TYPE_CHECKING:
    from careflow.cases.case import Case
    from careflow.cases.store.base import BaseStore
    from careflow.runtime.audit import AuditEntry


class CaseReader:
    """Reads of ``store`` recorded as ``who`` (a ``Reader``: actor id, roles, purpose, origin)."""

    def __init__(self, store: BaseStore, who: Reader) -> None:
        self.store = store
        self.who = who

    def load(self, case_id: str) -> Case:
        return self.store.read_case(case_id, self.who, "load")

    def export(self, case_id: str, indent: int | None = 2) -> str:
        return self.store.read_case(case_id, self.who, "export").to_json(indent=indent)

    def get(self, case_id: str) -> CaseInfo:
        return self.store.read_info(case_id, self.who)

    def history(self, case_id: str) -> tuple[AuditEntry, ...]:
        return self.store.read_history(case_id, self.who)

    def snapshot(self, case_id: str) -> dict[str, Any]:
        return self.store.read_snapshot(case_id, self.who)

    def query(self, *, process_id: str | None = None, state: str | None = None, due_before: datetime | None = None,
              closed: bool | None = None, limit: int | None = None) -> list[CaseInfo]:
        return self.store.read_query(self.who, "query", process_id=process_id, state=state, due_before=due_before,
                                     closed=closed, limit=limit)

    def overdue(self, at: datetime | None = None) -> list[CaseInfo]:
        moment = at if at is not None else self.store.clock.now()
        return self.store.read_query(self.who, "overdue", due_before=moment, closed=False)


__all__ = ["CaseReader"]
