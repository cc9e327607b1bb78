"""Retrieval metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from ketaguide_bench.metrics import evaluate_rankings, ndcg_at_k, recall_at_k, selection_scores


def test_ndcg_binary_hand_computed() -> None:
    # Relevant: a, b. Ranking: x a y b -> DCG = 1/log2(3) + 1/log2(5); IDCG = 1/log2(2) + 1/log2(3).
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3)
    assert ndcg_at_k(["x", "a", "y", "b"], {"a": 1, "b": 1}) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(["x", "a", "y", "b"], {"a": 1, "b": 1}) == pytest.approx(0.6509209298)


def test_ndcg_graded_and_cut_at_k() -> None:
    # Grades a=2, b=1; ranking b a: DCG = 1 + 2/log2(3) = 2.2619; IDCG = 2 + 1/log2(3) = 2.6309.
    assert ndcg_at_k(["b", "a"], {"a": 2, "b": 1}) == pytest.approx(0.8597, abs=1e-4)
    # Only the first k count: the relevant document at rank 3 is outside a cut of 2.
    assert ndcg_at_k(["x", "y", "a"], {"a": 1}, k=2) == 0.0
    assert ndcg_at_k(["a", "b"], {"a": 2, "b": 1}) == pytest.approx(1.0)


def test_ndcg_edge_cases() -> None:
    assert ndcg_at_k([], {"a": 1}) == 0.0
    assert ndcg_at_k(["a"], {}) == 0.0
    assert ndcg_at_k(["a"], {"a": 0}) == 0.0  # a zero grade is "judged not relevant"


def test_recall_at_k() -> None:
    relevance = {"a": 1, "b": 1, "c": 1, "n": 0}
    assert recall_at_k(["a", "x", "c"], relevance) == pytest.approx(2 / 3)
    assert recall_at_k(["x", "y", "a"], relevance, k=2) == 0.0
    assert recall_at_k(["n"], {"n": 0}) == 0.0


def test_evaluate_rankings_means_over_judged_queries() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}  # q3 has no relevant document: not counted
    scores = evaluate_rankings({"q1": ["a"], "q2": ["x", "b"]}, qrels)
    assert scores.queries == 2
    assert scores.ndcg_at_10 == pytest.approx((1.0 + 1 / math.log2(3)) / 2)
    assert scores.recall_at_100 == 1.0
    assert evaluate_rankings({}, qrels).ndcg_at_10 == 0.0  # a query left unanswered scores 0


def test_selection_scores_micro_averaged() -> None:
    # Pair 1: chose {0, 1}, gold {1, 2} -> tp 1, fp 1, fn 1. Pair 2: chose {3}, gold {3} -> tp 1.
    scores = selection_scores([({0, 1}, frozenset({1, 2})), ({3}, frozenset({3}))])
    assert (scores.true_positives, scores.false_positives, scores.false_negatives) == (2, 1, 1)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.f1 == pytest.approx(2 / 3)
    empty = selection_scores([(set(), frozenset({1}))])
    assert (empty.precision, empty.recall, empty.f1) == (0.0, 0.0, 0.0)
