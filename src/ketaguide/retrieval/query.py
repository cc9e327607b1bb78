"""Turn a clinician's question into a lexical query: tokens, stopwords out, lexicon synonyms in."""

from __future__ import annotations

import re

from ketaguide.domain.evidence.lexicon import Lexicon
from ketaguide.domain.evidence.text import STOPWORDS, tokens

__all__ = ["STOPWORDS", "fts_query", "match_expression", "query_phrases", "tokens"]


# FTS5's unicode61 tokenizer splits on every non-alphanumeric character; phrases are written the same way.
_WORD = re.compile(r"[a-z0-9]+")


def _words(term: str) -> str:
    term = term.lower()
    return term if term.isalnum() and term.isascii() else " ".join(_WORD.findall(term))


def query_phrases(text: str, lexicon: Lexicon | None = None) -> list[str]:
    """The phrases a query ORs together, sorted: every token and every synonym of the concepts named.

    A phrase is space-separated words; "t-cell" stays one phrase ("t cell") so it matches the compound only.
    """
    phrases = {_words(t) for t in tokens(text)}
    if lexicon is not None:
        for terms in lexicon.expansions(lexicon.concepts_in(text)).values():
            phrases.update(map(_words, terms))
    phrases.discard("")
    return sorted(phrases)


def fts_query(text: str, lexicon: Lexicon | None = None) -> str:
    """An FTS5 MATCH expression: every token and every synonym phrase of the concepts named, OR-ed.

    OR semantics let BM25 rank by how much of the question a passage covers; the synonyms let
    "ketamine bladder" reach "ketamine-induced cystitis".
    """
    return match_expression(query_phrases(text, lexicon))


def match_expression(phrases: list[str]) -> str:
    """Phrases as an FTS5 MATCH expression, OR-ed."""
    return " OR ".join(f'"{p}"' for p in phrases)
