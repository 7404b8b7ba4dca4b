"""ISO-8601 durations for deadlines: parsed once, with calendar units kept apart from fixed time."""

from __future__ import annotations

import re
from datetime import timedelta

import attrs

_DURATION = re.compile(  # ASCII digits only: \d would take any script's digits
    r"^P(?!$)(?:(?P<years>[0-9]+)Y)?(?:(?P<months>[0-9]+)M)?(?:(?P<weeks>[0-9]+)W)?(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?=[0-9])(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+)S)?)?$"
)

#: The longest deadline a process may set (docs/limits.md, "Process files"), counted in Gregorian mean
#: years of 365.25 days and months of a twelfth of that: P100Y = P1200M = P36525D = PT876600H.
MAX_DURATION = "P100Y"
MAX_DURATION_WORDS = "100 years"
SECONDS_PER_YEAR = 31_557_600
MAX_SECONDS = 100 * SECONDS_PER_YEAR
_DIGITS = 15  # a number with more digits is past the bound whatever its unit; int() of it is not needed


def _amount(digits: str) -> int:
    digits = digits.lstrip("0")
    return int(digits or "0") if len(digits) <= _DIGITS else 10**_DIGITS


@attrs.frozen
class Duration:
    """An ISO-8601 duration such as ``P14D`` or ``P1M2W``. Years and months are calendar units."""

    text: str
    years: int = 0
    months: int = 0
    days: int = 0  # weeks are folded into days
    seconds: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration | None:
        """The duration, or None when ``text`` is not an ISO-8601 duration we support."""
        m = _DURATION.match(text) if isinstance(text, str) else None
        if not m:
            return None
        g = {k: _amount(v) if v else 0 for k, v in m.groupdict().items()}
        return cls(
            text,
            years=g["years"],
            months=g["months"],
            days=g["weeks"] * 7 + g["days"],
            seconds=g["hours"] * 3600 + g["minutes"] * 60 + g["seconds"],
        )

    @property
    def nominal_seconds(self) -> int:
        """The length in seconds, a year counted as 365.25 days and a month as a twelfth of that."""
        return (self.years * 12 + self.months) * (SECONDS_PER_YEAR // 12) + self.days * 86_400 + self.seconds

    def within_bound(self) -> bool:
        """Not longer than ``MAX_DURATION``: anything longer is refused when a process is loaded."""
        return self.nominal_seconds <= MAX_SECONDS

    @property
    def fixed(self) -> timedelta:
        """The part without calendar units."""
        return timedelta(days=self.days, seconds=self.seconds)

    def short(self) -> str:
        """A compact human form for diagrams: '14 d', '2 mo', '3 h'."""
        parts = []
        for value, unit in ((self.years, "y"), (self.months, "mo"), (self.days, "d")):
            if value:
                parts.append(f"{value} {unit}")
        if self.seconds:
            h, rest = divmod(self.seconds, 3600)
            if h:
                parts.append(f"{h} h")
            if rest:
                parts.append(f"{rest // 60} min")
        return " ".join(parts) or "0 d"
