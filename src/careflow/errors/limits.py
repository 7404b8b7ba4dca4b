"""Refusals of the input boundary (``careflow.runtime.boundary``): what a caller sent that no case accepts.

Each is a ``CaseError`` with a stable code, raised by the facades like any refusal, and recorded (for
``fire``) as a ``denied`` entry that holds a safe, bounded description instead of the value sent.
The classes derive from the refusal a caller caught before there was a boundary, so old handlers
keep working: a bad event is an ``EventNotAllowed``, bad data an ``InvalidData``.
"""

from __future__ import annotations

from careflow.errors.diagnostics import CODES
from careflow.errors.refusals import REFUSAL_CLASSES, CaseError, EventNotAllowed, InvalidData

CODES.update({
    "CF508": "invalid-event",
    "CF509": "invalid-actor",
    "CF510": "invalid-reason",
    "CF511": "invalid-value",
    "CF512": "over-limit",
    "CF513": "invalid-input",
})


class InvalidEvent(EventNotAllowed):
    """The event is not an event name: not text, empty, too long, or not ``^[a-z][a-z0-9_]*$``."""

    code = "CF508"
    reason_code = "invalid-event"


class InvalidActor(CaseError):
    """The actor is not an ``Actor``, or its id or a role is not non-empty, bounded, printable text."""

    code = "CF509"
    reason_code = "invalid-actor"


class InvalidReason(CaseError):
    """The reason is not text, is too long, or holds a NUL or a lone surrogate."""

    code = "CF510"
    reason_code = "invalid-reason"


class InvalidValue(InvalidData):
    """Data that is not plain JSON: a non-finite or too large number, a lone surrogate or NUL in text, a
    key that is not text, a value of another type (bytes, set, datetime…)."""

    code = "CF511"
    reason_code = "invalid-value"


class OverLimit(InvalidData):
    """Data nested deeper, or larger in total, than the process's limits allow."""

    code = "CF512"
    reason_code = "over-limit"


class InvalidInput(CaseError):
    """Any other argument of the wrong kind: a case id that is not text, a time without an offset."""

    code = "CF513"
    reason_code = "invalid-input"


BOUNDARY_ERRORS: tuple[type[CaseError], ...] = (InvalidEvent, InvalidActor, InvalidReason, InvalidValue, OverLimit,
                                                InvalidInput)
REFUSAL_CLASSES.update({cls.reason_code: cls for cls in BOUNDARY_ERRORS})

__all__ = ["BOUNDARY_ERRORS", "InvalidActor", "InvalidEvent", "InvalidInput", "InvalidReason", "InvalidValue",
           "OverLimit"]
