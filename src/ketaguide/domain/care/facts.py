"""Patient facts: what the care-plan rules test, and every fact a rule may name.

Facts are strings such as `symptom:hematuria`, `class:opioid`, `flag:psychosis`, `severity:severe`,
`status:age_24_or_under` or `option:lamotrigine`. Each present fact maps to what caused it, as shown to the
clinician ("Depakote (valproate)"). The content loader checks every fact a rule names against `fact_vocabulary`, so a
typo fails loudly instead of never firing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from ketaguide.domain.care.diagnosis import Diagnosis, Severity
from ketaguide.domain.care.intake import Condition, Criterion, Intake, Substance, Symptom
from ketaguide.domain.care.interactions import Exposure
from ketaguide.domain.care.rules import ClinicalContent, TriggeredRule
from ketaguide.domain.evidence.models import Phase

Facts = dict[str, list[str]]
# The stage whose rules name a fact; a later stage also sees the facts earlier stages add (see `plan`).
RuleStage = Literal["red_flags", "options", "late"]
STATUSES = (
    "pregnant",
    "breastfeeding",
    "under_18",
    "age_24_or_under",
    "age_45_or_over",
    "asq_answered",
    "asq_positive",
    "diagnosed",
)
# How a status reads where a finding names its trigger ("because: ..."), where its code alone would not say it.
STATUS_LABELS = {"diagnosed": "ketamine use disorder (DSM-5 criteria met)"}
# Ages a sourced rule names (clinical-reference.md s.8): antidepressant trials showed more suicidal thoughts and
# behaviour up to age 24, not "over age 24" (bupropion boxed warning, 8.2 item 2.1); the BNSSG draft pathway refers
# unexplained visible haematuria at 45 or over as urgent suspected cancer (8.9 item 9.3).
YOUNG_ADULT_MAX_AGE = 24
SUSPECTED_CANCER_MIN_AGE = 45


def patient_facts(intake: Intake, exposures: Iterable[Exposure], diagnosis: Diagnosis) -> Facts:
    """Every fact the rules can test, from the intake, the exposures and the diagnosis."""
    facts: Facts = {}
    for fact, shown in _intake_facts(intake, exposures, diagnosis):
        facts.setdefault(fact, [])
        if shown not in facts[fact]:
            facts[fact].append(shown)
    return facts


def _intake_facts(intake: Intake, exposures: Iterable[Exposure], diagnosis: Diagnosis) -> Iterable[tuple[str, str]]:
    for exposure in exposures:
        yield f"drug:{exposure.drug}", exposure.display
        for cls in sorted(exposure.classes):
            yield f"class:{cls}", exposure.display
    for group, codes in _coded(intake):
        for code in codes:
            yield f"{group}:{code}", code.replace("_", " ")
    for status in _statuses(intake, diagnosis):
        yield f"status:{status}", STATUS_LABELS.get(status, status.replace("_", " "))
    yield f"severity:{diagnosis.severity}", fact_label(f"severity:{diagnosis.severity}")


def _coded(intake: Intake) -> list[tuple[str, list[str]]]:
    return [
        ("substance", [s.value for s in intake.other_substances]),
        ("condition", [c.value for c in intake.conditions]),
        ("symptom", [s.value for s in intake.symptoms]),
        ("criterion", [c.value for c in intake.criteria]),
    ]


def _statuses(intake: Intake, diagnosis: Diagnosis) -> list[str]:
    statuses = {
        "pregnant": intake.pregnant,
        "breastfeeding": intake.breastfeeding,
        "under_18": intake.age < 18,
        "age_24_or_under": intake.age <= YOUNG_ADULT_MAX_AGE,
        "age_45_or_over": intake.age >= SUSPECTED_CANCER_MIN_AGE,
        "asq_answered": intake.asq is not None,
        "asq_positive": intake.asq is not None and bool(intake.asq.positive_items),
        "diagnosed": diagnosis.severity != "none",
    }
    return [status for status, present in statuses.items() if present]


def fact_label(fact: str) -> str:
    """How a fact reads in a note: "flag:suicidal_ideation" -> "red flag: suicidal ideation"."""
    kind, _, value = fact.partition(":")
    value = value.replace("_", " ")
    if kind == "flag":
        return f"red flag: {value}"

    return f"{value} use disorder" if kind == "severity" else value


def any_present(wanted: Iterable[str], facts: Facts) -> bool:
    return not facts.keys().isdisjoint(wanted)  # a set operation in C: every rule of every plan asks this


def fires(rule: TriggeredRule, facts: Facts) -> bool:
    """Whether a rule's trigger holds: one of `when_any` (if given), one of `and_any` (if given), none of
    `unless_any`."""
    if rule.when_any and not any_present(rule.when_any, facts):
        return False
    if rule.and_any and not any_present(rule.and_any, facts):
        return False
    return not any_present(rule.unless_any, facts)


def shown_for(wanted: Iterable[str], facts: Facts) -> tuple[str, ...]:
    """What caused the wanted facts that are present, as shown to the clinician, each once."""
    return tuple(dict.fromkeys(shown for f in wanted for shown in facts.get(f, [])))


def fact_vocabulary(content: ClinicalContent, stage: RuleStage) -> frozenset[str]:
    """Every fact a rule at `stage` may name (later stages see the facts earlier stages add)."""
    formulary = content.formulary
    facts = {f"drug:{e.id}" for e in (*formulary.medications, *formulary.substances)}
    facts |= {f"class:{c}" for c in formulary.classes}
    facts |= {f"substance:{s.value}" for s in Substance} | {f"condition:{c.value}" for c in Condition}
    facts |= {f"symptom:{s.value}" for s in Symptom} | {f"criterion:{c.value}" for c in Criterion}
    facts |= {f"status:{s}" for s in STATUSES} | {f"severity:{s}" for s in get_args(Severity)}
    facts |= {f"phase:{p.value}" for p in Phase}
    if stage in ("options", "late"):
        facts |= {f"flag:{r.code}" for r in content.red_flags}
    if stage == "late":
        facts |= {f"option:{o.id}" for o in content.options}
    return frozenset(facts)
