"""Text rules of the input boundary, and ``describe``: a safe, bounded stand-in for any value.

Kept apart from ``boundary`` so ``compiled.Actor`` can judge its own id and roles once, when built,
without an import cycle.
"""

from __future__ import annotations

import re
from typing import Any

from careflow.model.limits import DEFAULT_LIMITS, Limits

#: The format's rule for names (events, states, fields, roles in definitions).
NAME = re.compile(r"[a-z][a-z0-9_]*")
#: Longest text ``describe`` returns unchanged: every description it makes is shorter, so a recorded
#: description described again is itself (replay re-decides what was recorded and must get the same).
DESCRIBED = 100
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_PREVIEW = 24


def describe(value: Any) -> str:
    """``value`` itself when it is short printable text, else a description such as ``<int>`` or
    ``<text 'ab\\x00', 3 characters>``: non-empty, printable, at most ``DESCRIBED`` characters."""
    if type(value) is str:
        if value and len(value) <= DESCRIBED and value.isprintable():
            return value
        if not value:
            return "<empty text>"
        preview = ascii(value[:_PREVIEW])[:40]
        return f"<text {preview}{'...' if len(value) > _PREVIEW else ''}, {len(value)} characters>"
    return f"<{type_name(value)}>"


def shown(value: Any) -> str:
    """``describe(value)`` for a message: quoted when it is the text itself, so ``'ann'`` reads as text."""
    text = describe(value)
    return f"'{text}'" if text is value else text


def type_name(value: Any) -> str:
    """The type of ``value`` in printable ASCII, bounded (a class may be named anything)."""
    name = type(value).__name__
    return ascii(name)[1:-1][:40] if type(name) is str else "object"


def safe_text(value: Any) -> bool:
    """Text in valid Unicode: no lone surrogate, no NUL (newlines and tabs are fine)."""
    return type(value) is str and ((value.isascii() and "\x00" not in value) or _UNSAFE.search(value) is None)


def id_problem(value: Any, limit: int, what: str) -> str | None:
    """None for an id (actor, person or role): non-empty printable text of at most ``limit`` characters."""
    if type(value) is not str:
        return f"{what} must be text, not {shown(value)}"
    if not value:
        return f"{what} must not be empty"
    if len(value) > limit:
        return f"{what} {shown(value)} is longer than {limit} characters"
    if not value.isprintable():
        return f"{what} {shown(value)} holds a control character, a line break or invalid Unicode"
    return None


def actor_problem(actor_id: Any, roles: frozenset[Any], limits: Limits = DEFAULT_LIMITS) -> str | None:
    """None for a good actor id and role set under ``limits``, else the problem in words."""
    problem = id_problem(actor_id, limits.actor_length, "the actor id")
    if problem is not None:
        return problem
    if len(roles) > limits.roles:
        return f"the actor holds {len(roles)} roles; at most {limits.roles} are accepted"
    for role in roles:
        problem = id_problem(role, limits.role_length, "a role")
        if problem is not None:
            return problem
    return None


def event_problem(event: Any, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """None for an event name: text, at most ``limits.event_length`` characters, the format's name rule."""
    if type(event) is not str:
        return f"the event must be an event name, not {shown(event)}"
    if not event:
        return "the event must not be empty"
    if len(event) > limits.event_length:
        return f"the event {shown(event)} is longer than {limits.event_length} characters"
    if NAME.fullmatch(event) is None:
        return (f"the event {shown(event)} is not an event name (a lowercase letter, then lowercase letters, "
                "digits and _)")
    return None


def reason_problem(reason: Any, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """None for no reason or a good one: text in valid Unicode of at most ``limits.reason_length`` characters."""
    if reason is None:
        return None
    if type(reason) is not str:
        return f"the reason must be text, not {shown(reason)}"
    if len(reason) > limits.reason_length:
        return f"the reason is longer than {limits.reason_length} characters ({len(reason)})"
    if not safe_text(reason):
        return f"the reason {shown(reason)} holds a NUL or a lone surrogate"
    return None


__all__ = ["DESCRIBED", "NAME", "actor_problem", "describe", "event_problem", "id_problem", "reason_problem",
           "safe_text", "shown", "type_name"]
