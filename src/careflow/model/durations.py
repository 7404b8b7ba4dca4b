"""ISO-8601 durations for deadlines: parsed once, with calendar units kept apart from fixed time."""

from __future__ import annotations

import re
from datetime import timedelta

import attrs

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


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
        g = {k: int(v) if v else 0 for k, v in m.groupdict().items()}
        return cls(
            text,
            years=g["years"],
            months=g["months"],
            days=g["weeks"] * 7 + g["days"],
            seconds=g["hours"] * 3600 + g["minutes"] * 60 + g["seconds"],
        )

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
