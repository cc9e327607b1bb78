"""The phase of care, from hours since last use and any discontinuation symptoms, with the reasoning shown.

The windows are KetaGuide's conventions, not clinical facts: no reliable ketamine withdrawal timeline exists
(clinical-reference.md s.4). Their values and reasons are content (conventions.yaml, `phases`), and the basis text
prints the values it applied, so the output always says which convention decided the phase.
"""

from __future__ import annotations

from collections.abc import Sequence

from ketaguide.domain.care.conventions import CareConventions
from ketaguide.domain.care.intake import Intake
from ketaguide.domain.evidence.models import Phase


def assess_phase(intake: Intake, conventions: CareConventions) -> tuple[Phase, str]:
    """The phase of care from hours since last use and discontinuation symptoms, with the reasoning."""
    hours = intake.last_ketamine_use_hours
    if hours is None:
        return Phase.UNKNOWN, "Time since last ketamine use is not recorded, so KetaGuide does not guess the phase."
    windows = conventions.phases
    symptoms = [s.value.replace("_", " ") for s in windows.discontinuation_symptoms.value if s in intake.symptoms]
    when = f"Last use {hours:g} h ago"
    if hours <= windows.intoxication_hours:
        return Phase.INTOXICATION, (
            f"{when}: within KetaGuide's {windows.intoxication_hours:g}-hour intoxication window (a convention; "
            "acute effects usually fade within 45 minutes to several hours)."
        )
    if hours <= windows.withdrawal_hours and symptoms:
        return Phase.WITHDRAWAL, (
            f"{when} with {', '.join(symptoms)}: possible discontinuation symptoms within KetaGuide's "
            f"{windows.withdrawal_window_days.value:g}-day window (a convention: no reliable withdrawal timeline "
            "exists, and most authorities do not recognise a ketamine withdrawal syndrome)."
        )
    if hours <= windows.early_abstinence_hours:
        return Phase.EARLY_ABSTINENCE, _early_abstinence_basis(when, hours, symptoms, conventions)
    return Phase.RELAPSE_PREVENTION, (
        f"{when} (more than {windows.early_abstinence_days.value:g} days): relapse prevention (a convention: "
        f"{conventions.diagnosis.early_remission_months.value:g} months is where DSM-5 early remission can begin)."
    )


def _early_abstinence_basis(when: str, hours: float, symptoms: Sequence[str], conventions: CareConventions) -> str:
    windows = conventions.phases
    basis = (
        f"{when}: early abstinence (KetaGuide convention: up to {windows.early_abstinence_days.value:g} days after "
        "last use)."
    )
    if symptoms and hours > windows.withdrawal_hours:
        basis += (
            f" Recorded {', '.join(symptoms)} more than {windows.withdrawal_window_days.value:g} days after last use: "
            "not called withdrawal, since no reliable withdrawal timeline exists."
        )
    return basis
