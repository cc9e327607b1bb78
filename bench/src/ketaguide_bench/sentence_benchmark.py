"""Measure rationale-sentence selection on SciFact's `claims_<split>.jsonl` (sentence indices per abstract).

Each (claim, abstract) pair with labelled rationale sentences is one test: the selector picks sentences of the
gold abstract (retrieval is measured separately), scored by micro precision, recall and F1 over sentences. The
baseline, run in the same process, is the top 2 sentences by BM25.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ketaguide.domain.errors import DatasetError
from ketaguide.retrieval.embedding import missing_dense_modules
from ketaguide_bench.beir import BeirDocument, RationaleClaim, cache_collection, load_corpus, load_rationale_claims
from ketaguide_bench.metrics import SelectionScores, selection_scores
from ketaguide_bench.progress import Progress, no_progress
from ketaguide_bench.sentences import SentenceSelector, top_by_bm25

Pair = tuple[RationaleClaim, BeirDocument, frozenset[int]]


def rationale_pairs(directory: Path, split: str) -> list[Pair]:
    corpus = load_corpus(directory / "corpus.jsonl")
    path = directory / f"claims_{split}.jsonl"
    pairs = []
    for claim in load_rationale_claims(path):
        for doc_id, gold in claim.rationales.items():
            if doc_id not in corpus:
                raise DatasetError(str(path), None, f"claim {claim.claim_id} cites {doc_id!r}, not in corpus.jsonl")
            if gold:
                pairs.append((claim, corpus[doc_id], gold))
    if not pairs:
        raise DatasetError(str(path), None, "no claim has rationale sentences")
    if not all(doc.sentences for _, doc, _ in pairs):
        raise DatasetError(str(directory / "corpus.jsonl"), None, "rationale abstracts need a 'sentences' list")
    return pairs


def _row(scores: SelectionScores) -> dict[str, float]:
    return {"precision": round(scores.precision, 4), "recall": round(scores.recall, 4), "f1": round(scores.f1, 4)}


def run_sentence_benchmark(
    directory: Path, split: str, cache_dir: Path, progress: Progress = no_progress
) -> dict[str, Any]:
    pairs = rationale_pairs(directory, split)
    advance = progress("top 2 by BM25", len(pairs))
    baseline = []
    for claim, doc, gold in pairs:
        baseline.append((set(top_by_bm25(claim.text, doc.sentences, 2)), gold))
        advance(1)
    report: dict[str, Any] = {"pairs": len(pairs), "sentences": sum(len(d.sentences) for _, d, _ in pairs)}
    baselines = {"top2_bm25": _row(selection_scores(baseline))}
    if missing_dense_modules():
        return {
            "selector": "top2_bm25 (dense extra not installed)",
            **baselines["top2_bm25"],
            "baselines": {},
            **report,
        }
    chosen = _dense_selection(pairs, EmbeddingCollections(directory, split, cache_dir), SentenceSelector(), progress)
    return {"selector": "hybrid", **_row(selection_scores(chosen)), "baselines": baselines, **report}


@dataclass(frozen=True)
class EmbeddingCollections:
    """Where a dataset's sentence and claim vectors are cached: keyed by its resolved path (and split, for claims)."""

    directory: Path
    split: str
    cache_dir: Path

    @property
    def sentences(self) -> str:
        return cache_collection(self.directory, "rationale-sentences")

    @property
    def claims(self) -> str:
        return cache_collection(self.directory, f"claims-{self.split}")


def _dense_selection(
    pairs: list[Pair], collections: EmbeddingCollections, selector: SentenceSelector, progress: Progress
) -> list[tuple[set[int], frozenset[int]]]:
    from ketaguide.retrieval.embedding import MiniLmEmbedder
    from ketaguide.retrieval.embedding_cache import EmbeddingCache

    embedder = MiniLmEmbedder()
    cache = EmbeddingCache(collections.cache_dir, embedder.model_id, dimension=embedder.dimension)
    docs = {doc.doc_id: doc for _, doc, _ in pairs}
    claims = {claim.claim_id: claim.text for claim, _, _ in pairs}

    def embed(texts: list[str]) -> Any:
        return embedder.embed(texts, progress=progress(f"embedding {len(texts)} sentences", len(texts)))

    sentences = [s for doc in docs.values() for s in doc.sentences]
    sentence_vectors = cache.vectors(collections.sentences, sentences, embed).vectors
    claim_vectors = dict(
        zip(claims, cache.vectors(collections.claims, list(claims.values()), embed).vectors, strict=True)
    )
    start, offsets = 0, {}
    for doc_id, doc in docs.items():
        offsets[doc_id] = start
        start += len(doc.sentences)
    advance = progress("hybrid sentence selection", len(pairs))
    chosen = []
    for claim, doc, gold in pairs:
        vectors = sentence_vectors[offsets[doc.doc_id] : offsets[doc.doc_id] + len(doc.sentences)]
        chosen.append((set(selector.select(claim.text, doc.sentences, claim_vectors[claim.claim_id], vectors)), gold))
        advance(1)
    return chosen
