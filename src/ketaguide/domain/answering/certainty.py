"""How certain an answer's evidence is, computed over the evidence the answer shows and said in a clinician's words.

The level comes from the grading engine's GRADE-style rules (ketaguide.domain.evidence.grading), unchanged; this
module chooses what they are applied to (the evidence shown, plus any rating its source reports for the same body of
evidence) and phrases the result: "Certainty is very low: one systematic review, one case report and animal
studies; no controlled trials; the source itself rates the evidence very low (GRADE)."
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from ketaguide.domain.answering.evidence import Evidence, claim_evidence
from ketaguide.domain.evidence.grading import CertaintyAssessment, EvidenceItem, grade_body
from ketaguide.domain.evidence.models import Claim, Level, StudyDesign
from ketaguide.domain.evidence.pack import KnowledgePack

_PROFILE_ORDER = (
    StudyDesign.SYSTEMATIC_REVIEW,
    StudyDesign.CONTROLLED_TRIAL,
    StudyDesign.OBSERVATIONAL,
    StudyDesign.CASE_SERIES,
    StudyDesign.CASE_REPORT,
    StudyDesign.ANIMAL_PRECLINICAL,
    StudyDesign.UNSTATED,
)
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def grade_answer(shown: Sequence[Evidence], pack: KnowledgePack) -> tuple[CertaintyAssessment, list[Evidence]]:
    """The certainty of the evidence shown, and the ratings its sources report for the same bodies of evidence
    (cited in the caveat, so a reader can check what caps the level)."""
    ratings = reported_ratings([e.claim for e in shown if e.claim is not None], pack)
    rated = [claim_evidence(c, pack) for c in ratings]
    return grade_body([e.grading_item() for e in [*shown, *rated]]), rated


def evidence_item(claim: Claim, pack: KnowledgePack) -> EvidenceItem:
    """What the grading rules need to know of a claim."""
    return claim_evidence(claim, pack).grading_item()


def reported_ratings(selected: list[Claim], pack: KnowledgePack) -> list[Claim]:
    """Ratings a source reports for the same body of evidence (same intervention or same cited study) as the
    selected claims, even if retrieval did not find the rating itself.

    A systematic review's GRADE verdict applies to its whole body of evidence, so it caps the certainty of any
    answer drawn from that body, whichever sentences were selected.
    """
    bodies = {(c.source_id, c.about.intervention) for c in selected if c.about.intervention}
    bodies |= {(c.source_id, f"ref {r}") for c in selected for r in c.refs}

    def same_body(rated: Claim) -> bool:
        keys = {(rated.source_id, rated.about.intervention), *((rated.source_id, f"ref {r}") for r in rated.refs)}
        return bool(keys & bodies)

    return [c for c in pack.claims if c.reported_certainty and c not in selected and same_body(c)]


def evidence_profile(claims: Iterable[Claim]) -> str:
    """What a set of claims consists of, e.g. '1 systematic review, 1 case report, animal studies; no controlled
    trials'. Claims that rest on the same study (same source and reference numbers) count once."""
    return profile_of([_bare(c) for c in claims])


def profile_of(evidence: Sequence[Evidence]) -> str:
    """What the evidence consists of, counted by study (a reference's points count once).

    The pack's claims and the external references are counted apart: a review the clinical summary cites and a
    review among the references may be one and the same, and counting them together could double it.
    """
    pack = design_counts([e for e in evidence if e.claim is not None])
    external = design_counts([e for e in evidence if e.claim is None])
    parts = [", ".join(_count_label(d, pack[d]) for d in _PROFILE_ORDER if pack[d])]
    if sum(external.values()):
        listed = ", ".join(_count_label(d, external[d]) for d in _PROFILE_ORDER if external[d])
        parts.append(f"external references: {listed}")
    trials = pack[StudyDesign.CONTROLLED_TRIAL] + external[StudyDesign.CONTROLLED_TRIAL]
    text = "; ".join(p for p in parts if p) or "no studies"
    return text if trials else text + "; no controlled trials"


def design_counts(evidence: Sequence[Evidence]) -> Counter[StudyDesign]:
    by_design: dict[StudyDesign, list[Evidence]] = {}
    for item in evidence:
        by_design.setdefault(item.design, []).append(item)
    counts = Counter({design: len(_studies(group)) for design, group in by_design.items()})
    # Expert prose and unstated designs read alike to a clinician: statements with no study behind them.
    counts[StudyDesign.UNSTATED] += counts.pop(StudyDesign.NARRATIVE_EXPERT, 0)
    return counts


def _studies(group: list[Evidence]) -> set[str]:
    """Distinct studies behind evidence of one design.

    A claim citing a single reference number names its study; a claim citing several (a summary sentence) adds a
    study only when no single-reference claim of that design exists; a claim without references is its own; a
    reference's points are one study.
    """
    claims = [e.claim for e in group if e.claim is not None]
    single = {f"{c.source_id}#{c.refs[0]}" for c in claims if len(c.refs) == 1}
    multi = {c.study_key for c in claims if len(c.refs) > 1}
    unreferenced = {c.study_key for c in claims if not c.refs}
    external = {e.study_key for e in group if e.claim is None}
    return (single or multi) | unreferenced | external


def _count_label(design: StudyDesign, n: int) -> str:
    if design is StudyDesign.ANIMAL_PRECLINICAL:
        return "animal studies"
    if design is StudyDesign.UNSTATED:
        return f"{n} statement{'s' if n > 1 else ''} with no study named"
    return f"{n} {_plural(design.label, n)}"


def readable_certainty(
    assessment: CertaintyAssessment, evidence: Sequence[Evidence], ratings: Sequence[Evidence] = ()
) -> str:
    """The certainty and its reasons as a clinician would write them: what the evidence shown consists of, and any
    rating its source reports (for the same body of evidence, even if the rating itself is not shown)."""
    counts = design_counts(evidence)
    pack = design_counts([e for e in evidence if e.claim is not None])
    external = design_counts([e for e in evidence if e.claim is None])
    found = [_in_words(pack) if sum(pack.values()) else ""]
    if sum(external.values()):
        found.append(f"external references: {_in_words(external)}")
    parts = ["; ".join(f for f in found if f)]
    if not counts[StudyDesign.CONTROLLED_TRIAL]:
        parts.append("no controlled trials")
    reported = [e.grading_item().reported_certainty for e in [*evidence, *ratings]]
    levels = [r for r in reported if r is not None]
    if levels:
        parts.append(f"the source itself rates the evidence {min(levels, key=lambda level: level.rank)} (GRADE)")
    if evidence and not any(e.reliable for e in evidence):
        parts.append("only sources of low reliability report it, and they cannot carry a conclusion alone")
    elif any(not e.reliable for e in evidence):
        parts.append("some statements come from sources of low reliability and are labelled")
    return f"Certainty is {assessment.level}: " + "; ".join(p for p in parts if p) + "."


def _in_words(counts: Counter[StudyDesign]) -> str:
    phrases = [_design_in_words(design, counts[design]) for design in _PROFILE_ORDER if counts[design]]
    if not phrases:
        return "no studies"
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _design_in_words(design: StudyDesign, n: int) -> str:
    if design is StudyDesign.ANIMAL_PRECLINICAL:
        return "animal studies"
    number = _NUMBERS[n] if n < len(_NUMBERS) else str(n)
    if design is StudyDesign.UNSTATED:
        return f"{number} statement{'s' if n > 1 else ''} with no study behind {'them' if n > 1 else 'it'}"
    return f"{number} {_plural(design.label, n)}"


def _plural(label: str, n: int) -> str:
    if n == 1:
        return label
    return label[:-1] + "ies" if label.endswith("y") else label + "s"


def _bare(claim: Claim) -> Evidence:
    """A claim as evidence for counting only (no pack needed: reliability is irrelevant to a profile)."""
    return Evidence(
        key=claim.id,
        subjects=frozenset(),
        answers=claim.answer_types,
        text=claim.statement,
        reliability=Level.MODERATE,
        design=claim.study_design,
        source_label="",
        items=(),
        claim=claim,
    )


__all__ = ["evidence_item", "evidence_profile", "grade_answer", "profile_of", "readable_certainty"]
