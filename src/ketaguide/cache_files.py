"""Files under KETAGUIDE_CACHE_DIR (computed embeddings, the compiled knowledge pack, the optimised model).

A cache can only cost time, never an answer: a file is written whole or not at all (a temporary file beside the
target, on disk, then renamed over it, so a reader never sees half a file and two writers leave one whole file), and
a folder that cannot be written is reported once per cache while the run goes on without it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

Report = Callable[[str], None]


def report_to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


class ReportOnce:
    """`report`, called for the first message only: one notice per cache, however many writes fail."""

    def __init__(self, report: Report) -> None:
        self._report = report
        self._reported = False

    def __call__(self, message: str) -> None:
        if not self._reported:
            self._reported = True
            self._report(message)


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """`write` the file to a temp file beside `path`, on disk (fsync), then rename it over `path`; any failure, a full
    disk or an interrupt, leaves the old file (or none) in place and no temp file behind."""
    descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as temp:
            write(temp)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
