"""Fixtures for the whole suite: data folders, the bundled processes, clocks and case store URLs.

The plain values behind them live in tests/support.py, for modules that need them at import time.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from careflow.clock import FixedClock, ManualClock
from careflow.definitions.loader import bundled_processes as bundled_ids
from careflow.definitions.loader import load
from careflow.model.definition import ProcessDefinition
from tests.support import CORPUS, GOLDEN, HISTORIES, PG_BASE, T0, require_pg


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """tests/corpus: valid/ and invalid/ process documents."""
    return CORPUS


@pytest.fixture(scope="session")
def histories_dir() -> Path:
    """tests/histories: recorded cases, one folder per process."""
    return HISTORIES


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    """tests/golden: the expected diagrams and tables of the bundled processes."""
    return GOLDEN


@pytest.fixture(scope="session")
def bundled_processes() -> dict[str, ProcessDefinition]:
    """Every process shipped with careflow, loaded once, by id."""
    return {process_id: load(process_id) for process_id in bundled_ids()}


@pytest.fixture(scope="session")
def psht(bundled_processes: dict[str, ProcessDefinition]) -> ProcessDefinition:
    return bundled_processes["psht"]


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves by hand, starting at ``T0``."""
    return ManualClock(T0)


@pytest.fixture
def fixed_clock() -> FixedClock:
    """A clock that always says ``T0``."""
    return FixedClock(T0)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite store URL in a fresh file."""
    return f"sqlite:///{tmp_path}/cases.db"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL store URL in a fresh schema, dropped afterwards."""
    require_pg()
    import psycopg

    schema = f"careflow_test_{os.getpid()}_{secrets.token_hex(4)}"
    sep = "&" if "?" in PG_BASE else "?"
    yield f"{PG_BASE}{sep}schema={schema}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="module")
def module_pg_url() -> Iterator[str]:
    """``pg_url`` shared by a module's tests (a store many tests write to, in a schema of its own)."""
    require_pg()
    import psycopg

    schema = f"careflow_test_{os.getpid()}_{secrets.token_hex(4)}"
    sep = "&" if "?" in PG_BASE else "?"
    yield f"{PG_BASE}{sep}schema={schema}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
