"""``careflow show`` speaks the format's words: true/false, [], "text"; append is shown as appending."""

from __future__ import annotations

from careflow.cli.show import show
from careflow.definitions.loader import loads
from tests.support import CORPUS

MINIMAL = (CORPUS / "valid" / "minimal.yaml").read_text(encoding="utf-8")


def test_defaults_and_types_in_the_formats_words() -> None:
    text = show(loads(MINIMAL, known_processes=["minimal"]))
    data = text.split("\nData\n")[1]
    assert "False" not in data and "()" not in data and "'low'" not in data
    assert "true or false" in data and "false" in data and "[]" in data and '"low"' in data


def test_append_and_values_are_not_shown_as_sets() -> None:
    text = show(loads(MINIMAL.replace("    append: [notes]\n", "    append: [notes]\n    values: {consent: true}\n"),
                      known_processes=["minimal"]))
    plan = next(line for line in text.splitlines() if line.startswith("plan "))
    assert "appends to notes" in plan and "sets consent = true" in plan
    submit = next(line for line in text.splitlines() if line.startswith("submit "))
    assert "sets score" in submit
