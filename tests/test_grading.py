"""GRADE-style rules, one by one (docs: evidence-methods.md s.2)."""

from __future__ import annotations

import pytest

from ketaguide.domain.evidence.grading import EvidenceItem, grade_body, grade_item
from ketaguide.domain.evidence.models import Level, StudyDesign


def item(design: StudyDesign, reliability: Level = Level.HIGH, **kw: object) -> EvidenceItem:
    return EvidenceItem(design=design, source_reliability=reliability, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("design", "expected"),
    [
        (StudyDesign.CONTROLLED_TRIAL, Level.HIGH),
        (StudyDesign.OBSERVATIONAL, Level.LOW),
        (StudyDesign.SYSTEMATIC_REVIEW, Level.LOW),
        (StudyDesign.CASE_SERIES, Level.VERY_LOW),
        (StudyDesign.CASE_REPORT, Level.VERY_LOW),
        (StudyDesign.NARRATIVE_EXPERT, Level.VERY_LOW),
        (StudyDesign.UNSTATED, Level.VERY_LOW),
    ],
)
def test_starting_level_follows_design(design: StudyDesign, expected: Level) -> None:
    assert grade_item(item(design)).level is expected


def test_animal_evidence_is_rated_down_for_indirectness() -> None:
    result = grade_item(item(StudyDesign.ANIMAL_PRECLINICAL))
    assert result.level is Level.VERY_LOW
    assert any(j.domain == "indirectness" and j.change == -1 for j in result.judgements)


def test_mechanistic_reasoning_is_indirect() -> None:
    result = grade_item(item(StudyDesign.CONTROLLED_TRIAL, mechanistic=True))
    assert result.level is Level.MODERATE
    assert "indirectness (-1): mechanistic reasoning, not observed outcomes" in result.reasons


def test_single_case_is_imprecise() -> None:
    result = grade_item(item(StudyDesign.CASE_REPORT))
    assert any(j.domain == "imprecision" for j in result.judgements)


def test_unreliable_source_is_rated_down_for_risk_of_bias() -> None:
    trusted = grade_item(item(StudyDesign.CONTROLLED_TRIAL, Level.MODERATE))
    spun = grade_item(item(StudyDesign.CONTROLLED_TRIAL, Level.VERY_LOW))
    assert trusted.level is Level.HIGH
    assert spun.level is Level.LOW
    assert any("very low reliability" in r for r in spun.reasons)


def test_reported_rating_is_recorded_and_caps_the_level() -> None:
    result = grade_item(item(StudyDesign.CONTROLLED_TRIAL, reported_certainty=Level.VERY_LOW))
    assert result.level is Level.VERY_LOW
    assert "the source reports GRADE certainty 'very low'" in " ".join(result.reasons)


def test_reported_rating_never_raises_the_level() -> None:
    result = grade_item(item(StudyDesign.CASE_REPORT, reported_certainty=Level.HIGH))
    assert result.level is Level.VERY_LOW


def test_body_takes_best_item_capped_by_reported_rating() -> None:
    body = [item(StudyDesign.OBSERVATIONAL), item(StudyDesign.CASE_REPORT)]
    assert grade_body(body).level is Level.LOW
    capped = [*body, item(StudyDesign.SYSTEMATIC_REVIEW, reported_certainty=Level.VERY_LOW)]
    assert grade_body(capped).level is Level.VERY_LOW


def test_body_notes_absence_of_controlled_trials() -> None:
    reasons = grade_body([item(StudyDesign.CASE_REPORT)]).reasons
    assert "design: no controlled trials among the evidence" in reasons


def test_empty_body_is_very_low() -> None:
    assert grade_body([]).level is Level.VERY_LOW


def test_lamotrigine_body_is_very_low() -> None:
    """The seed summary's own evidence: rat studies, one case report, one SR rated very low."""
    body = [
        item(StudyDesign.ANIMAL_PRECLINICAL, Level.MODERATE),
        item(StudyDesign.CASE_REPORT, Level.MODERATE),
        item(StudyDesign.SYSTEMATIC_REVIEW, Level.MODERATE, reported_certainty=Level.VERY_LOW),
    ]
    assert grade_body(body).level is Level.VERY_LOW


def test_body_reported_only_by_unreliable_sources_is_very_low() -> None:
    body = [item(StudyDesign.CONTROLLED_TRIAL, Level.LOW), item(StudyDesign.OBSERVATIONAL, Level.VERY_LOW)]
    result = grade_body(body)
    assert result.level is Level.VERY_LOW
    assert any("cannot carry a conclusion alone" in r for r in result.reasons)


def test_one_reliable_source_lets_the_body_be_graded_on_its_merits() -> None:
    body = [item(StudyDesign.CONTROLLED_TRIAL, Level.LOW), item(StudyDesign.OBSERVATIONAL, Level.MODERATE)]
    assert grade_body(body).level is Level.LOW
