"""Step 4 of answering: lay the selected evidence out as an answer, still unnumbered.

The bottom line (bottom_line.py), sections by kind of evidence (mechanism, clinical evidence, concerns, practical
approach...), both sides of any disagreement the evidence is part of, and a caveat that states the certainty in a
clinician's words. Citation numbers are given afterwards, in reading order (citation.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ketaguide.domain.answering.bottom_line import compose_bottom_line
from ketaguide.domain.answering.certainty import grade_answer, profile_of, readable_certainty
from ketaguide.domain.answering.evidence import Evidence
from ketaguide.domain.answering.phrasing import Clause
from ketaguide.domain.answering.policy import AnswerPolicy
from ketaguide.domain.answering.selection import Selection
from ketaguide.domain.answering.understanding import QuestionUnderstanding
from ketaguide.domain.evidence.grading import CertaintyAssessment
from ketaguide.domain.evidence.models import AnswerType, Claim, ClaimType, Conflict, StudyDesign
from ketaguide.domain.evidence.pack import KnowledgePack

SECTION_ORDER = (
    "Mechanism",
    "Evidence: preclinical",
    "Evidence: clinical",
    "Statements with no study named",
    "Signs and diagnosis",
    "Time course",
    "Epidemiology",
    "Limitations",
    "Potential concerns and interactions",
    "Practical approach",
)
_POINT_SECTIONS = {
    AnswerType.MECHANISM: "Mechanism",
    AnswerType.HARMS: "Potential concerns and interactions",
    AnswerType.INTERACTIONS: "Potential concerns and interactions",
    AnswerType.COMPARISON: "Potential concerns and interactions",
    AnswerType.SIGNS: "Signs and diagnosis",
    AnswerType.DEFINITION: "Signs and diagnosis",
    AnswerType.DETECTION: "Signs and diagnosis",
    AnswerType.TIME_COURSE: "Time course",
    AnswerType.EPIDEMIOLOGY: "Epidemiology",
    AnswerType.RISK_FACTORS: "Epidemiology",
    AnswerType.EVIDENCE_YES_NO: "Limitations",
}


@dataclass(frozen=True)
class SectionDraft:
    heading: str
    clauses: tuple[Clause, ...] = ()
    conflicts: tuple[Conflict, ...] = ()


@dataclass(frozen=True)
class Composition:
    bottom_line: tuple[Clause, ...]
    sections: tuple[SectionDraft, ...]
    certainty: CertaintyAssessment
    certainty_summary: str
    profile: str
    how: str  # how the bottom line was composed, for the trace


def compose(
    understanding: QuestionUnderstanding, selection: Selection, pack: KnowledgePack, policy: AnswerPolicy
) -> Composition:
    shown = list(selection.shown)
    certainty, ratings = grade_answer(shown, pack)
    profile = profile_of(shown)
    summary = readable_certainty(certainty, shown, ratings)
    clauses, how = compose_bottom_line(understanding, selection, pack, policy)
    clauses.append(Clause(f"Certainty: {certainty.level} ({profile})."))
    sections = [*_evidence_sections(shown, pack), *_conflict_section(selection.answering, pack)]
    sections.append(_caveat(summary, shown, ratings))
    return Composition(
        bottom_line=tuple(clauses),
        sections=tuple(s for s in sections if s.clauses or s.conflicts),
        certainty=certainty,
        certainty_summary=summary,
        profile=profile,
        how=how,
    )


def section_of(claim: Claim) -> str:
    """The section a claim's statement belongs in, by what kind of statement it is."""
    if claim.claim_type is ClaimType.MECHANISM:
        return "Mechanism"
    if claim.claim_type is ClaimType.EFFICACY:
        if claim.study_design is StudyDesign.ANIMAL_PRECLINICAL:
            return "Evidence: preclinical"
        return "Evidence: clinical" if claim.study_design.is_human_clinical else "Statements with no study named"
    return {
        ClaimType.DIAGNOSIS_SIGNS: "Signs and diagnosis",
        ClaimType.EPIDEMIOLOGY: "Epidemiology",
        ClaimType.EVIDENCE_LIMITATION: "Limitations",
        ClaimType.SAFETY_HARM: "Potential concerns and interactions",
        ClaimType.INTERACTION: "Potential concerns and interactions",
    }.get(claim.claim_type, "Practical approach")


def _section_of(evidence: Evidence) -> str:
    if evidence.claim is not None:
        return section_of(evidence.claim)
    first = evidence.answers[0]
    if first in (AnswerType.EFFICACY, AnswerType.EVIDENCE_YES_NO) and evidence.design.is_human_clinical:
        return "Evidence: clinical"
    return _POINT_SECTIONS.get(first, "Practical approach")


def statement_text(evidence: Evidence, pack: KnowledgePack) -> str:
    """A claim's normalised wording, labelled when its source is unreliable or the curator found a factual error;
    a reference point's stored wording."""
    if evidence.claim is None:
        return point_wording(evidence)
    text = evidence.text
    if not evidence.reliable:
        text += f" [{evidence.reliability}-reliability source: {evidence.source_label}]"
    if evidence.claim.factual_slip:
        text += f" [curator: this source statement contains a factual error: {evidence.claim.factual_slip}]"
    return text


def point_wording(evidence: Evidence) -> str:
    """A reference point's stored words, capitalised, with what it applies to when that is narrower than the
    question may be ("applies to: Escalation Regimen for LAMICTAL in Adults with Bipolar Disorder")."""
    text = evidence.text[:1].upper() + evidence.text[1:]
    context = evidence.point.context if evidence.point else None
    return f"{text} (applies to: {context})" if context else text


def _evidence_sections(shown: list[Evidence], pack: KnowledgePack) -> list[SectionDraft]:
    grouped: dict[str, list[Clause]] = {}
    for evidence in shown:
        grouped.setdefault(_section_of(evidence), []).append(Clause(statement_text(evidence, pack), (evidence,)))
    return [SectionDraft(heading=h, clauses=tuple(grouped[h])) for h in SECTION_ORDER if h in grouped]


def _conflict_section(answering: Sequence[Evidence], pack: KnowledgePack) -> list[SectionDraft]:
    """Every disagreement an answering claim is part of, so an answer never shows one side alone."""
    shown = answering
    seen: dict[str, Conflict] = {}
    for evidence in shown:
        if evidence.claim is not None:
            seen.update({c.id: c for c in pack.conflicts_of(evidence.claim.id)})
    return [SectionDraft(heading="Where sources conflict", conflicts=tuple(seen.values()))] if seen else []


def _caveat(summary: str, shown: list[Evidence], ratings: list[Evidence]) -> SectionDraft:
    # Cite the ratings the level rests on (a reader can check them); otherwise the first evidence shown.
    graded = [e for e in [*shown, *ratings] if e.grading_item().reported_certainty is not None]
    return SectionDraft(heading="Caveat", clauses=(Clause(summary, tuple(graded or shown[:1])),))
