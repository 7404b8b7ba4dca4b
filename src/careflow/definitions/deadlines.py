"""A state's deadlines as the builder reads them: ``due``/``on_due`` (once) and ``every``/``on_every`` with
``until``/``count`` (recurring), each checked against the limits in docs/limits.md; and the check that
every deadline event has a transition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from careflow.errors import did_you_mean, pointer_join
from careflow.model.definition import Deadline, Event, Recurrence, Transition
from careflow.model.durations import MAX_DURATION, MAX_DURATION_WORDS, Duration

if TYPE_CHECKING:
    from careflow.definitions.builder import Builder

DURATION_HINT = "write e.g. P14D (14 days), P2W (2 weeks), P1M (1 month) or PT48H (48 hours), without quotes"

#: The shortest period of ``every``: each occurrence is an audited entry, and a rhythm faster than hourly
#: is a monitoring job, not a case deadline (docs/limits.md).
MIN_PERIOD = "PT1H"
MIN_PERIOD_SECONDS = 3600
#: The most occurrences ``count`` may ask for (a weekly check for well over a century).
MAX_COUNT = 10_000
_RECURRING_KEYS = ("on_every", "until", "count")


def state_deadlines(b: Builder, sid: str, doc: dict[str, Any], pointer: str, final: bool
                    ) -> tuple[Deadline | None, Recurrence | None]:
    """The state's ``due`` and ``every``, or None for each that is absent or wrong (reported)."""
    due = None
    if isinstance(doc.get("due"), str):
        duration = duration_of(b, doc["due"], pointer_join(pointer, "due"), "deadline", "due")
        due = Deadline(duration, _s(doc.get("on_due")), pointer_join(pointer, "due")) if duration else None
    elif "on_due" in doc and "due" not in doc:
        b.report("CF107", f"state '{sid}' has 'on_due' but no 'due'", pointer_join(pointer, "on_due"),
                 "add due: P14D (or the right duration)")
    every = recurrence(b, sid, doc, pointer)
    if final and (due is not None or every is not None):
        key = "due" if due is not None else "every"
        b.report("CF116", f"final state '{sid}' cannot have a deadline", pointer_join(pointer, key),
                 f"remove '{key}' (and 'on_{key}'): a case that has ended has nothing left to do")
    return due, every


def recurrence(b: Builder, sid: str, doc: dict[str, Any], pointer: str) -> Recurrence | None:
    """``every`` with its ``on_every``, ``until`` and ``count``; None (reported) when any is wrong."""
    if "every" not in doc:
        for key in _RECURRING_KEYS:
            if key in doc:
                b.report("CF107", f"state '{sid}' has '{key}' but no 'every'", pointer_join(pointer, key),
                         "add every: P1M (or the right period), or remove it")
        return None
    if not isinstance(doc["every"], str):
        return None  # the schema reported it
    at = pointer_join(pointer, "every")
    period = duration_of(b, doc["every"], at, "period", "every")
    if period is not None and period.nominal_seconds < MIN_PERIOD_SECONDS:
        b.report("CF109", f"'{period.text}' is shorter than the shortest period of 'every' ({MIN_PERIOD}: one "
                 "hour)", at, "write e.g. P1D, P1W or P1M; a recurring deadline is a case worker's rhythm",
                 value=True)
        period = None
    until = None
    if isinstance(doc.get("until"), str):
        until = duration_of(b, doc["until"], pointer_join(pointer, "until"), "end", "until")
        if until is not None and period is not None and period.nominal_seconds > until.nominal_seconds:
            b.report("CF109", f"'until: {until.text}' ends the series before its first occurrence "
                     f"('every: {period.text}')", pointer_join(pointer, "until"),
                     f"write an 'until' of at least {period.text}, or use 'due: {period.text}' for one deadline",
                     value=True)
            until = None
    event = _s(doc.get("on_every"))
    if event is None and "on_every" not in doc:
        b.report("CF107", f"state '{sid}' has 'every' but no 'on_every'", at,
                 "add on_every: <event>, the event the clock raises at each occurrence (roles: [system])")
    count = doc.get("count")
    count = count if type(count) is int and 1 <= count <= MAX_COUNT else None  # the schema reported others
    wrong = period is None or event is None or ("until" in doc and until is None) or ("count" in doc and count is None)
    return None if wrong else Recurrence(period, event, until, count, at)  # type: ignore[arg-type]


def duration_of(b: Builder, text: str, pointer: str, what: str, key: str) -> Duration | None:
    """``text`` as a duration, or None and CF109: not a duration, or longer than MAX_DURATION."""
    duration = Duration.parse(text)
    shown = text if len(text) <= 40 else text[:37] + "..."
    if duration is None:
        b.report("CF109", f"'{shown}' is not an ISO-8601 duration", pointer, DURATION_HINT, value=True)
        return None
    if not duration.within_bound():
        b.report("CF109", f"'{shown}' is longer than the longest {what} allowed ({MAX_DURATION_WORDS})",
                 pointer, f"write at most {MAX_DURATION} (or P1200M, P36525D, PT876600H); a {what} "
                 f"further away than that is none: leave '{key}' out", value=True)
        return None
    return duration


def check_deadline_events(b: Builder, transitions: list[Transition], events: list[Event]) -> None:
    """CF114: a deadline event no transition uses (error), or a declared event nobody uses (warning)."""
    used = {t.event for t in transitions}
    for sid in b.state_order:
        state = b.states[sid]
        for event, key in ((state.due.event if state.due else None, "on_due"),
                           (state.every.event if state.every else None, "on_every")):
            if event is not None and event not in used:
                b.report("CF114", f"the deadline event '{event}' of state '{sid}' is used by no transition",
                         pointer_join(b.state_pointer[sid], key),
                         did_you_mean(event, used, "event") or "add a transition for it (roles: [system])",
                         value=True)
    for e in events:
        mark = b.source_map.get(e.pointer)
        from_base = mark is not None and mark.file != b.file  # an adapting file may drop base events
        if e.id not in used and not from_base and not b.blind:
            b.report("CF114", f"event '{e.id}' is declared but used by no transition", e.pointer,
                     did_you_mean(e.id, used, "event"), severity="warning")


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) else None
