"""Signed checkpoints of audit trails: a checkpoint that cannot be trusted, and a key that cannot be used.

Both carry a ``hint``. Neither is raised for a tampered store or history: what a checkpoint finds is
reported per case by ``verify``; these say the checkpoint or the key itself is not usable.
"""

from __future__ import annotations

from careflow.errors.diagnostics import CODES
from careflow.errors.exceptions import CareflowError

CODES.update({
    "CF965": "checkpoint-invalid",
    "CF966": "key-problem",
})


class CheckpointInvalid(CareflowError):
    """A checkpoint file is unreadable, or its digest or Ed25519 signature does not verify with the public
    key given: nothing it says can be relied on."""

    code = "CF965"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message + (f"\n    hint: {hint}" if hint else ""))
        self.hint = hint


class KeyProblem(CareflowError):
    """A signing or verifying key cannot be read, is not Ed25519, or would overwrite an existing file."""

    code = "CF966"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message + (f"\n    hint: {hint}" if hint else ""))
        self.hint = hint


__all__ = ["CheckpointInvalid", "KeyProblem"]
