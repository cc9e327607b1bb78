"""General English vocabulary, to tell ordinary words from specialist terms the knowledge pack has never seen.

A question word unknown to the pack but in a general dictionary ("safe", "teenager") is ordinary language; one in
neither ("semaglutide", a misspelt drug) names something KetaGuide has no evidence on. The word list is GCIDE (the
GNU Collaborative International Dictionary of English) as shipped by the `english-words` package; it is loaded on
first use only, so questions made of known words pay nothing for it.
"""

from __future__ import annotations

import threading


class EnglishWords:
    """The GCIDE word list, read on the first lookup (under a lock, so threads share one copy)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._words: frozenset[str] | None = None

    def __call__(self, word: str) -> bool:
        """Whether `word` is a general English dictionary word (any case)."""
        return word.lower() in self._load()

    def _load(self) -> frozenset[str]:
        with self._lock:
            if self._words is None:
                from english_words import get_english_words_set

                self._words = frozenset(get_english_words_set(["gcide"], lower=True, alpha=True))
            return self._words
