"""Hints for guard mistakes that need more than a phrase: what the author most likely meant."""

from __future__ import annotations

from careflow.definitions import expression_nodes as N

UNDERSCORE_HINT = "names starting with '_' are internals; use the process's data fields and event.<field>"


def mixed_hint(a: N.Node, b: N.Node) -> str:
    """Text against a number is the common case: a quoted number, or an unquoted text."""
    for text, other in ((a, b), (b, a)):
        if text.ty.kind == "string" and other.ty.kind in ("integer", "number"):
            if text.kind == "const":
                return f"remove the quotes to compare numbers: {text.value!s}"
            return f"compare text with text: put the value in quotes, e.g. {text.text} == \"{other.text}\""
    return "compare values of the same kind (text with text, numbers with numbers)"


# What each function takes, for a call with the wrong arguments (CF406).
_CALLS = {
    "abs": "abs(score)", "days_since": "days_since(referral_date) > 14", "days_until": "days_until(meeting) < 3",
    "len": "len(goals) > 0", "max": "max(scores) or max(a, b)", "mean": "mean(scores)",
    "min": "min(scores) or min(a, b)", "round": "round(score)", "sum": "sum(scores)",
}


def call_hint(name: str) -> str:
    return f"write e.g. {_CALLS[name]}" if name in _CALLS else "see the list of functions in docs/format.md"
