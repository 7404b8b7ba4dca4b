"""`careflow case import` from sources that never end or are too big: refused at once, nothing stored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from careflow.cli.main import main


@pytest.mark.parametrize("source", ["/dev/zero", "/dev/urandom", "fifo", "big", "directory"])
def test_import_refuses_endless_or_huge_sources(source: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = {"/dev/zero": "/dev/zero", "/dev/urandom": "/dev/urandom"}.get(source, str(tmp_path / source))
    if source == "fifo":
        os.mkfifo(path)  # nobody writes to it: reading it would block for ever
    elif source == "big":
        with open(path, "wb") as handle:
            handle.truncate(17 * 1024 * 1024)  # sparse, over the 16 MiB a case document may have
    elif source == "directory":
        os.mkdir(path)
    db = tmp_path / "cases.db"
    assert main(["case", "import", path, "--store", f"sqlite:///{db}"]) == 1
    err = capsys.readouterr().err
    assert ("not a regular file" in err or "CF006" in err) and "Traceback" not in err
    assert not db.exists()  # refused before any store was opened
