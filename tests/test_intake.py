"""The intake document: valid forms, a clear error for every bad field, and the published JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ketaguide.domain.care.intake import Criterion, Intake, Substance, intake_json_schema, parse_intake
from ketaguide.domain.errors import IntakeError

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
    """Model-only checks: duplicates, blank names, and any-case substances are beyond the published schema."""
    value = case[1]
    duplicate = isinstance(value, list) and len(value) == 2 and str(value[0]).lower() == str(value[1]).lower()
    return not duplicate and value != [""]


@pytest.mark.parametrize(("field", "value", "_"), [c for c in BAD_FIELDS if _schema_expressible(c)])
def test_schema_rejects_what_the_model_rejects(field: str, value: Any, _: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(intake(**{field: value}), intake_json_schema())
