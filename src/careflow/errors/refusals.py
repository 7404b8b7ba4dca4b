"""What a case refuses, as data (``Refusal``) and as the exceptions the facades raise.

``Case.fire`` and ``store.fire`` turn a refusal into its exception with ``refusal_error``, the one place
that mapping lives. Each class carries a ``code`` registered in ``careflow.errors.CODES``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from careflow.errors.diagnostics import CODES
from careflow.errors.exceptions import CareflowError

if TYPE_CHECKING:  # types only: at run time careflow.errors imports nothing else from careflow
    from careflow.runtime.audit import AuditEntry

T = TypeVar("T")


class Detail(Generic[T]):
    """A refusal detail read through its exception: ``err.roles`` is ``err.refusal.roles``."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, err: CaseError, owner: type | None = None) -> T:
        value: T = getattr(err.refusal, self.name)
        return value

# -- case refusals (runtime) --

CODES.update({
    "CF500": "refused",
    "CF501": "invalid-data",
    "CF502": "event-not-allowed",
    "CF503": "role-denied",
    "CF504": "guard-failed",
    "CF505": "missing-data",
    "CF506": "checklist-open",
    "CF507": "case-closed",
    "CF900": "history-error",
    "CF901": "action-failed",
})


@attrs.frozen
class Refusal:
    """Why a case refused something, as data: what ``runtime.step`` returns instead of raising.

    ``code`` is the reason code recorded in the ``denied`` entry (``role-denied``, ``guard-failed``…),
    ``message`` one sentence, ``reasons`` the explanation a person reads. The details are typed and
    empty unless they apply: ``roles`` that would do, ``possible`` events here (never the deadline
    events only the system fires), ``fields`` missing event data, ``items`` the ids of open checklist
    items and ``labels`` their labels (``(language, label)`` pairs per item, the process's language
    first), ``field`` the invalid data field, ``needs_event`` whether a false guard reads event data
    (so giving data may change the answer). ``first``/``where``: for an event the case cannot take
    here but can later, the first event on the shortest way there and the state where it applies.
    """

    code: str
    message: str
    reasons: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    possible: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    labels: tuple[tuple[tuple[str, str], ...], ...] = ()
    field: str | None = None
    needs_event: bool = False
    first: str | None = None
    where: str | None = None


class CaseError(CareflowError):
    """Base of the errors a case facade (``Case.fire``, ``store.fire``) raises when it refuses something.

    ``refusal`` is the decision as data; ``reason_code`` the stable code recorded in the audit log,
    ``reasons`` the human-readable explanation; ``entry`` the sealed ``denied`` entry that was recorded
    (an ``AuditEntry``; None when nothing was logged, e.g. a case that could not be opened).
    """

    code = "CF500"
    reason_code = "refused"

    def __init__(self, message: str, reasons: list[str] | None = None, *, refusal: Refusal | None = None,
                 entry: AuditEntry | None = None) -> None:
        super().__init__(message)
        if refusal is None:
            refusal = Refusal(self.reason_code, message, tuple(reasons) if reasons is not None else (message,))
        self.refusal = refusal
        self.entry = entry

    @property
    def reasons(self) -> list[str]:
        return list(self.refusal.reasons)


class InvalidData(CaseError):
    """Data that is undeclared or does not fit its declared type. ``field``: its name."""

    code = "CF501"
    reason_code = "invalid-data"

    def __init__(self, message: str, field: str | None = None, reasons: list[str] | None = None, *,
                 refusal: Refusal | None = None, entry: AuditEntry | None = None) -> None:
        if refusal is None:
            refusal = Refusal(self.reason_code, message, tuple(reasons) if reasons is not None else (message,),
                              field=field)
        super().__init__(message, reasons, refusal=refusal, entry=entry)

    field: Detail[str | None] = Detail()


class EventNotAllowed(CaseError):
    """No transition for this event from the current state. ``possible``: the events that have one."""

    code = "CF502"
    reason_code = "event-not-allowed"

    possible: Detail[tuple[str, ...]] = Detail()


class RoleDenied(CaseError):
    """The actor holds none of the roles the transition needs (globally, or as a case role here)."""

    code = "CF503"
    reason_code = "role-denied"

    roles: Detail[tuple[str, ...]] = Detail()


class GuardFailed(CaseError):
    """The transition's condition is false; ``reasons`` come from ``Guard.explain``."""

    code = "CF504"
    reason_code = "guard-failed"

    needs_event: Detail[bool] = Detail()


class MissingData(CaseError):
    """Event data the transition ``requires`` was not given. ``fields``: the missing names."""

    code = "CF505"
    reason_code = "missing-data"

    fields: Detail[tuple[str, ...]] = Detail()


class ChecklistOpen(CaseError):
    """Leaving a state with checklist items not ticked. ``items``: their ids; ``labels(lang)``: their
    labels in ``lang`` (the process's language when it has none in ``lang``)."""

    code = "CF506"
    reason_code = "checklist-open"

    @property
    def items(self) -> list[str]:
        return list(self.refusal.items)

    def labels(self, lang: str | None = None) -> list[str]:
        return [pick(texts, lang) or item for item, texts in zip(self.refusal.items, self.refusal.labels, strict=False)]


def pick(texts: tuple[tuple[str, str], ...], lang: str | None) -> str:
    """The text in ``lang`` from ``(language, text)`` pairs, else the first (the process's language)."""
    for code, text in texts:
        if code == lang:
            return text
    return texts[0][1] if texts else ""


class CaseClosed(CaseError):
    """The case is in a final state: nothing more can happen."""

    code = "CF507"
    reason_code = "case-closed"


#: reason code -> the class ``refusal_error`` raises (``careflow.errors.limits`` adds the boundary's).
REFUSAL_CLASSES: dict[str, type[CaseError]] = {
    cls.reason_code: cls
    for cls in (InvalidData, EventNotAllowed, RoleDenied, GuardFailed, MissingData, ChecklistOpen, CaseClosed)
}


def refusal_error(refusal: Refusal, entry: AuditEntry | None = None) -> CaseError:
    """The ``CaseError`` subclass for ``refusal`` (the one place a refusal becomes an exception)."""
    cls = REFUSAL_CLASSES.get(refusal.code, CaseError)
    return cls(refusal.message, list(refusal.reasons), refusal=refusal, entry=entry)


class HistoryError(CareflowError):
    """A stored case whose log fails verification or does not replay to its stored state.

    ``result``: the failed verification (a ``VerifyResult``) when that is the cause; ``index``: the entry.
    """

    code = "CF900"

    def __init__(self, message: str, result: Any = None, index: int | None = None) -> None:
        super().__init__(message)
        self.result = result
        self.index = index if index is not None else getattr(result, "index", None)


class ActionFailed(CareflowError):
    """An action raised after its transition was committed.

    The transition stands (state and entry are in the case) and an ``action_failed`` entry records
    the failure; ``result`` is the committed ``FireResult``, ``action`` the failing action's name and
    ``error`` its exception (also ``__cause__``). Later actions for the same entry do not run.
    """

    code = "CF901"

    def __init__(self, result: Any, action: str, error: BaseException) -> None:
        super().__init__(f"action '{action}' failed after the transition was committed: "
                         f"{type(error).__name__}: {error}")
        self.result, self.action, self.error = result, action, error
