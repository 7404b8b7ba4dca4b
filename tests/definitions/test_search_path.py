"""The process search path: every bad ``CAREFLOW_PATH`` entry is skipped with a warning that says why, and a
process id read from data is looked up by id only (``load_id``), never read as a path."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from careflow.definitions.loader import discover, load_id, refresh, search_path
from careflow.definitions.searchpath import dir_problem, listing
from careflow.errors import NotAProcessId, ProcessNotFound, SearchPathWarning


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    refresh()
    yield
    refresh()


def _warnings_for(monkeypatch: pytest.MonkeyPatch, *entries: str) -> list[str]:
    monkeypatch.setenv("CAREFLOW_PATH", os.pathsep.join(entries))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = discover()
    assert "psht" in found  # the bundled processes are still found
    return [str(w.message) for w in caught if issubclass(w.category, SearchPathWarning)]


@pytest.mark.parametrize(("entry", "why"), [
    ("a" * 256, "a name in it is longer than 255 bytes"),
    ("/tmp/" + "ø" * 128, "a name in it is longer than 255 bytes"),
    ("/" + "d/" * 3000, "it cannot be read (File name too long)"),
    ("/etc/passwd", "it is not a directory"),
    ("/etc/passwd/below", "it cannot be read (Not a directory)"),
    ("/no/such/careflow/dir", "it does not exist"),
])
def test_a_bad_entry_is_skipped_with_a_warning(monkeypatch: pytest.MonkeyPatch, entry: str, why: str) -> None:
    messages = _warnings_for(monkeypatch, entry)
    assert len(messages) == 1 and messages[0].endswith(f"skipped: {why}")
    assert messages[0].startswith("CAREFLOW_PATH entry '")
    assert len(messages[0]) < 200  # a long entry is shortened


def test_a_nul_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    assert dir_problem("/tmp/a\0b") == "it contains a NUL character"
    monkeypatch.setattr(os.environ, "get", lambda key, default="": "/tmp/a\0b" if key == "CAREFLOW_PATH" else default)
    with pytest.warns(SearchPathWarning, match="NUL"):
        assert [origin for origin, _ in search_path()] == ["bundled"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every directory")
def test_an_unreadable_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0)
    try:
        assert _warnings_for(monkeypatch, str(locked))[0].endswith("permission denied)")
    finally:
        locked.chmod(0o700)


def test_a_directory_that_cannot_be_listed_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Path) -> Iterator[Path]:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", refuse)
    assert listing(tmp_path) == [] and listing(tmp_path / "missing") == []


def test_good_entries_still_count_and_each_bad_one_warns_once(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mine.yaml").write_text((Path(str(discover()["psht"].path))).read_text(encoding="utf-8"))
    monkeypatch.setenv("CAREFLOW_PATH", os.pathsep.join(["", "/etc/passwd", str(tmp_path), "x" * 300, ""]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert discover()["mine"].origin == "CAREFLOW_PATH"
        discover()
    assert len(caught) == 2


@pytest.mark.parametrize("process_id", ["/etc/passwd", "../processes/psht", "psht.yaml", "Psht", 1, None])
def test_load_id_never_reads_a_path(process_id: object) -> None:
    with pytest.raises(NotAProcessId, match="is not a process id"):
        load_id(process_id)


def test_load_id_finds_by_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "psht").write_text("not: a process")  # a file named like the id is not the process
    assert load_id("psht").id == "psht"
    with pytest.raises(ProcessNotFound):
        load_id("nope")
