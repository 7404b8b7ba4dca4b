"""``careflow lsp``: a language server (pygls) giving editors careflow's own checks, hover, completion,
go to definition, the state tree and rename.

``index`` finds every id in a process file (pure, no pygls); ``hover``, ``completion`` and ``navigation``
answer from it; ``diagnostics`` maps careflow's diagnostics to the protocol; ``server`` wires them to pygls;
``command`` is the CLI entry, which imports pygls only when the server starts.
"""
