"""Shorthand, slang, contractions and spelling (ketaguide.domain.answering.wording), with the bundled phrasebook."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaguide.domain.answering.wording import correct_spelling, edit_distance, expand_shorthand, nearest_spelling
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.domain.evidence.text import normalise_text


def expanded(text: str, pack: KnowledgePack) -> str:
    return expand_shorthand(normalise_text(text), pack.lexicon.phrasebook)[0]


@pytest.mark.parametrize(
    ("typed", "read_as"),
    [
        ("pt hx of ket use", "patient history of ketamine use"),
        ("sx w/ tx", "symptoms with treatment"),
        ("24 y/o", "24 years old"),
        ("24yo", "24 years old"),
        ("bzds and etoh", "benzodiazepines and alcohol"),
        ("is the uds positive", "is the urine drug screen positive"),
        ("my client's use", "my client use"),
        ("the patients' bladders", "the patients bladders"),
        ("isn't it", "is not it"),
        ("can't stop", "cannot stop"),
        ("whats the dose", "what is the dose"),
        ("it’s ketamine", "it is ketamine"),
        ("using k at weekends", "using ketamine at weekends"),
        ("he stops ketamine", "he stops using ketamine"),
    ],
)
def test_shorthand_slang_and_contractions_are_expanded(typed: str, read_as: str, pack: KnowledgePack) -> None:
    assert expanded(typed, pack) == read_as


@pytest.mark.parametrize("text", ["vitamin k", "special k", "the k-hole", "k+ 3.9 mmol/l"])
def test_k_alone_is_ketamine_but_not_inside_other_terms(text: str, pack: KnowledgePack) -> None:
    assert "ketamine" not in expanded(text, pack)


def test_expansions_are_recorded(pack: KnowledgePack) -> None:
    _, made = expand_shorthand("hx of ket use", pack.lexicon.phrasebook)
    assert [(r.typed, r.meant) for r in made] == [("hx", "history"), ("ket", "ketamine")]


@pytest.mark.parametrize(("a", "b", "distance"), [("withdrawel", "withdrawal", 1), ("nalterxone", "naltrexone", 1)])
def test_edit_distance_counts_substitutions_and_transpositions(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b, 2) == distance


def test_edit_distance_stops_past_its_limit() -> None:
    assert edit_distance("ketamine", "lamotrigine", 2) == 3


@given(st.text(alphabet="abcdek", max_size=8), st.text(alphabet="abcdek", max_size=8))
def test_edit_distance_is_symmetric_and_zero_only_for_equal_words(a: str, b: str) -> None:
    assert edit_distance(a, b, 3) == edit_distance(b, a, 3)
    assert (edit_distance(a, b, 3) == 0) == (a == b)


def test_nearest_spelling_prefers_lexicon_terms(pack: KnowledgePack) -> None:
    assert nearest_spelling("lamotrigen", pack.lexicon) == "lamotrigine"
    assert nearest_spelling("zzzzzzzz", pack.lexicon) is None


def test_dictionary_words_and_medicines_are_never_corrected(pack: KnowledgePack) -> None:
    text = "honestly aspirin bladdr"
    corrected, made = correct_spelling(text, pack.lexicon, pack.knows_word, lambda w: w in {"honestly", "aspirin"})
    assert corrected == "honestly aspirin bladder"
    assert [(r.typed, r.meant) for r in made] == [("bladdr", "bladder")]
