"""A recurring deadline (``every``) in the reader's language: "Kvar månad", "Hver 2. uke", "Every 3 months",
with its end when it has one: "Every month (12 times, for 1 y)".
"""

from __future__ import annotations

from careflow.model.definition import Recurrence, State
from careflow.model.durations import Duration

# unit -> language -> (singular, after "every n" (an ordinal in nn/nb/sv), plural after a number)
_UNITS: dict[str, dict[str, tuple[str, str, str]]] = {
    "year": {"nn": ("år", "år", "år"), "nb": ("år", "år", "år"), "en": ("year", "years", "years"),
             "sv": ("år", "år", "år")},
    "month": {"nn": ("månad", "månad", "månader"), "nb": ("måned", "måned", "måneder"),
              "en": ("month", "months", "months"), "sv": ("månad", "månad", "månader")},
    "week": {"nn": ("veke", "veke", "veker"), "nb": ("uke", "uke", "uker"), "en": ("week", "weeks", "weeks"),
             "sv": ("vecka", "vecka", "veckor")},
    "day": {"nn": ("dag", "dag", "dagar"), "nb": ("dag", "dag", "dager"), "en": ("day", "days", "days"),
            "sv": ("dag", "dag", "dagar")},
    "hour": {"nn": ("time", "time", "timar"), "nb": ("time", "time", "timer"), "en": ("hour", "hours", "hours"),
             "sv": ("timme", "timme", "timmar")},
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
    one, many, _ = _UNITS[unit][lang]
    if n == 1:
        return f"{_EVERY[lang][1 if unit in _NEUTER else 0]} {one}"
    if lang == "en":
        return f"Every {n} {many}"
    return f"{_EVERY_NTH[lang]} {n}{':e' if lang == 'sv' else '.'} {one}"


def length_text(d: Duration, lang: str) -> str:
    """"1 år", "6 månader", "2 weeks"; the compact form ("1 mo 2 d") for a mixed duration."""
    single = _single(d)
    if single is None:
        return d.short()
    n, unit = single
    one, _, many = _UNITS[unit][lang if lang in _EVERY else "en"]
    return f"{n} {one if n == 1 else many}"


def recurrence_text(rec: Recurrence, lang: str) -> str:
    """The period and, in brackets, what ends the series: "Every month (12 times, for 1 y)"."""
    lang = lang if lang in _EVERY else "en"
    ends = []
    if rec.count is not None:
        ends.append(_ONCE[lang] if rec.count == 1 else _TIMES[lang].format(n=rec.count))
    if rec.until is not None:
        ends.append(_FOR[lang].format(d=length_text(rec.until, lang)))
    text = period_text(rec.period, lang)
    return f"{text} ({', '.join(ends)})" if ends else text


def every_text(state: State, lang: str) -> str:
    """The state's recurring deadline in ``lang``, or "" when it has none."""
    return recurrence_text(state.every, lang) if state.every is not None else ""


__all__ = ["every_text", "length_text", "period_text", "recurrence_text"]
