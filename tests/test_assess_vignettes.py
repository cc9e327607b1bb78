"""Clinical vignettes with expected severity, phase, red flags, options and interactions; plus the rules one by one."""

from __future__ import annotations

from typing import Any

import pytest

from ketaguide.domain.care.conventions import CareConventions
from ketaguide.domain.care.diagnosis import diagnose, remission_for, severity_for
from ketaguide.domain.care.findings import CarePlan
from ketaguide.domain.care.intake import parse_intake
from ketaguide.domain.care.phase import assess_phase
from ketaguide.domain.care.plan import evaluate
from ketaguide.domain.care.rules import ClinicalContent
from ketaguide.domain.evidence.models import Phase
from ketaguide.domain.evidence.pack import KnowledgePack

SIX = ["larger_amounts", "cut_down", "time_spent", "craving", "role_failure", "tolerance"]

# Each vignette: an intake and what the plan must show. `flags` and `interactions` are exact sets; `options` must
# all be offered and `not_options` must not; `notes` maps an option id to words one of its notes must contain.
VIGNETTES: list[dict[str, Any]] = [
    {
        "name": "recent use, one criterion, calm",
        "intake": {"age": 24, "sex": "male", "criteria": ["craving"], "last_ketamine_use_hours": 3},
        "severity": "none",
        "phase": "intoxication",
        "flags": set(),
        "interactions": set(),
        "options": {"supportive_care"},
        "not_options": {"lamotrigine", "naltrexone", "cbt", "setting_outpatient"},
        "not_offered": {"benzodiazepines_intoxication", "haloperidol"},
    },
    {
        "name": "overdose with GHB and alcohol",
        "intake": {
            "age": 22,
            "sex": "male",
            "criteria": ["craving", "hazardous_use"],
            "last_ketamine_use_hours": 1.5,
            "symptoms": ["agitation", "slowed_breathing"],
            "other_substances": ["GHB", "alcohol"],
        },
        "severity": "mild",
        "phase": "intoxication",
        "flags": {"respiratory_depression", "acute_co_intoxication"},
        "interactions": {"ketamine-alcohol", "ketamine-ghb", "ghb-alcohol"},
        "options": {"supportive_care", "benzodiazepines_intoxication", "haloperidol"},
        "not_options": {"lamotrigine", "benzodiazepines_withdrawal"},
        "reasons": {"benzodiazepines_intoxication": "applies directly"},
        "statuses": {"haloperidol": "contraindicated", "benzodiazepines_intoxication": "caution"},
        "monitoring": {"Acute observation", "Observation after GHB"},
    },
    {
        "name": "found unresponsive, time of use unknown",
        "intake": {"age": 30, "sex": "unknown", "symptoms": ["unresponsive"]},
        "severity": "none",
        "phase": "unknown",
        "flags": {"respiratory_depression"},
        "interactions": set(),
        "options": {"supportive_care", "benzodiazepines_withdrawal"},
        "not_options": {"lamotrigine"},
        "not_offered": {"benzodiazepines_intoxication", "haloperidol"},
        "monitoring": {"Acute observation"},
    },
    {
        "name": "withdrawal on methadone with a positive ASQ and haematuria",
        "intake": {
            "age": 41,
            "sex": "male",
            "criteria": ["larger_amounts", "cut_down", "craving", "social_problems", "withdrawal"],
            "last_ketamine_use_hours": 36,
            "symptoms": ["anxiety", "insomnia", "hematuria"],
            "conditions": ["opioid_use_disorder"],
            "medications": ["Methadone"],
            "asq": {"q1": False, "q2": False, "q3": False, "q4": True},
        },
        "severity": "moderate",
        "phase": "withdrawal",
        "flags": {"suicidal_ideation", "hematuria", "cns_depressant_co_use"},
        "interactions": {"ketamine-opioids"},
        "options": {"benzodiazepines_withdrawal", "setting_inpatient", "motivational_interviewing"},
        "not_options": {"naltrexone", "lamotrigine", "setting_outpatient"},
        "gaps": {"ASQ scoring", "Ketamine withdrawal timeline"},
    },
    {
        "name": "severe, abstinent 100 days, on valproate and a combined pill, bladder symptoms",
        "intake": {
            "age": 29,
            "sex": "female",
            "criteria": [*SIX, "activities_given_up"],
            "last_ketamine_use_hours": 2400,
            "symptoms": ["urinary_frequency", "urinary_urgency", "pelvic_pain"],
            "medications": ["Depakote 500 mg", "combined oral contraceptive", "sertraline"],
            "other_substances": ["alcohol"],
            "craving_score": 7,
        },
        "severity": "severe",
        "phase": "relapse_prevention",
        "flags": {"cns_depressant_co_use", "urinary_symptoms"},
        "interactions": {"ketamine-alcohol"},
        "options": {"lamotrigine", "naltrexone", "paliperidone_bupropion", "cbt", "aftercare", "setting_inpatient"},
        "not_options": {"setting_outpatient", "supportive_care"},
        "notes": {"setting_inpatient": "severe use disorder"},
        "reasons": {"lamotrigine": "valproate column", "naltrexone": "'sertraline' was not recognised"},
        "statuses": {"lamotrigine": "caution", "naltrexone": "caution", "cbt": "consider"},
        "unrecognized": ["sertraline"],
    },
    {
        "name": "early remission, already on Lamictal",
        "intake": {
            "age": 35,
            "sex": "other",
            "criteria": ["larger_amounts", "cut_down", "time_spent", "craving"],
            "months_without_criteria": 5,
            "last_ketamine_use_hours": 3700,
            "medications": ["LAMICTAL"],
        },
        "severity": "moderate",
        "remission": "early remission",
        "phase": "relapse_prevention",
        "flags": set(),
        "interactions": {"lamotrigine-ketamine"},
        "options": {"lamotrigine", "setting_outpatient"},
        "not_options": {"setting_inpatient"},
        "reasons": {"lamotrigine": "Already taking lamotrigine"},
    },
    {
        "name": "sustained remission in a controlled environment",
        "intake": {
            "age": 50,
            "sex": "male",
            "criteria": ["craving", "tolerance"],
            "months_without_criteria": 14,
            "in_controlled_environment": True,
            "last_ketamine_use_hours": 11000,
        },
        "severity": "mild",
        "remission": "sustained remission",
        "phase": "relapse_prevention",
        "flags": set(),
        "interactions": set(),
        "options": {"setting_outpatient", "aftercare"},
        "not_options": set(),
    },
    {
        "name": "three weeks abstinent on buprenorphine, naltrexone considered",
        "intake": {
            "age": 33,
            "sex": "female",
            "criteria": ["larger_amounts", "craving", "role_failure", "tolerance"],
            "last_ketamine_use_hours": 500,
            "medications": ["buprenorphine/naloxone"],
            "conditions": ["opioid_use_disorder"],
        },
        "severity": "moderate",
        "phase": "early_abstinence",
        "flags": {"cns_depressant_co_use"},
        "interactions": {"ketamine-opioids"},
        "options": {"naltrexone", "lamotrigine", "setting_outpatient"},
        "not_options": {"aftercare"},
        "reasons": {"naltrexone": "maintained on methadone or buprenorphine"},
        "statuses": {"naltrexone": "contraindicated"},
    },
    {
        "name": "pregnant with haematuria, flank pain and dysuria",
        "intake": {
            "age": 26,
            "sex": "female",
            "pregnant": True,
            "criteria": ["larger_amounts", "craving", "physical_psychological_problems"],
            "last_ketamine_use_hours": 72,
            "symptoms": ["hematuria", "flank_pain", "dysuria"],
        },
        "severity": "mild",
        "phase": "early_abstinence",
        "flags": {"pregnancy", "hematuria", "upper_urinary_tract", "urinary_symptoms"},
        "interactions": set(),
        "options": {"lamotrigine", "naltrexone"},
        "not_options": set(),
        "gaps": {"Medicines in pregnancy and breastfeeding"},
    },
    {
        "name": "psychosis 30 hours after use",
        "intake": {
            "age": 27,
            "sex": "male",
            "criteria": ["larger_amounts", "cut_down"],
            "last_ketamine_use_hours": 30,
            "symptoms": ["psychosis"],
            "conditions": ["schizophrenia"],
        },
        "severity": "mild",
        "phase": "early_abstinence",
        "flags": {"psychosis"},
        "interactions": set(),
        "options": {"setting_inpatient"},
        "not_options": {"setting_outpatient"},
    },
    {
        "name": "adolescent on Tegretol",
        "intake": {
            "age": 16,
            "sex": "female",
            "criteria": ["craving", "time_spent", "cut_down"],
            "last_ketamine_use_hours": 3000,
            "medications": ["Tegretol"],
            "conditions": ["epilepsy"],
        },
        "severity": "mild",
        "phase": "relapse_prevention",
        "flags": set(),
        "interactions": set(),
        "options": {"lamotrigine"},
        "not_options": set(),
        "reasons": {"lamotrigine": "Under 18", "paliperidone_bupropion": "Contra-indicated: epilepsy"},
        "statuses": {"paliperidone_bupropion": "contraindicated", "lamotrigine": "caution"},
    },
    {
        "name": "esketamine with phenelzine and methylphenidate",
        "intake": {
            "age": 45,
            "sex": "female",
            "criteria": ["craving", "tolerance"],
            "last_ketamine_use_hours": 5000,
            "medications": ["Spravato", "phenelzine", "Methylphenidate"],
        },
        "severity": "mild",
        "phase": "relapse_prevention",
        "flags": set(),
        "interactions": {
            "esketamine-maoi",
            "esketamine-psychostimulants",
            "ketamine-maoi",
            "ketamine-sympathomimetics",
        },
        "options": {"lamotrigine", "naltrexone"},
        "not_options": set(),
        "reasons": {"lamotrigine": "esketamine", "naltrexone": "esketamine", "paliperidone_bupropion": "MAOI"},
        "statuses": {"paliperidone_bupropion": "contraindicated"},
        "monitoring": {"Blood pressure with esketamine", "Rash during lamotrigine escalation"},
    },
    {
        "name": "pharmacokinetic pairs",
        "intake": {
            "age": 60,
            "sex": "male",
            "criteria": ["craving", "tolerance"],
            "last_ketamine_use_hours": 5000,
            "medications": ["clarithromycin", "Rifampicin", "St John's wort", "ticlopidine", "theophylline"],
        },
        "severity": "mild",
        "phase": "relapse_prevention",
        "flags": set(),
        "interactions": {
            "ketamine-clarithromycin",
            "ketamine-rifampin",
            "ketamine-st-johns-wort",
            "ketamine-ticlopidine",
            "ketamine-theophylline-aminophylline",
        },
        "options": {"lamotrigine"},
        "not_options": set(),
        "reasons": {"lamotrigine": "enzyme inducer", "paliperidone_bupropion": "strong CYP3A4/P-gp inducer"},
    },
    {
        "name": "anxiety ten days after last use is not called withdrawal",
        "intake": {
            "age": 31,
            "sex": "female",
            "criteria": ["craving", "cut_down", "larger_amounts", "time_spent", "tolerance"],
            "last_ketamine_use_hours": 240,
            "symptoms": ["anxiety", "depressed_mood"],
            "conditions": ["depression"],
        },
        "severity": "moderate",
        "phase": "early_abstinence",
        "flags": set(),
        "interactions": set(),
        "options": {"lamotrigine", "cbt"},
        "not_options": {"benzodiazepines_withdrawal"},
    },
    {
        "name": "cocaine and benzodiazepines alongside ketamine",
        "intake": {
            "age": 38,
            "sex": "male",
            "criteria": SIX,
            "last_ketamine_use_hours": 20,
            "other_substances": ["cocaine", "benzodiazepines"],
        },
        "severity": "severe",
        "phase": "early_abstinence",
        "flags": {"cns_depressant_co_use"},
        "interactions": {"ketamine-sympathomimetics", "ketamine-benzodiazepines"},
        "options": {"setting_inpatient", "naltrexone"},
        "not_options": {"benzodiazepines_withdrawal"},
    },
]


def plan_for(document: dict[str, Any], pack: KnowledgePack, content: ClinicalContent) -> CarePlan:
    return evaluate(parse_intake(document), pack, content)


@pytest.mark.parametrize("case", VIGNETTES, ids=[v["name"] for v in VIGNETTES])
def test_vignette(case: dict[str, Any], pack: KnowledgePack, content: ClinicalContent) -> None:
    plan = plan_for(case["intake"], pack, content)
    assert plan.diagnosis.severity == case["severity"]
    assert plan.diagnosis.remission == case.get("remission")
    assert plan.phase.phase == case["phase"]
    assert {f.code for f in plan.red_flags} == case["flags"]
    assert {i.rule_id for i in plan.interactions} == case["interactions"]
    offered = {o.id for o in plan.options}
    assert case["options"] <= offered, f"missing {case['options'] - offered}"
    assert not case["not_options"] & offered, f"unexpected {case['not_options'] & offered}"
    for option_id, words in case.get("notes", {}).items():
        notes = next(o.notes for o in plan.options if o.id == option_id)
        assert any(words in note for note in notes), f"{option_id}: no note mentions {words!r}"
    for option_id, words in case.get("reasons", {}).items():
        reasons = next(o.status_reasons for o in plan.options if o.id == option_id)
        assert any(words in r.message for r in reasons), f"{option_id}: no reason mentions {words!r}"
    statuses = {o.id: o.status for o in plan.options}
    for option_id, status in case.get("statuses", {}).items():
        assert statuses[option_id] == status, f"{option_id}: {statuses[option_id]}, not {status}"
    assert case.get("not_offered", set()) <= {o.id for o in plan.options_not_offered}
    assert list(plan.unrecognized_medications) == case.get("unrecognized", [])
    assert case.get("gaps", set()) <= {g.topic for g in plan.evidence_gaps}
    assert case.get("monitoring", set()) <= {m.item for m in plan.monitoring}


def test_vignettes_cover_every_red_flag(content: ClinicalContent) -> None:
    covered = set().union(*(v["flags"] for v in VIGNETTES))
    assert covered == {r.code for r in content.red_flags}


# --- the rules one by one ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "severity"),
    [
        (0, "none"),
        (1, "none"),
        (2, "mild"),
        (3, "mild"),
        (4, "moderate"),
        (5, "moderate"),
        (6, "severe"),
        (10, "severe"),
    ],
)
def test_severity_bands(count: int, severity: str, content: ClinicalContent) -> None:
    assert severity_for(count, content.conventions.diagnosis.severity_floors.value) == severity


def test_withdrawal_is_recorded_but_not_counted(content: ClinicalContent) -> None:
    intake = parse_intake({"age": 30, "sex": "male", "criteria": ["craving", "withdrawal"]})
    dx = diagnose(intake, content.conventions.diagnosis)
    assert dx.criteria_met == 1 and dx.severity == "none"
    assert dx.not_counted == ("withdrawal",)
    assert any("not counted" in n for n in dx.notes)


@pytest.mark.parametrize(
    ("severity", "months", "expected"),
    [
        ("mild", None, None),
        ("mild", 2.9, None),
        ("mild", 3, "early remission"),
        ("severe", 11.9, "early remission"),
        ("moderate", 12, "sustained remission"),
        ("none", 24, None),
    ],
)
def test_remission_specifiers(
    severity: Any, months: float | None, expected: str | None, content: ClinicalContent
) -> None:
    assert remission_for(severity, months, content.conventions.diagnosis) == expected


def test_controlled_environment_applies_only_in_remission(content: ClinicalContent) -> None:
    thresholds = content.conventions.diagnosis
    base = {"age": 30, "sex": "male", "criteria": ["craving", "tolerance"], "in_controlled_environment": True}
    assert not diagnose(parse_intake(base), thresholds).in_controlled_environment
    assert diagnose(parse_intake({**base, "months_without_criteria": 4}), thresholds).in_controlled_environment


@pytest.mark.parametrize(
    ("hours", "symptoms", "phase"),
    [
        (None, [], "unknown"),
        (None, ["anxiety"], "unknown"),
        (0, [], "intoxication"),
        (6, ["anxiety"], "intoxication"),
        (6.5, [], "early_abstinence"),
        (6.5, ["insomnia"], "withdrawal"),
        (168, ["agitation"], "withdrawal"),
        (169, ["agitation"], "early_abstinence"),
        (2160, [], "early_abstinence"),
        (2161, [], "relapse_prevention"),
    ],
)
def test_phase_thresholds(hours: float | None, symptoms: list[str], phase: str, content: ClinicalContent) -> None:
    intake = parse_intake({"age": 30, "sex": "male", "last_ketamine_use_hours": hours, "symptoms": symptoms})
    found, basis = assess_phase(intake, content.conventions)
    assert found == phase
    assert basis


def test_phase_basis_says_thresholds_are_conventions(content: ClinicalContent) -> None:
    for hours, symptoms in ((2, []), (30, ["anxiety"]), (300, []), (5000, [])):
        intake = parse_intake({"age": 30, "sex": "male", "last_ketamine_use_hours": hours, "symptoms": symptoms})
        assert "convention" in assess_phase(intake, content.conventions)[1]


def _with_phase_windows(content: ClinicalContent, **values: float) -> CareConventions:
    windows = content.conventions.phases
    updates = {name: getattr(windows, name).model_copy(update={"value": v}) for name, v in values.items()}
    return content.conventions.model_copy(update={"phases": windows.model_copy(update=updates)})


def test_phase_windows_and_the_numbers_in_the_basis_come_from_the_conventions(content: ClinicalContent) -> None:
    conventions = _with_phase_windows(content, intoxication_window_hours=8, early_abstinence_days=120)
    phase, basis = assess_phase(parse_intake({"age": 30, "sex": "male", "last_ketamine_use_hours": 7}), conventions)
    assert phase is Phase.INTOXICATION and "8-hour intoxication window" in basis
    late = parse_intake({"age": 30, "sex": "male", "last_ketamine_use_hours": 100 * 24})
    assert assess_phase(late, conventions)[0] is Phase.EARLY_ABSTINENCE
    assert "up to 120 days" in assess_phase(late, conventions)[1]
    assert assess_phase(late, content.conventions)[0] is Phase.RELAPSE_PREVENTION


def test_severity_note_prints_the_floors_it_applied(content: ClinicalContent) -> None:
    thresholds = content.conventions.diagnosis
    floors = thresholds.severity_floors.value.model_copy(update={"mild": 3, "moderate": 5, "severe": 7})
    shifted = thresholds.model_copy(
        update={"severity_floors": thresholds.severity_floors.model_copy(update={"value": floors})}
    )
    intake = parse_intake({"age": 30, "sex": "male", "criteria": SIX[:4]})
    assert (
        diagnose(intake, thresholds).notes[0] == "4 criteria met: moderate (mild 2-3, moderate 4-5, severe 6 or more)."
    )
    assert diagnose(intake, shifted).notes[0] == "4 criteria met: mild (mild 3-4, moderate 5-6, severe 7 or more)."


def test_pharmacological_craving_options_are_very_low_and_experimental(
    pack: KnowledgePack, content: ClinicalContent
) -> None:
    plan = plan_for(VIGNETTES[4]["intake"], pack, content)
    for option_id in ("lamotrigine", "naltrexone", "paliperidone_bupropion"):
        option = next(o for o in plan.options if o.id == option_id)
        assert option.certainty.value == "very low"
        assert option.experimental
        assert any("reported rating" in r for r in option.certainty_reasons)


def test_options_unknown_phase_are_listed_with_their_phases(pack: KnowledgePack, content: ClinicalContent) -> None:
    plan = plan_for({"age": 30, "sex": "male", "criteria": SIX}, pack, content)
    assert plan.phase.phase == "unknown"
    lamotrigine = next(o for o in plan.options if o.id == "lamotrigine")
    assert lamotrigine.phase == "unknown"
    assert lamotrigine.phases == ("early_abstinence", "relapse_prevention")
    assert any("Phase unknown" in n for n in lamotrigine.notes)


def test_urine_screen_monitoring_says_routine_screens_miss_ketamine(
    pack: KnowledgePack, content: ClinicalContent
) -> None:
    plan = plan_for(VIGNETTES[4]["intake"], pack, content)
    screens = next(m for m in plan.monitoring if m.item == "Urine drug screens")
    assert "do not detect ketamine" in screens.message
    craving = next(m for m in plan.monitoring if m.item == "Craving")
    assert "7/10" in craving.message
