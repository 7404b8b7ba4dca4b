"""``careflow explain``: a page for every code, whose example really produces it; docs/diagnostics.md matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from careflow.cli.explain import find_code, markdown, pages, produced
from careflow.cli.main import main
from careflow.errors import CODES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md"


def test_every_code_has_a_page_and_every_page_a_code() -> None:
    assert set(pages()) == set(CODES), f"missing: {sorted(set(CODES) - set(pages()))}"


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_page_is_complete(code: str) -> None:
    page = pages()[code]
    assert page.title and page.meaning and page.fix
    assert (page.example is None) != (page.situation is None), "an example file, or a situation: one of them"


@pytest.mark.parametrize("code", sorted(c for c, p in pages().items() if p.example is not None))
def test_each_example_produces_its_code_and_only_it(code: str) -> None:
    found = produced(pages()[code])
    assert found, f"{code}: the example is valid"
    assert {c for c, _ in found} == {code}, "\n".join(text for _, text in found)


def test_only_codes_no_file_can_produce_go_without_an_example() -> None:
    described = {c for c, p in pages().items() if p.example is None}
    # unreadable, huge or missing files; the exception's own code; a registry check; what cases refuse
    # (raised by the API for a case, not by a file); stores and rendering
    assert described == {"CF006", "CF009", "CF010", "CF100", "CF205", "CF500", "CF501", "CF502", "CF503",
                         "CF504", "CF505", "CF506", "CF507", "CF508", "CF509", "CF510", "CF511", "CF512",
                         "CF513", "CF900", "CF901", "CF950", "CF951", "CF952",
                         "CF953", "CF954", "CF955", "CF956", "CF957", "CF958", "CF959", "CF960", "CF961",
                         "CF965", "CF966", "CF967", "CF970", "CF971", "CF975", "CF980", "CF981"}


@pytest.mark.parametrize("code", sorted(CODES))
def test_explain_works_for_every_code(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", code]) == 0
    text = capsys.readouterr().out
    page = pages()[code]
    assert text.startswith(f"{code} {CODES[code]}: {page.title}")
    assert "The fix:" in text and page.fix in text


def test_explain_cf104_shows_the_example_and_what_careflow_says(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "CF104"]) == 0
    text = capsys.readouterr().out
    assert "to: dnoe" in text and "unknown state 'dnoe'" in text and "did you mean 'done'?" in text


@pytest.mark.parametrize(("word", "code"), [("CF104", "CF104"), ("cf104", "CF104"), ("104", "CF104"),
                                            ("unknown-target", "CF104"), ("CF999", None), ("nonsense", None)])
def test_codes_by_number_or_name(word: str, code: str | None) -> None:
    assert find_code(word) == code


def test_an_unknown_code_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "CF999"]) == 2
    assert "no diagnostic code 'CF999'" in capsys.readouterr().err


def test_without_a_code_it_lists_them_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(CODES)


def test_docs_diagnostics_md_is_generated_from_the_pages(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--all", "--format", "markdown"]) == 0
    printed = capsys.readouterr().out
    assert printed == markdown() + "\n"
    assert DOCS.read_text(encoding="utf-8") == printed, \
        "regenerate: careflow explain --all --format markdown > docs/diagnostics.md"
    for code in CODES:
        assert f"## {code} {CODES[code]}" in printed


def test_validate_help_points_at_explain(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    assert "careflow explain CF104" in capsys.readouterr().out
