"""``memory:`` — a store in this process only, for tests and experiments.

It keeps the same text forms as the durable stores (snapshot JSON, entry JSON), so it exercises the
same encode/decode path and behaves the same under the shared test suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from careflow.cases.store import CaseInfo
from careflow.cases.store.access import AccessRow
from careflow.cases.store.base import BaseStore
from careflow.cases.store.codec import Change, EntryRow, Row
from careflow.cases.store.scan import BATCH, AuditRecord, Batch, CaseRecord, batch_of, upto
from careflow.cases.store.seal import Sealer
from careflow.errors import CaseExists, ConcurrentUpdate


class MemoryStore(BaseStore):
    def __init__(self, url: str = "memory:", **options: Any) -> None:
        super().__init__(url, **options)
        self._cases: dict[str, Change] = {}
        self._audit: dict[str, list[EntryRow]] = {}
        self._values: dict[tuple[str, int, str], tuple[str, str]] = {}  # (case, seq, field) -> (salt, value)
        self._saved: tuple[dict[str, Change], dict[str, int]] | None = None
        self._access: dict[str, list[AccessRow]] = {}
        self._access_head: dict[str, tuple[int, str]] = {}
        self._saved_values: dict[tuple[str, int, str], tuple[str, str]] = {}

    def _begin(self) -> None:
        # Enough to undo a transaction: the case rows as they were, each log's length, the kept values.
        self._saved = (dict(self._cases), {k: len(v) for k, v in self._audit.items()})
        self._saved_values = dict(self._values)

    def _commit(self) -> None:
        self._saved = None

    def _rollback(self) -> None:
        if self._saved is None:
            return
        self._cases, lengths = self._saved
        self._values = self._saved_values
        for case_id in list(self._audit):
            if case_id in lengths:
                del self._audit[case_id][lengths[case_id]:]
            else:
                del self._audit[case_id]
        self._saved = None

    def _unit_write(self, changes: Sequence[Change]) -> None:
        self._apply(changes)  # the store lock is held: nobody can interleave

    def _read(self, case_id: str, lock: bool) -> Row | None:
        ch = self._cases.get(case_id)
        return None if ch is None else ch.row()

    def _apply(self, changes: Sequence[Change]) -> None:
        for ch in changes:  # check everything first: a refused commit changes nothing
            current = self._cases.get(ch.case_id)
            if ch.expected is None and current is not None:
                raise CaseExists(ch.case_id)
            if ch.expected is not None and (current is None or current.info.version != ch.expected):
                raise ConcurrentUpdate(ch.case_id, ch.expected, None if current is None else current.info.version)
        for ch in changes:
            self._cases[ch.case_id] = ch._replace(entries=(), values=())
            self._audit.setdefault(ch.case_id, []).extend(ch.entries)
            for v in ch.values:
                self._values[(v.case_id, v.seq, v.field)] = (v.salt, v.value)

    def _value_rows(self, case_id: str) -> list[tuple[int, str, str, str]]:
        return sorted((seq, field, salt, value) for (cid, seq, field), (salt, value) in self._values.items()
                      if cid == case_id)

    def _remove_values(self, case_id: str, keys: Sequence[tuple[int, str]]) -> None:
        for seq, field in keys:
            self._values.pop((case_id, seq, field), None)

    def _history_rows(self, case_id: str) -> list[tuple[int, str, str, str]]:
        return [(e.seq, e.hash, e.prev_hash, e.entry) for e in self._audit.get(case_id, ())]

    def _select(self, case_id: str | None, process_id: str | None, state: str | None,
                due_before: datetime | None, closed: bool | None, limit: int | None) -> list[CaseInfo]:
        out = []
        for ch in self._cases.values():
            info = ch.info
            if ((case_id is None or info.case_id == case_id)
                    and (process_id is None or info.process_id == process_id)
                    and (state is None or info.state == state or info.state.startswith(state + "."))
                    and (due_before is None or (info.due_at is not None and info.due_at <= due_before))
                    and (closed is None or info.closed == closed)):
                out.append(info)
        if due_before is not None:
            out.sort(key=lambda i: (i.due_at, i.case_id))
        else:
            out.sort(key=lambda i: i.case_id)
        return out[:limit] if limit is not None else out

    def _case_ids(self) -> list[str]:
        return sorted(self._cases)

    def _logged_ids(self) -> list[str]:
        return sorted(k for k, v in self._audit.items() if v)

    def _scan(self, after: str | None, only: str | None = None) -> Batch:
        if only is not None:
            found = self._cases.get(only)
            return Batch([] if found is None else [CaseRecord(*found.info, found.snapshot, found.seal)],
                         [AuditRecord(*e) for e in self._audit.get(only, ())], None)
        ids = sorted(i for i in self._cases if after is None or i > after)[:BATCH]
        cases = [CaseRecord(*self._cases[i].info, self._cases[i].snapshot, self._cases[i].seal) for i in ids]
        last = upto(cases)
        logged = sorted(i for i, v in self._audit.items() if v and (after is None or i > after)
                        and (last is None or i <= last))
        return batch_of(after, cases, [AuditRecord(*e) for i in logged for e in self._audit[i]])

    # -- the access log (careflow.cases.store.access_log) ------------------------------------------------

    def _access_heads(self, case_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
        return {i: self._access_head[i] for i in case_ids if i in self._access_head}

    def _access_append(self, rows: Sequence[AccessRow]) -> set[str]:
        done = set()
        for row in rows:  # the store lock is held
            if self._access_head.get(row.case_id, (0, ""))[0] == row.seq - 1:
                self._access.setdefault(row.case_id, []).append(row)
                self._access_head[row.case_id] = (row.seq, row.hash)
                done.add(row.case_id)
        return done

    def _access_rows(self, case_id: str | None, actor: str | None, purpose: str | None, since: datetime | None,
                     limit: int | None) -> list[AccessRow]:
        chains = [self._access.get(case_id, [])] if case_id is not None else list(self._access.values())
        found = [r for chain in chains for r in chain
                 if (actor is None or r.actor == actor) and (purpose is None or r.purpose == purpose)
                 and (since is None or r.time >= since)]
        found.sort(key=(lambda r: r.seq) if case_id is not None else (lambda r: (r.time, r.case_id, r.seq)))
        return found[:limit] if limit is not None else found

    def _access_ids(self) -> list[str]:
        return sorted(set(self._access) | set(self._access_head))

    def reseal(self, new_key: bytes | None) -> int:
        """Seal every case with ``new_key`` (see ``CaseStore.reseal``); the rows' seals are checked first."""
        new = Sealer(new_key)
        with self._guard():
            for ch in self._cases.values():
                self._check(ch.row())
            self._cases = {k: ch._replace(seal=new.seal(ch.row())) for k, ch in self._cases.items()}
        self.sealer = new
        return len(self._cases)

    def tamper(self, case_id: str, seq: int, entry: str) -> None:
        """Replace an audit row's entry JSON behind the store's back (tests of ``verify``)."""
        rows = self._audit[case_id]
        index = next(i for i, e in enumerate(rows) if e.seq == seq)
        rows[index] = rows[index]._replace(entry=entry)


__all__ = ["MemoryStore"]
