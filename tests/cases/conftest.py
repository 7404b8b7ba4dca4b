"""Store URLs for the case store suite: every backend in turn (tests/conftest.py makes each one)."""

from __future__ import annotations

import pytest


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
