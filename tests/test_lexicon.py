"""The curated lexicon: synonyms and spellings resolve to one concept."""

from __future__ import annotations

import pytest

from ketaguide.knowledge.loader import load_pack
from ketaguide.retrieval.query import fts_query


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("my patient has KUD", "ketamine_use_disorder"),
        ("ketamine addiction treatment", "ketamine_use_disorder"),
        ("is Special K addictive", "ketamine"),
        ("ketamine bladder", "ketamine_uropathy"),
        ("ketamine-induced cystitis", "ketamine_uropathy"),
        ("uropathy", "ketamine_uropathy"),
        ("opiate tolerance", "opioids"),
        ("opioid tolerance", "opioids"),
        ("LAMICTAL", "lamotrigine"),
    ],
)
def test_terms_resolve_to_concepts(text: str, concept: str) -> None:
    assert concept in load_pack().lexicon.concepts_in(text)


def test_whole_words_only() -> None:
    assert "ketamine" not in load_pack().lexicon.concepts_in("norketamines? no: pseudoketaminelike")


def test_query_expands_synonyms() -> None:
    query = fts_query("ketamine bladder", load_pack().lexicon)
    assert '"ketamine induced cystitis"' in query
    assert '"bladder"' in query


def test_anaesthesia_spellings_are_both_known() -> None:
    lexicon = load_pack().lexicon
    assert lexicon.concepts_in("anaesthesia") == lexicon.concepts_in("anesthesia") != set()
