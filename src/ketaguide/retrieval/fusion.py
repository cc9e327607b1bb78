"""Hybrid retrieval: lexical and dense rankings fused into one.

Two fusions: a convex combination of min-max-normalised scores (the default) and reciprocal-rank fusion.
Bruch, Gai & Ingber (ACM TOIS 2023, "An Analysis of Fusion Functions for Hybrid Retrieval") find a tuned convex
combination beats RRF and needs few labelled queries; on SciFact train it did too (docs/benchmarks-retrieval.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ketaguide.domain.ports import EvidenceIndex, Hit

# Tuned on the SciFact train split only (`ketaguide bench retrieval --sweep`), see docs/benchmarks-retrieval.md.
LEXICAL_WEIGHT = 0.55
# Candidates taken from each ranking before fusing; a document outside one top-DEPTH scores 0 there.
DEPTH = 100
RRF_K = 60  # Cormack, Clarke & Buettcher (SIGIR 2009)

Fusion = Literal["convex", "rrf"]


def _normalised(hits: Sequence[Hit]) -> dict[str, float]:
    """Scores min-max scaled to [0, 1] within the list (BM25 and cosine live on different scales)."""
    if not hits:
        return {}
    top, bottom = max(h.score for h in hits), min(h.score for h in hits)
    spread = top - bottom
    return {h.doc_id: (h.score - bottom) / spread if spread > 0 else 1.0 for h in hits}


def convex_fusion(lexical: Sequence[Hit], dense: Sequence[Hit], lexical_weight: float) -> list[Hit]:
    """w * lexical + (1 - w) * dense on normalised scores, best first; ties keep the lexical order."""
    lex, den = _normalised(lexical), _normalised(dense)
    order = list(dict.fromkeys([*lex, *den]))
    scores = {d: lexical_weight * lex.get(d, 0.0) + (1 - lexical_weight) * den.get(d, 0.0) for d in order}
    return [Hit(doc_id=d, score=scores[d]) for d in sorted(order, key=lambda d: -scores[d])]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hit]], k: int = RRF_K) -> list[Hit]:
    """Sum of 1 / (k + rank) over the rankings (rank from 1), best first."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.doc_id] = scores.get(hit.doc_id, 0.0) + 1.0 / (k + rank)
    return [Hit(doc_id=d, score=s) for d, s in sorted(scores.items(), key=lambda item: -item[1])]


class HybridIndex:
    """Searches a lexical and a dense index and fuses their rankings; scores are fusion scores.

    Keeps no state of its own after construction, so it is as safe to search from many threads as its two legs.
    """

    name = "hybrid"

    def __init__(
        self,
        lexical: EvidenceIndex,
        dense: EvidenceIndex,
        fusion: Fusion = "convex",
        lexical_weight: float = LEXICAL_WEIGHT,
        depth: int = DEPTH,
    ) -> None:
        self.lexical, self.dense = lexical, dense
        self.fusion, self.lexical_weight, self.depth = fusion, lexical_weight, depth

    def search(self, query: str, k: int) -> Sequence[Hit]:
        depth = max(self.depth, k)
        return self.fuse(self.lexical.search(query, depth), self.dense.search(query, depth))[:k]

    def fuse(self, lexical: Sequence[Hit], dense: Sequence[Hit]) -> list[Hit]:
        if self.fusion == "rrf":
            return reciprocal_rank_fusion([lexical, dense])
        return convex_fusion(lexical, dense, self.lexical_weight)

    def close(self) -> None:
        """Close the legs that hold resources (the lexical leg's SQLite connection); `Runtime.close` calls this."""
        for leg in (self.lexical, self.dense):
            close = getattr(leg, "close", None)
            if close is not None:
                close()
