"""The REST API takes a FHIR QuestionnaireResponse (`application/fhir+json`) as an intake, on the real app (SQLite and
PostgreSQL): the same care plan as the JSON intake, stored encounters with `authored` as observed_at, and problems
naming the item's linkId."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from ketaguide.bootstrap import Runtime, SystemClock, build_runtime
from ketaguide.services.records import Records
from ketaguide.services.users import add_user
from ketaguide.settings import load_settings
from ketaguide.storage.engine import Database
from test_cds_questionnaire import RESPONSE
from test_server_support import (  # noqa: F401  # fixtures
    database,
    database_url,
    postgres,
    postgres_template,
    sqlite_template,
)

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from ketaguide.cdshooks.questionnaire import intake_from_response
from ketaguide.http.app import create_app

FHIR = "application/fhir+json"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with build_runtime(load_settings(retriever="lexical")) as built:
        yield built


@pytest.fixture
def client(runtime: Runtime, database: Database) -> Iterator[tuple[TestClient, dict[str, str]]]:  # noqa: F811
    records = Records(database=database, clock=SystemClock())
    token = add_user(records, "fhir-clinician", "clinician")[1]
    app = create_app(load_settings(retriever="lexical"), runtime=runtime, records=records)
    with TestClient(app) as test_client:
        yield test_client, {"Authorization": f"Bearer {token}"}


def _post(client: Any, path: str, headers: dict[str, str], document: Any, content_type: str = FHIR) -> Any:
    body = document if isinstance(document, str) else json.dumps(document)
    return client.post(f"/api/v1{path}", content=body, headers={**headers, "Content-Type": content_type})


def _problem(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    return {e["field"]: e["problem"] for e in response.json()["errors"]}


def _plan(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "provenance"}


def test_evaluate_takes_a_questionnaire_response(client: Any) -> None:
    test_client, headers = client
    fhir = _post(test_client, "/assessments/evaluate", headers, RESPONSE, f"{FHIR}; fhirVersion=4.0")
    assert fhir.status_code == 200, fhir.text
    plain = _post(
        test_client, "/assessments/evaluate", headers, {"intake": intake_from_response(RESPONSE)}, "application/json"
    )
    assert plain.status_code == 200
    assert _plan(fhir.json()) == _plan(plain.json())


def test_an_encounter_is_stored_from_a_questionnaire_response(client: Any) -> None:
    test_client, headers = client
    patient = _post(test_client, "/patients", headers, {"display_name": "Q R"}, "application/json").json()
    document = {**RESPONSE, "authored": "2026-11-30T09:15:00+01:00"}
    path = f"/patients/{patient['id']}/encounters"
    first = _post(test_client, path, {**headers, "Idempotency-Key": "qr-1"}, document)
    assert first.status_code == 201, first.text
    encounter = first.json()
    assert encounter["observed_at"].startswith("2026-11-30T08:15:00")
    assert encounter["intake"]["medications"] == ["Depakote 500 mg", "methadone"]
    again = _post(test_client, path, {**headers, "Idempotency-Key": "qr-1"}, document)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == encounter["id"]
    stored = test_client.get(f"/api/v1{path}/{encounter['id']}", headers=headers).json()
    assert stored["intake"]["asq"] == {"q1": False, "q2": False, "q3": False, "q4": True, "q5": None}


def test_an_encounter_needs_authored(client: Any) -> None:
    test_client, headers = client
    patient = _post(test_client, "/patients", headers, {"display_name": "Q S"}, "application/json").json()
    path = f"/patients/{patient['id']}/encounters"
    assert "authored" in _problem(_post(test_client, path, headers, RESPONSE))
    naive = {**RESPONSE, "authored": "2026-11-30T09:15:00"}
    assert "authored" in _problem(_post(test_client, path, headers, naive))


def _with_item(link_id: str, item: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(RESPONSE)
    document["item"] = [i for i in document["item"] if i["linkId"] != link_id] + [{"linkId": link_id, **item}]
    return document


@pytest.mark.parametrize(
    ("document", "link_id"),
    [
        (_with_item("age", {"answer": [{"valueString": "34"}]}), "age"),
        (_with_item("age", {"answer": [{"valueInteger": 300}]}), "age"),
        (_with_item("shoe_size", {"answer": [{"valueInteger": 9}]}), "shoe_size"),
        (_with_item("criteria", {"answer": [{"valueCoding": {"system": "urn:x", "code": "craving"}}]}), "criteria"),
        (_with_item("craving_score", {"answer": [{"valueInteger": 11}]}), "craving_score"),
        ({**RESPONSE, "item": [i for i in RESPONSE["item"] if i["linkId"] != "sex"]}, "sex"),
    ],
    ids=["wrong-value-type", "age-out-of-range", "unknown-item", "foreign-code-system", "score-over-10", "missing-sex"],
)
def test_problems_name_the_link_id(client: Any, document: dict[str, Any], link_id: str) -> None:
    test_client, headers = client
    problems = _problem(_post(test_client, "/assessments/evaluate", headers, document))
    assert any(link_id == field or f"'{link_id}'" in problem for field, problem in problems.items()), problems


@pytest.mark.parametrize(
    "body",
    [
        '{"resourceType": "Patient"}',
        json.dumps({**RESPONSE, "status": "in-progress"}),
        '{"resourceType": "QuestionnaireResponse", "resourceType": "QuestionnaireResponse"}',
        "[1, 2]",
        "not json",
    ],
    ids=["not-a-response", "in-progress", "duplicate-key", "array", "not-json"],
)
def test_other_documents_are_problems(client: Any, body: str) -> None:
    test_client, headers = client
    assert _problem(_post(test_client, "/assessments/evaluate", headers, body))


def test_the_fhir_body_needs_a_clinician_and_is_bounded(client: Any) -> None:
    test_client, headers = client
    unauthenticated = _post(test_client, "/assessments/evaluate", {}, RESPONSE)
    assert unauthenticated.status_code == 401 and unauthenticated.headers["content-type"] == PROBLEM
    invalid = {**RESPONSE, "status": "in-progress"}
    assert _post(test_client, "/assessments/evaluate", {}, invalid).status_code == 401  # no token: 401 first
    admin = add_user(test_client.app.state.records, "fhir-admin", "admin")[1]
    forbidden = _post(test_client, "/assessments/evaluate", {"Authorization": f"Bearer {admin}"}, invalid)
    assert forbidden.status_code == 403
    huge = {**RESPONSE, "text": {"div": "x" * 300_000}}
    assert _post(test_client, "/assessments/evaluate", headers, huge).status_code == 413


def test_the_openapi_document_names_the_fhir_body(client: Any) -> None:
    test_client, _ = client
    paths = test_client.app.openapi()["paths"]  # served at /openapi.json only with KETAGUIDE_API_DOCS=true
    evaluate = paths["/api/v1/assessments/evaluate"]["post"]["requestBody"]["content"]
    encounter = paths["/api/v1/patients/{patient_id}/encounters"]["post"]["requestBody"]["content"]
    assert {"application/json", FHIR} <= set(evaluate) and {"application/json", FHIR} <= set(encounter)
    assert "authored" in encounter[FHIR]["schema"]["required"]
    assert "authored" not in evaluate[FHIR]["schema"]["required"]
    other = paths["/api/v1/dose/lamotrigine"]["post"]["requestBody"]["content"]
    assert FHIR not in other
