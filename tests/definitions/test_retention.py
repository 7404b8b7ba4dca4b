"""``retention:`` in the format: per process and per case data field, checked like deadlines (CF109),
meaningless elsewhere (CF107), and changed by an adapting file (``extends``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from careflow.definitions.loader import load, loads, validate_text
from careflow.definitions.schema_check import process_schema
from tests.support import process_text

KEPT = process_text("kept")


def _codes(text: str) -> list[tuple[str, str | None, int | None]]:
    result = validate_text(text, "kept.yaml")
    return [(d.code, d.location.pointer, d.location.line) for d in result.diagnostics]


def test_retention_per_process_and_per_field() -> None:
    kept = loads(KEPT)
    assert kept.retention is not None and kept.retention.text == "P10Y" and kept.retention.years == 10
    phone = kept.field("phone").retention
    assert phone is not None and phone.text == "P2Y"
    assert kept.field("notes").retention is None
    assert kept.retention_of("notes") == kept.retention and kept.retention_of("phone") == phone
    assert kept.retention_of("event_data_only") == kept.retention  # event data follows the process
    assert loads(KEPT.replace("retention: P10Y\n", "")).retention_of("notes") is None  # kept for good


def test_a_field_may_be_kept_longer_than_the_case() -> None:
    longer = KEPT.replace("retention: P2Y", "retention: P20Y")
    assert _codes(longer) == [] and loads(longer).retention_of("phone").text == "P20Y"  # type: ignore[union-attr]


@pytest.mark.parametrize(("old", "new", "code", "pointer", "words"), [
    ("retention: P10Y", "retention: ten years", "CF109", "/retention", "not an ISO-8601 duration"),
    ("retention: P10Y", "retention: P101Y", "CF109", "/retention", "longer than the longest retention"),
    ("retention: P10Y", "retention: P1201M", "CF109", "/retention", "100 years"),
    ("retention: P2Y", "retention: P99999999999999999999Y", "CF109", "/data/phone/retention", "longer"),
    ("retention: P2Y", "retention: 2", "CF101", "/data/phone/retention", "P10Y (10 years)"),
    ("retention: P10Y", "retention: [P10Y]", "CF101", "/retention", "text"),
])
def test_a_wrong_retention_is_located(old: str, new: str, code: str, pointer: str, words: str) -> None:
    result = validate_text(KEPT.replace(old, new), "kept.yaml")
    (found,) = result.diagnostics
    assert (found.code, found.location.pointer) == (code, pointer)
    assert words in found.message + (found.hint or "")
    assert found.location.line is not None and found.hint


def test_retention_means_nothing_inside_a_type_or_on_event_data() -> None:
    text = KEPT.replace("    retention: P2Y\n", "    retention: P2Y\n    items: {type: string, retention: P1Y}\n")
    text = text.replace("    set: [notes, phone]\n", "    set: [notes, phone]\n    params:\n"
                        "      why: {type: string, retention: P1D}\n")
    found = [(d.code, d.location.pointer) for d in validate_text(text, "kept.yaml").diagnostics if d.code == "CF107"]
    assert found == [("CF107", "/data/phone/items/retention"), ("CF107", "/transitions/0/params/why/retention")]


def test_the_schema_describes_retention() -> None:
    schema = process_schema()
    assert "from closing" in schema["properties"]["retention"]["description"]
    assert "overriding" in schema["$defs"]["dataType"]["properties"]["retention"]["description"]


def test_an_adapting_file_changes_retention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kept.yaml").write_text(KEPT, "utf-8")
    monkeypatch.setenv("CAREFLOW_PATH", str(tmp_path))
    adapted = tmp_path / "kept_oslo.yaml"
    adapted.write_text('careflow: 1\nextends: kept\nid: kept_oslo\nversion: "1-oslo"\nretention: P5Y\n'
                       "data:\n  phone: {retention: P1Y}\n  notes: {retention: P12Y}\n", "utf-8")
    process = load(str(adapted))
    assert process.retention is not None and process.retention.text == "P5Y"
    assert [process.retention_of(k).text for k in ("phone", "notes")] == ["P1Y", "P12Y"]  # type: ignore[union-attr]
    adapted.write_text('careflow: 1\nextends: kept\nid: kept_oslo\nversion: "1-oslo"\nretention: P500Y\n', "utf-8")
    result = validate_text(adapted.read_text("utf-8"), str(adapted))
    assert [(d.code, d.location.pointer) for d in result.diagnostics] == [("CF109", "/retention")]
