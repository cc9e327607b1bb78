"""General English vocabulary, to tell ordinary words from specialist terms the knowledge pack has never seen.

A question word unknown to the pack but in a general dictionary ("safe", "teenager") is ordinary language; one in
neither ("semaglutide", a misspelt drug) names something KetaGuide has no evidence on. The word list is GCIDE (the
GNU Collaborative International Dictionary of English) as shipped by the `english-words` package; it is loaded on
first use only, so questions made of known words pay nothing for it.
"""

from __future__ import annotations

from functools import lru_cache

from english_words import get_english_words_set


@lru_cache(maxsize=1)
def _gcide() -> frozenset[str]:
    return frozenset(get_english_words_set(["gcide"], lower=True, alpha=True))


def is_dictionary_word(word: str) -> bool:
    """Whether `word` (lower case) is a general English dictionary word."""
    return word.lower() in _gcide()
