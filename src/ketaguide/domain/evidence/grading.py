"""GRADE-style certainty rules: a level and the judgements that set it.

Follows docs/evidence-methods.md s.2:
- Starting level from design: randomised/controlled trials start high; observational studies start low; case
  reports and case series are very low (BJSM GRADE table); animal and mechanistic work starts low and is rated
  down for indirectness (Hooijmans 2018); statements with no named study are expert opinion (OCEBM level 5).
- Rated down: risk of bias (here: the reporting source has low reliability, -1, or very low, -2), indirectness
  (animal models, mechanistic reasoning), imprecision (a single case).
- Evidence reported only by low-reliability sources is very low: such sources never carry a conclusion alone.
- A rating the source itself reports (a systematic review's GRADE verdict) is recorded and caps the level.
- A body of evidence takes the level of its best item from a reliable source, capped by any reported rating.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from ketaguide.domain.evidence.models import Level, StudyDesign

_START = {
    StudyDesign.CONTROLLED_TRIAL: (Level.HIGH, "controlled trial: starts high"),
    StudyDesign.SYSTEMATIC_REVIEW: (Level.LOW, "systematic review of unstated designs: starts low"),
    StudyDesign.OBSERVATIONAL: (Level.LOW, "observational study: starts low"),
    StudyDesign.CASE_SERIES: (Level.VERY_LOW, "case series: very low (uncontrolled)"),
    StudyDesign.CASE_REPORT: (Level.VERY_LOW, "case report: very low (uncontrolled, single patient)"),
    StudyDesign.ANIMAL_PRECLINICAL: (Level.LOW, "animal/preclinical study: starts low (not patients)"),
    StudyDesign.NARRATIVE_EXPERT: (Level.VERY_LOW, "narrative or expert statement: no study behind it"),
    StudyDesign.UNSTATED: (Level.VERY_LOW, "no study named: expert opinion at best"),
}


_UNRELIABLE = (Level.LOW, Level.VERY_LOW)


class EvidenceItem(BaseModel):
    """One piece of evidence as the grading rules need to see it."""

    model_config = ConfigDict(frozen=True)

    design: StudyDesign
    source_reliability: Level
    mechanistic: bool = False
    reported_certainty: Level | None = None
    label: str = ""


class Judgement(BaseModel):
    """One step of the rating: which GRADE domain, by how many levels, and why."""

    model_config = ConfigDict(frozen=True)

    domain: str
    change: int
    reason: str

    def __str__(self) -> str:
        sign = f" ({self.change:+d})" if self.change else ""
        return f"{self.domain}{sign}: {self.reason}"


class CertaintyAssessment(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: Level
    judgements: tuple[Judgement, ...]

    @property
    def reasons(self) -> list[str]:
        return [str(j) for j in self.judgements]


def grade_item(item: EvidenceItem) -> CertaintyAssessment:
    """Certainty of one item: start from its design, rate down, cap by any reported rating."""
    start, why = _START[item.design]
    judgements = [Judgement(domain="starting level", change=0, reason=f"{why} ({start})")]
    judgements += _downgrades(item)
    rank = start.rank + sum(j.change for j in judgements)
    level = Level.from_rank(rank)
    if item.reported_certainty is not None:
        judgements.append(_reported(item.reported_certainty))
        level = min(level, item.reported_certainty, key=lambda lvl: lvl.rank)
    return CertaintyAssessment(level=level, judgements=tuple(judgements))


def _downgrades(item: EvidenceItem) -> list[Judgement]:
    out = []
    if item.source_reliability in _UNRELIABLE:
        # Very serious limitations (GRADE: -2) when the reporting source itself is very unreliable.
        change = -2 if item.source_reliability is Level.VERY_LOW else -1
        reason = f"reported by a source of {item.source_reliability} reliability"
        out.append(Judgement(domain="risk of bias", change=change, reason=reason))
    if item.design is StudyDesign.ANIMAL_PRECLINICAL:
        out.append(Judgement(domain="indirectness", change=-1, reason="animal model; patients may respond differently"))
    elif item.mechanistic:
        out.append(Judgement(domain="indirectness", change=-1, reason="mechanistic reasoning, not observed outcomes"))
    if item.design is StudyDesign.CASE_REPORT:
        out.append(Judgement(domain="imprecision", change=-1, reason="a single patient"))
    return out


def _reported(level: Level) -> Judgement:
    return Judgement(domain="reported rating", change=0, reason=f"the source reports GRADE certainty '{level}'")


def grade_body(items: Sequence[EvidenceItem]) -> CertaintyAssessment:
    """Certainty of a body of evidence: the best item's level, capped by any reported rating."""
    if not items:
        return CertaintyAssessment(
            level=Level.VERY_LOW,
            judgements=(Judgement(domain="no evidence", change=0, reason="nothing found"),),
        )
    # Unreliable sources never carry a conclusion alone: only items from reliable sources can set the level.
    reliable = [i for i in items if i.source_reliability not in _UNRELIABLE]
    graded = [(item, grade_item(item)) for item in (reliable or items)]
    best_item, best = max(graded, key=lambda pair: pair[1].level.rank)
    label = f" ({best_item.label})" if best_item.label else ""
    judgements = [Judgement(domain="best evidence", change=0, reason=f"{best_item.design.label}{label}: {best.level}")]
    judgements += [j for j in best.judgements if j.domain != "reported rating"]
    level = best.level
    reported = [i.reported_certainty for i in items if i.reported_certainty is not None]
    if reported:
        cap = min(reported, key=lambda lvl: lvl.rank)
        judgements.append(_reported(cap))
        level = min(level, cap, key=lambda lvl: lvl.rank)
    if all(i.source_reliability in _UNRELIABLE for i in items):
        reason = "only sources of low reliability report this evidence; they cannot carry a conclusion alone"
        judgements.append(Judgement(domain="source reliability", change=0, reason=reason))
        level = Level.VERY_LOW
    if not any(i.design is StudyDesign.CONTROLLED_TRIAL for i in items):
        judgements.append(Judgement(domain="design", change=0, reason="no controlled trials among the evidence"))
    return CertaintyAssessment(level=level, judgements=tuple(judgements))
