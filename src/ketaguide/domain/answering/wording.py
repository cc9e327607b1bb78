"""A question as clinicians type it, turned into the words the knowledge pack uses.

Two steps, both recorded so `ketaguide ask --explain` can show them: shorthand, slang and contractions are expanded
from the phrasebook ("hx" -> history, "ket" -> ketamine, "client's" -> client), then a word neither the pack nor an
ordinary dictionary knows is matched to a known spelling one or two edits away ("lamotrigin" -> lamotrigine),
which the answer offers as "did you mean".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ketaguide.domain.evidence.lexicon import Lexicon, Phrasebook
from ketaguide.domain.evidence.text import QUESTION_FILLER, STOPWORDS, TOKEN

# Typographic apostrophes and primes are typed for the ASCII one.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'", "`": "'"})
# Shorter words are left alone: too many real words lie one edit from them ("hat", "ache").
MIN_CORRECTABLE = 4
# Past this length, two edits are tolerated ("lamotrigen" -> lamotrigine) if the word begins like the match.
TWO_EDITS_FROM = 8
SHARED_PREFIX_FOR_TWO_EDITS = 5


@dataclass(frozen=True)
class Rewrite:
    """One change made to the question's wording: what was typed and what it was read as."""

    typed: str
    meant: str
    kind: str  # abbreviation | slang | contraction | spelling


def expand_shorthand(text: str, phrasebook: Phrasebook) -> tuple[str, tuple[Rewrite, ...]]:
    """The text with every phrasebook entry expanded in order, and the expansions made."""
    text = text.translate(_APOSTROPHES)
    made: list[Rewrite] = []
    for entry in phrasebook.shorthand:

        def replace(match: re.Match[str], meant: str = entry.meant, kind: str = entry.kind) -> str:
            expanded = match.expand(meant)
            made.append(Rewrite(typed=match.group(0), meant=expanded.strip(), kind=kind))
            return expanded

        text = entry.pattern.sub(replace, text)
    return " ".join(text.split()), tuple(made)


def correct_spelling(
    text: str, lexicon: Lexicon, knows_word: Callable[[str], bool], is_common_word: Callable[[str], bool]
) -> tuple[str, tuple[Rewrite, ...]]:
    """The text with each misspelt word replaced by its nearest known spelling, and the corrections made.

    A word is misspelt only if it is not spelt as the pack spells it, no ordinary dictionary knows it
    (`is_common_word`), and it is not a medicine's name: a real word is never "corrected" to another. A word the
    pack knows in another form ("naltrexon" shares a stem with naltrexone) is matched to the lexicon's terms only,
    so that its concept is found.
    """
    made: list[Rewrite] = []
    pieces: list[str] = []
    at = 0
    for match in _correctable(text, lexicon, is_common_word):
        word = match.group(0)
        meant = nearest_spelling(word, lexicon, terms_only=knows_word(word))
        if meant is None:
            continue
        pieces += [text[at : match.start()], meant]
        at = match.end()
        made.append(Rewrite(typed=match.group(0), meant=meant, kind="spelling"))
    return "".join([*pieces, text[at:]]), tuple(made)


def _correctable(text: str, lexicon: Lexicon, is_common_word: Callable[[str], bool]) -> Iterator[re.Match[str]]:
    phrasebook = lexicon.phrasebook
    for match in TOKEN.finditer(text):
        word = match.group(0)
        if len(word) < MIN_CORRECTABLE or not word.isalpha() or word in STOPWORDS or word in QUESTION_FILLER:
            continue
        spelt_as_known = word in lexicon.term_words or word in phrasebook.vocabulary
        if spelt_as_known or word in phrasebook.medicine_words or is_common_word(word):
            continue
        yield match


def nearest_spelling(word: str, lexicon: Lexicon, *, terms_only: bool = False) -> str | None:
    """The known word closest to `word` (lexicon terms first), within the edits its length allows, or None."""
    limit = 2 if len(word) >= TWO_EDITS_FROM else 1
    best: tuple[int, str] | None = None
    for length in range(len(word) - limit, len(word) + limit + 1):
        for candidate in lexicon.spellings.get((word[0], length), ()):
            if terms_only and candidate not in lexicon.term_words:
                continue
            distance = edit_distance(word, candidate, limit)
            if distance > limit or (distance == 2 and not _shares_prefix(word, candidate)):
                continue
            if best is None or distance < best[0]:
                best = (distance, candidate)
    return best[1] if best else None


def _shares_prefix(word: str, candidate: str) -> bool:
    """Two edits are accepted only where the word begins like its match: "arketamine" is not "esketamine"."""
    return word[:SHARED_PREFIX_FOR_TWO_EDITS] == candidate[:SHARED_PREFIX_FOR_TWO_EDITS]


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (insertions, deletions, substitutions, adjacent transpositions), or
    `limit + 1` as soon as it must exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)
