"""JSON Lines read as a stream: replay of a file keeps nothing, so memory does not grow with its length;
the edges of the format that are fine (BOM, CRLF, blank lines, escapes) read as before."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from careflow.cases.case import Case
from careflow.clock import ManualClock
from careflow.definitions.loader import load
from careflow.errors import HistoryFileError
from careflow.history import dumps_jsonl, read_history, replay
from careflow.history.jsonl import JsonLinesFile
from careflow.history.jsontext import MAX_DEPTH, MAX_INT_DIGITS
from careflow.history.reader import open_history
from careflow.runtime.compiled import Actor
from tests.support import PROCESSES

LOG = load(PROCESSES / "log.yaml")
CLERK = Actor("clerk-1", {"clerk"})
GP = Actor("dr-gran", {"referrer"})


def _canonical(entry: dict[str, object]) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def write_long_history(path: Path, entries: int) -> None:
    """One ``log`` case: opened, then ``write`` after ``write``, hash-chained as docs/history.md says."""
    case = Case.open(LOG, "long-1", clock=ManualClock())
    case.fire("write", CLERK, {"note": "note 1"})
    opened, write = (e.to_json() for e in case.history)
    start = datetime.fromisoformat(str(write["time"]))
    with path.open("w", encoding="utf-8") as out:
        out.write(_canonical(opened) + "\n")
        head = str(opened["hash"])
        for seq in range(1, entries):
            entry = dict(write, seq=seq, time=(start + timedelta(minutes=seq)).isoformat(),
                         data={"note": f"note {seq}"}, prev_hash=head)
            entry.pop("hash")
            entry.pop("values", None)  # plain data (scheme 1): the hash covers the values themselves
            head = hashlib.sha256(_canonical(entry).encode("utf-8")).hexdigest()
            out.write(_canonical(dict(entry, hash=head)) + "\n")


def _peak_replaying(path: Path) -> int:
    tracemalloc.start()
    try:
        result = replay(LOG, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.ok, result.divergence
    return peak


def test_replaying_a_file_does_not_grow_with_its_entries(tmp_path: Path) -> None:
    short, long = tmp_path / "short.jsonl", tmp_path / "long.jsonl"
    write_long_history(short, 2_000)
    write_long_history(long, 20_000)  # tracemalloc slows replay some five times: 20,000 entries are enough
    replay(LOG, short)  # warm the caches (compiled guards, signatures) outside the measurement
    small, large = _peak_replaying(short), _peak_replaying(long)
    assert large < 1.5 * small + 500_000, (small, large)
    assert large < 4_000_000  # a whole History of 20,000 entries takes some 40 MB


def test_a_streamed_replay_gives_its_entries_by_reading_the_file_again(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    write_long_history(path, 30)
    result = replay(LOG, path)
    assert result.ok and result.entries_checked == 30
    assert [e.seq for e in result.entries] == list(range(30))
    whole = replay(LOG, read_history(path))
    assert result.entries == whole.entries and result.snapshot == whole.snapshot


def _psht_lines() -> list[str]:
    case = Case.open(load("psht"), "short-1", clock=ManualClock())
    case.fire("record_consent", GP, {"consent_to_referral": True})
    case.fire("submit_referral", GP, {"referrer_kind": "gp", "referral_channel": "dips"})
    return dumps_jsonl(case.history).splitlines()


@pytest.mark.parametrize(("name", "text"), [
    ("bom", "\ufeff" + "\n".join(_psht_lines()) + "\n"),
    ("crlf", "\r\n".join(_psht_lines()) + "\r\n"),
    ("blank-lines", "\n\n" + "\n  \t\n".join(_psht_lines()) + "\n\n\n"),
    ("no-final-newline", "\n".join(_psht_lines())),
])
def test_the_harmless_edges_of_json_lines_read_and_replay(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_bytes(text.encode("utf-8"))
    assert len(read_history(path)) == 3
    assert replay("psht", path).ok
    assert read_history(path).lines == [n for n, line in enumerate(text.split("\n"), 1) if line.strip("\ufeff \t\r")]


def test_escapes_that_look_hostile_but_are_not_read(tmp_path: Path) -> None:
    opened = {"kind": "opened", "actor": "system", "roles": ["system"]}
    lines = [json.dumps(dict(opened, reason="\U0001f600")),  # a surrogate pair, escaped by json.dumps
             json.dumps(dict(opened, reason="\\ud800 as text")),  # a backslash, then letters
             json.dumps(dict(opened, data={"n": int("9" * MAX_INT_DIGITS)})),
             json.dumps(dict(opened, data={"v": json.loads("[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2))}))]
    path = tmp_path / "h.jsonl"
    path.write_text("\n".join(lines), "utf-8")
    history = read_history(path)
    assert [h[10] for h in history.entries[:2]] == ["\U0001f600", "\\ud800 as text"]
    assert history.entries[2][9] == (("n", int("9" * MAX_INT_DIGITS)),)


def test_a_bad_line_after_a_divergence_makes_the_file_unreadable_in_both_readers(tmp_path: Path) -> None:
    lines = _psht_lines()
    lines[1] = lines[1].replace('"record_consent"', '"submit_referral"')
    path = tmp_path / "h.jsonl"
    path.write_text("\n".join([*lines, *[lines[2]] * 50, "{broken"]) + "\n", "utf-8")
    for history in (path, read_history.__name__):
        with pytest.raises(HistoryFileError) as info:
            replay("psht", path if history == path else read_history(path))
        assert info.value.diagnostics[0].location.line == 54


def test_streamed_and_whole_replay_agree_on_a_divergence(tmp_path: Path) -> None:
    lines = _psht_lines()
    path = tmp_path / "h.jsonl"
    path.write_text("\n".join([lines[0], lines[2], lines[1]]) + "\n", "utf-8")
    streamed, whole = replay("psht", path), replay("psht", read_history(path))
    assert not streamed.ok and streamed.divergence == whole.divergence
    assert streamed.divergence is not None and streamed.divergence.line == 2


def test_a_hash_on_a_later_entry_only_is_a_missing_hash_in_both_readers(tmp_path: Path) -> None:
    lines = [json.loads(line) for line in _psht_lines()]
    del lines[0]["hash"], lines[0]["prev_hash"]
    path = tmp_path / "h.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in lines), "utf-8")
    streamed, whole = replay("psht", path), replay("psht", read_history(path))
    assert streamed.divergence is not None and whole.divergence is not None
    assert (streamed.divergence.index, streamed.divergence.code) == (whole.divergence.index, "hash-missing")


def test_a_json_file_too_large_for_a_document_is_streamed_when_it_holds_json_lines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from careflow.history import reader

    monkeypatch.setattr(reader, "MAX_DOCUMENT_BYTES", 100)
    path = tmp_path / "h.json"
    path.write_text("\n".join(_psht_lines()) + "\n", "utf-8")
    source = open_history(path)
    assert isinstance(source, JsonLinesFile)
    source.close()
    assert replay("psht", path).ok and len(read_history(path)) == 3
