"""Array scoring of the FTS5 index gives SQLite's own bm25() scores: same tokenizer, same formula."""

from __future__ import annotations

import pytest

from ketaguide.retrieval.lexical import FtsIndex, IndexedDocument
from ketaguide.retrieval.query import fts_query, query_phrases

DOCS = [
    ("d1", "Ketamine-induced cystitis", "Ketamine use damages the bladder; cystitis and pelvic pain follow."),
    ("d2", "Lamotrigine and glutamate", "Lamotrigine reduces glutamate release and craving for ketamine."),
    ("d3", "T-cell responses", "T cell activation; the t-cell receptor. Cells respond to the antigen."),
    ("d4", "Naltrexone", "Naltrexone, an opioid antagonist, was tried in ketamine dependence."),
    ("d5", "Bladder", "Bladder bladder bladder: repeated words saturate the term frequency."),
    ("d6", "Unrelated", "Nothing about any of the query words at all."),
]
QUERIES = [
    "ketamine bladder damage",
    "t-cell receptor activation",
    "ketamine-induced cystitis",
    "glutamate craving",
    "opioid antagonist naltrexone",
    "cells responding",  # stemming: "cells" and "responding" match "cell" and "respond"
    "zebra",  # no match anywhere
]
WEIGHTS = {"title": 2.0, "text": 1.0}


def build(scoring: str) -> FtsIndex:
    index = FtsIndex(WEIGHTS, scoring=scoring)  # type: ignore[arg-type]
    index.add(IndexedDocument(d, {"title": t, "text": x}) for d, t, x in DOCS)
    return index


@pytest.mark.parametrize("query", QUERIES)
def test_array_scores_equal_sqlite_bm25(query: str) -> None:
    sql, arrays = build("sql"), build("arrays")
    assert not sql.uses_arrays() and arrays.uses_arrays()
    expected = {h.doc_id: h.score for h in sql.search(query, 10)}
    found = {h.doc_id: h.score for h in arrays.search(query, 10)}
    assert found == pytest.approx(expected, rel=1e-9)


def test_phrases_match_only_adjacent_terms_in_one_column() -> None:
    arrays = build("arrays")
    # "t cell" is a phrase: d3 has it; d1's "cystitis" and "cell"-less text must not match it.
    assert [h.doc_id for h in arrays.search("t-cell", 10)] == ["d3"]
    # Words in the wrong order are not the phrase.
    assert arrays.search("cystitis-induced", 10) == []


def test_ranking_is_best_first_and_cut_at_k() -> None:
    arrays = build("arrays")
    ranked = arrays.search("ketamine bladder", 2)
    assert len(ranked) == 2
    assert ranked[0].score >= ranked[1].score
    assert arrays.ranked("ketamine bladder", 2) == ([h.doc_id for h in ranked], [h.score for h in ranked])


def test_adding_documents_rebuilds_the_arrays() -> None:
    arrays = build("arrays")
    assert arrays.search("zebra", 5) == []
    arrays.add([IndexedDocument("d7", {"title": "Zebra", "text": "zebras"})])
    assert [h.doc_id for h in arrays.search("zebra", 5)] == ["d7"]


def test_an_empty_index_finds_nothing() -> None:
    empty = FtsIndex(WEIGHTS, scoring="arrays")
    assert empty.search("ketamine", 5) == []


def test_auto_uses_arrays_only_for_large_indexes() -> None:
    assert not build("auto").uses_arrays()  # 6 documents: SQLite is already fast, numpy not worth importing


def test_query_phrases_split_compounds_like_fts5() -> None:
    assert query_phrases("Is T-cell activity what ketamine's effect depends on?") == [
        "activity",
        "depends",
        "effect",
        "ketamine s",
        "t cell",
    ]
    assert fts_query("t-cell bladder") == '"bladder" OR "t cell"'
