"""Recurring deadlines (``every``): when each occurrence falls, and which have passed.

Occurrence ``k`` (from 1) of a series entered at ``anchor`` falls at ``anchor + k × period`` in calendar
arithmetic (``clock.add_calendar``): always counted from the entry, never from the previous occurrence,
so P1M from 31 January gives 28/29 February, 31 March, 30 April, 31 May — the month ends do not drift.
An occurrence exists while ``k <= count``, it falls no later than ``anchor + until``, and it falls before
``clock.CALENDAR_END``. A recurring timer holds ``anchor`` and ``occurrence``, the number of the last
occurrence the clock has fired (0: none yet); its ``due_at`` is the next one.

After an outage, one firing stands for every occurrence that passed (``tick`` records how many were
missed): the number of entries stays bounded by the number of ticks, not by the length of the outage.
"""

from __future__ import annotations

from datetime import datetime

from careflow.clock import CALENDAR_END, add_calendar
from careflow.model.definition import Recurrence
from careflow.runtime.fields import Timer


def occurrence(anchor: datetime, rec: Recurrence, k: int) -> datetime:
    """When occurrence ``k`` falls (``CALENDAR_END`` at the latest)."""
    p = rec.period
    return add_calendar(anchor, p.years * k, p.months * k, p.days * k, p.seconds * k)


def exists(anchor: datetime, rec: Recurrence, k: int, when: datetime) -> bool:
    """Whether occurrence ``k``, falling at ``when``, is part of the series."""
    if rec.count is not None and k > rec.count:
        return False
    if when >= CALENDAR_END:  # clamped: the calendar ends the series
        return False
    u = rec.until
    return u is None or when <= add_calendar(anchor, u.years, u.months, u.days, u.seconds)


def arm(state: str, rec: Recurrence, anchor: datetime) -> Timer:
    """The timer of a series entered at ``anchor``: due at its first occurrence (already done when the
    first occurrence falls after ``until``, which the calendar can make so for ``every: P2M, until: P61D``)."""
    first = occurrence(anchor, rec, 1)
    return Timer(state, first, rec.event, not exists(anchor, rec, 1, first), anchor, 0)


def catch_up(timer: Timer, rec: Recurrence, now: datetime) -> tuple[Timer, int, datetime]:
    """For a timer whose next occurrence has passed at ``now``: (the timer re-armed after the latest
    occurrence at or before ``now``, that occurrence's number, its time). The number of occurrences one
    firing stands for is the returned number minus ``timer.occurrence``."""
    anchor = timer.anchor
    assert anchor is not None
    done, when = timer.occurrence + 1, timer.due_at  # passed: the caller checked due_at <= now
    step = 1
    while True:  # gallop: the usual case is the next occurrence still ahead (two calls to add_calendar)
        k = done + step
        at = occurrence(anchor, rec, k)
        if at > now or not exists(anchor, rec, k, at):
            break
        done, when, step = k, at, step * 2
    hi = k  # occurrence hi is not ripe; done is: search between
    while hi - done > 1:
        mid = (done + hi) // 2
        at = occurrence(anchor, rec, mid)
        if at <= now and exists(anchor, rec, mid, at):
            done, when = mid, at
        else:
            hi = mid
    nxt = occurrence(anchor, rec, done + 1)
    if exists(anchor, rec, done + 1, nxt):
        return Timer(timer.state, nxt, timer.event, False, anchor, done), done, when
    return Timer(timer.state, when, timer.event, True, anchor, done), done, when


__all__ = ["arm", "catch_up", "exists", "occurrence"]
