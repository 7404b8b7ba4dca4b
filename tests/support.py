"""Paths and loaders the tests share: the data folders, and the process documents in tests/processes/.

Test modules import these directly when they need them at import time (to parametrize); tests/conftest.py
offers the same as fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from careflow.definitions.loader import loads
from careflow.model.definition import ProcessDefinition
from careflow.runtime.compiled import Actor

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
DOCS = ROOT / "docs"
BUNDLED = ROOT / "processes"
CORPUS = TESTS / "corpus"
GOLDEN = TESTS / "golden"
HISTORIES = TESTS / "histories"
PROCESSES = TESTS / "processes"


def process_text(name: str) -> str:
    """The text of tests/processes/<name>.yaml."""
    return (PROCESSES / f"{name}.yaml").read_text(encoding="utf-8")


def load_process(name: str, file: str | None = None, *,
                 known_processes: Iterable[str] | None = None) -> ProcessDefinition:
    """tests/processes/<name>.yaml, loaded from its text as the tests always did (no path unless ``file``)."""
    return loads(process_text(name), file, known_processes=known_processes)

# The bundled psht process's people, as the tests across packages name them.
GP = Actor("dr-gran", {"referrer"})
NURSE = Actor("nora", {"nurse"})
DOCTOR = Actor("dag", {"doctor"})
SECRETARY = Actor("siri", {"secretary"})

# When the relay and store cases open: a Monday morning.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# -- PostgreSQL: the real server, a schema per test -------------------------------------------------------

PG_BASE = os.environ.get("CAREFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pg_reachable() -> str | None:
    """None when the server answers, else why not."""
    import psycopg

    try:
        psycopg.connect(PG_BASE, connect_timeout=3).close()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


def require_pg() -> None:
    """Skip the test when PostgreSQL is unreachable, or fail it when ``$CI`` is set: CI must not pass by skipping."""
    problem = pg_reachable()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_BASE} is unreachable and CI is set: {problem}")
        pytest.skip(f"PostgreSQL at {PG_BASE} is unreachable ({problem}); set CAREFLOW_TEST_PG to run these")
