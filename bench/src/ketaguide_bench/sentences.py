"""Sentence-level evidence: which sentences of a retrieved document support or contradict a claim or question.

Quotes KetaGuide would cite, so they are extractive and verbatim: a selector only picks sentence indices.
Each sentence is scored by BM25 against the question (the document's sentences as the collection) and, when the
dense extra is installed, by embedding similarity; both are scaled to [0, 1] within the document and mixed. The
best sentence is always kept, and others while they score close to it. Without embeddings the selector is the
"top 2 by BM25" baseline: on SciFact train no lexical threshold beat it (docs/benchmarks-retrieval.md).
The runtime package does not use the selector; it lives here, with the benchmark that tunes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ketaguide.retrieval.lexical import FtsIndex, IndexedDocument

if TYPE_CHECKING:
    from ketaguide.retrieval.embedding import Vectors


def bm25_sentence_scores(question: str, sentences: Sequence[str]) -> list[float]:
    """FTS5 BM25 of each sentence against the question; 0 for a sentence sharing no term with it."""
    index = FtsIndex({"text": 1.0}, scoring="sql")
    try:
        index.add(IndexedDocument(str(i), {"text": s}) for i, s in enumerate(sentences))
        scores = {int(h.doc_id): h.score for h in index.search(question, len(sentences))}
    finally:
        index.close()
    return [scores.get(i, 0.0) for i in range(len(sentences))]


def top_by_bm25(question: str, sentences: Sequence[str], n: int = 2) -> list[int]:
    """The baseline: the `n` sentences with the highest BM25, best first (only sentences sharing a term)."""
    scores = bm25_sentence_scores(question, sentences)
    ranked = sorted((i for i, s in enumerate(scores) if s > 0), key=lambda i: -scores[i])
    return ranked[:n]


def _scaled(scores: Sequence[float]) -> list[float]:
    top, bottom = max(scores, default=0.0), min(scores, default=0.0)
    spread = top - bottom
    return [(s - bottom) / spread if spread > 0 else 0.0 for s in scores]


@dataclass(frozen=True)
class SentenceSelector:
    """Mixes scaled dense and BM25 sentence scores and keeps the sentences near the best.

    Defaults tuned on SciFact train rationales (`ketaguide-bench sentences`); see docs/benchmarks-retrieval.md.
    """

    dense_weight: float = 0.7
    relative_floor: float = 0.5  # keep sentences scoring at least this share of the best sentence's score
    max_sentences: int = 3
    lexical_sentences: int = 2  # without embeddings: the top 2 by BM25

    def scores(
        self, question: str, sentences: Sequence[str], question_vector: Vectors, sentence_vectors: Vectors
    ) -> list[float]:
        """Each sentence's mixed score in [0, 1]."""
        lexical = _scaled(bm25_sentence_scores(question, sentences))
        dense = _scaled([float(v) for v in sentence_vectors @ question_vector])
        w = self.dense_weight
        return [w * d + (1 - w) * s for d, s in zip(dense, lexical, strict=True)]

    def choose(self, scores: Sequence[float]) -> list[int]:
        """Indices of the chosen sentences, best first."""
        if not scores:
            return []
        ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
        floor = scores[ranked[0]] * self.relative_floor
        return [i for i in ranked[: self.max_sentences] if scores[i] >= floor]

    def select(
        self,
        question: str,
        sentences: Sequence[str],
        question_vector: Vectors | None = None,
        sentence_vectors: Vectors | None = None,
    ) -> list[int]:
        """The supporting or contradicting sentences' indices, best first; lexical only without vectors."""
        if question_vector is None or sentence_vectors is None:
            return top_by_bm25(question, sentences, self.lexical_sentences)
        return self.choose(self.scores(question, sentences, question_vector, sentence_vectors))
