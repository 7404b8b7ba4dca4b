"""Store URLs for the case store suite: every backend in turn (tests/conftest.py makes each one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from careflow.cases.store import CaseStore, open_store
from careflow.clock import ManualClock
from tests.cases.relay import FOLLOWUP_C, RELAY_C


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    """A store URL for each backend in turn."""
    return _store_url(request)


@pytest.fixture(params=["sqlite", "postgres"])
def durable_url(request: pytest.FixtureRequest) -> str:
    """A store URL for each backend that keeps its cases on disk."""
    return _store_url(request)


def _store_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory:"
    fixture: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return fixture


@pytest.fixture
def store(url: str, clock: ManualClock) -> Iterator[CaseStore]:
    """A store of the relay world, for each backend in turn."""
    s = open_store(url, processes=[RELAY_C, FOLLOWUP_C], clock=clock)
    yield s
    s.close()


