"""Any text a person can type (or a terminal can mangle) goes through tokenizing, stemming and the lexicon safely."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ketaguide.domain.evidence.lexicon import Lexicon
from ketaguide.domain.evidence.text import _SUFFIXES, normalise_text, stem, tokens
from ketaguide.knowledge.loader import load_pack
from ketaguide.retrieval.query import match_expression, query_phrases

LEXICON: Lexicon = load_pack().lexicon
# Letters that re.IGNORECASE equates with ASCII ones, combining marks, controls, a lone surrogate, and terms.
TRICKY = ["İ", "ı", "ſ", "K", "\u0307", "\u0301", "\u00ad", "\u200b", "\x00", "\r\n", "\t", "\udc80", "ß", "ﬁ"]
TERMS = ["ketamine", "special k", "kud", "bladder", "lamictal", "ketamine-induced cystitis", "opiate tolerance"]
pieces = st.one_of(st.sampled_from(TRICKY), st.sampled_from(TERMS), st.text(max_size=8), st.just(" "))
# Text of any code point (surrogates included), and text built from the pieces above, where matches happen.
any_text = st.one_of(st.text(alphabet=st.characters(codec=None), max_size=80), st.lists(pieces).map("".join))
settings.register_profile("text", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(settings.get_profile("text"))
@given(any_text)
@example("KETAMİNE bladder")
@example("ketamıne")
@example("ſpecial K")
@example("ketamine \udc80 bladder")
@example("s" * 2000)
@example("e\u0301" * 500)
def test_nothing_raises_on_any_text(text: str) -> None:
    found = LEXICON.find(text)
    assert {cid for _, cid in found} == LEXICON.concepts_in(text)
    assert all(cid in LEXICON for _, cid in found)
    assert isinstance(LEXICON.strip_terms(text), str)
    for token in tokens(text):
        assert stem(token)
    phrases = query_phrases(text, LEXICON)
    # FTS5 reads the MATCH expression: only ASCII words, quoted, so nothing in the text can break its syntax.
    assert all(p.isascii() and '"' not in p for p in phrases)
    assert match_expression(phrases).isascii()


@settings(settings.get_profile("text"))
@given(any_text)
def test_normalised_text_is_stable_and_clean(text: str) -> None:
    normal = normalise_text(text)
    assert normalise_text(normal) == normal
    normal.encode("utf-8")  # no lone surrogate survives
    assert normal == normal.strip() and "  " not in normal
    assert not any(c in normal for c in "\t\n\r\x00\u200b\u00ad")


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("KETAMİNE  bladder\n\tpain", "ketamine bladder pain"),
        ("ketamıne", "ketamine"),
        ("ſpecial K", "special k"),  # long s; Kelvin sign
        ("ke\u00adtamine", "ketamine"),  # soft hyphen
        ("ｋｕｄ", "kud"),  # full-width
        ("a\udc80b", "ab"),  # undecodable byte, as Python's surrogateescape delivers it
        ("Straße", "strasse"),
        ("What is KUD?", "what is kud?"),
    ],
)
def test_normal_forms(typed: str, normal: str) -> None:
    assert normalise_text(typed) == normal


@pytest.mark.parametrize(
    ("text", "concept"),
    [("KETAMİNE bladder", "ketamine_uropathy"), ("ketamıne", "ketamine"), ("ſpecial K", "ketamine")],
)
def test_look_alike_letters_name_the_concept(text: str, concept: str) -> None:
    assert concept in LEXICON.concepts_in(text)


def _recursive_stem(word: str) -> str:
    """The recursive definition `stem` replaced, kept as the reference for its results."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return _recursive_stem(word[: -len(suffix)])
    return word


@given(st.text(alphabet="abdegilnsy", max_size=40))
def test_stem_is_the_recursive_definition(word: str) -> None:
    assert stem(word) == _recursive_stem(word)


def test_stem_of_a_very_long_token() -> None:
    assert stem("s" * 2000) == "ssss"
    assert stem("ing" * 5000) == "inging"
