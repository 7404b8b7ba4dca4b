"""YAML mistakes in plain words, on the line where the author must act, with the fix written out.

Every file in ``corpus/yaml_mistakes`` is ``corpus/valid/minimal.yaml`` with one common YAML
mistake (a missing ':', an indentation off by some spaces, a tab, a ': ' or ' #' in a text, an
open bracket or quote, two documents) and starts with ``# expect: CF001 line:col hint: <the hint>``.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from careflow.definitions.loader import validate
from tests.support import CORPUS

MISTAKES = sorted((CORPUS / "yaml_mistakes").glob("*.yaml"))
HEADER = re.compile(r"# expect: (CF\d{3}) (\d+):(\d+) hint: (.+)$")
# the parser's own words, which an author should never have to read
JARGON = re.compile(r"mapping values|simple key|block (mapping|collection)|flow (mapping|sequence)|"
                    r"expected <|cannot start any token|indicator|scanning|alias")


def test_the_corpus_has_thirty_mistakes() -> None:
    assert len(MISTAKES) >= 30


@pytest.mark.parametrize("path", MISTAKES, ids=[p.stem for p in MISTAKES])
def test_mistake_in_plain_words(path: Path) -> None:
    m = HEADER.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert m, f"{path.name}: first line must be '# expect: CFxxx line:col hint: …'"
    result = validate(path)
    (d,) = result.diagnostics
    assert (d.code, d.location.line, d.location.column) == (m[1], int(m[2]), int(m[3])), d.format()
    assert d.hint == m[4], d.format()
    assert not JARGON.search(d.message), d.format()
    assert result.definition is None


def test_the_line_is_the_one_that_differs_from_the_valid_file() -> None:
    valid = (CORPUS / "valid" / "minimal.yaml").read_text(encoding="utf-8").splitlines()
    for path in MISTAKES:
        lines = path.read_text(encoding="utf-8").splitlines()[1:]
        first_change = next(i for i, (a, b) in enumerate(zip(valid, lines, strict=False)) if a != b) + 2
        (d,) = validate(path).diagnostics
        assert d.location.line == first_change, d.format()


def test_random_slips_always_get_a_hint_near_the_slip() -> None:
    """One slip (a lost ':', a space too many or too few, a stray bracket, quote, tab or ' #') in a
    bundled process: the syntax error has a hint and lies within the file, mostly on the slip's line."""
    from careflow.definitions.loader import bundled_dir
    from careflow.definitions.yamlsafe import read_yaml

    rng = random.Random(14)
    texts = [p.read_text(encoding="utf-8") for p in sorted(bundled_dir().glob("*.yaml"))]
    near = total = 0
    for _ in range(400):
        lines = rng.choice(texts).split("\n")
        i = rng.randrange(len(lines))
        line = lines[i]
        slip = rng.randrange(4)
        if slip == 0 and ":" in line:
            line = line.replace(":", "", 1)
        elif slip == 1:
            line = " " + line
        elif slip == 2 and line.startswith("    "):
            line = line[1:]
        elif line:
            j = rng.randrange(len(line))
            line = line[:j] + rng.choice([":", " #", "[", "{", '"', "'", "\t", "]"]) + line[j:]
        lines[i] = line
        for d in read_yaml("\n".join(lines), "slip.yaml").diagnostics:
            if d.code == "CF001":
                total += 1
                assert d.hint, d.format()
                assert d.location.line is not None and 1 <= d.location.line <= len(lines), d.format()
                near += abs(d.location.line - (i + 1)) <= 1
    assert total > 100 and near / total > 0.9, (near, total)
