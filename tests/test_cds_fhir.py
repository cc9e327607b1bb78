"""FHIR read tolerantly and the chart read as an intake: entries, codes, words, ages, names."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ketaguide.cdshooks.chart import (
    AGE_UNKNOWN,
    BREASTFEEDING_WORDS,
    CONDITION_WORDS,
    KUD_CONDITION,
    PREGNANCY_WORDS,
    Chart,
    is_kud,
    name_candidates,
    read_chart,
    recognise,
    words_say,
    youngest_age,
)
from ketaguide.cdshooks.fhir import (
    ICD10CM,
    RXNORM,
    SNOMED,
    Code,
    CodedText,
    coded,
    entries,
    outcome_errors,
    r4_problems,
)
from ketaguide.domain.care.intake import Condition


def test_each_entry_is_read_on_its_own() -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": {"resourceType": "NutritionOrder", "id": "n", "status": "draft"}},  # no intent: not R4
            "not an entry",
            {"no": "resource"},
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "id": "m",
                    "status": "draft",
                    "intent": "order",
                    "subject": {"reference": "Patient/p"},
                    "medicationCodeableConcept": {"text": "naltrexone"},
                }
            },
        ],
    }
    found = list(entries(bundle, "draftOrders"))
    assert [(e.where, e.reference) for e in found] == [
        ("draftOrders.entry[0]", "NutritionOrder/n"),
        ("draftOrders.entry[3]", "MedicationRequest/m"),
    ]
    assert found[1].problems == ()


@pytest.mark.parametrize(
    ("resource", "problem"),
    [
        (
            {
                "resourceType": "MedicationRequest",
                "status": "draft",
                "intent": "order",
                "subject": {"reference": "P/1"},
                "medicationCodeableConcept": {"text": "x"},
                "category": {"text": "outpatient"},
            },
            "category",
        ),
        (
            {
                "resourceType": "MedicationRequest",
                "status": "draft",
                "intent": "order",
                "subject": {"reference": "P/1"},
                "medicationCodeableConcept": {"text": "x"},
                "dosageInstruction": [{"doseQuantity": {"value": 1}}],
            },
            "doseQuantity",
        ),
        ({"resourceType": "MedicationOrder", "status": "draft"}, "not a FHIR R4 resource"),
        ({"status": "draft"}, "no resourceType"),
    ],
    ids=["sandbox-category-object", "stu3-dose-quantity", "dstu2-medication-order", "no-type"],
)
def test_what_is_not_valid_r4_is_reported(resource: dict[str, Any], problem: str) -> None:
    assert any(problem in p for p in r4_problems(resource))


def test_resources_not_read_are_not_validated() -> None:
    assert r4_problems({"resourceType": "NutritionOrder"}) == ()


def test_a_coding_given_as_an_object_is_still_read() -> None:
    found = coded({"coding": {"system": RXNORM, "code": "198430", "display": "lamotrigine 25 MG ODT"}, "text": " "})
    assert found == CodedText((Code(RXNORM, "198430", "lamotrigine 25 MG ODT"),), None)
    assert found.texts == ("lamotrigine 25 MG ODT",)
    assert coded("naltrexone") == CodedText()


def test_outcome_errors_only_count_errors() -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "diagnostics": "w"}]}},
            {"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "fatal", "code": "exception"}]}},
        ],
    }
    assert outcome_errors(bundle) == ("exception",)


@pytest.mark.parametrize(
    ("codings", "expected"),
    [
        ([(ICD10CM, "F16.20")], True),
        ([(ICD10CM, "F1610")], True),
        ([(ICD10CM, "f16.91")], True),
        ([(SNOMED, "724713006")], True),
        ([(SNOMED, "724715004")], True),
        ([(SNOMED, "724712001")], True),
        ([(SNOMED, "724714000")], True),
        ([(ICD10CM, "F19.20")], False),  # other or polysubstance: not read as ketamine
        ([(ICD10CM, "T41.291A")], False),  # poisoning, not a use disorder
        ([(SNOMED, "F16.20")], False),  # the right code in the wrong system
        ([("http://example.org/local", "724715004")], False),
    ],
)
def test_ketamine_use_disorder_codes(codings: list[tuple[str, str]], expected: bool) -> None:
    assert is_kud(CodedText(tuple(Code(s, c, None) for s, c in codings))) is expected


def test_every_intake_condition_has_a_word_rule_but_the_use_disorder_read_from_codes() -> None:
    assert {code for code, _ in CONDITION_WORDS} == {c.value for c in Condition} - {KUD_CONDITION}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Epilepsy", {"epilepsy"}),
        ("History of seizures", {"epilepsy"}),
        ("Epilepsy, no seizures in 2 years", {"epilepsy"}),
        ("No history of seizures", set()),
        ("Family history of epilepsy", set()),
        ("Rule out seizure disorder", set()),
        ("Opioid use disorder, moderate, on maintenance therapy", {"opioid_use_disorder"}),
        ("Alcohol dependence", {"alcohol_use_disorder"}),
        ("Bipolar I disorder", {"bipolar_disorder"}),
        ("Major depressive disorder, recurrent", {"depression"}),
        ("Respiratory depression", set()),
        ("Anorexia nervosa", {"eating_disorder"}),
        ("Long QT syndrome", {"long_qt_or_arrhythmia"}),
        ("Chronic kidney disease stage 3", {"renal_impairment"}),
        ("Parkinson's disease", {"parkinsonism"}),
        ("Schizoaffective disorder", set()),
        ("Ketamine-induced cystitis", {"ketamine_uropathy"}),
        ("Ketamine uropathy", {"ketamine_uropathy"}),
        ("Ketamine associated bladder dysfunction", {"ketamine_uropathy"}),
        ("Interstitial cystitis", set()),  # not said to be ketamine's
        ("No ketamine cystitis on cystoscopy", set()),
    ],
)
def test_condition_words(text: str, expected: set[str]) -> None:
    assert {code for code, pattern in CONDITION_WORDS if words_say(pattern, [text])} == expected


@pytest.mark.parametrize(
    ("text", "pregnant", "breastfeeding"),
    [
        ("Pregnancy, first trimester", True, False),
        ("Supervision of normal pregnancy", True, False),
        ("Not pregnant", False, False),
        ("Non-pregnant state", False, False),
        ("Breastfeeding", False, True),
        ("Lactating mother", False, True),
    ],
)
def test_pregnancy_and_breastfeeding_words(text: str, pregnant: bool, breastfeeding: bool) -> None:
    assert words_say(PREGNANCY_WORDS, [text]) is pregnant
    assert words_say(BREASTFEEDING_WORDS, [text]) is breastfeeding


@pytest.mark.parametrize(
    ("birth", "age"),
    [
        ("2008-12-01", 18),
        ("2008-12-02", 17),
        ("2008", 17),  # a year only counts from its last day: under 18 is not missed
        ("2008-11", 18),
        ("2008-12", 17),
        ("1994-03-07", 32),
        ("1800-01-01", None),
        ("2027-01-01", None),
        ("not a date", None),
        (None, None),
        ("2008-02-30", None),
    ],
)
def test_youngest_age(birth: str | None, age: int | None) -> None:
    assert youngest_age(birth, date(2026, 12, 1)) == age


def test_the_unknown_age_triggers_no_age_rule() -> None:
    from ketaguide.domain.care.diagnosis import diagnose
    from ketaguide.domain.care.facts import patient_facts
    from ketaguide.domain.care.intake import parse_intake
    from ketaguide.knowledge.snapshot import load_snapshot

    content = load_snapshot().clinical
    intake = parse_intake(Chart().intake())
    assert intake.age == AGE_UNKNOWN
    facts = patient_facts(intake, [], diagnose(intake, content.conventions.diagnosis))
    assert [f for f in facts if f.startswith("status:")] == []


@pytest.mark.parametrize(
    ("text", "candidates"),
    [
        ("Divalproex Sodium 500 MG [Depakote]", ["Divalproex Sodium 500 MG [Depakote]", "Depakote"]),
        (
            "72 HR Fentanyl 0.075 MG/HR Transdermal System",
            ["72 HR Fentanyl 0.075 MG/HR Transdermal System", "Fentanyl 0.075 MG/HR Transdermal System"],
        ),
        ("naltrexone", ["naltrexone"]),
    ],
)
def test_name_candidates(text: str, candidates: list[str]) -> None:
    assert name_candidates(text) == candidates


@pytest.fixture(scope="module")
def formulary() -> Any:
    from ketaguide.knowledge.snapshot import load_snapshot

    return load_snapshot().clinical.formulary


@pytest.mark.parametrize(
    ("texts", "drug"),
    [
        (["Divalproex Sodium 500 MG [Depakote]"], "valproate"),
        (["72 HR Fentanyl 0.075 MG/HR Transdermal System"], "fentanyl"),
        (["Methadone Hydrochloride 10 MG Oral Tablet"], "methadone"),
        (["Carbamazepine 200 MG Oral Tablet [Epitol]"], "carbamazepine"),
        (["esketamine Nasal Spray [Spravato]"], "esketamine"),
        (["Buprenorphine 8 MG / Naloxone 2 MG Sublingual Film"], "buprenorphine"),
        (["lamotrigine 25 MG ODT"], "lamotrigine"),
        (["Zyprexa 5 mg"], None),
        (["", "LAMICTAL"], "lamotrigine"),
    ],
)
def test_medicines_are_recognised_by_name_rules(formulary: Any, texts: list[str], drug: str | None) -> None:
    medicine = CodedText(tuple(Code(RXNORM, None, t) for t in texts if t))
    written, entry, engine_name = recognise(medicine, formulary)
    assert written == next(t for t in texts if t)
    assert (entry.id if entry else None) == drug
    assert formulary.recognise(engine_name) == entry


def test_read_chart_skips_refuted_and_resolved_conditions(formulary: Any) -> None:
    from ketaguide.cdshooks.fhir import Entry

    def condition(text: str, clinical: str = "active", verification: str | None = None) -> Entry:
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": text,
            "code": {"text": text},
            "clinicalStatus": {"coding": [{"code": clinical}]},
        }
        if verification:
            resource["verificationStatus"] = {"coding": [{"code": verification}]}
        return Entry("conditions", resource, ())

    data: dict[str, Any] = {
        "patient": None,
        "conditions": [
            condition("Epilepsy", "resolved"),
            condition("Bipolar disorder", verification="refuted"),
            condition("Pregnancy", "inactive"),
            condition("Chronic pain"),
        ],
        "medications": None,
    }
    chart = read_chart(data, [], None, formulary, date(2026, 12, 1))
    assert chart.conditions == ["chronic_pain"] and not chart.pregnant
    assert chart.age is None and chart.sex == "unknown" and chart.notes
