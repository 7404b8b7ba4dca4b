"""The one history reader (``careflow.history``): every form, files and directories, located errors with codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import careflow.history
from careflow import errors
from careflow.cases.case import Case
from careflow.clock import ManualClock
from careflow.definitions.loader import load
from careflow.errors import CODES, CareflowError, HistoryFileError
from careflow.history import (
    HISTORY_SUFFIXES,
    History,
    dumps_jsonl,
    dumps_yaml,
    from_entries,
    history_files,
    loads_history,
    read_history,
)
from careflow.runtime.compiled import Actor
from tests.support import HISTORIES

PSHT_HISTORIES = HISTORIES / "psht"
GP = Actor("dr-gran", {"referrer"})
NURSE = Actor("nora", {"nurse"})


def short_case() -> Case:
    case = Case.open(load("psht"), "short-1", clock=ManualClock())
    case.fire("record_consent", GP, {"consent_to_referral": True})
    case.fire("submit_referral", GP, {"referrer_kind": "gp", "referral_channel": "dips"})
    return case


def test_the_package_exposes_its_public_api() -> None:
    for name in careflow.history.__all__:
        assert getattr(careflow.history, name) is not None, name
    assert {"read_history", "loads_history", "dumps_jsonl", "dumps_yaml", "history_files", "History",
            "HistoryFileError", "replay"} <= set(careflow.history.__all__)
    assert careflow.history.HistoryFileError is HistoryFileError


def test_the_example_histories_in_every_form_read_the_same_way() -> None:
    files = history_files([PSHT_HISTORIES])
    assert [f.name for f in files] == sorted(f.name for f in PSHT_HISTORIES.iterdir())
    histories = [read_history(f) for f in files]
    assert [h.named_case_id() for h in histories][-1] == "declined-1"
    assert all(h.process_id() == "psht" for h in histories[:-1])
    assert histories[-1].process_id() is None  # the hand-written YAML names no process
    yaml_records = histories[-1].records()
    assert yaml_records[0] == {"kind": "opened", "actor": "system", "roles": ["system"], "to": "referral"}


def test_writer_and_reader_round_trip(tmp_path: Path) -> None:
    case = short_case()
    written = {"h.jsonl": dumps_jsonl(case.history), "h.yaml": dumps_yaml(case.history, process="psht"),
               "case.json": case.to_json(indent=2), "list.json": json.dumps([e.to_json() for e in case.history])}
    for name, text in written.items():
        (tmp_path / name).write_text(text, "utf-8")
    for file in history_files([tmp_path]):
        history = read_history(file)
        assert history.records() == [e.to_json() for e in case.history], file.name
        assert (history.process_id(), history.named_case_id()) == ("psht", "short-1"), file.name


def test_in_memory_entries_give_records_too() -> None:
    case = short_case()
    history = from_entries(case.history)
    assert isinstance(history, History) and history.problem is None
    assert history.records() == [e.to_json() for e in case.history]
    assert history.process_id() == "psht"


def test_history_files_walks_directories_and_keeps_named_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("b/2.YAML", "b/1.jsonl", "a.json", "notes.txt", "c.yml"):
        (tmp_path / name).write_text("[]", "utf-8")
    found = history_files([tmp_path, tmp_path / "missing.jsonl", tmp_path / "notes.txt"])
    assert [str(f.relative_to(tmp_path)) for f in found] == [
        "a.json", "b/1.jsonl", "b/2.YAML", "c.yml", "missing.jsonl", "notes.txt"]
    assert HISTORY_SUFFIXES == (".jsonl", ".json", ".yaml", ".yml")


def test_a_jsonl_file_holding_one_json_list_is_read_as_json(tmp_path: Path) -> None:
    file = tmp_path / "list.jsonl"
    file.write_text(json.dumps([e.to_json() for e in short_case().history], indent=2), "utf-8")
    assert len(read_history(file)) == 3


OPENED = {"kind": "opened", "actor": "system", "roles": ["system"], "to": "referral"}


@pytest.mark.parametrize(("name", "content", "code", "where"), [
    ("missing.jsonl", None, "CF009", ""),
    ("latin1.json", b"[\xff]", "CF009", ":1"),
    ("bad.jsonl", json.dumps(OPENED) + "\n{not json\n", "CF001", ":2:2"),
    ("bad.yaml", "entries: [1, 2", "CF001", ":1"),
    ("scalar.json", "42", "CF008", ":1:1"),
    ("roles.jsonl", json.dumps(dict(OPENED, roles="system")), "CF101", ":1"),
    ("actor.yaml", "- {kind: opened, roles: [system]}\n", "CF102", ":1"),
    ("key.yaml", "- {kind: opened, actor: system, roles: [system], form: x}\n", "CF103", ":1"),
    ("time.json", json.dumps([dict(OPENED, time="yesterday")]), "CF107", ":1"),
])
def test_every_unreadable_file_is_one_error_with_located_codes(tmp_path: Path, name: str, content: str | bytes | None,
                                                               code: str, where: str) -> None:
    file = tmp_path / name
    if isinstance(content, bytes):
        file.write_bytes(content)
    elif content is not None:
        file.write_text(content, "utf-8")
    with pytest.raises(HistoryFileError) as info:
        read_history(file)
    exc = info.value
    assert isinstance(exc, CareflowError) and exc.code == "CF009" and exc.file == str(file)
    first = exc.diagnostics[0]
    assert first.code == code and first.code in CODES, exc.format()
    assert exc.format().startswith(f"{file}{where}"), exc.format()


def test_loads_history_guesses_the_form() -> None:
    assert len(loads_history("- {kind: opened, actor: a, roles: [r]}\n")) == 1
    assert len(loads_history(json.dumps({"entries": [OPENED]}))) == 1
    with pytest.raises(HistoryFileError, match="list of entries or a mapping"):
        loads_history("just text")


def test_the_old_readers_and_their_error_classes_are_gone() -> None:
    import careflow.render
    import careflow.render.overlay
    import careflow.testing.coverage

    for module, names in ((careflow.render, ("HistoryError", "read_history")),
                          (careflow.render.overlay, ("HistoryError", "read_history", "check_record")),
                          (careflow.testing.coverage, ("HistoryFileError", "read_history", "History"))):
        assert not any(hasattr(module, n) and getattr(module, n).__module__ == module.__name__ for n in names)


def test_every_exception_in_errors_has_a_registered_code() -> None:
    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, CareflowError)
               and v is not CareflowError]
    assert {errors.HistoryFileError, errors.RenderError, errors.GraphvizMissing} <= set(classes)
    for cls in classes:
        assert cls.code in CODES, cls.__name__
    assert (errors.RenderError.code, errors.GraphvizMissing.code) == ("CF970", "CF971")
    assert CODES["CF009"] == "unreadable-file"
