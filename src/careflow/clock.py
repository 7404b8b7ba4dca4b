"""Time, injected: the ``Clock`` protocol, three clocks, and calendar arithmetic for deadlines.

Every clock returns timezone-aware UTC datetimes whose ``tzinfo`` is ``datetime.timezone.utc``
itself, so ``isoformat()``/``fromisoformat()`` round-trip them exactly (the audit log relies on it).
This module imports nothing else from careflow.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Anything with ``now() -> datetime`` (timezone-aware, UTC)."""

    def now(self) -> datetime: ...


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; naive datetimes are refused because their meaning depends on the host."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give a timezone-aware time")
    return moment.astimezone(UTC)


_now = datetime.now  # bound once: Case.fire reads the clock on every call


class SystemClock:
    """The host's clock."""

    __slots__ = ()

    def now(self) -> datetime:
        return _now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """Always the same moment: tests and replay."""

    __slots__ = ("_now",)

    def __init__(self, moment: datetime) -> None:
        self._now = as_utc(moment)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = as_utc(moment)

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()})"


class ManualClock(FixedClock):
    """A clock a test moves forward by hand."""

    __slots__ = ()

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC))

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move forward by ``delta`` (or ``timedelta(**parts)``); returns the new time."""
        step = delta if delta is not None else timedelta(**parts)
        if step < timedelta(0):
            raise ValueError("a ManualClock only moves forward")
        self._now = self._now + step
        return self._now

    def set(self, moment: datetime) -> None:
        """Move to ``moment``, which must not be earlier than now (a ManualClock only moves forward)."""
        moment = as_utc(moment)
        if moment < self._now:
            raise ValueError(f"a ManualClock only moves forward: {moment.isoformat()} is before "
                             f"{self._now.isoformat()}")
        self._now = moment

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"


SYSTEM_CLOCK = SystemClock()


def add_calendar(moment: datetime, years: int = 0, months: int = 0, days: int = 0, seconds: int = 0
                 ) -> datetime:
    """``moment`` plus a duration whose years and months are calendar units.

    Months are added first and the day is clamped to the end of the month (31 January + 1 month is
    28 or 29 February), as people count "one month" for a deadline; then days and seconds are added
    as fixed lengths.

    The result is never later than ``CALENDAR_END``: a later deadline becomes that moment, so no
    duration and no clock overflows a date, and any time zone can still show it.
    """
    end = CALENDAR_END if moment.tzinfo is UTC else _calendar_end_for(moment)
    try:
        if years or months:
            total = moment.month - 1 + months + 12 * years
            year, month = moment.year + total // 12, total % 12 + 1
            day = min(moment.day, calendar.monthrange(year, month)[1])
            moment = moment.replace(year=year, month=month, day=day)
        if days or seconds:
            moment = moment + timedelta(days=days, seconds=seconds)
    except (OverflowError, ValueError):  # past the year 9999
        return end
    return moment if moment < end else end


#: The latest deadline: a day before datetime's own end, so that converting it to any UTC offset (less
#: than a day) stays a valid datetime.
CALENDAR_END = datetime(9999, 12, 31, tzinfo=UTC)


def _calendar_end_for(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return CALENDAR_END.replace(tzinfo=None)
    return CALENDAR_END.astimezone(moment.tzinfo)
