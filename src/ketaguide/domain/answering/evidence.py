"""One piece of evidence as the answering pipeline sees it: a pack claim (a verbatim quote) or a point of an external
reference (references.yaml), with what it is about, what it answers and how far its source can be trusted.

Both kinds go through the same selection, composition and grading, so `ask` can cite what the care plan cites
(issue #8: "one evidence base for both halves").
"""

from __future__ import annotations

from dataclasses import dataclass

from ketaguide.domain.evidence.grading import EvidenceItem
from ketaguide.domain.evidence.models import (
    AnswerType,
    Claim,
    ClaimType,
    Level,
    ReferencePoint,
    ReferenceRecord,
    StudyDesign,
)
from ketaguide.domain.evidence.pack import KnowledgePack

UNRELIABLE = (Level.LOW, Level.VERY_LOW)

# Ketamine itself is the context of every question, never a filter: every claim is about it.
CONTEXT_DRUGS = frozenset({"ketamine"})


@dataclass(frozen=True)
class Evidence:
    """A claim or a reference point, with uniform accessors; `key` is the claim id or "ref:<point id>"."""

    key: str
    subjects: frozenset[str]
    answers: tuple[AnswerType, ...]
    text: str
    reliability: Level
    design: StudyDesign
    source_label: str  # what kind of source says it: "consumer health article", or the reference's publisher
    items: tuple[str, ...]
    claim: Claim | None = None
    point: ReferencePoint | None = None
    reference: ReferenceRecord | None = None

    @property
    def reliable(self) -> bool:
        """Whether its source may carry a conclusion (moderate or high reliability or confidence)."""
        return self.reliability not in UNRELIABLE

    @property
    def study_key(self) -> str:
        """The study it reports, so that several statements of one study count once."""
        if self.claim is not None:
            return self.claim.study_key
        return f"ref:{self.point.reference if self.point else self.key}"

    @property
    def treatment(self) -> str | None:
        """The intervention a claim is about (None for references: their subjects say it)."""
        return self.claim.about.intervention if self.claim is not None else None

    def answers_any(self, wanted: frozenset[AnswerType]) -> bool:
        return bool(wanted & set(self.answers))

    def grading_item(self) -> EvidenceItem:
        """What the grading rules need to know of it (ketaguide.domain.evidence.grading)."""
        reported = (
            self.claim.reported_certainty if self.claim else (self.reference and self.reference.reported_certainty)
        )
        mechanistic = self.claim is not None and self.claim.claim_type is ClaimType.MECHANISM
        return EvidenceItem(
            design=self.design,
            source_reliability=self.reliability,
            mechanistic=mechanistic,
            reported_certainty=reported or None,
            label=self.source_label,
        )


def claim_evidence(claim: Claim, pack: KnowledgePack) -> Evidence:
    source = pack.source_of(claim)
    return Evidence(
        key=claim.id,
        subjects=claim_subjects(claim, pack),
        answers=claim.answer_types,
        text=claim.statement,
        reliability=source.reliability.level,
        design=claim.study_design,
        source_label=source.kind.value,
        items=claim.items,
        claim=claim,
    )


def claim_subjects(claim: Claim, pack: KnowledgePack) -> frozenset[str]:
    """What a claim is about: its curated facets and intervention; without facets (a test's synthetic claim), the
    concepts its words name."""
    if not claim.facets:
        return pack.concepts_of(claim)
    intervention = {claim.about.intervention} if claim.about.intervention else set()
    return frozenset(claim.facets) | intervention


def point_evidence(point: ReferencePoint, reference: ReferenceRecord) -> Evidence:
    return Evidence(
        key=f"ref:{point.id}",
        subjects=frozenset(point.subjects),
        answers=point.answers,
        text=point.text or reference.statement,
        reliability=reference.confidence,
        design=point.design or reference.design or StudyDesign.UNSTATED,
        source_label=reference.publisher,
        items=point.items,
        point=point,
        reference=reference,
    )


def reference_evidence(pack: KnowledgePack) -> list[Evidence]:
    """Every reference point the pack's phrasebook declares (with its reference, as the loader found it)."""
    return [point_evidence(p, p.record) for p in pack.lexicon.phrasebook.reference_points if p.record is not None]
