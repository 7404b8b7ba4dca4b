"""The ``careflow`` command. Thin: every command calls the library; heavy imports happen inside commands.

Exit codes: 0 success, 1 the input has problems (invalid definition, divergence, …), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

LANGS = ("nn", "nb", "en", "sv")

Adder = Callable[[argparse.ArgumentParser], None]
Runner = Callable[[argparse.Namespace], int]
#: name -> (help, add_arguments, run); other modules (render, cases, replay, …) register theirs.
COMMANDS: dict[str, tuple[str, Adder, Runner]] = {}


def register(name: str, help_text: str, add: Adder, run: Runner) -> None:
    COMMANDS[name] = (help_text, add, run)


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text + "\n")


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
            out(d.format())
        status = "ok" if r.ok(args.strict) else "FAILED"
        out(f"{r.source}: {status} ({len(r.errors)} error(s), {len(r.warnings)} warning(s))")
    if len(results) > 1:
        out(f"{len(results) - failed} of {len(results)} valid" + (" (strict)" if args.strict else ""))
    return 1 if failed else 0


def add_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="process files or directories of them")
    p.add_argument("--strict", action="store_true", help="treat warnings as failures")
    p.add_argument("--format", choices=("text", "json"), default="text")


# -- list / show / schema -------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    from careflow.definitions.loader import discover, validate

    for pid, src in discover().items():
        result = validate(src.path)
        d = result.definition
        if d is None:
            out(f"{pid:24} (invalid: {len(result.errors)} error(s))  {src.path}  [{src.origin}]")
            continue
        title = d.title.get(args.lang)
        out(f"{pid:24} {d.version:8} {len(d.states):3} states {len(d.transitions):3} transitions  {title}  "
            f"[{src.origin}]")
    return 0


def add_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=LANGS, help="label language")


def run_show(args: argparse.Namespace) -> int:
    from careflow.cli.show import show
    from careflow.definitions.loader import load
    from careflow.errors import CareflowError

    try:
        process = load(args.process)
    except CareflowError as exc:
        err(_format_error(exc))
        return 1
    out(show(process, args.lang))
    return 0


def add_show(p: argparse.ArgumentParser) -> None:
    p.add_argument("process", help="a process id or file")
    p.add_argument("--lang", choices=LANGS, help="label language (default: the file's)")


def run_schema(args: argparse.Namespace) -> int:
    from importlib import resources

    package, name = (("careflow.history", "history.schema.json") if args.history
                     else ("careflow.definitions", "process.schema.json"))
    out(resources.files(package).joinpath(name).read_text("utf-8").rstrip())
    return 0


def add_schema(p: argparse.ArgumentParser) -> None:
    p.add_argument("--history", action="store_true", help="the schema of case history files instead")


def _format_error(exc: BaseException) -> str:
    from careflow.errors import DefinitionError

    if isinstance(exc, DefinitionError):
        return exc.format()
    code = getattr(exc, "code", "")
    return f"error {code}: {exc}" if code else f"error: {exc}"


register("validate", "check process files; exit 1 if any is invalid", add_validate, run_validate)
register("list", "list the processes on the search path", add_list, run_list)
register("show", "print a process as readable tables", add_show, run_show)
register("schema", "print the JSON Schema of process files (draft 2020-12)", add_schema, run_schema)


# -- entry point ----------------------------------------------------------------------------------

# modules that register further commands when imported
_PLUGIN_MODULES: tuple[str, ...] = ("careflow.cli.render", "careflow.cli.replay", "careflow.cli.testing",
                                     "careflow.cli.cases")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    for module in _PLUGIN_MODULES:
        importlib.import_module(module)
    parser = argparse.ArgumentParser(
        prog="careflow",
        description="YAML process definitions as validated state machines: validate, show, and more.",
        epilog="Diagnostic codes: CF0xx reading, CF1xx structure, CF2xx graph, CF301 labels, CF4xx guards.")
    from careflow import __version__

    parser.add_argument("--version", action="version", version=f"careflow {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add, _) in COMMANDS.items():
        add(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    run = COMMANDS[args.command][2]
    try:
        return run(args)
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a last guard: a user never sees a traceback for our own error kinds
        from careflow.errors import CareflowError

        if isinstance(exc, CareflowError):
            err(_format_error(exc))
            return 1
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
