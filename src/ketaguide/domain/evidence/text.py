"""Word tokens of clinical text, shared by retrieval and answer composition; one normal form for text typed in."""

from __future__ import annotations

import re
import unicodedata

TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")

# Anything outside printable ASCII is looked at (rarely: questions are mostly ASCII) to drop what cannot be seen.
_BEYOND_ASCII = re.compile(r"[^\x20-\x7e]")
# Controls, format characters (soft hyphen, zero-width space, bidi marks) and lone surrogates (undecodable input).
_INVISIBLE = frozenset(["Cc", "Cf", "Cs"])
# A dot above a soft-dotted i or j adds nothing: it is what casefolding the Turkish capital İ leaves behind.
_DOTTED = re.compile("(?<=[ij])\u0307+")


def normalise_text(text: str) -> str:
    """Text typed by a person in one comparable form: NFKC, casefolded, invisible characters out, spaces single.

    Called once where a question enters (the service layer), so every later step compares like with like: "KUD",
    "ｋｕｄ" and "kud" are one word, and a zero-width space or a byte that was not UTF-8 never reaches a tokenizer.
    The Turkish İ and ı fold to i (an English vocabulary: they come from keyboards, not from meaning) and the long
    s to s. Idempotent: normalising twice changes nothing.
    """
    visible = _BEYOND_ASCII.sub(_visible, text)
    folded = unicodedata.normalize("NFKC", visible).casefold().replace("\u0131", "i")
    # NFKC again: casefolding can leave a decomposed letter ("ǰ" folds to j + combining caron).
    folded = unicodedata.normalize("NFKC", _DOTTED.sub("", folded))
    return " ".join(folded.split())


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    # Tab, newline and other spacing controls separate words: kept here, collapsed to one space later.
    return "" if unicodedata.category(char) in _INVISIBLE and not char.isspace() else char


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
    [
        "use",
        "used",
        "using",
        "take",
        "takes",
        "taking",
        "still",
        "help",
        "helps",
        "helpful",
        "useful",
        "effective",
        "good",
        "work",
        "works",
        "really",
        "actually",
        "need",
        "needs",
        "give",
        "given",
        "already",
        "any",
        "anyone",
        "something",
        "thing",
        "things",
        "way",
        "ways",
    ]
)

_SUFFIXES = ("ingly", "edly", "ing", "ly", "ed", "es", "s", "e")


def stem(word: str) -> str:
    """A light suffix-stripping stem, enough to match "acutely" with "acute" and "cravings" with "craving".

    Strips the first suffix that fits, again and again until none does; a loop, not recursion, as a 2,000-letter
    token ("sssss...") strips once per letter.
    """
    stripped = _strip_suffix(word)
    while stripped != word:
        word, stripped = stripped, _strip_suffix(stripped)
    return word


def _strip_suffix(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


NEGATING_PREFIXES = ("ir", "in", "un", "non", "im")
