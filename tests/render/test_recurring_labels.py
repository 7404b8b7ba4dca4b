"""A recurring deadline in diagrams, handbook tables, ``careflow show`` and LSP hover, in the reader's
language: "Kvar månad" / "Hver måned" / "Every month"."""

from __future__ import annotations

import pytest

from careflow.definitions.loader import load
from careflow.lsp.hover import hover
from careflow.lsp.index import build_index
from careflow.model.definition import Recurrence
from careflow.model.durations import Duration
from careflow.render import to_dot, to_markdown, to_mermaid
from careflow.render.mermaid import escape
from careflow.render.recurring import period_text, recurrence_text
from tests.support import TESTS


@pytest.mark.parametrize(("period", "nn", "nb", "en"), [
    ("P1M", "Kvar månad", "Hver måned", "Every month"),
    ("P1Y", "Kvart år", "Hvert år", "Every year"),
    ("P2W", "Kvar 2. veke", "Hver 2. uke", "Every 2 weeks"),
    ("P3M", "Kvar 3. månad", "Hver 3. måned", "Every 3 months"),
    ("PT1H", "Kvar time", "Hver time", "Every hour"),
    ("P1M2D", "Kvar 1 mo 2 d", "Hver 1 mo 2 d", "Every 1 mo 2 d"),
])
def test_periods_in_three_languages(period: str, nn: str, nb: str, en: str) -> None:
    d = Duration.parse(period)
    assert d is not None
    assert [period_text(d, lang) for lang in ("nn", "nb", "en", "xx")] == [nn, nb, en, en]


def test_the_end_of_a_series_is_said_too() -> None:
    rec = Recurrence(Duration.parse("P1M"), "e", Duration.parse("P1Y"), 12)  # type: ignore[arg-type]
    assert recurrence_text(rec, "nn") == "Kvar månad (12 gonger, i 1 år)"
    assert recurrence_text(rec, "nb") == "Hver måned (12 ganger, i 1 år)"
    assert recurrence_text(rec, "en") == "Every month (12 times, for 1 year)"
    once = Recurrence(Duration.parse("P6M"), "e", None, 1)  # type: ignore[arg-type]
    assert recurrence_text(once, "en") == "Every 6 months (once)"


@pytest.mark.parametrize(("lang", "phase", "loci"), [
    ("nn", "Frist: Kvar månad", "Frist: Kvar månad (i 1 år)"),
    ("nb", "Frist: Hver måned", "Frist: Hver måned (i 1 år)"),
    ("en", "Deadline: Every month", "Deadline: Every month (for 1 year)"),
])
def test_implementation_phases_shows_its_rhythms(lang: str, phase: str, loci: str) -> None:
    p = load("implementation_phases")
    dot = to_dot(p, lang=lang)
    assert phase in dot and loci in dot  # the phase's cluster and the LOCI year's box
    assert escape(loci.split(": ", 1)[1]) in to_mermaid(p, lang=lang)  # Mermaid's own escapes for ( and )
    assert loci.split(": ", 1)[1] in to_markdown(p, lang=lang)


def test_hover_says_the_rhythm_in_words() -> None:
    text = (TESTS / "processes" / "recurring.yaml").read_text("utf-8")
    index = build_index(text, "recurring.yaml")
    lines = text.splitlines()
    line = next(i for i, x in enumerate(lines) if "every: P1W" in x)
    found = hover(index, [], line, lines[line].index("P1W") + 1)
    assert found is not None and found[0].startswith("**every** `P1W`: every 1 week, counted on the calendar")
    line = next(i for i, x in enumerate(lines) if x.strip() == "twelve_weeks:")
    state = hover(index, [], line, lines[line].index("twelve_weeks") + 1)
    assert state is not None and "every: 1 week, counted from entering it, raising `weekly_due` (at most 12 times)" \
        in state[0]
