"""Properties over generated intakes: severity is monotone in criteria, and no finding lacks a citation.

The safety properties of options (no contra-indicated option is ever recommended) are in test_care_properties.py.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketaguide.domain.care.diagnosis import COUNTED_CRITERIA, diagnose, severity_for
from ketaguide.domain.care.intake import Condition, Criterion, Intake, Substance, Symptom, parse_intake
from ketaguide.domain.care.plan import evaluate
from ketaguide.domain.care.rules import ClinicalContent
from ketaguide.domain.evidence.models import Phase
from ketaguide.domain.evidence.pack import KnowledgePack

SEVERITY_RANK = {"none": 0, "mild": 1, "moderate": 2, "severe": 3}
MEDICATION_NAMES = [
    "LAMICTAL",
    "Depakote 500 mg",
    "Epilim Chrono 500 mg",
    "valproic acid",
    "Tegretol Retard",
    "Microgynon 30",
    "combined pill",
    "methadone",
    "buprenorphine/naloxone",
    "diazepam",
    "Spravato",
    "Ketalar",
    "phenelzine",
    "methylphenidate",
    "clarithromycin",
    "rifampicin",
    "naltrexone HCl",
    "Wellbutrin XL 150 mg",
    "Invega Sustenna",
    "Haldol",
    "amiodarone",
    "pregabalin",
    "sertraline",
    "not-a-drug",
]
UNRECOGNISED = {"sertraline", "not-a-drug"}


def _codes(enum: Any) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from([c.value for c in enum]), unique=True)


def _within_lifetime(document: dict[str, Any]) -> dict[str, Any]:
    """Last use no longer ago than the patient has been alive (the intake refuses that as an entry error)."""
    hours = document.get("last_ketamine_use_hours")
    if hours is not None:
        document["last_ketamine_use_hours"] = min(hours, document["age"] * 8766.0)
    return document


intakes = st.fixed_dictionaries(
    {"age": st.integers(0, 120), "sex": st.sampled_from(["female", "male", "other", "unknown"])},
    optional={
        "weight_kg": st.floats(1, 400),
        "pregnant": st.booleans(),
        "breastfeeding": st.booleans(),
        "criteria": _codes(Criterion),
        "months_without_criteria": st.none() | st.floats(0, 1200),
        "in_controlled_environment": st.booleans(),
        "last_ketamine_use_hours": st.none() | st.floats(0, 100_000),
        "symptoms": _codes(Symptom),
        "conditions": _codes(Condition),
        "medications": st.lists(st.sampled_from(MEDICATION_NAMES), unique=True, max_size=6),
        "other_substances": _codes(Substance),
        "craving_score": st.none() | st.integers(0, 10),
        "asq": st.none()
        | st.fixed_dictionaries({f"q{i}": st.booleans() for i in range(1, 5)}, optional={"q5": st.booleans()}),
    },
).map(_within_lifetime)


@given(st.sets(st.sampled_from(list(Criterion))), st.sampled_from(list(Criterion)))
def test_severity_is_monotone_in_criteria(content: ClinicalContent, criteria: set[Criterion], extra: Criterion) -> None:
    def severity(codes: set[Criterion]) -> int:
        document = {"age": 30, "sex": "male", "criteria": [c.value for c in codes]}
        return SEVERITY_RANK[diagnose(parse_intake(document), content.conventions.diagnosis).severity]

    assert severity(criteria) <= severity(criteria | {extra})


@given(st.integers(0, 20), st.integers(0, 20))
def test_severity_for_is_monotone(content: ClinicalContent, a: int, b: int) -> None:
    low, high = sorted((a, b))
    floors = content.conventions.diagnosis.severity_floors.value
    assert SEVERITY_RANK[severity_for(low, floors)] <= SEVERITY_RANK[severity_for(high, floors)]


@given(st.sets(st.sampled_from(list(Criterion))))
def test_withdrawal_never_changes_severity(content: ClinicalContent, criteria: set[Criterion]) -> None:
    thresholds = content.conventions.diagnosis
    with_w = diagnose(Intake(age=30, sex="male", criteria=tuple(criteria | {Criterion.WITHDRAWAL})), thresholds)
    without = diagnose(Intake(age=30, sex="male", criteria=tuple(criteria - {Criterion.WITHDRAWAL})), thresholds)
    assert with_w.severity == without.severity
    assert with_w.criteria_met == len(criteria & COUNTED_CRITERIA)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(intakes)
def test_no_finding_lacks_a_citation(pack: KnowledgePack, content: ClinicalContent, document: dict[str, Any]) -> None:
    plan = evaluate(parse_intake(document), pack, content)
    numbers = {r.n for r in plan.references}
    assert numbers == set(range(1, len(plan.references) + 1))
    findings = [
        plan.diagnosis,
        *plan.red_flags,
        *plan.interactions,
        *plan.prescribing,
        *plan.options,
        *plan.monitoring,
        *plan.conflicts,
    ]
    for finding in findings:
        assert finding.citations, f"{finding!r} cites nothing"
        assert set(finding.citations) <= numbers
    reasons = [r for o in plan.options for r in o.status_reasons]
    reasons += [r for o in plan.options_not_offered for r in o.reasons]
    for reason in reasons:
        # A rule stating a gap has nothing to cite; every other reason cites its evidence.
        assert reason.citations or reason.evidence == "no_sourced_data", reason
        assert set(reason.citations) <= numbers
    doses = [o.dose_column for o in plan.options if o.dose_column]
    assert plan.phase.citations and set(plan.phase.citations) <= numbers
    cited = {n for f in [*findings, *reasons, *doses, plan.phase] for n in f.citations}
    assert cited == numbers, "every reference listed is cited by some finding"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(intakes)
def test_plan_is_well_formed(pack: KnowledgePack, content: ClinicalContent, document: dict[str, Any]) -> None:
    plan = evaluate(parse_intake(document), pack, content)
    assert isinstance(plan.phase.phase, Phase)
    for option in plan.options:
        assert option.certainty_reasons
        assert option.phase == plan.phase.phase
        if option.kind == "pharmacological":
            assert option.certainty.value in ("very low", "low")
    if plan.diagnosis.severity == "none":
        assert not any(o.id in ("lamotrigine", "naltrexone", "cbt") for o in plan.options)
    emergency_first = [f.urgency for f in plan.red_flags]
    assert emergency_first == sorted(emergency_first, key=["emergency", "urgent", "routine"].index)
    assert set(plan.unrecognized_medications) <= UNRECOGNISED
    assert {n.written_as for n in plan.not_checked if n.drug is None} == set(plan.unrecognized_medications)
    for interaction in plan.interactions:
        assert all(content.formulary.entry(drug) for drug in interaction.drugs), "drugs are formulary ids"
