"""Tiny synthetic knowledge packs for engine tests, written in a few lines that state only what a test is about.

    pack = (
        PackBuilder()
        .concept("ketamine", "drug", scope=True)
        .concept("lamotrigine", "drug", "lamotrigine", "Lamictal")
        .source("review", "Lamotrigine reduced craving in one case report.", reliability=Level.MODERATE)
        .claim("c-lam", source="review", quote="Lamotrigine reduced craving", about={"intervention": "lamotrigine"})
        .build()
    )

The builder finds each quote in its source's text and sets the offsets, gives every field a neutral default, and
checks what the pack loader checks across files (unique ids, known sources, concepts and claims), so a typo in a
test fails loudly instead of testing something else. `ranked(...)` makes the hits retrieval would return;
`quotes(answer)` gives an answer's references by number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ketaguide.domain.answering.answer import Answer
from ketaguide.domain.citing.references import QuoteCitation
from ketaguide.domain.evidence.lexicon import Concept, Lexicon
from ketaguide.domain.evidence.models import (
    About,
    Claim,
    ClaimType,
    Conflict,
    ConflictSide,
    Hedging,
    Level,
    ReliabilityAssessment,
    ReliabilityItem,
    Source,
    SourceKind,
    StudyDesign,
)
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.domain.ports import Hit

# The lowest score of each level (domain.evidence.reliability), so a stated level and its score agree.
_LEVEL_SCORES = {Level.HIGH: 7, Level.MODERATE: 5, Level.LOW: 2, Level.VERY_LOW: 0}


def stated_reliability(level: Level) -> ReliabilityAssessment:
    """A reliability assessment at `level`, stated by the test rather than computed from the text."""
    score = _LEVEL_SCORES[level]
    item = ReliabilityItem(
        instrument="synthetic", name="level stated by the test", met=True, points=score, detail=f"{level}"
    )
    return ReliabilityAssessment(level=level, score=score, items=(item,))


@dataclass(frozen=True)
class _ClaimSpec:
    id: str
    source: str
    quote: str
    fields: dict[str, object]


@dataclass
class PackBuilder:
    """Collects concepts, sources, claims and conflicts; `build()` checks them and makes the `KnowledgePack`."""

    version: str = "synthetic"
    _concepts: list[Concept] = field(default_factory=list)
    _sources: list[Source] = field(default_factory=list)
    _claims: list[_ClaimSpec] = field(default_factory=list)
    _conflicts: list[Conflict] = field(default_factory=list)

    def concept(self, concept_id: str, kind: str, *terms: str, scope: bool = False) -> PackBuilder:
        """A lexicon concept; its terms default to its id in words ("ketamine_uropathy": "ketamine uropathy")."""
        named = terms or (concept_id.replace("_", " "),)
        self._concepts.append(Concept(id=concept_id, kind=kind, terms=named, scope=scope))
        return self

    def source(
        self,
        source_id: str,
        text: str,
        *,
        reliability: Level | ReliabilityAssessment = Level.MODERATE,
        kind: SourceKind = SourceKind.OTHER,
        title: str | None = None,
    ) -> PackBuilder:
        """A stored document. `reliability` is a level (stated, not computed) or a full assessment."""
        assessed = reliability if isinstance(reliability, ReliabilityAssessment) else stated_reliability(reliability)
        self._sources.append(
            Source(id=source_id, title=title or f"Source {source_id}", kind=kind, text=text, reliability=assessed)
        )
        return self

    def claim(
        self,
        claim_id: str,
        *,
        source: str,
        quote: str,
        statement: str | None = None,
        claim_type: ClaimType = ClaimType.EFFICACY,
        study_design: StudyDesign = StudyDesign.UNSTATED,
        about: About | Mapping[str, str] | None = None,
        hedging: Hedging = Hedging.ASSERTED,
        refs: Sequence[int] = (),
        reported_certainty: Level | None = None,
        factual_slip: str | None = None,
        keywords: Sequence[str] = (),
    ) -> PackBuilder:
        """A claim quoting `source` verbatim (first occurrence); its statement defaults to the quote itself."""
        fields: dict[str, object] = {
            "statement": statement or quote,
            "claim_type": claim_type,
            "study_design": study_design,
            "about": about if isinstance(about, About) else About.model_validate(dict(about or {})),
            "hedging": hedging,
            "refs": tuple(refs),
            "reported_certainty": reported_certainty,
            "factual_slip": factual_slip,
            "keywords": tuple(keywords),
        }
        self._claims.append(_ClaimSpec(claim_id, source, quote, fields))
        return self

    def conflict(self, conflict_id: str, topic: str, sides: Mapping[str, Sequence[str]]) -> PackBuilder:
        """Claims that disagree: `sides` maps each position, in order, to the claims that take it."""
        parts = tuple(ConflictSide(position=p, claims=tuple(ids)) for p, ids in sides.items())
        self._conflicts.append(Conflict(id=conflict_id, topic=topic, sides=parts))
        return self

    def build(self) -> KnowledgePack:
        """The pack; a ValueError names any duplicate id, missing quote or dangling reference."""
        sources = _by_id("source", self._sources)
        lexicon = Lexicon(tuple(_by_id("concept", self._concepts).values()))
        claims = tuple(_by_id("claim", [_pinned(spec, sources) for spec in self._claims]).values())
        for claim in claims:
            _check_concepts(claim, lexicon)
        known = {c.id for c in claims}
        for conflict in _by_id("conflict", self._conflicts).values():
            if missing := sorted(conflict.claim_ids - known):
                raise ValueError(f"conflict {conflict.id}: unknown claim(s) {missing}")
        return KnowledgePack(self.version, sources, claims, tuple(self._conflicts), lexicon)


_Identified = TypeVar("_Identified", Concept, Source, Claim, Conflict)


def _by_id(what: str, items: Sequence[_Identified]) -> dict[str, _Identified]:
    found: dict[str, _Identified] = {}
    for item in items:
        if item.id in found:
            raise ValueError(f"duplicate {what} id {item.id!r}")
        found[item.id] = item
    return found


def _pinned(spec: _ClaimSpec, sources: Mapping[str, Source]) -> Claim:
    if spec.source not in sources:
        raise ValueError(f"claim {spec.id}: unknown source {spec.source!r}")
    start = sources[spec.source].text.find(spec.quote)
    if start < 0:
        raise ValueError(f"claim {spec.id}: quote {spec.quote!r} is not verbatim in source {spec.source!r}")
    return Claim.model_validate(
        {"id": spec.id, "source_id": spec.source, "quote": spec.quote, "start": start, "end": start + len(spec.quote)}
        | spec.fields
    )


def _check_concepts(claim: Claim, lexicon: Lexicon) -> None:
    intervention = claim.about.intervention
    if intervention and intervention not in lexicon:
        raise ValueError(f"claim {claim.id}: intervention {intervention!r} is not a lexicon concept")


def ranked(*claim_ids: str) -> list[Hit]:
    """Hits in the given order, as a retriever would return them; every score is close enough to the best one
    that no claim is dropped as weakly related."""
    return [Hit(claim_id, 1.0 - rank / 100) for rank, claim_id in enumerate(claim_ids)]


def quotes(answer: Answer) -> dict[int, QuoteCitation]:
    """An answer's references by number; an answer cites only verbatim quotes, never external references."""
    found = {r.n: r for r in answer.references if isinstance(r, QuoteCitation)}
    assert len(found) == len(answer.references), "an answer cited an external reference"
    return found
