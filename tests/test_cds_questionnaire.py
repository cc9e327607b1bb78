"""The intake as a FHIR R4 Questionnaire, and a QuestionnaireResponse to it read back as an intake."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from ketaguide.cdshooks.questionnaire import CODE_SYSTEM, QUESTIONNAIRE_URL, intake_from_response, intake_questionnaire
from ketaguide.domain.care.intake import Intake, parse_intake
from ketaguide.domain.errors import InputError


def _items(questionnaire: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for item in questionnaire["item"]:
        found[item["linkId"]] = item
        for sub in item.get("item", []):
            found[sub["linkId"]] = sub
    return found


def test_every_intake_field_is_an_item() -> None:
    items = _items(intake_questionnaire("1.0"))
    assert set(Intake.model_fields) <= set(items)
    assert {items[k]["type"] for k in ("age", "sex", "weight_kg", "pregnant", "criteria", "medications", "asq")} == {
        "integer",
        "choice",
        "decimal",
        "boolean",
        "string",
        "group",
    }
    assert items["age"]["required"] and items["sex"]["required"] and "required" not in items["weight_kg"]
    assert items["criteria"]["repeats"] and items["medications"]["repeats"]
    assert {o["valueCoding"]["code"] for o in items["sex"]["answerOption"]} == {"female", "male", "other", "unknown"}
    assert all(o["valueCoding"]["system"] == CODE_SYSTEM + "criteria" for o in items["criteria"]["answerOption"])
    assert [i["linkId"] for i in items["asq"]["item"]] == ["asq.q1", "asq.q2", "asq.q3", "asq.q4", "asq.q5"]


def test_the_questionnaire_is_valid_fhir() -> None:
    from fhir.resources.R4B.questionnaire import Questionnaire

    Questionnaire.model_validate(intake_questionnaire("0.1.0"))


def test_the_command_prints_it() -> None:
    from ketaguide.cli.app import app

    result = CliRunner().invoke(app, ["fhir", "questionnaire"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["resourceType"] == "Questionnaire" and document["url"] == QUESTIONNAIRE_URL


def _coding(field: str, code: str) -> dict[str, Any]:
    return {"valueCoding": {"system": CODE_SYSTEM + field, "code": code}}


RESPONSE: dict[str, Any] = {
    "resourceType": "QuestionnaireResponse",
    "questionnaire": f"{QUESTIONNAIRE_URL}|0.1.0",
    "status": "completed",
    "subject": {"reference": "Patient/example"},
    "item": [
        {"linkId": "age", "answer": [{"valueInteger": 34}]},
        {"linkId": "sex", "answer": [_coding("sex", "female")]},
        {"linkId": "weight_kg", "answer": [{"valueDecimal": 61.5}]},
        {"linkId": "pregnant", "answer": [{"valueBoolean": False}]},
        {"linkId": "criteria", "answer": [_coding("criteria", "craving"), _coding("criteria", "tolerance")]},
        {"linkId": "last_ketamine_use_hours", "answer": [{"valueDecimal": 240}]},
        {"linkId": "medications", "answer": [{"valueString": "Depakote 500 mg"}, {"valueString": "methadone"}]},
        {"linkId": "craving_score", "answer": [{"valueInteger": 7}]},
        {"linkId": "symptoms"},
        {
            "linkId": "asq",
            "item": [
                {"linkId": "asq.q1", "answer": [{"valueBoolean": False}]},
                {"linkId": "asq.q2", "answer": [{"valueBoolean": False}]},
                {"linkId": "asq.q3", "answer": [{"valueBoolean": False}]},
                {"linkId": "asq.q4", "answer": [{"valueBoolean": True}]},
            ],
        },
    ],
}


def test_a_response_becomes_an_intake() -> None:
    intake = intake_from_response(RESPONSE)
    assert intake == {
        "age": 34,
        "sex": "female",
        "weight_kg": 61.5,
        "pregnant": False,
        "criteria": ["craving", "tolerance"],
        "last_ketamine_use_hours": 240.0,
        "medications": ["Depakote 500 mg", "methadone"],
        "craving_score": 7,
        "asq": {"q1": False, "q2": False, "q3": False, "q4": True},
    }
    assert parse_intake(intake).asq is not None


def test_the_response_validates_as_fhir() -> None:
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    QuestionnaireResponse.model_validate(RESPONSE)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "in-progress"}, "status"),
        ({"questionnaire": "http://example.org/Questionnaire/other"}, "questionnaire"),
        ({"item": [{"linkId": "shoe_size", "answer": [{"valueInteger": 9}]}]}, "item[0].linkId"),
        ({"item": [{"linkId": "age", "answer": [{"valueString": "34"}]}]}, "item[0].answer[0]"),
        ({"item": [{"linkId": "age", "answer": [{"valueBoolean": True}]}]}, "item[0].answer[0]"),
        ({"item": [{"linkId": "age", "answer": [{"valueInteger": 3}, {"valueInteger": 4}]}]}, "item[0].answer"),
        (
            {
                "item": [
                    {
                        "linkId": "sex",
                        "answer": [
                            {"valueCoding": {"system": "http://hl7.org/fhir/administrative-gender", "code": "female"}}
                        ],
                    }
                ]
            },
            "item[0].answer[0]",
        ),
        ({"item": [{"linkId": "criteria", "answer": [_coding("criteria", "cravings")]}]}, "item[0].answer[0]"),
        (
            {
                "item": [
                    {"linkId": "age", "answer": [{"valueInteger": 3}]},
                    {"linkId": "age", "answer": [{"valueInteger": 4}]},
                ]
            },
            "item[1].linkId",
        ),
    ],
    ids=[
        "in-progress",
        "other-questionnaire",
        "unknown-item",
        "string-for-integer",
        "boolean-for-integer",
        "two-answers",
        "foreign-code-system",
        "unknown-code",
        "answered-twice",
    ],
)
def test_structural_problems_are_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as raised:
        intake_from_response({**RESPONSE, **change})
    assert field in [p.field for p in raised.value.problems]


def test_not_a_questionnaire_response() -> None:
    with pytest.raises(InputError, match="resourceType"):
        intake_from_response({"resourceType": "Patient"})
