"""Choosing the sentences of a document that support or contradict a claim."""

from __future__ import annotations

import pytest

from ketaguide_bench.sentences import SentenceSelector, bm25_sentence_scores, top_by_bm25

ABSTRACT = [
    "Ketamine is an NMDA receptor antagonist used in anaesthesia.",
    "We followed 120 recreational users for two years.",
    "Frequent users developed ulcerative cystitis and reduced bladder capacity.",
    "Symptoms improved in most participants after they stopped using the drug.",
    "Funding was provided by a national research council.",
]
CLAIM = "Ketamine causes bladder damage and cystitis."


def test_bm25_scores_zero_for_sentences_sharing_no_term() -> None:
    scores = bm25_sentence_scores(CLAIM, ABSTRACT)
    assert scores[2] == max(scores) > 0
    assert scores[4] == 0.0


def test_top_by_bm25_baseline() -> None:
    assert top_by_bm25(CLAIM, ABSTRACT, 2) == [2, 0]  # "bladder" then "ketamine"
    assert top_by_bm25("zebra", ABSTRACT, 2) == []


def test_choose_keeps_the_best_and_those_close_to_it() -> None:
    selector = SentenceSelector(relative_floor=0.5, max_sentences=3)
    assert selector.choose([0.2, 1.0, 0.6, 0.4, 0.9]) == [1, 4, 2]  # at most 3, each >= 0.5
    assert selector.choose([0.1, 1.0, 0.3]) == [1]
    assert selector.choose([]) == []


def test_without_vectors_the_selector_is_the_lexical_baseline() -> None:
    assert SentenceSelector().select(CLAIM, ABSTRACT) == top_by_bm25(CLAIM, ABSTRACT, 2)


def test_with_embeddings_a_paraphrased_rationale_is_found() -> None:
    pytest.importorskip("onnxruntime", reason="the dense extra is not installed")
    from ketaguide.retrieval.embedding import MiniLmEmbedder

    embedder = MiniLmEmbedder()
    claim = "Stopping the drug lets urinary symptoms recover."  # shares no content word with sentence 3
    vectors = embedder.embed(ABSTRACT)
    chosen = SentenceSelector().select(claim, ABSTRACT, embedder.embed([claim])[0], vectors)
    assert chosen[0] == 3
    assert 4 not in chosen
