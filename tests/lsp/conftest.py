"""One ``careflow lsp`` server for the module's tests, driven by pygls' own client over stdio."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lsp.session import Session


@pytest.fixture(scope="module")
def lsp() -> Iterator[Session]:
    session = Session()
    try:
        yield session
    finally:
        session.close()
