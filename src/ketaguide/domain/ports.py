"""Small protocols the services depend on; adapters implement them (SQLite FTS5, dense, hybrid)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol


class Hit(NamedTuple):
    """A retrieved document id with its score (higher is better).

    A named tuple rather than a model: a search returns up to a hundred per query, and building validated models
    cost a third of a lexical query's time (docs/benchmarks-retrieval.md).
    """

    doc_id: str
    score: float


class EvidenceIndex(Protocol):
    """Ranks indexed documents for a query. Implementations: lexical FTS5, dense, hybrid fusion."""

    name: str

    def search(self, query: str, k: int) -> Sequence[Hit]: ...


class Clock(Protocol):
    """Where the time comes from: the domain never reads a clock itself, so outputs are reproducible in tests."""

    def now(self) -> datetime: ...
