"""Clinical vocabulary: concepts with their synonyms and spellings, and how to find them in text.

A clinician writes "ketamine bladder", a source writes "ketamine-induced cystitis": both name the concept
`ketamine_uropathy`. Matching is whole-word, longest phrase first, on the normal form of both the terms and the
text (`normalise_text`: casefolded, NFKC), so case and look-alike letters never decide a match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field

from ketaguide.domain.evidence.text import normalise_text


class Concept(BaseModel):
    """One canonical concept and the terms that name it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: str = Field(pattern=r"^(drug|condition|symptom|outcome|topic|population|setting)$")
    terms: tuple[str, ...] = Field(min_length=1)
    scope: bool = Field(False, description="a question naming it is within KetaGuide's scope (KUD)")


@dataclass(frozen=True)
class Lexicon:
    """All concepts, with a compiled matcher."""

    concepts: tuple[Concept, ...]
    _by_id: dict[str, Concept] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {c.id: c for c in self.concepts})

    def __contains__(self, concept_id: object) -> bool:
        return concept_id in self._by_id

    def get(self, concept_id: str) -> Concept:
        return self._by_id[concept_id]

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        # Case-sensitive on purpose: re.IGNORECASE also equates "ı", "İ" and "ſ" with ASCII letters, so a match
        # could be a string that is no key of `_term_owners`. Both sides are normalised instead.
        terms = sorted(self._term_owners, key=len, reverse=True)
        alternatives = "|".join(re.escape(t) for t in terms)
        return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")

    @cached_property
    def _term_owners(self) -> dict[str, tuple[str, ...]]:
        owners: dict[str, list[str]] = {}
        for concept in self.concepts:
            for term in concept.terms:
                owners.setdefault(normalise_text(term), []).append(concept.id)
        return {t: tuple(ids) for t, ids in owners.items()}

    def find(self, text: str) -> list[tuple[str, str]]:
        """(matched term, concept id) pairs in reading order; a term shared by concepts yields each.

        Terms are returned in their normal form. Any text is accepted (controls, lone surrogates, any script).
        """
        hits: list[tuple[str, str]] = []
        for match in self._pattern.finditer(normalise_text(text)):
            # A literal alternative matched exactly, so the matched string is always a key.
            term = match.group(0)
            hits.extend((term, cid) for cid in self._term_owners[term])
        return hits

    def strip_terms(self, text: str) -> str:
        """The text, normalised, with every lexicon term removed, leaving the words that name no concept."""
        return self._pattern.sub(" ", normalise_text(text))

    def concepts_in(self, text: str) -> set[str]:
        return {cid for _, cid in self.find(text)}

    def expansions(self, concept_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The terms of each concept, for query expansion."""
        return {cid: self._by_id[cid].terms for cid in concept_ids if cid in self._by_id}
