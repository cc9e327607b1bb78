"""Rank fusion against hand-computed examples, and the hybrid index over in-memory twins of its two legs."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ketaguide.domain.ports import Hit
from ketaguide.retrieval.fusion import HybridIndex, convex_fusion, reciprocal_rank_fusion


def hits(*pairs: tuple[str, float]) -> list[Hit]:
    return [Hit(doc_id=d, score=s) for d, s in pairs]


class FixedIndex:
    """An in-memory EvidenceIndex returning a fixed ranking, recording the depth it was asked for."""

    def __init__(self, name: str, ranking: list[Hit]) -> None:
        self.name, self.ranking, self.asked = name, ranking, 0

    def search(self, query: str, k: int) -> Sequence[Hit]:
        self.asked = k
        return self.ranking[:k]


def test_convex_fusion_hand_computed() -> None:
    # Lexical 10, 6, 2 -> normalised a 1.0, b 0.5, c 0.0; dense b 0.9, d 0.5, a 0.1 -> b 1.0, d 0.5, a 0.0.
    lexical = hits(("a", 10.0), ("b", 6.0), ("c", 2.0))
    dense = hits(("b", 0.9), ("d", 0.5), ("a", 0.1))
    fused = convex_fusion(lexical, dense, lexical_weight=0.6)
    expected = {"a": 0.6, "b": 0.6 * 0.5 + 0.4, "c": 0.0, "d": 0.4 * 0.5}  # b 0.7, a 0.6, d 0.2, c 0
    assert [h.doc_id for h in fused] == ["b", "a", "d", "c"]
    assert {h.doc_id: h.score for h in fused} == pytest.approx(expected)


def test_convex_fusion_extremes_reproduce_each_leg() -> None:
    lexical = hits(("a", 3.0), ("b", 2.0), ("c", 1.0))
    dense = hits(("c", 0.9), ("b", 0.8), ("a", 0.7))
    assert [h.doc_id for h in convex_fusion(lexical, dense, 1.0)] == ["a", "b", "c"]
    assert [h.doc_id for h in convex_fusion(lexical, dense, 0.0)] == ["c", "b", "a"]


def test_convex_fusion_single_hit_and_empty_legs() -> None:
    assert convex_fusion([], [], 0.5) == []
    # One hit has no spread: it counts as the best of its list.
    assert convex_fusion(hits(("a", 4.0)), [], 0.5) == hits(("a", 0.5))


def test_reciprocal_rank_fusion_hand_computed() -> None:
    fused = reciprocal_rank_fusion([hits(("a", 9), ("b", 8)), hits(("b", 1), ("c", 0))], k=60)
    assert [h.doc_id for h in fused] == ["b", "a", "c"]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1].score == pytest.approx(1 / 61)
    assert fused[2].score == pytest.approx(1 / 62)


def test_hybrid_index_searches_both_legs_to_depth_and_cuts_to_k() -> None:
    lexical = FixedIndex("fts5", hits(("a", 10.0), ("b", 6.0), ("c", 2.0)))
    dense = FixedIndex("dense", hits(("b", 0.9), ("d", 0.5), ("a", 0.1)))
    index = HybridIndex(lexical, dense, lexical_weight=0.6, depth=50)
    assert [h.doc_id for h in index.search("q", 2)] == ["b", "a"]
    assert (lexical.asked, dense.asked) == (50, 50)
    assert index.name == "hybrid"
    rrf = HybridIndex(lexical, dense, fusion="rrf")
    assert [h.doc_id for h in rrf.search("q", 4)] == ["b", "a", "d", "c"]


class ClosableIndex(FixedIndex):
    def __init__(self, name: str) -> None:
        super().__init__(name, [])
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_closing_the_hybrid_index_closes_the_legs_that_can_be_closed() -> None:
    lexical = ClosableIndex("fts5")
    HybridIndex(lexical, FixedIndex("dense", [])).close()  # a dense leg holds nothing to close
    assert lexical.closed == 1
