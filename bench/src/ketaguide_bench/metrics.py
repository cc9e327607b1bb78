"""Retrieval and selection metrics, as BEIR reports them (pytrec_eval's ndcg_cut and recall)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def ndcg_at_k(ranking: Sequence[str], relevance: Mapping[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the first `k` results, gain = graded relevance.

    DCG = sum over ranks i = 1..k of rel_i / log2(i + 1); divided by the DCG of the ideal ordering.
    A query with no relevant document scores 0.
    """
    dcg = sum(relevance.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(ranking[:k], start=1))
    ideal = sorted((r for r in relevance.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(rank + 1) for rank, r in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranking: Sequence[str], relevance: Mapping[str, int], k: int = 100) -> float:
    """Share of the relevant documents (relevance > 0) found in the first `k` results."""
    relevant = {doc for doc, r in relevance.items() if r > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


@dataclass(frozen=True)
class RankingScores:
    ndcg_at_10: float
    recall_at_100: float
    queries: int


def evaluate_rankings(rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]) -> RankingScores:
    """Mean nDCG@10 and recall@100 over the judged queries (a query with no ranking scores 0)."""
    judged = [q for q, rel in qrels.items() if any(r > 0 for r in rel.values())]
    if not judged:
        return RankingScores(0.0, 0.0, 0)
    ndcg = sum(ndcg_at_k(rankings.get(q, []), qrels[q], 10) for q in judged) / len(judged)
    recall = sum(recall_at_k(rankings.get(q, []), qrels[q], 100) for q in judged) / len(judged)
    return RankingScores(ndcg, recall, len(judged))


@dataclass(frozen=True)
class SelectionScores:
    """Micro-averaged precision, recall and F1 of selected items against gold items."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        chosen = self.true_positives + self.false_positives
        return self.true_positives / chosen if chosen else 0.0

    @property
    def recall(self) -> float:
        gold = self.true_positives + self.false_negatives
        return self.true_positives / gold if gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def selection_scores(pairs: Sequence[tuple[set[int] | frozenset[int], set[int] | frozenset[int]]]) -> SelectionScores:
    """Micro counts over (selected, gold) pairs."""
    tp = sum(len(chosen & gold) for chosen, gold in pairs)
    fp = sum(len(chosen - gold) for chosen, gold in pairs)
    fn = sum(len(gold - chosen) for chosen, gold in pairs)
    return SelectionScores(tp, fp, fn)
