"""Named Python guards and actions, registered by the embedding application and bound up front.

    registry = Registry()

    @registry.guard("has_school_contact")
    def has_school_contact(case_data, event_data, actor) -> bool: ...

    @registry.action("escalate")           # an event name, a transition id, or "*" for every transition
    def notify(case_view, entry) -> None: ...

``bind(process)`` resolves every transition's ``guard:`` name before any case runs; a missing one
is a ``DefinitionError`` with one CF205 diagnostic per transition (nothing is looked up at fire
time). Actions run after a transition is committed; see ``Case.fire`` for their failure semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from careflow.errors import DefinitionError, Diagnostic, did_you_mean
from careflow.model.definition import ProcessDefinition

GuardFn = Callable[[Mapping[str, Any], Mapping[str, Any], Any], bool]
ActionFn = Callable[[Any, Any], None]
F = TypeVar("F", bound=Callable[..., Any])

#: An action registered under this name runs after every transition of every process.
EVERY = "*"


class Registry:
    """Guards and actions by name. Register first, then open cases (``Case.open(..., registry=...)``)."""

    def __init__(self) -> None:
        self._guards: dict[str, GuardFn] = {}
        self._actions: dict[str, list[tuple[str, ActionFn]]] = {}

    def guard(self, name: str) -> Callable[[F], F]:
        """Decorator: register ``fn(case_data, event_data, actor) -> bool`` as guard ``name``."""
        def register(fn: F) -> F:
            if name in self._guards:
                raise ValueError(f"guard '{name}' is already registered")
            self._guards[name] = fn
            return fn
        return register

    def action(self, name: str) -> Callable[[F], F]:
        """Decorator: run ``fn(case_view, entry)`` after transitions whose event or id is ``name``.

        ``name`` may be an event (``escalate``), a transition id (``escalate@l0_s4``) or ``"*"``.
        Several actions may share a name; they run in registration order.
        """
        def register(fn: F) -> F:
            label = getattr(fn, "__qualname__", repr(fn))
            self._actions.setdefault(name, []).append((label, fn))
            return fn
        return register

    @property
    def guards(self) -> frozenset[str]:
        return frozenset(self._guards)

    @property
    def action_names(self) -> frozenset[str]:
        return frozenset(self._actions)

    def check(self, process: ProcessDefinition) -> list[Diagnostic]:
        """CF205 diagnostics for every ``guard:`` name this registry lacks (empty when all are there)."""
        return missing_guards(process, self._guards)

    def bind(self, process: ProcessDefinition
             ) -> tuple[dict[str, GuardFn], dict[str, tuple[tuple[str, ActionFn], ...]]]:
        """The guards ``process`` uses, and its actions by transition id; or ``DefinitionError`` (CF205).

        An action name that matches no event or transition of *this* process is not an error: one
        registry usually serves several processes.
        """
        problems = self.check(process)
        if problems:
            raise DefinitionError(problems, process.path or process.id)
        guards = {t.guard: self._guards[t.guard] for t in process.transitions if t.guard is not None}
        actions: dict[str, tuple[tuple[str, ActionFn], ...]] = {}
        for t in process.transitions:
            by_id = self._actions.get(t.id, ()) if t.id != t.event else ()
            found = [*self._actions.get(t.event, ()), *by_id, *self._actions.get(EVERY, ())]
            if found:
                actions[t.id] = tuple(found)
        return guards, actions


def missing_guards(process: ProcessDefinition, registered: Collection[str]) -> list[Diagnostic]:
    """CF205 for each transition whose ``guard`` is not in ``registered``.

    Same output as ``careflow.definitions.checks.check_registry``; kept here because the registry sits below
    ``checks`` in the import layering and must not import it.
    """
    out = []
    for t in process.transitions:
        if t.guard is None or t.guard in registered:
            continue
        pointer = t.pointer + "/guard"
        loc = process.source_map.locate(pointer if pointer in process.source_map.marks else t.pointer)
        out.append(Diagnostic(
            "CF205", f"guard '{t.guard}' of transition '{t.id}' is not registered", loc,
            did_you_mean(t.guard, registered, "guard") or "register it with the process registry before binding"))
    return out


__all__ = ["EVERY", "ActionFn", "GuardFn", "Registry", "missing_guards"]
