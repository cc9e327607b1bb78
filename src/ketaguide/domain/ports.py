"""Small protocols the services depend on; adapters implement them (SQLite FTS5, dense, hybrid)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict


class Hit(BaseModel):
    """A retrieved document id with its score (higher is better)."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    score: float


class EvidenceIndex(Protocol):
    """Ranks indexed documents for a query. Implementations: lexical FTS5, dense, hybrid fusion."""

    name: str

    def search(self, query: str, k: int) -> Sequence[Hit]: ...
