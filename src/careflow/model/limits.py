"""What a case accepts from a caller: the documented limits (one place) and a process's own ``limits:``.

The defaults below are the most any process allows; a process may only tighten them (the ``limits:``
block of the format, ``careflow.definitions.builder``). ``careflow.runtime.boundary`` enforces them
before the step or the audit log sees an input. docs/limits.md lists each with what a caller gets past it.
"""

from __future__ import annotations

import attrs

#: Characters in an event name (names also follow the format's rule: ``^[a-z][a-z0-9_]*$``).
EVENT_LENGTH = 200
#: Characters in an actor id, and in a person id given a case role.
ACTOR_LENGTH = 200
#: Characters in one role id.
ROLE_LENGTH = 200
#: Roles one actor may hold.
ROLES = 64
#: Characters in a reason.
REASON_LENGTH = 4_000
#: Nesting of event or case data (a mapping of scalars is depth 1).
DATA_DEPTH = 32
#: UTF-8 bytes of the data one call sends (keys and text counted in full, other values as 8 bytes).
DATA_BYTES = 262_144
#: Largest magnitude of an integer in data: the integers every JSON reader reads exactly (2**53 - 1).
INTEGER_BOUND = 2**53 - 1


@attrs.frozen
class Limits:
    """The limits one process applies; each at most its default (module constants above)."""

    event_length: int = EVENT_LENGTH
    actor_length: int = ACTOR_LENGTH
    role_length: int = ROLE_LENGTH
    roles: int = ROLES
    reason_length: int = REASON_LENGTH
    data_depth: int = DATA_DEPTH
    data_bytes: int = DATA_BYTES
    integer_bound: int = INTEGER_BOUND

    @property
    def tightened(self) -> bool:
        """Whether any limit is below its default (the runtime then checks actors in full each time)."""
        return self != DEFAULT_LIMITS


DEFAULT_LIMITS = Limits()
#: The keys of ``limits:`` in the format, with each one's default (the largest value it may take).
LIMIT_DEFAULTS: dict[str, int] = attrs.asdict(DEFAULT_LIMITS)

__all__ = ["ACTOR_LENGTH", "DATA_BYTES", "DATA_DEPTH", "DEFAULT_LIMITS", "EVENT_LENGTH", "INTEGER_BOUND",
           "LIMIT_DEFAULTS", "REASON_LENGTH", "ROLES", "ROLE_LENGTH", "Limits"]
