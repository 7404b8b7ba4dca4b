"""All problems at once: an error in one part does not hide the checks of the parts it does not touch."""

from __future__ import annotations

from careflow.definitions.loader import validate_text
from tests.support import CORPUS

MINIMAL = (CORPUS / "valid" / "minimal.yaml").read_text(encoding="utf-8")
UNREACHABLE = "  closed: {final: true, label: {nb: Avsluttet, en: Closed}}\n"
ISLAND = UNREACHABLE + "  island: {label: {nb: Øy, en: Island}}\n"
IDLE_ROLE = "  nurse: {label: {nb: Sykepleier, en: Nurse}}\n"


def _codes(text: str) -> list[str]:
    return [d.code for d in validate_text(text, "p.yaml", known_processes=["minimal"]).diagnostics]


def test_a_wrong_version_does_not_hide_an_unreachable_state_or_an_unused_role() -> None:
    text = (MINIMAL.replace('version: "1.0"', "version: 1.0").replace(UNREACHABLE, ISLAND)
            .replace(IDLE_ROLE, IDLE_ROLE + "  auditor: {label: {nb: Revisor, en: Auditor}}\n"))
    assert sorted(_codes(text)) == ["CF101", "CF201", "CF207"]


def test_an_error_in_the_states_skips_the_graph_checks_but_not_the_roles() -> None:
    text = (MINIMAL.replace("closed: {final: true,", 'closed: {final: "yes",')
            .replace(IDLE_ROLE, IDLE_ROLE + "  auditor: {label: {nb: Revisor, en: Auditor}}\n"))
    codes = _codes(text)
    assert "CF101" in codes and "CF207" in codes
    assert not {"CF201", "CF202", "CF206"} & set(codes)  # knock-on of the broken 'final'


def test_a_clean_file_still_has_no_diagnostics() -> None:
    assert _codes(MINIMAL) == []
