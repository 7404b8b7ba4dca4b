"""The language server: pygls speaks the protocol; this module wires its requests to careflow.

Diagnostics are careflow's own (``validate_text``: reading, schema, building, graph and label checks),
for files with a top-level ``careflow:`` key (other YAML files get none). They are published after a
short quiet time (``debounce``) once typing stops, and at once on open and save. A check runs in a
worker thread so the server keeps reading the editor's messages; one runs at a time per document, and a
result for an older version of the document is dropped. Every other request answers from an index of
the file's ids, built once per version; while the YAML cannot be read, the last readable version's
index stands in.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from careflow.definitions.loader import discover, validate_text
from careflow.definitions.schema_check import process_schema
from careflow.lsp import completion, hover, navigation
from careflow.lsp.bases import base_chain
from careflow.lsp.command import DEBOUNCE_MS
from careflow.lsp.diagnostics import to_protocol_all
from careflow.lsp.index import DocumentIndex, Span, build_index

logger = logging.getLogger(__name__)

DEFAULT_DEBOUNCE = DEBOUNCE_MS / 1000
# a process file says so on its first level; editors start the server for every YAML file
PROCESS_FILE = re.compile(r"^careflow\s*:", re.MULTILINE)
IDLE = 0.25  # seconds after a check before indexing the text, if it has not changed since


class CareflowServer(LanguageServer):
    """The server and what it keeps per open document."""

    def __init__(self, debounce: float = DEFAULT_DEBOUNCE) -> None:
        from careflow import __version__

        super().__init__("careflow", __version__)
        self.debounce = debounce
        self.waiting: dict[str, asyncio.Task[None]] = {}  # checks still in their quiet time, and idle indexing
        self.locks: dict[str, asyncio.Lock] = {}  # one check at a time per document
        self.indexes: dict[str, tuple[int | None, DocumentIndex]] = {}
        self.readable: dict[str, DocumentIndex] = {}

    # checking
    def schedule_check(self, uri: str, delay: float) -> None:
        """Check ``uri`` after ``delay`` seconds unless another change comes first. A check already
        running is not interrupted: its result is dropped if the text changed, and the next one waits."""
        previous = self.waiting.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.waiting[uri] = asyncio.get_running_loop().create_task(self.check(uri, delay))

    async def check(self, uri: str, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        if self.waiting.get(uri) is asyncio.current_task():
            del self.waiting[uri]  # past its quiet time: a new change no longer cancels it
        try:
            async with self.locks.setdefault(uri, asyncio.Lock()):
                await self.publish(uri)
        except Exception:  # a bug here must not stop the server; the editor's log shows it
            logger.exception("checking %s failed", uri)
        if uri not in self.waiting:  # no newer change: index the text once the editor is quiet
            self.waiting[uri] = asyncio.get_running_loop().create_task(self.index_when_idle(uri))

    async def index_when_idle(self, uri: str) -> None:
        """Index the text for the next request (and as the fallback while the YAML is broken), unless
        a change comes first."""
        await asyncio.sleep(IDLE)
        if self.waiting.get(uri) is asyncio.current_task():
            del self.waiting[uri]
            self.index(uri)

    async def publish(self, uri: str) -> None:
        """Check the document as it is now and publish what careflow finds."""
        if uri not in self.workspace.text_documents:
            return  # closed meanwhile
        document = self.workspace.get_text_document(uri)
        version, text, path = document.version, document.source, document.path
        if not PROCESS_FILE.search(text):  # another YAML file (CI, compose, …) in the same editor: not ours
            diagnostics = []
        else:
            result = await asyncio.to_thread(validate_text, text, path)
            if self.workspace.get_text_document(uri).version != version:
                return  # the text changed meanwhile; its own check is on the way
            diagnostics = to_protocol_all(result.diagnostics, document.lines, path)
        lines = document.lines
        codec = self.workspace.position_codec
        for diagnostic in diagnostics:
            diagnostic.range = codec.range_to_client_units(lines, diagnostic.range)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version))

    def forget(self, uri: str) -> None:
        task = self.waiting.pop(uri, None)
        if task is not None:
            task.cancel()
        self.indexes.pop(uri, None)
        self.readable.pop(uri, None)
        self.locks.pop(uri, None)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    # the index
    def index(self, uri: str) -> tuple[TextDocument, DocumentIndex]:
        """The document and its index (the last readable one while the YAML is broken)."""
        document = self.workspace.get_text_document(uri)
        cached = self.indexes.get(uri)
        if cached is None or cached[0] != document.version:
            cached = (document.version, build_index(document.source, document.path))
            self.indexes[uri] = cached
            if cached[1].readable:
                self.readable[uri] = cached[1]
        return document, cached[1] if cached[1].readable else self.readable.get(uri, cached[1])

    def position(self, document: TextDocument, position: types.Position) -> tuple[int, int]:
        at = document.position_from_client_units(position)
        return at.line, at.character

    def client_range(self, lines: Sequence[str], span: Span) -> types.Range:
        code_points = types.Range(types.Position(span.line, span.start), types.Position(span.line, span.end))
        return self.workspace.position_codec.range_to_client_units(lines, code_points)


def create_server(debounce: float = DEFAULT_DEBOUNCE) -> CareflowServer:
    """A server with every feature registered."""
    server = CareflowServer(debounce)
    _register_documents(server)
    _register_features(server)
    _register_edits(server)
    return server


def _register_documents(server: CareflowServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: CareflowServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule_check(params.text_document.uri, 0)
        ls.index(params.text_document.uri)  # at once: the file may break before the editor is quiet

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: CareflowServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule_check(params.text_document.uri, ls.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: CareflowServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.schedule_check(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: CareflowServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)


def _register_features(server: CareflowServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: CareflowServer, params: types.HoverParams) -> types.Hover | None:
        document, index = ls.index(params.text_document.uri)
        found = hover.hover(index, base_chain(index), *ls.position(document, params.position))
        if found is None:
            return None
        text, span = found
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text), ls.client_range(document.lines, span))

    @server.feature(types.TEXT_DOCUMENT_COMPLETION,
                    types.CompletionOptions(trigger_characters=[" ", "[", ",", "-"]))
    def on_completion(ls: CareflowServer, params: types.CompletionParams) -> types.CompletionList:
        document, index = ls.index(params.text_document.uri)
        line, column = ls.position(document, params.position)
        items = completion.complete(index, base_chain(index), document.lines, line, column, process_schema(),
                                    sorted(discover()))
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls: CareflowServer, params: types.DefinitionParams) -> types.Location | None:
        document, index = ls.index(params.text_document.uri)
        target = navigation.definition(index, base_chain(index), *ls.position(document, params.position))
        if target is None:
            return None
        if target.file is None:
            return types.Location(params.text_document.uri, ls.client_range(document.lines, target.span))
        lines = Path(target.file).read_text(encoding="utf-8").splitlines(keepends=True)
        return types.Location(Path(target.file).resolve().as_uri(), ls.client_range(lines, target.span))

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def on_references(ls: CareflowServer, params: types.ReferenceParams) -> list[types.Location]:
        document, index = ls.index(params.text_document.uri)
        spans = navigation.references(index, *ls.position(document, params.position))
        return [types.Location(params.text_document.uri, ls.client_range(document.lines, s)) for s in spans]

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def on_symbols(ls: CareflowServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        document, index = ls.index(params.text_document.uri)
        symbols = navigation.outline(index)
        _symbols_to_client(ls, document.lines, symbols)
        return symbols


def _register_edits(server: CareflowServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    def on_prepare_rename(ls: CareflowServer, params: types.PrepareRenameParams) -> types.Range | None:
        document, index = ls.index(params.text_document.uri)
        found = navigation.rename_target(index, *ls.position(document, params.position))
        return ls.client_range(document.lines, found.span) if found is not None else None

    @server.feature(types.TEXT_DOCUMENT_RENAME)
    def on_rename(ls: CareflowServer, params: types.RenameParams) -> types.WorkspaceEdit:
        document, index = ls.index(params.text_document.uri)
        try:
            spans = navigation.rename(index, *ls.position(document, params.position), params.new_name,
                                      base_chain(index))
        except ValueError as exc:
            raise JsonRpcInvalidParams(str(exc)) from None
        edits = [types.TextEdit(ls.client_range(document.lines, s), params.new_name) for s in spans]
        return types.WorkspaceEdit(changes={params.text_document.uri: edits})


def _symbols_to_client(ls: CareflowServer, lines: Sequence[str],
                       symbols: Sequence[types.DocumentSymbol] | None) -> None:
    codec = ls.workspace.position_codec
    for symbol in symbols or ():
        symbol.range = codec.range_to_client_units(lines, symbol.range)
        symbol.selection_range = codec.range_to_client_units(lines, symbol.selection_range)
        _symbols_to_client(ls, lines, symbol.children)


def serve(debounce: float = DEFAULT_DEBOUNCE, **streams: Any) -> None:
    """Run the server over stdin/stdout until the editor says exit."""
    create_server(debounce).start_io(**streams)
