"""Diagnosis from the intake: criteria count, severity and remission specifiers.

Sources (clinical-reference.md s.1; stored in references.yaml and cited by the diagnosis finding):
- DSM-5 places ketamine under phencyclidine use disorder; its list has 10 criteria and no withdrawal criterion.
- Criterion A needs at least 2 criteria within 12 months; severity is mild 2-3, moderate 4-5, severe 6 or more.
- Early remission: no criterion met for at least 3 but under 12 months; sustained remission: 12 months or more;
  craving may still be present in both. "In a controlled environment": access to substances is restricted.
The counts and months are content (conventions.yaml, `diagnosis`, each with the references it is taken from), so
the notes print the thresholds they applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ketaguide.domain.care.conventions import DiagnosisThresholds, SeverityFloors
from ketaguide.domain.care.intake import Criterion, Intake

Severity = Literal["none", "mild", "moderate", "severe"]
Remission = Literal["early remission", "sustained remission"]

# Withdrawal is recorded but not counted: it is not in the phencyclidine-class list (hupcfl; PsychDB).
COUNTED_CRITERIA = frozenset(Criterion) - {Criterion.WITHDRAWAL}

DIAGNOSIS_LABEL = "Phencyclidine (or pharmacologically similar substance, e.g., ketamine) use disorder"


class Diagnosis(BaseModel):
    """The criteria-based diagnosis and the reasoning behind it."""

    model_config = ConfigDict(frozen=True)

    criteria_met: int
    counted: tuple[str, ...]
    not_counted: tuple[str, ...]
    severity: Severity
    label: str | None
    remission: Remission | None
    in_controlled_environment: bool
    notes: tuple[str, ...]
    citations: tuple[int, ...] = ()


def counted_criteria(criteria: Iterable[Criterion]) -> tuple[Criterion, ...]:
    """The criteria that count towards the diagnosis, in intake order."""
    return tuple(c for c in criteria if c in COUNTED_CRITERIA)


def severity_for(count: int, floors: SeverityFloors) -> Severity:
    """Severity from the number of counted criteria; under the mild floor is no diagnosis."""
    bands: tuple[tuple[int, Severity], ...] = (
        (floors.severe, "severe"),
        (floors.moderate, "moderate"),
        (floors.mild, "mild"),
    )
    return next((severity for floor, severity in bands if count >= floor), "none")


def remission_for(
    severity: Severity, months_without_criteria: float | None, thresholds: DiagnosisThresholds
) -> Remission | None:
    """The remission specifier, only for a diagnosis whose criteria have been absent long enough."""
    if severity == "none" or months_without_criteria is None:
        return None
    if months_without_criteria >= thresholds.sustained_remission_months.value:
        return "sustained remission"
    if months_without_criteria >= thresholds.early_remission_months.value:
        return "early remission"
    return None


def diagnose(intake: Intake, thresholds: DiagnosisThresholds) -> Diagnosis:
    """Count criteria, set severity and any remission specifier, and explain each step."""
    counted = counted_criteria(intake.criteria)
    severity = severity_for(len(counted), thresholds.severity_floors.value)
    remission = remission_for(severity, intake.months_without_criteria, thresholds)
    return Diagnosis(
        criteria_met=len(counted),
        counted=tuple(c.value for c in counted),
        not_counted=tuple(c.value for c in intake.criteria if c not in COUNTED_CRITERIA),
        severity=severity,
        label=DIAGNOSIS_LABEL if severity != "none" else None,
        remission=remission,
        in_controlled_environment=intake.in_controlled_environment and remission is not None,
        notes=tuple(_notes(intake, severity, remission, thresholds)),
    )


def _notes(
    intake: Intake, severity: Severity, remission: Remission | None, thresholds: DiagnosisThresholds
) -> list[str]:
    notes = [_count_note(len(counted_criteria(intake.criteria)), severity, thresholds.severity_floors.value)]
    if Criterion.WITHDRAWAL in intake.criteria:
        notes.append(
            "Withdrawal is recorded but not counted: it is not among the phencyclidine-class criteria, and ICD-11 "
            "says a withdrawal syndrome is not recognised by most authorities."
        )
    months = intake.months_without_criteria
    if months is not None and severity == "none":
        notes.append("Months without criteria were given, but remission applies only to a diagnosed disorder.")
    elif months is not None and remission is None:
        early = thresholds.early_remission_months.value
        notes.append(f"Criteria absent for {months:g} months: under {early:g} months, so no remission specifier.")
    elif remission is not None:
        notes.append(f"In {remission}: no criterion other than craving met for {months:g} months.")
    if intake.in_controlled_environment and remission is None:
        notes.append("'In a controlled environment' is a remission specifier and is not applied outside remission.")
    return notes


def _count_note(count: int, severity: Severity, floors: SeverityFloors) -> str:
    if severity == "none":
        return f"{count} criterion/criteria met: at least {floors.mild} within 12 months are needed for a diagnosis."
    bands = (
        f"mild {_counts(floors.mild, floors.moderate)}, moderate {_counts(floors.moderate, floors.severe)}, "
        f"severe {floors.severe} or more"
    )
    return f"{count} criteria met: {severity} ({bands})."


def _counts(floor: int, next_floor: int) -> str:
    """The counts of one band, up to the next band's floor: "2-3", or "2" for a band of one count."""
    return f"{floor}" if next_floor - 1 == floor else f"{floor}-{next_floor - 1}"
