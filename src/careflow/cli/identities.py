"""Who acts, and on which process: the command line's checks on ids that a person types or a file holds.

- A person never acts as the system. ``--as`` refuses the actor id ``system`` (in any letter case, with or
  without spaces around it) and the role ``system``: a usage error, exit 2, before any store is opened, so
  nothing is fired or logged. Only the deadline runner (``careflow due --fire``, which calls the store's
  ``tick``) acts as the system. The library trusts the ``Actor`` its caller builds; see docs/limits.md.
- A role is a role name, as in process files: ``[a-z][a-z0-9_]*``.
- A process id read from data (a case file for ``case import``) is an id, never a path: it is looked up
  among the ``--process`` files given, then on the search path by id (``careflow.definitions.loader.load_id``).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from careflow.model.definition import ProcessDefinition
    from careflow.runtime.compiled import Actor

ROLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
SYSTEM = "system"  # careflow.model.definition.SYSTEM_ACTOR and SYSTEM_ROLE; a test keeps them equal


def parse_actor(text: str) -> Actor:
    """``ann:nurse,doctor`` -> actor ``ann`` with global roles nurse and doctor (``ann`` alone: no roles).

    Raises ``argparse.ArgumentTypeError`` (exit 2) for an empty id, a role that is not a role name, and
    any claim to be the system. Its message quotes the argument as typed: the parser escapes it."""
    from careflow.runtime.compiled import Actor

    person, _, role_text = text.partition(":")
    if not person.strip():
        raise argparse.ArgumentTypeError(f"'{text}': give ACTOR or ACTOR:ROLE[,ROLE]")
    if person.strip().casefold() == SYSTEM:
        raise argparse.ArgumentTypeError(
            f"'{person}' is the deadline runner's id: a person cannot act as the system "
            "(only 'careflow due --fire' does)")
    roles = [r for r in role_text.split(",") if r]
    for role in roles:
        if role.strip().casefold() == SYSTEM:
            raise argparse.ArgumentTypeError(
                "the role 'system' is the deadline runner's: a person cannot hold it "
                "(only 'careflow due --fire' acts as the system)")
        if not ROLE_NAME.fullmatch(role):
            raise argparse.ArgumentTypeError(
                f"'{role}' is not a role name (a lowercase letter, then lowercase letters, digits or '_')")
    return Actor(person, frozenset(roles))


def process_by_id(process_id: object, files: Sequence[str] | None) -> ProcessDefinition:
    """The process a case file names: one of the ``--process`` files with that id, else the one on the
    search path. Raises ``NotAProcessId`` when ``process_id`` is not of the id form: it is never a path."""
    from careflow.definitions.loader import PROCESS_ID, load, load_id
    from careflow.errors import NotAProcessId

    if not isinstance(process_id, str) or not PROCESS_ID.fullmatch(process_id):
        raise NotAProcessId(process_id)
    for file in files or ():
        definition = load(file)
        if definition.id == process_id:
            return definition
    return load_id(process_id)
