"""A real editor session for the tests: pygls' own LanguageClient talking to ``careflow lsp`` over stdio.

The client runs on an event loop owned by the session, so plain (synchronous) tests can drive it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from careflow.lsp.command import DEBOUNCE_MS

T = TypeVar("T")
TIMEOUT = 20.0


class Session:
    """One server process and one client; documents are opened and changed by path."""

    def __init__(self, debounce_ms: int = DEBOUNCE_MS) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = LanguageClient("careflow-tests", "1")
        self.published: dict[tuple[str, int | None], tuple[float, list[types.Diagnostic]]] = {}
        self.versions: dict[str, int] = {}

        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.published[(params.uri, params.version)] = (time.perf_counter(), list(params.diagnostics))

        self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)(on_diagnostics)
        env = {k: v for k, v in os.environ.items() if k != "CAREFLOW_PATH"}
        self.run(self.client.start_io(sys.executable, "-m", "careflow.cli.main", "lsp", "--debounce-ms",
                                      str(debounce_ms), env=env))
        self.capabilities = self.run(self.client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(), process_id=os.getpid()))).capabilities
        self.client.initialized(types.InitializedParams())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(asyncio.wait_for(coroutine, TIMEOUT))

    def close(self) -> None:
        self.run(self.client.shutdown_async(None))
        self.client.exit(None)
        self.run(self.client.stop())  # type: ignore[no-untyped-call]  # pygls leaves it unannotated
        self.loop.close()

    # documents
    def open(self, path: Path, text: str | None = None) -> list[types.Diagnostic]:
        """Open ``path`` (with ``text``, else its content) and wait for its diagnostics."""
        uri = path.resolve().as_uri()
        self.versions[uri] = 1
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=uri, language_id="yaml", version=1, text=path.read_text(encoding="utf-8") if text is None else text)))
        return self.diagnostics(uri, 1)

    def change(self, path: Path, text: str, wait: bool = True) -> tuple[float, list[types.Diagnostic]]:
        """Replace the whole text; the seconds until its diagnostics arrived, and them."""
        uri = path.resolve().as_uri()
        self.versions[uri] += 1
        version = self.versions[uri]
        sent = time.perf_counter()
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangeWholeDocument(text=text)]))
        if not wait:
            return 0.0, []
        diagnostics = self.diagnostics(uri, version)
        return self.published[(uri, version)][0] - sent, diagnostics

    def diagnostics(self, uri: str, version: int | None) -> list[types.Diagnostic]:
        async def arrived() -> list[types.Diagnostic]:
            while (uri, version) not in self.published:
                await asyncio.sleep(0.0005)
            return self.published[(uri, version)][1]

        return self.run(arrived())



def at(path: Path, text: str, line_with: str, word: str, into: int = 1) -> tuple[types.TextDocumentIdentifier,
                                                                              types.Position]:
    """The document and the position ``into`` characters into ``word`` on the first line holding ``line_with``."""
    lines = text.splitlines()
    line = next(i for i, line in enumerate(lines) if line_with in line)
    return types.TextDocumentIdentifier(path.resolve().as_uri()), types.Position(line, lines[line].index(word) + into)
