"""The table of ``careflow`` subcommands: name, help, and where its arguments and its runner live.

The table is data: building the parser imports no subcommand module, and running a subcommand imports
only its own module (``careflow --help`` stays light: no networkx, jsonschema or graphviz).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import NamedTuple

AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


class Command(NamedTuple):
    """One subcommand: ``module.add(parser)`` declares its arguments, ``module.run(args)`` runs it."""

    name: str
    help: str
    module: str
    add: str
    run: str

    def add_arguments(self) -> AddArguments:
        add: AddArguments = getattr(importlib.import_module(self.module), self.add)
        return add

    def runner(self) -> Run:
        run: Run = getattr(importlib.import_module(self.module), self.run)
        return run


_DEFINITIONS, _CASES, _TESTING = "careflow.cli.definitions", "careflow.cli.cases", "careflow.cli.testing"

COMMANDS: tuple[Command, ...] = (
    Command("validate", "check process files; exit 1 if any is invalid", _DEFINITIONS, "add_validate",
            "run_validate"),
    Command("list", "list the processes on the search path", _DEFINITIONS, "add_list", "run_list"),
    Command("show", "print a process as readable tables", _DEFINITIONS, "add_show", "run_show"),
    Command("schema", "print the JSON Schema of process files (draft 2020-12)", _DEFINITIONS, "add_schema",
            "run_schema"),
    Command("render", "draw a process as svg/png/pdf (Graphviz), dot, mermaid or markdown", "careflow.cli.render",
            "add_render", "run_render"),
    Command("replay", "re-run recorded case histories through a process; report the first divergence of each",
            "careflow.cli.replay", "add_replay", "run_replay"),
    Command("paths", "generate complete histories that cover every state, transition or decision exit", _TESTING,
            "add_paths", "run_paths"),
    Command("coverage", "which states and transitions recorded histories never used", _TESTING, "add_coverage",
            "run_coverage"),
    Command("case", "open, fire, show, list, export and import cases in a store", _CASES, "add_case", "run_case"),
    Command("due", "list (and with --fire, fire) the cases whose deadlines have passed", _CASES, "add_due",
            "run_due"),
    Command("retention", "list (or with --apply remove) the values of closed cases whose retention has passed",
            "careflow.cli.retention", "add_retention", "run_retention"),
    Command("audit", "verify a store's audit trail; sign checkpoints of it; make signing keys; show who read a case",
            "careflow.cli.audit", "add_audit", "run_audit"),
    Command("lsp", "run the language server for editors (stdio; needs the extra 'lsp')", "careflow.lsp.command",
            "add_lsp", "run_lsp"),
    Command("explain", "what a diagnostic code means, an example and the fix (--all: every code)",
            "careflow.cli.explain", "add_explain", "run_explain"),
)


def command(name: str) -> Command | None:
    return next((c for c in COMMANDS if c.name == name), None)
