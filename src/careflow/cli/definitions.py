"""``careflow validate``, ``list``, ``show`` and ``schema``: the commands over process definitions.

Imported only when one of them runs (``careflow.cli.commands``); the loader is imported inside each.
"""

from __future__ import annotations

import argparse
import json

from careflow.cli.console import LANGS, escape, indent_continuations, out

# -- validate -------------------------------------------------------------------------------------


def run_validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from careflow.definitions.loader import discover, validate

    paths: list[str] = []
    for p in args.paths:
        path = Path(p)
        paths.extend(sorted(str(x) for x in path.iterdir() if x.suffix in (".yaml", ".yml")) if path.is_dir() else [p])
    # processes validated together may hand off to each other
    known = set(discover()) | {Path(p).stem for p in paths}
    results = [validate(p, known_processes=known) for p in paths]
    failed = sum(not r.ok(args.strict) for r in results)
    if args.format == "json":
        out(json.dumps([{"file": r.source, "valid": r.ok(args.strict),
                         "process": r.definition.id if r.definition else None,
                         "diagnostics": [d.to_json() for d in r.diagnostics]} for r in results],
                       ensure_ascii=False, indent=2))
        return 1 if failed else 0
    for r in results:
        for d in r.diagnostics:
            out(indent_continuations(d.format()))
        status = "ok" if r.ok(args.strict) else "FAILED"
        out(f"{r.source}: {status} ({len(r.errors)} error(s), {len(r.warnings)} warning(s))")
    if len(results) > 1:
        out(f"{len(results) - failed} of {len(results)} valid" + (" (strict)" if args.strict else ""))
    return 1 if failed else 0


def add_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="process files or directories of them")
    p.add_argument("--strict", action="store_true", help="treat warnings as failures")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.epilog = "Each problem has a code: 'careflow explain CF104' says what it means and how to fix it."


# -- list / show / schema -------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    from careflow.definitions.loader import discover, validate

    for pid, src in discover().items():
        result = validate(src.path)
        d = result.definition
        if d is None:
            out(f"{escape(pid):24} (invalid: {len(result.errors)} error(s))  {escape(src.path)}  [{src.origin}]")
            continue
        title = d.title.get(args.lang)
        out(f"{escape(pid):24} {escape(d.version):8} {len(d.states):3} states {len(d.transitions):3} transitions  "
            f"{escape(title)}  [{src.origin}]")
    return 0


def add_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=LANGS, help="label language")


def run_show(args: argparse.Namespace) -> int:
    if args.resolved:
        return _show_resolved(args.process)
    from careflow.cli.show import show
    from careflow.definitions.loader import load

    out(show(load(args.process), args.lang))
    return 0


def _show_resolved(source: str) -> int:
    """The process as careflow reads it, as YAML: an ``extends`` file merged with its base."""
    from careflow.cli.console import err
    from careflow.cli.show import resolved_yaml
    from careflow.definitions.loader import resolve
    from careflow.errors import DefinitionError

    document, result = resolve(source)
    if document is None or result.errors:
        raise DefinitionError(result.diagnostics, result.source)
    for d in result.warnings:
        err(indent_continuations(d.format()))
    out(resolved_yaml(document, result.source))
    return 0


def add_show(p: argparse.ArgumentParser) -> None:
    p.add_argument("process", help="a process id or file")
    p.add_argument("--lang", choices=LANGS, help="label language (default: the file's)")
    p.add_argument("--resolved", action="store_true",
                   help="print the process as YAML, as careflow reads it (an 'extends' file merged with its base)")


def run_schema(args: argparse.Namespace) -> int:
    from importlib import resources

    package, name = (("careflow.history", "history.schema.json") if args.history
                     else ("careflow.definitions", "process.schema.json"))
    out(resources.files(package).joinpath(name).read_text("utf-8").rstrip())
    return 0


def add_schema(p: argparse.ArgumentParser) -> None:
    p.add_argument("--history", action="store_true", help="the schema of case history files instead")
