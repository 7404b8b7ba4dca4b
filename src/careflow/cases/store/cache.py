"""A least-recently-used cache of case rows, bounded by the bytes it holds rather than by a count.

A count bound is no bound when one row's snapshot can be megabytes: 10,000 rows of 1 MB are 10 GB. Each
row is charged the memory of its strings; a row larger than an eighth of the budget is not kept at all.
"""

from __future__ import annotations

import sys
from collections import OrderedDict

from careflow.cases.store.codec import Row

#: Bytes of rows a store keeps by default (PostgreSQL: the rows this connection last committed).
DEFAULT_CACHE_BYTES = 32 * 1024 * 1024
_ROW_OVERHEAD = 200  # the tuple, the ints and the dict slot


def row_bytes(row: Row) -> int:
    return sys.getsizeof(row.snapshot) + sys.getsizeof(row.case_id) + sys.getsizeof(row.head) + _ROW_OVERHEAD


class RowCache:
    """Rows by case id, the least recently used dropped first once ``max_bytes`` would be exceeded."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._rows: OrderedDict[str, tuple[Row, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, case_id: str) -> Row | None:
        found = self._rows.get(case_id)
        if found is None:
            return None
        self._rows.move_to_end(case_id)
        return found[0]

    def put(self, row: Row) -> None:
        self.pop(row.case_id)
        size = row_bytes(row)
        if size > self.max_bytes // 8:
            return
        self._rows[row.case_id] = (row, size)
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, (_, dropped) = self._rows.popitem(last=False)
            self.bytes -= dropped

    def pop(self, case_id: str) -> None:
        found = self._rows.pop(case_id, None)
        if found is not None:
            self.bytes -= found[1]

    def clear(self) -> None:
        self._rows.clear()
        self.bytes = 0


__all__ = ["DEFAULT_CACHE_BYTES", "RowCache", "row_bytes"]
