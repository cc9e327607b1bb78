"""Shared fixtures: the bundled knowledge pack and clinical content, loaded once per test session.

No test writes to the user's home: the repository's root conftest.py points HOME and KETAGUIDE_CACHE_DIR at
temporary folders for the whole session (tests/ and bench/tests/ alike). A test that needs an empty cache of its own
asks for `own_cache_dir`.

Commands run in process (CliRunner) can share the session's loaded content through `reused_snapshot`, as one
process loads it once; loading itself is tested by test_knowledge_pack.py and the real-process smoke tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ketaguide.domain.care.rules import ClinicalContent
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.knowledge.clinical import load_clinical
from ketaguide.knowledge.loader import load_pack

if TYPE_CHECKING:
    from ketaguide.knowledge.snapshot import KnowledgeSnapshot


@pytest.fixture
def own_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty KetaGuide cache for this test alone (a cold start), instead of the session's shared one."""
    cache = tmp_path / "ketaguide-cache"
    monkeypatch.setenv("KETAGUIDE_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(scope="session")
def pack() -> KnowledgePack:
    return load_pack()


@pytest.fixture(scope="session")
def content(pack: KnowledgePack) -> ClinicalContent:
    return load_clinical(pack)


@pytest.fixture(scope="session")
def snapshot() -> KnowledgeSnapshot:
    """The bundled content as the runtime loads it, once per session."""
    from ketaguide.knowledge.snapshot import load_snapshot

    return load_snapshot()


@pytest.fixture
def reused_snapshot(monkeypatch: pytest.MonkeyPatch, snapshot: KnowledgeSnapshot) -> KnowledgeSnapshot:
    """Every runtime built during the test (`ketaguide.bootstrap.build_runtime`) gets the session's immutable
    snapshot of the bundled content instead of reading and hashing the files again; a content folder set by
    KETAGUIDE_CONTENT_DIR is still loaded for real."""
    from ketaguide.knowledge.snapshot import load_snapshot

    def load(
        content_dir: Path | None = None, *, cache_dir: Path | None = None, eager: bool = False
    ) -> KnowledgeSnapshot:
        return snapshot if content_dir is None else load_snapshot(content_dir, cache_dir=cache_dir, eager=eager)

    monkeypatch.setattr("ketaguide.bootstrap.load_snapshot", load)
    return snapshot
