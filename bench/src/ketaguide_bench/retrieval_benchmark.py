"""Measure evidence retrieval on a BEIR-format dataset, with the baselines run in the same process.

Every retriever answers every judged query once for the quality figures; speed is the median of `repeats` timed
passes over all queries (the machine is shared and noisy; a median of passes is steadier than one pass).
Retrievers: KetaGuide's hybrid (lexical + dense, when the dense extra is installed) and lexical modes, and the
baselines plain FTS5 (equal field weights, SQLite's bm25(): KetaGuide before issue 3), dense alone, and `bm25s`.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ketaguide.domain.errors import InputError
from ketaguide.domain.ports import EvidenceIndex, Hit
from ketaguide.retrieval.embedding import DENSE_INSTALL_HINT, missing_dense_modules
from ketaguide.retrieval.fusion import HybridIndex, convex_fusion, reciprocal_rank_fusion
from ketaguide.retrieval.lexical import FtsIndex, IndexedDocument
from ketaguide_bench.beir import BeirDataset, BeirDocument, cache_collection, load_beir
from ketaguide_bench.metrics import evaluate_rankings
from ketaguide_bench.progress import Progress, no_progress

# A title names the finding an abstract reports; tuned on SciFact train (--sweep): 1.0 -> 2.0 adds ~0.005.
CORPUS_FIELD_WEIGHTS = {"title": 2.0, "text": 1.0}
PLAIN_FIELD_WEIGHTS = {"title": 1.0, "text": 1.0}
DEPTH = 100  # results per query: recall@100 needs 100
SWEEP_WEIGHTS = tuple(round(0.05 * i, 2) for i in range(21))
SWEEP_RRF_K = (10, 20, 40, 60, 100)
SWEEP_TITLE_WEIGHTS = (1.0, 1.5, 2.0, 3.0)


@dataclass
class RetrieverRun:
    name: str
    ndcg_at_10: float
    recall_at_100: float
    queries_per_second: float
    index_seconds: float
    rankings: dict[str, list[Hit]] = field(repr=False, default_factory=dict)
    ranking_only_qps: float | None = None  # without building Hit objects: like for like with bm25s

    def summary(self, baseline_qps: float | None = None) -> dict[str, Any]:
        row: dict[str, Any] = {
            "ndcg_at_10": round(self.ndcg_at_10, 4),
            "recall_at_100": round(self.recall_at_100, 4),
            "queries_per_second": round(self.queries_per_second, 1),
            "index_seconds": round(self.index_seconds, 2),
        }
        if baseline_qps:
            row["speed_vs_fts5"] = round(self.queries_per_second / baseline_qps, 2)
        if self.ranking_only_qps is not None:
            row["ranking_only_queries_per_second"] = round(self.ranking_only_qps, 1)
        return row


@dataclass
class Embedding:
    model: str
    seconds: float
    computed: int
    documents: int


def corpus_document(doc: BeirDocument) -> IndexedDocument:
    return IndexedDocument(doc.doc_id, {"title": doc.title, "text": doc.text})


def embedding_text(doc: BeirDocument) -> str:
    """Title then abstract, as BEIR's dense baselines embed them."""
    return f"{doc.title} {doc.text}".strip()


def _timed(build: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    built = build()
    return built, time.perf_counter() - start


def measure(
    name: str, index: EvidenceIndex, data: BeirDataset, index_seconds: float, repeats: int, progress: Progress
) -> RetrieverRun:
    """Quality from one pass over the judged queries; speed as the median of `repeats` timed passes."""
    queries = list(data.queries.items())
    advance = progress(f"{name}: queries", len(queries) * repeats)
    rankings: dict[str, list[Hit]] = {}
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for qid, text in queries:
            rankings[qid] = list(index.search(text, DEPTH))
            advance(1)
        rates.append(len(queries) / (time.perf_counter() - start))
    scores = evaluate_rankings({q: [h.doc_id for h in hits] for q, hits in rankings.items()}, data.qrels)
    return RetrieverRun(
        name, scores.ndcg_at_10, scores.recall_at_100, statistics.median(rates), index_seconds, rankings
    )


def ranking_only_rate(index: FtsIndex, data: BeirDataset, repeats: int, progress: Progress) -> float:
    """Queries/s of `FtsIndex.ranked`: the ranking work alone, as bm25s is timed (ids, no Hit objects)."""
    queries = list(data.queries.values())
    advance = progress("lexical: ranking only", repeats)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for text in queries:
            index.ranked(text, DEPTH)
        rates.append(len(queries) / (time.perf_counter() - start))
        advance(1)
    return statistics.median(rates)


def lexical_index(data: BeirDataset, weights: dict[str, float], scoring: str = "auto") -> tuple[FtsIndex, float]:
    def build() -> FtsIndex:
        index = FtsIndex(weights, scoring=scoring)  # type: ignore[arg-type]
        index.add(corpus_document(d) for d in data.corpus.values())
        index.prepare()
        return index

    built, seconds = _timed(build)
    return built, seconds


def dense_index(data: BeirDataset, cache_dir: Path, progress: Progress) -> tuple[EvidenceIndex, Embedding]:
    """MiniLM over the corpus, embedded once and cached on disk by model and content hash."""
    from ketaguide.retrieval.dense import DenseIndex
    from ketaguide.retrieval.embedding import MiniLmEmbedder
    from ketaguide.retrieval.embedding_cache import EmbeddingCache

    start = time.perf_counter()
    embedder = MiniLmEmbedder()
    docs = list(data.corpus.values())
    cache = EmbeddingCache(cache_dir, embedder.model_id, dimension=embedder.dimension)

    def embed(texts: list[str]) -> Any:
        return embedder.embed(texts, progress=progress(f"embedding {len(texts)} documents", len(texts)))

    cached = cache.vectors(cache_collection(data.directory), [embedding_text(d) for d in docs], embed)
    seconds = time.perf_counter() - start
    index = DenseIndex(embedder, [d.doc_id for d in docs], cached.vectors)
    return index, Embedding(embedder.model_id, seconds, cached.computed, len(docs))


def bm25s_run(data: BeirDataset, repeats: int, progress: Progress) -> RetrieverRun | None:
    """`bm25s` as its README uses it: English stopwords, Snowball stemming (PyStemmer), default k1/b."""
    try:
        import bm25s
    except ImportError:
        return None
    try:
        import Stemmer

        stemmer = Stemmer.Stemmer("english")
    except ImportError:
        stemmer = None
    docs = list(data.corpus.values())
    ids = [d.doc_id for d in docs]
    start = time.perf_counter()
    retriever = bm25s.BM25()
    tokens = bm25s.tokenize([embedding_text(d) for d in docs], stopwords="en", stemmer=stemmer, show_progress=False)
    retriever.index(tokens, show_progress=False)
    index_seconds = time.perf_counter() - start
    queries = list(data.queries.items())
    advance = progress("bm25s: queries", repeats)
    rates: list[float] = []
    rankings: dict[str, list[str]] = {}
    for _ in range(repeats):
        start = time.perf_counter()
        # Batch retrieval is bm25s's fast path. Mapping rows to document ids is part of answering; building
        # KetaGuide's Hit objects is not (that cost is KetaGuide's own), so it stays outside the timing.
        query_tokens = bm25s.tokenize([t for _, t in queries], stopwords="en", stemmer=stemmer, show_progress=False)
        rows, _ = retriever.retrieve(query_tokens, k=min(DEPTH, len(ids)), show_progress=False)
        rankings = {qid: [ids[r] for r in found] for (qid, _), found in zip(queries, rows.tolist(), strict=True)}
        rates.append(len(queries) / (time.perf_counter() - start))
        advance(1)
    quality = evaluate_rankings(rankings, data.qrels)
    return RetrieverRun("bm25s", quality.ndcg_at_10, quality.recall_at_100, statistics.median(rates), index_seconds)


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kibibytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_retrieval_benchmark(
    directory: Path,
    split: str,
    cache_dir: Path,
    retriever: str = "auto",
    repeats: int = 3,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """The benchmark report (the JSON documented in docs/benchmarks-retrieval.md)."""
    data = load_beir(directory, split)
    missing = missing_dense_modules()
    if retriever == "hybrid" and missing:
        raise InputError("retriever", f"hybrid needs the dense extra ({DENSE_INSTALL_HINT}); missing {missing}")
    hybrid = retriever in ("auto", "hybrid") and not missing
    plain_index, plain_seconds = lexical_index(data, PLAIN_FIELD_WEIGHTS, scoring="sql")
    plain = measure("fts5", plain_index, data, plain_seconds, repeats, progress)
    lexical, lexical_seconds = lexical_index(data, CORPUS_FIELD_WEIGHTS)
    runs = {"fts5": plain, "lexical": measure("lexical", lexical, data, lexical_seconds, repeats, progress)}
    runs["lexical"].ranking_only_qps = ranking_only_rate(lexical, data, repeats, progress)
    peer = bm25s_run(data, repeats, progress)
    if peer is not None:
        runs["bm25s"] = peer
    report: dict[str, Any] = {"dataset": {"directory": str(directory), "split": split}}
    if hybrid:
        dense, embedding = dense_index(data, cache_dir, progress)
        runs["dense"] = measure("dense", dense, data, embedding.seconds, repeats, progress)
        fused = HybridIndex(lexical, dense)
        runs["hybrid"] = measure("hybrid", fused, data, lexical_seconds + embedding.seconds, repeats, progress)
        report["embedding"] = {**embedding.__dict__, "seconds": round(embedding.seconds, 1)}
        report["fusion"] = {"method": fused.fusion, "lexical_weight": fused.lexical_weight, "depth": fused.depth}
    elif missing:
        report["note"] = f"dense extra not installed ({DENSE_INSTALL_HINT}): lexical retrieval only"
    return _report(report, runs, "hybrid" if hybrid else "lexical", data)


def _report(report: dict[str, Any], runs: dict[str, RetrieverRun], main: str, data: BeirDataset) -> dict[str, Any]:
    fts5_qps = runs["fts5"].queries_per_second
    chosen = runs[main]
    report["dataset"].update(documents=len(data.corpus), queries=len(data.queries))
    return {
        "retriever": main,
        "ndcg_at_10": round(chosen.ndcg_at_10, 4),
        "recall_at_100": round(chosen.recall_at_100, 4),
        "queries_per_second": round(chosen.queries_per_second, 1),
        "index_seconds": round(chosen.index_seconds, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "speed_vs_fts5": round(chosen.queries_per_second / fts5_qps, 2),
        "baselines": {name: run.summary(fts5_qps) for name, run in runs.items() if name != main},
        **report,
    }


def fusion_sweep(
    directory: Path, split: str, cache_dir: Path, progress: Progress = no_progress
) -> list[dict[str, Any]]:
    """nDCG@10 on `split` for each title weight x fusion setting: how the defaults were chosen (train only)."""
    data = load_beir(directory, split)
    dense, _ = dense_index(data, cache_dir, progress)
    dense_hits = measure("dense", dense, data, 0.0, 1, progress).rankings
    rows = []
    for title_weight in SWEEP_TITLE_WEIGHTS:
        index, _ = lexical_index(data, {"title": title_weight, "text": 1.0})
        lexical_hits = measure(f"lexical title x{title_weight}", index, data, 0.0, 1, progress).rankings
        settings: list[tuple[str, Callable[[Sequence[Hit], Sequence[Hit]], list[Hit]]]] = [
            (f"convex w={w}", partial(convex_fusion, lexical_weight=w)) for w in SWEEP_WEIGHTS
        ]
        settings += [(f"rrf k={k}", partial(_rrf_pair, k=k)) for k in SWEEP_RRF_K]
        for label, fuse in settings:
            fused = {q: [h.doc_id for h in fuse(lexical_hits[q], dense_hits[q])] for q in data.queries}
            scores = evaluate_rankings(fused, data.qrels)
            rows.append({"title_weight": title_weight, "fusion": label, "ndcg_at_10": round(scores.ndcg_at_10, 4)})
    return rows


def _rrf_pair(lexical: Sequence[Hit], dense: Sequence[Hit], k: int) -> list[Hit]:
    return reciprocal_rank_fusion([lexical, dense], k)
