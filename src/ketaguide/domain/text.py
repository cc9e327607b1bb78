"""Word tokens of clinical text, shared by retrieval and answer composition."""

from __future__ import annotations

import re

TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")

# Question words and glue; clinical words ("use", "disorder", "dose") are kept.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "tell",
        "know",
        "known",
        "any",
        "anything",
        "there's",
        "what's",
        "it's",
        "patient",
        "patients",
        "someone",
        "person",
        "people",
    ]
)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, stopwords removed."""
    return [t for t in TOKEN.findall(text.lower()) if t not in STOPWORDS]


# Words that carry no clinical content in a question ("will ketamine still work", "is it useful").
QUESTION_FILLER = frozenset(
    ["use", "used", "using", "take", "takes", "taking", "still", "help", "helps", "helpful", "useful", "effective", "good", "work", "works", "really", "actually", "need", "needs", "give", "given", "already", "any", "anyone", "something", "thing", "things", "way", "ways"]
)

_SUFFIXES = ("ingly", "edly", "ing", "ly", "ed", "es", "s", "e")


def stem(word: str) -> str:
    """A light suffix-stripping stem, enough to match "acutely" with "acute" and "cravings" with "craving"."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return stem(word[: -len(suffix)])
    return word


NEGATING_PREFIXES = ("ir", "in", "un", "non", "im")
