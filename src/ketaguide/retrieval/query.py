"""Turn a clinician's question into a lexical query: tokens, stopwords out, lexicon synonyms in."""

from __future__ import annotations

from ketaguide.domain.lexicon import Lexicon
from ketaguide.domain.text import STOPWORDS, TOKEN, tokens

__all__ = ["STOPWORDS", "fts_query", "tokens"]


def _phrase(term: str) -> str:
    words = TOKEN.findall(term.lower())
    return '"' + " ".join(words) + '"' if words else ""


def fts_query(text: str, lexicon: Lexicon | None = None) -> str:
    """An FTS5 MATCH expression: every token and every synonym phrase of the concepts named, OR-ed.

    OR semantics let BM25 rank by how much of the question a passage covers; the synonyms let
    "ketamine bladder" reach "ketamine-induced cystitis".
    """
    parts = {f'"{t}"' for t in tokens(text)}
    if lexicon is not None:
        for terms in lexicon.expansions(lexicon.concepts_in(text)).values():
            parts.update(p for p in map(_phrase, terms) if p)
    return " OR ".join(sorted(parts))
