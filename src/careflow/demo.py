"""``make demo``: a tour of careflow over the bundled processes.

Run with ``python -m careflow.demo``. Each section uses only the public library API.
"""

from __future__ import annotations

import sys
import time

from careflow.cli import main as cli

_BROKEN = """\
careflow: 1
id: broken_example
version: 1.0
title: {nb: Eksempel, en: Example}
language: nb
initial: referal
states:
  referral: {step: 1, label: Henvisning}
  triage: {step: 2, due: 7 days, label: Vurdering}
  closed: {final: true, label: Avsluttet}
transitions:
  - {event: accept, from: referral, to: tirage, when: "consent_to_referal", roles: [referer]}
  - {event: close, from: triage, to: closed}
"""


def heading(text: str) -> None:
    print(f"\n{'=' * 100}\n{text}\n{'=' * 100}", flush=True)


def main() -> int:
    from careflow.loader import bundled, find, validate_text

    heading("1. The bundled processes (careflow list)")
    cli(["list", "--lang", "en"])

    heading("2. Every bundled process passes strict validation (careflow validate --strict)")
    t0 = time.perf_counter()
    paths = [str(find(pid)) for pid in bundled()]
    status = cli(["validate", "--strict", *paths])
    print(f"({(time.perf_counter() - t0) * 1000:.0f} ms for {len(paths)} processes)")

    heading("3. PSHT, the nine steps, in nynorsk (careflow show psht --lang nn)")
    cli(["show", "psht", "--lang", "nn"])

    heading("4. What an author sees for a broken file: every problem, located, with a hint")
    result = validate_text(_BROKEN, "kommune/broken_example.yaml")
    for diagnostic in result.diagnostics:
        print(diagnostic.format())
    return status


if __name__ == "__main__":
    sys.exit(main())
