"""Clinical vocabulary: concepts with their synonyms and spellings, and how to find them in text.

A clinician writes "ketamine bladder", a source writes "ketamine-induced cystitis": both name the concept
`ketamine_uropathy`. Matching is whole-word, longest phrase first, on the normal form of both the terms and the
text (`normalise_text`: casefolded, NFKC), so case and look-alike letters never decide a match.

The lexicon also carries the `Phrasebook` (knowledge/content/answering.yaml): how clinicians type questions
(shorthand, slang, contractions), which words say what kind of answer is wanted, and what each external reference
can answer. It travels with the lexicon because the answering engine reads a question through both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field

from ketaguide.domain.evidence.models import AnswerType, ReferencePoint
from ketaguide.domain.evidence.text import TOKEN, normalise_text, stem


class Concept(BaseModel):
    """One canonical concept and the terms that name it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: str = Field(pattern=r"^(drug|condition|symptom|outcome|topic|population|setting|treatment)$")
    terms: tuple[str, ...] = Field(min_length=1)
    scope: bool = Field(False, description="a question naming it is within KetaGuide's scope (KUD)")
    label: str | None = Field(None, description="how an answer names it; default: its first term")

    @property
    def name(self) -> str:
        return self.label or self.terms[0]


@dataclass(frozen=True)
class Shorthand:
    """Shorthand, slang or a contraction as clinicians type it, and what it stands for.

    `pattern` matches the normalised question (`normalise_text`); `typed` is how the curator wrote it.
    """

    typed: str
    pattern: re.Pattern[str]
    meant: str
    kind: str  # abbreviation | slang | contraction | spelling


@dataclass(frozen=True)
class AnswerTypeCue:
    """The wording that asks for one kind of answer, the kinds of claim that answer it, and how to say that none
    does ("None of KetaGuide's sources states {missing}")."""

    answer_type: AnswerType
    cues: tuple[re.Pattern[str], ...]
    accepts: frozenset[AnswerType]
    missing: str  # with {subject}
    missing_with_treatment: str | None = None  # with {treatment} and {condition}


@dataclass(frozen=True)
class Phrasebook:
    """How questions are phrased and what external references answer (answering.yaml), already checked.

    `answer_types` are in priority order: the first whose cue matches a question gives its answer type.
    `vocabulary` holds the words of the sources and of the external references `ask` cites, so that a misspelt
    word can be matched to one of them and a word they use is never taken for something the evidence lacks.
    """

    shorthand: tuple[Shorthand, ...] = ()
    answer_types: tuple[AnswerTypeCue, ...] = ()
    subject_words: frozenset[str] = frozenset()
    ordinary_words: frozenset[str] = frozenset()
    drug_name_endings: tuple[str, ...] = ()
    medicine_words: frozenset[str] = frozenset()
    reference_points: tuple[ReferencePoint, ...] = ()
    vocabulary: frozenset[str] = frozenset()

    @cached_property
    def vocabulary_stems(self) -> frozenset[str]:
        return frozenset(stem(w) for w in self.vocabulary)

    def cue_of(self, answer_type: AnswerType) -> AnswerTypeCue | None:
        """The wording of an answer type (every entry of a type carries it)."""
        return next((c for c in self.answer_types if c.answer_type is answer_type), None)


@dataclass(frozen=True)
class Lexicon:
    """All concepts, with a compiled matcher, and the phrasebook questions are read with."""

    concepts: tuple[Concept, ...]
    phrasebook: Phrasebook = field(default_factory=Phrasebook)
    _by_id: dict[str, Concept] = field(init=False, repr=False, compare=False)
    _phrases: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False, default_factory=dict)

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

    def matches(self, text: str) -> list[tuple[re.Match[str], str]]:
        """(match, concept id) pairs over the normal form of `text` (positions are in that form)."""
        hits: list[tuple[re.Match[str], str]] = []
        for match in self._pattern.finditer(normalise_text(text)):
            hits.extend((match, cid) for cid in self._term_owners[match.group(0)])
        return hits

    def strip_terms(self, text: str) -> str:
        """The text, normalised, with every lexicon term removed, leaving the words that name no concept."""
        return self._pattern.sub(" ", normalise_text(text))

    def concepts_in(self, text: str) -> set[str]:
        return {cid for _, cid in self.find(text)}

    def concepts_in_phrase(self, phrase: str) -> frozenset[str]:
        """`concepts_in` for the short phrases content repeats (a claim's condition), remembered per phrase."""
        if phrase not in self._phrases:
            self._phrases[phrase] = frozenset(self.concepts_in(phrase))
        return self._phrases[phrase]

    def expansions(self, concept_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The terms of each concept, for query expansion."""
        return {cid: self._by_id[cid].terms for cid in concept_ids if cid in self._by_id}

    @cached_property
    def term_words(self) -> frozenset[str]:
        """Every word of every term (normalised): the lexicon's own spellings."""
        return frozenset(w for term in self._term_owners for w in TOKEN.findall(term))

    @cached_property
    def spellings(self) -> dict[tuple[str, int], tuple[str, ...]]:
        """Known words (terms first, then the sources' words) by first letter and length, for spelling correction.

        Built on the first misspelt word only; a question without one never pays for it.
        """
        by_key: dict[tuple[str, int], list[str]] = {}
        ordered = sorted(self.term_words) + sorted(self.phrasebook.vocabulary - self.term_words)
        for word in ordered:
            by_key.setdefault((word[0], len(word)), []).append(word)
        return {key: tuple(words) for key, words in by_key.items()}
