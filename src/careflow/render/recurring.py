"""A recurring deadline (``every``) in the reader's language: "Kvar månad", "Hver 2. uke", "Every 3 months",
with its end when it has one: "Every month (12 times, for 1 y)".
"""

from __future__ import annotations

from careflow.model.definition import Recurrence, State
from careflow.model.durations import Duration

# unit -> language -> (singular after "every", plural after "every n")
_UNITS: dict[str, dict[str, tuple[str, str]]] = {
    "year": {"nn": ("år", "år"), "nb": ("år", "år"), "en": ("year", "years"), "sv": ("år", "år")},
    "month": {"nn": ("månad", "månad"), "nb": ("måned", "måned"), "en": ("month", "months"),
              "sv": ("månad", "månad")},
    "week": {"nn": ("veke", "veke"), "nb": ("uke", "uke"), "en": ("week", "weeks"), "sv": ("vecka", "vecka")},
    "day": {"nn": ("dag", "dag"), "nb": ("dag", "dag"), "en": ("day", "days"), "sv": ("dag", "dag")},
    "hour": {"nn": ("time", "time"), "nb": ("time", "time"), "en": ("hour", "hours"), "sv": ("timme", "timme")},
}
# "every" before a unit of each grammatical gender: nn "kvar månad" / "kvart år", nb "hver måned" / "hvert år"
_EVERY = {"nn": ("Kvar", "Kvart"), "nb": ("Hver", "Hvert"), "en": ("Every", "Every"), "sv": ("Varje", "Varje")}
_EVERY_NTH = {"nn": "Kvar", "nb": "Hver", "sv": "Var"}  # "Kvar 3. månad", "Var 3:e månad"; en: "Every 3 months"
_NEUTER = frozenset({"year"})
_TIMES = {"nn": "{n} gonger", "nb": "{n} ganger", "en": "{n} times", "sv": "{n} gånger"}
_ONCE = {"nn": "éin gong", "nb": "én gang", "en": "once", "sv": "en gång"}
_FOR = {"nn": "i {d}", "nb": "i {d}", "en": "for {d}", "sv": "i {d}"}


def _single(d: Duration) -> tuple[int, str] | None:
    """(amount, unit) when the duration is a whole number of one unit, else None."""
    parts = [(d.years, "year"), (d.months, "month"), (d.days, "day"), (d.seconds, "second")]
    given = [(n, u) for n, u in parts if n]
    if len(given) != 1:
        return None
    n, unit = given[0]
    if unit == "day" and n % 7 == 0:
        return n // 7, "week"
    if unit == "second":
        return (n // 3600, "hour") if n % 3600 == 0 else None
    return n, unit


def period_text(period: Duration, lang: str) -> str:
    """"Kvar månad", "Hver 2. uke", "Every 3 months"; "Every 1 mo 2 d" for a mixed period."""
    lang = lang if lang in _EVERY else "en"
    single = _single(period)
    if single is None:
        return f"{_EVERY[lang][0]} {period.short()}"
    n, unit = single
    one, many = _UNITS[unit][lang]
    if n == 1:
        return f"{_EVERY[lang][1 if unit in _NEUTER else 0]} {one}"
    if lang == "en":
        return f"Every {n} {many}"
    return f"{_EVERY_NTH[lang]} {n}{':e' if lang == 'sv' else '.'} {one}"


def recurrence_text(rec: Recurrence, lang: str) -> str:
    """The period and, in brackets, what ends the series: "Every month (12 times, for 1 y)"."""
    lang = lang if lang in _EVERY else "en"
    ends = []
    if rec.count is not None:
        ends.append(_ONCE[lang] if rec.count == 1 else _TIMES[lang].format(n=rec.count))
    if rec.until is not None:
        ends.append(_FOR[lang].format(d=rec.until.short()))
    text = period_text(rec.period, lang)
    return f"{text} ({', '.join(ends)})" if ends else text


def every_text(state: State, lang: str) -> str:
    """The state's recurring deadline in ``lang``, or "" when it has none."""
    return recurrence_text(state.every, lang) if state.every is not None else ""


__all__ = ["every_text", "period_text", "recurrence_text"]
