"""Search is safe from many threads once an index is built: no errors, and the rankings of a single thread.

The HTTP adapter answers from worker threads over one shared index. Documents and queries are generated from a
small vocabulary (with a few two-word phrases, so phrase postings are computed and cached while searching).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from ketaguide.domain.ports import Hit
from ketaguide.retrieval.lexical import ARRAY_SCORING_MIN_DOCS, FtsIndex, IndexedDocument

THREADS = 8
WEIGHTS = {"title": 2.0, "text": 1.0}
VOCABULARY = """
ketamine bladder cystitis craving relapse naltrexone lamotrigine glutamate dose tolerance withdrawal anxiety
depression pain urinary tract kidney liver memory sleep mood dissociation overdose breathing heart pressure
trial cohort review placebo outcome adult adolescent clinic emergency abstinence treatment therapy risk
"""


def pseudo_words(count: int, seed: int) -> list[str]:
    """Made-up words: a vocabulary large enough that most queries bring words not yet stemmed or cached."""
    rng = random.Random(seed)
    return ["".join(rng.choices("aeioubcdfgklmnprstvz", k=rng.randint(4, 9))) for _ in range(count)]


WORDS = VOCABULARY.split() + pseudo_words(3000, seed=1)


def generated_documents(count: int, seed: int) -> list[IndexedDocument]:
    rng = random.Random(seed)
    return [
        IndexedDocument(
            f"d{i}", {"title": " ".join(rng.choices(WORDS, k=4)), "text": " ".join(rng.choices(WORDS, k=30))}
        )
        for i in range(count)
    ]


def generated_queries(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    # A hyphen makes a phrase ("urinary-tract"), which the array scorer matches from positions and caches.
    return [
        " ".join(rng.choices(WORDS, k=rng.randint(1, 5))) + f" {rng.choice(WORDS)}-{rng.choice(WORDS)}"
        for _ in range(count)
    ]


def index_of(count: int, scoring: str) -> FtsIndex:
    index = FtsIndex(WEIGHTS, scoring=scoring)  # type: ignore[arg-type]
    index.add(generated_documents(count, seed=count))
    return index


Search = Callable[[str, int], Sequence[Hit]]


def rankings_from_threads(search: Search, queries: list[str], k: int) -> list[list[Hit]]:
    """Every query searched by THREADS threads at once, each thread taking its queries in a different order."""

    def worker(offset: int) -> dict[int, list[Hit]]:
        order = list(range(len(queries)))
        random.Random(offset).shuffle(order)
        return {i: list(search(queries[i], k)) for i in order}

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(worker, range(THREADS)))
    # Each thread's answer to each query must be the same; return them all for comparison.
    return [ranking for result in results for _, ranking in sorted(result.items())]


@pytest.mark.parametrize(("count", "scoring"), [(2000, "auto"), (60, "auto"), (300, "arrays")])
def test_concurrent_searches_rank_as_one_thread_does(count: int, scoring: str) -> None:
    queries = generated_queries(150, seed=7)
    alone = index_of(count, scoring)
    expected = [list(alone.search(q, 20)) for q in queries]
    # A fresh index, so preparing the arrays and filling the caches happen under contention too.
    shared = index_of(count, scoring)
    assert shared.uses_arrays() == (count >= ARRAY_SCORING_MIN_DOCS or scoring == "arrays")
    found = rankings_from_threads(shared.search, queries, 20)
    assert found == expected * THREADS


def test_a_full_phrase_cache_is_emptied_safely_under_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tiny cache is cleared over and over while other threads read it; it stays bounded."""
    from ketaguide.retrieval import postings

    monkeypatch.setattr(postings, "_PHRASE_CACHE_SIZE", 4)
    queries = generated_queries(100, seed=13)
    alone = index_of(300, "arrays")
    expected = [list(alone.search(q, 20)) for q in queries]
    shared = index_of(300, "arrays")
    assert rankings_from_threads(shared.search, queries, 20) == expected * THREADS
    assert shared._arrays is not None and len(shared._arrays[0]._phrases) <= 4


def test_concurrent_searches_with_a_lexicon(pack_lexicon_index: FtsIndex) -> None:
    questions = ["ketamine bladder damage", "Special K craving", "opiate tolerance and ketamine", "KUD treatment"]
    expected = [list(pack_lexicon_index.search(q, 10)) for q in questions]
    assert rankings_from_threads(pack_lexicon_index.search, questions * 20, 10) == expected * 20 * THREADS


@pytest.fixture
def pack_lexicon_index() -> FtsIndex:
    from ketaguide.knowledge.loader import load_pack

    index = FtsIndex(WEIGHTS, lexicon=load_pack().lexicon, scoring="arrays")
    index.add(generated_documents(400, seed=3))
    return index


def test_hybrid_search_is_safe_from_threads() -> None:
    """The dense leg shares one onnxruntime session and tokenizer; fusion keeps no state."""
    pytest.importorskip("numpy")
    from ketaguide.retrieval.embedding import missing_dense_modules

    if missing_dense_modules():
        pytest.skip("the dense extra is not installed")
    from ketaguide.retrieval.dense import DenseIndex
    from ketaguide.retrieval.embedding import MiniLmEmbedder
    from ketaguide.retrieval.fusion import HybridIndex

    docs = generated_documents(40, seed=11)
    embedder = MiniLmEmbedder(threads=1)
    dense = DenseIndex(embedder, [d.doc_id for d in docs], embedder.embed([d.fields["text"] for d in docs]))
    lexical = FtsIndex(WEIGHTS, scoring="arrays")
    lexical.add(docs)
    hybrid = HybridIndex(lexical, dense)
    queries = generated_queries(6, seed=5)
    expected = [list(hybrid.search(q, 5)) for q in queries]
    found = rankings_from_threads(hybrid.search, queries, 5)
    assert [[h.doc_id for h in r] for r in found] == [[h.doc_id for h in r] for r in expected] * THREADS
    # Batched onnxruntime runs may differ in the last float bits; the order above must not.
    scores = [h.score for r in found for h in r]
    assert scores == pytest.approx([h.score for r in expected * THREADS for h in r], abs=1e-5)
