"""Fixtures for every test folder (tests/, bench/tests/): nothing a test runs may write to the user's home.

For the whole session HOME points at a temporary folder (onnxruntime keeps telemetry under ~/.cache/Microsoft; a
command run as a subprocess inherits the variable) and KETAGUIDE_CACHE_DIR at one temporary cache shared by all
tests, so the pack's claims are embedded once per session, not once per test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A temporary HOME and KetaGuide cache for the whole session (autouse: every test, every subprocess)."""
    home = tmp_path_factory.mktemp("home")
    cache = tmp_path_factory.mktemp("ketaguide-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
        patch.setenv("KETAGUIDE_CACHE_DIR", str(cache))
        yield cache
