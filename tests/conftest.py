"""Shared fixtures: the bundled knowledge pack and clinical content, loaded once per test session."""

from __future__ import annotations

import pytest

from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.knowledge.clinical import ClinicalContent, load_clinical
from ketaguide.knowledge.loader import load_pack


@pytest.fixture(scope="session")
def pack() -> KnowledgePack:
    return load_pack()


@pytest.fixture(scope="session")
def content() -> ClinicalContent:
    return load_clinical()
