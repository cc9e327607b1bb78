"""General English words are told apart from specialist terms the pack has never seen."""

from __future__ import annotations

import pytest

from ketaguide.knowledge.dictionary import EnglishWords

is_dictionary_word = EnglishWords()


@pytest.mark.parametrize("word", ["safe", "teenager", "reversible", "Go"])
def test_ordinary_words(word: str) -> None:
    assert is_dictionary_word(word)


@pytest.mark.parametrize("word", ["semaglutide", "zolpidem", "tirzepatide"])
def test_specialist_terms(word: str) -> None:
    assert not is_dictionary_word(word)
