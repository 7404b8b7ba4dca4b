"""Row seals: keys and their fingerprints, the migration that seals existing rows, and the property
that no edit of a sealed row goes unnoticed (``careflow.cases.store.seal`` and ``tamper``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from careflow.cases.case import Case
from careflow.cases.store import open_store
from careflow.cases.store.codec import Row
from careflow.cases.store.seal import KEY_FILE_VARIABLE, Sealer, seal_input
from careflow.cases.store.tamper import row_problem
from careflow.clock import ManualClock
from careflow.errors import StoreError, TamperedCase
from careflow.runtime.compiled import CompiledProcess
from tests.cases.store.conftest import KEY, NURSE, SCORE_9, TRIAGE, attack, opened, seeded
from tests.cases.test_store import raw_sql
from tests.support import T0


def _row(store: Any, case_id: str = "t1") -> tuple[Row, list[tuple[int, str, str, str]]]:
    # the store's own reads, on purpose: these tests judge the rows it reads
    return store._read(case_id, False), store._history_rows(case_id)


# -- the seal itself ------------------------------------------------------------------------------------


def test_the_seal_input_is_unambiguous_and_keyed_seals_differ() -> None:
    row = Row("a", "p", "1", 1, 0, "h", '{"x":"y"}', "s", False, T0)
    due = f"{T0.timestamp() * 1e6:.0f}"
    assert seal_input(row) == f'15:careflow-seal/11:a1:p1:11:s1:016:{due}1:11:01:h9:{{"x":"y"}}'.encode()
    moved = row._replace(case_id="a1:p", process_id="")  # text moved between fields gives another input
    assert seal_input(moved) != seal_input(row)
    assert Sealer().seal(row) != Sealer().seal(moved)
    assert Sealer().seal(row) != Sealer(KEY).seal(row) != Sealer(b"x" * 32).seal(row)
    assert Sealer(KEY).check(row._replace(seal=Sealer(KEY).seal(row)))
    with pytest.raises(StoreError, match="at least 16"):
        Sealer(b"short")


def triage_only(process_id: str, version: str) -> CompiledProcess:
    return TRIAGE


@pytest.mark.parametrize("snapshot", ['{"leaf": ["x"]}', "[1]", '"text"', "{", "[" * 100_000, '{"case_id": 1}'])
def test_a_hostile_snapshot_is_refused_without_a_traceback(snapshot: str, clock: ManualClock) -> None:
    store = opened("memory:", clock)
    seeded(store, clock)
    row, rows = _row(store)
    good = json.loads(row.snapshot)
    for text in (snapshot, json.dumps({**good, "leaf": ["x"]}), json.dumps({**good, "timers": [[1, 2, 3, 4]]})):
        assert row_problem(row._replace(snapshot=text), rows, Sealer(), triage_only) is not None


def test_a_memory_store_seals_through_the_same_path(clock: ManualClock) -> None:
    store = opened("memory:", clock, KEY)
    seeded(store, clock)
    row, rows = _row(store)
    assert Sealer(KEY).check(row) and row_problem(row, rows, Sealer(KEY)) is None
    assert row_problem(row, rows, Sealer()) is not None  # another key, another seal


@st.composite
def _byte_edit(draw: st.DrawFn, text: str) -> str:
    raw = bytearray(text.encode("utf-8"))
    at = draw(st.integers(0, len(raw) - 1))
    raw[at] = draw(st.integers(0, 255).filter(lambda b: b != raw[at]))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        assume(False)
        raise


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_single_byte_edit_of_a_snapshot_passes_the_check(data: st.DataObject) -> None:
    clock = ManualClock(T0)
    store = opened("memory:", clock)
    seeded(store, clock)
    row, rows = _row(store)
    edited = row._replace(snapshot=data.draw(_byte_edit(row.snapshot)))
    for sealer in (Sealer(), Sealer(KEY)):
        sealed = row._replace(seal=sealer.seal(row))
        assert row_problem(sealed._replace(snapshot=edited.snapshot), rows, sealer) is not None


def test_single_byte_edits_in_sqlite_are_never_acted_on(sqlite_url: str, clock: ManualClock) -> None:
    store = opened(sqlite_url, clock)
    seeded(store, clock)
    original, _ = _row(store)

    @settings(max_examples=40, deadline=None)
    @given(data=st.data())
    def edit(data: st.DataObject) -> None:
        text = data.draw(_byte_edit(original.snapshot))
        raw_sql(sqlite_url, "UPDATE careflow_cases SET snapshot = ? WHERE case_id = 't1'", text)
        try:
            with pytest.raises(TamperedCase):
                store.fire("t1", "urgent", NURSE)
            assert store.get("t1").version == original.version
        finally:
            raw_sql(sqlite_url, "UPDATE careflow_cases SET snapshot = ? WHERE case_id = 't1'", original.snapshot)

    edit()
    assert store.history("t1")[-1].seq == 2  # not one entry was written


# -- keys -----------------------------------------------------------------------------------------------


def test_a_keyed_store_needs_its_key_and_never_stores_it(durable_url: str, clock: ManualClock) -> None:
    opened(durable_url, clock, KEY).close()  # a new store records the key's fingerprint
    store = opened(durable_url, clock, KEY)
    seeded(store, clock)
    store.close()
    ((name, value),) = raw_sql(durable_url, "SELECT name, value FROM careflow_settings")
    assert name == "seal_key_fingerprint" and value == Sealer(KEY).fingerprint
    assert KEY.decode() not in value and KEY.hex() not in value
    with pytest.raises(StoreError, match="sealed with a key, and none was given") as missing:
        opened(durable_url, clock)
    with pytest.raises(StoreError, match="not the one the store's cases are sealed with"):
        opened(durable_url, clock, b"w" * 32)
    assert missing.value.hint and KEY_FILE_VARIABLE in missing.value.hint
    with pytest.raises(StoreError, match="sealed with a key"):
        open_store(durable_url, create=False)
    raw_sql(durable_url, "UPDATE careflow_settings SET value = 'é'")  # not even a digest: the same clear error
    with pytest.raises(StoreError, match="not the one"):
        opened(durable_url, clock, KEY)


def test_an_unkeyed_store_with_cases_refuses_a_key(durable_url: str, clock: ManualClock) -> None:
    """Deleting a keyed store's fingerprint does not downgrade it: the application's key is refused."""
    store = opened(durable_url, clock)
    seeded(store, clock)
    store.close()
    with pytest.raises(StoreError, match="sealed without a key"):
        opened(durable_url, clock, KEY)


def test_the_key_file_from_the_environment(tmp_path: Path, sqlite_url: str, clock: ManualClock,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "seal.key"
    key_file.write_text(KEY.decode() + "\n")
    monkeypatch.setenv(KEY_FILE_VARIABLE, str(key_file))
    store = opened(sqlite_url, clock)
    seeded(store, clock)
    store.close()
    monkeypatch.delenv(KEY_FILE_VARIABLE)
    opened(sqlite_url, clock, KEY).close()  # the same key, given explicitly
    for content, match in [("", "is empty"), (None, "cannot read")]:
        if content is None:
            key_file.unlink()
        else:
            key_file.write_text(content)
        monkeypatch.setenv(KEY_FILE_VARIABLE, str(key_file))
        with pytest.raises(StoreError, match=match):
            opened(sqlite_url, clock)


# -- the migration --------------------------------------------------------------------------------------


def _before_seals(url: str) -> None:
    """Take a store back to the schema version before seals: no seals, no settings (as an older careflow
    left it)."""
    raw_sql(url, "ALTER TABLE careflow_cases DROP COLUMN seal")
    raw_sql(url, "DROP TABLE careflow_settings")
    raw_sql(url, "DELETE FROM careflow_schema WHERE version = 4")


@pytest.mark.parametrize("key", [None, KEY], ids=["unkeyed", "keyed"])
def test_the_migration_seals_existing_rows(durable_url: str, clock: ManualClock, key: bytes | None) -> None:
    store = opened(durable_url, clock)
    for n in range(3):
        seeded(store, clock, f"t{n}")
    with store.transaction():
        for n in range(3, 1500):  # more than one page of the migration
            store.create(Case.open(TRIAGE, f"t{n}", actor=NURSE, clock=clock))
    store.close()
    _before_seals(durable_url)
    store = opened(durable_url, clock, key)
    assert raw_sql(durable_url, "SELECT count(*) FROM careflow_cases WHERE seal = ''") == [(0,)]
    assert store.load("t1").data["score"] == 3
    store.fire("t1", "finish", NURSE)
    store.fire("t1499", "see", NURSE)
    store.close()
    attack(durable_url, SCORE_9.replace("'t1'", "'t2'"))
    store = opened(durable_url, clock, key)
    with pytest.raises(TamperedCase, match=r"data\.score"):
        store.fire("t2", "urgent", NURSE)
    store.close()
    if key is not None:
        with pytest.raises(StoreError, match="none was given"):
            opened(durable_url, clock)


def test_reseal_starts_rotates_and_stops_a_key(url: str, clock: ManualClock) -> None:
    store = opened(url, clock)
    seeded(store, clock)
    seeded(store, clock, "t2")
    assert store.reseal(KEY) == 2
    store.fire("t1", "finish", NURSE)
    other = b"o" * 32
    assert store.reseal(other) == 2
    store.fire("t2", "finish", NURSE)
    if url != "memory:":
        store.close()
        for wrong in (None, KEY):
            with pytest.raises(StoreError, match="sealed with"):
                opened(url, clock, wrong)
        store = opened(url, clock, other)
    assert store.reseal(None) == 2
    assert store.load("t1").state == "done"
    store.close()


def test_reseal_refuses_a_tampered_row_and_changes_nothing(durable_url: str, clock: ManualClock) -> None:
    store = opened(durable_url, clock)
    seeded(store, clock)
    seeded(store, clock, "t0")
    attack(durable_url, SCORE_9)
    seals = raw_sql(durable_url, "SELECT case_id, seal FROM careflow_cases ORDER BY case_id")
    with pytest.raises(TamperedCase, match=r"data\.score"):
        store.reseal(KEY)
    assert raw_sql(durable_url, "SELECT case_id, seal FROM careflow_cases ORDER BY case_id") == seals
    assert raw_sql(durable_url, "SELECT count(*) FROM careflow_settings") == [(0,)]
    store.close()


_VALUES = st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=30), st.binary(max_size=30),
                    st.floats(allow_nan=False), st.none())
_COLUMNS = ["process_id", "process_version", "state", "closed", "due_at", "version", "seq", "head", "snapshot",
            "seal"]


def test_any_value_in_any_sqlite_column_is_never_acted_on(sqlite_url: str, clock: ManualClock) -> None:
    """SQLite keeps a value of any type in any column: none is acted on, none gives a traceback."""
    store = opened(sqlite_url, clock)
    seeded(store, clock)
    original = raw_sql(sqlite_url, "SELECT * FROM careflow_cases WHERE case_id = 't1'")
    names = [r[1] for r in raw_sql(sqlite_url, "PRAGMA table_info(careflow_cases)")]

    @settings(max_examples=150, deadline=None)
    @given(column=st.sampled_from(_COLUMNS), value=_VALUES)
    def edit(column: str, value: Any) -> None:
        try:
            raw_sql(sqlite_url, f"UPDATE careflow_cases SET {column} = ? WHERE case_id = 't1'", value)
        except Exception:  # a NOT NULL column: the database itself refuses
            assume(False)
        try:
            changed = raw_sql(sqlite_url, "SELECT * FROM careflow_cases WHERE case_id = 't1'") != original
            for act in (lambda: store.fire("t1", "urgent", NURSE), lambda: store.load("t1")):
                if changed:
                    with pytest.raises(TamperedCase):
                        act()
        finally:
            sets = ", ".join(f"{n} = ?" for n in names)
            raw_sql(sqlite_url, f"UPDATE careflow_cases SET {sets} WHERE case_id = 't1'", *original[0])

    edit()
    assert store.get("t1").version == 3 and len(store.history("t1")) == 3
