"""Turn a clinician's question into a lexical query: tokens, stopwords out, lexicon synonyms in."""

from __future__ import annotations

import re

from ketaguide.domain.lexicon import Lexicon

_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")

# Question words and glue; clinical words ("use", "disorder", "dose") are kept.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or other
    our out over own same she should so some such than that the their them then there these they this those through
    to too under until up very was we were what when where which while who whom why will with would you your
    tell know known any anything there's what's it's patient patients someone person people""".split()
)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, stopwords removed."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


def _phrase(term: str) -> str:
    words = _TOKEN.findall(term.lower())
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
