"""The intake document: valid forms, a clear error for every bad field, and the published JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ketaguide.domain.care.intake import (
    MAX_HOURS_SINCE_USE,
    Condition,
    Criterion,
    Intake,
    Substance,
    Symptom,
    intake_json_schema,
    parse_intake,
)
from ketaguide.domain.errors import InputError, IntakeError
from ketaguide.services.documents import parse_json_document

EXAMPLES = sorted((Path(__file__).parents[1] / "examples" / "intakes").glob("*.json"))
MINIMAL: dict[str, Any] = {"age": 30, "sex": "female"}


def intake(**fields: Any) -> dict[str, Any]:
    return {**MINIMAL, **fields}


def test_minimal_intake_has_safe_defaults() -> None:
    parsed = parse_intake(MINIMAL)
    assert parsed.criteria == () and parsed.medications == ()
    assert parsed.last_ketamine_use_hours is None and parsed.asq is None
    assert not parsed.pregnant and not parsed.breastfeeding


def test_substances_are_matched_in_any_case() -> None:
    parsed = parse_intake(intake(other_substances=["GHB", "Alcohol", " mdma "]))
    assert parsed.other_substances == (Substance.GHB, Substance.ALCOHOL, Substance.MDMA)


@pytest.mark.parametrize(
    ("field", "written", "expected"),
    [
        ("sex", "MALE", "male"),
        ("sex", " Female ", "female"),
        ("criteria", ["CRAVING", "Tolerance"], (Criterion.CRAVING, Criterion.TOLERANCE)),
        ("symptoms", ["Psychosis", "HEMATURIA"], (Symptom.PSYCHOSIS, Symptom.HEMATURIA)),
        ("conditions", ["EPILEPSY", "Eating_Disorder"], (Condition.EPILEPSY, Condition.EATING_DISORDER)),
        ("other_substances", ["GHB"], (Substance.GHB,)),
    ],
)
def test_every_code_is_matched_in_any_case(field: str, written: Any, expected: Any) -> None:
    assert getattr(parse_intake(intake(**{field: written})), field) == expected


def test_the_schema_lists_codes_in_lower_case() -> None:
    schema = intake_json_schema()
    enums = [e for definition in schema["$defs"].values() for e in definition.get("enum", [])]
    enums += schema["properties"]["sex"]["enum"]
    assert enums and all(code == code.lower() for code in enums)


def test_a_code_written_twice_in_different_case_is_a_duplicate() -> None:
    with pytest.raises(IntakeError, match="duplicate code 'epilepsy'"):
        parse_intake(intake(conditions=["epilepsy", "EPILEPSY"]))


@pytest.mark.parametrize(
    "condition",
    [
        "eating_disorder",
        "long_qt_or_arrhythmia",
        "dementia",
        "parkinsonism",
        "acute_hepatitis_or_liver_failure",
        "renal_impairment",
    ],
)
def test_conditions_the_option_rules_need_are_accepted(condition: str) -> None:
    assert parse_intake(intake(conditions=[condition])).conditions == (Condition(condition),)


def test_withdrawal_is_an_accepted_criterion() -> None:
    assert Criterion.WITHDRAWAL in parse_intake(intake(criteria=["withdrawal"])).criteria


def test_medication_names_are_free_text() -> None:
    assert parse_intake(intake(medications=["LAMICTAL", "unknown-drug 5 mg"])).medications[1] == "unknown-drug 5 mg"


# (field, bad value, words the error must contain). Every field of the intake has at least one case.
BAD_FIELDS: list[tuple[str, Any, str]] = [
    ("age", -1, "-1"),
    ("age", 121, "121"),
    ("age", "thirty", "thirty"),
    ("age", True, "True"),
    ("age", 30.5, "30.5"),
    ("sex", "f", "unknown code 'f'"),
    ("sex", None, "None"),
    ("sex", 1, "1"),
    ("weight_kg", 0, "0"),
    ("weight_kg", 401, "401"),
    ("weight_kg", "70kg", "70kg"),
    ("pregnant", "yes", "yes"),
    ("pregnant", 1, "1"),
    ("breastfeeding", "no", "no"),
    ("criteria", ["cravings"], "unknown code 'cravings'"),
    ("criteria", ["craving", "craving"], "duplicate code 'craving'"),
    ("criteria", "craving", "JSON array"),
    ("months_without_criteria", -2, "-2"),
    ("months_without_criteria", 1201, "1201"),
    ("in_controlled_environment", "true", "true"),
    ("last_ketamine_use_hours", -0.5, "-0.5"),
    ("last_ketamine_use_hours", "yesterday", "yesterday"),
    ("last_ketamine_use_hours", 1e23, "1e+23"),
    ("last_ketamine_use_hours", 32 * 8766.0, "longer ago than the patient's age (30 years)"),
    ("symptoms", ["headache"], "unknown code 'headache'"),
    ("symptoms", ["psychosis", "psychosis"], "duplicate"),
    ("conditions", ["adhd"], "unknown code 'adhd'"),
    ("medications", [""], "blank"),
    ("medications", [42], "42"),
    ("medications", "lamotrigine", "JSON array"),
    ("other_substances", ["ketamine"], "unknown code 'ketamine'"),
    ("other_substances", ["alcohol", "ALCOHOL"], "duplicate code 'alcohol'"),
    ("craving_score", 11, "11"),
    ("craving_score", -1, "-1"),
    ("craving_score", 7.5, "7.5"),
    ("asq", {"q1": True}, "required"),
    ("asq", {"q1": "yes", "q2": False, "q3": False, "q4": False}, "yes"),
    ("asq", "positive", "positive"),
]


@pytest.mark.parametrize(("field", "value", "expected"), BAD_FIELDS)
def test_bad_value_names_field_and_value(field: str, value: Any, expected: str) -> None:
    with pytest.raises(IntakeError) as caught:
        parse_intake(intake(**{field: value}))
    assert caught.value.field.startswith(field)
    assert expected in str(caught.value)


def test_every_field_has_a_bad_input_case() -> None:
    assert {f for f, _, _ in BAD_FIELDS} == set(Intake.model_fields)


def _first_bad_value_per_field() -> dict[str, Any]:
    document: dict[str, Any] = {}
    for field, value, _ in BAD_FIELDS:
        document.setdefault(field, value)
    return document


def test_every_bad_field_is_reported_at_once() -> None:
    """One document with a bad value in every field: every field is named, none is lost behind the first."""
    with pytest.raises(IntakeError) as caught:
        parse_intake(_first_bad_value_per_field())
    named = {problem.field.split("[")[0].split(".")[0] for problem in caught.value.problems}
    assert named == set(Intake.model_fields)


@pytest.mark.parametrize(("field", "value", "expected"), BAD_FIELDS)
def test_each_bad_field_is_reported_beside_another_bad_field(field: str, value: Any, expected: str) -> None:
    """A bad value is reported even when another field is bad too (here `craving_score`, or `age`)."""
    other = "age" if field == "craving_score" else "craving_score"
    document = intake(**{field: value, other: -1})
    with pytest.raises(IntakeError) as caught:
        parse_intake(document)
    fields = [p.field for p in caught.value.problems]
    assert any(f.startswith(field) for f in fields), fields
    assert any(f.startswith(other) for f in fields), fields
    assert expected in str(caught.value)


def test_every_bad_item_of_a_list_is_reported() -> None:
    with pytest.raises(IntakeError) as caught:
        parse_intake(intake(symptoms=["nausea", "anxiety", "headache"], conditions=["adhd", "gout"]))
    assert [p.field for p in caught.value.problems] == ["symptoms[0]", "symptoms[2]", "conditions[0]", "conditions[1]"]


def test_last_use_may_be_as_long_ago_as_the_patient_has_lived() -> None:
    assert parse_intake(intake(age=30, last_ketamine_use_hours=30 * 8766.0)).last_ketamine_use_hours
    assert parse_intake(intake(age=120, last_ketamine_use_hours=MAX_HOURS_SINCE_USE)).last_ketamine_use_hours


# --- the document as text: strict JSON, then the intake (what `assess_text` and `ketaguide assess` do) ----------


def _parse_text(text: str) -> Intake:
    try:
        document = parse_json_document(text, "intake")
    except InputError as exc:
        raise IntakeError.of(exc.problems) from None
    return parse_intake(document)


def test_a_byte_order_mark_before_the_document_is_accepted() -> None:
    assert _parse_text('\ufeff{"age": 30, "sex": "MALE"}').sex == "male"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"age": 30, "age": 31, "sex": "male"}', "intake: duplicate key 'age'"),
        (
            '{"age": 30, "sex": "male", "asq": {"q1": true, "q1": false, "q2": false, "q3": false, "q4": false}}',
            "intake.asq: duplicate key 'q1'",
        ),
    ],
)
def test_duplicate_keys_are_rejected_not_last_one_wins(text: str, problem: str) -> None:
    with pytest.raises(IntakeError) as caught:
        _parse_text(text)
    assert problem in str(caught.value)


def test_list_errors_point_at_the_item() -> None:
    with pytest.raises(IntakeError) as caught:
        parse_intake(intake(symptoms=["anxiety", "nausea"]))
    assert caught.value.field == "symptoms[1]"


def test_unknown_field_is_an_error() -> None:
    with pytest.raises(IntakeError, match="unknown field") as caught:
        parse_intake(intake(diagnosis="KUD"))
    assert caught.value.field == "diagnosis"


@pytest.mark.parametrize("field", ["age", "sex"])
def test_required_fields(field: str) -> None:
    document = dict(MINIMAL)
    del document[field]
    with pytest.raises(IntakeError, match="is required"):
        parse_intake(document)


@pytest.mark.parametrize("document", [[], "intake", 3, None])
def test_document_must_be_an_object(document: Any) -> None:
    with pytest.raises(IntakeError, match="JSON object"):
        parse_intake(document)


def test_schema_is_published_from_the_model() -> None:
    schema = intake_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"age", "sex"}
    assert set(schema["properties"]) == set(Intake.model_fields)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_are_valid_against_schema_and_model(path: Path) -> None:
    document = json.loads(path.read_text())
    jsonschema.validate(document, intake_json_schema())
    parse_intake(document)


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 3


def _schema_expressible(case: tuple[str, Any, str]) -> bool:
    """Model-only checks: duplicates, blank names, any-case codes and last use against age are beyond the published
    schema."""
    value = case[1]
    duplicate = isinstance(value, list) and len(value) == 2 and str(value[0]).lower() == str(value[1]).lower()
    return not duplicate and value != [""] and "longer ago" not in case[2]


@pytest.mark.parametrize(("field", "value", "_"), [c for c in BAD_FIELDS if _schema_expressible(c)])
def test_schema_rejects_what_the_model_rejects(field: str, value: Any, _: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(intake(**{field: value}), intake_json_schema())
