"""The REST API in process (FastAPI's TestClient), on SQLite and PostgreSQL: every route's contract, problem
details, ETags and If-Match, soft delete, idempotent encounters, strict JSON, observations, evidence, audit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ketaguide.bootstrap import Runtime, SystemClock, build_runtime
from ketaguide.services.records import Records
from ketaguide.services.users import add_user, revoke_user
from ketaguide.settings import load_settings
from ketaguide.storage.engine import Database
from test_server_support import (  # noqa: F401  # fixtures
    database,
    database_url,
    postgres,
    postgres_template,
    sqlite_template,
)

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from ketaguide.http.app import create_app

INTAKES = Path(__file__).resolve().parents[1] / "examples" / "intakes"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="session")
def runtime() -> Iterator[Runtime]:
    with build_runtime(load_settings(retriever="lexical")) as built:
        yield built


class Api:
    """A TestClient with a token per role."""

    def __init__(self, client: TestClient, records: Records) -> None:
        self.client = client
        self.records = records
        self.tokens = {role: add_user(records, f"user-{role}", role)[1] for role in ("clinician", "curator", "admin")}

    def headers(self, role: str = "clinician", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **extra}

    def call(self, method: str, path: str, role: str = "clinician", headers: dict[str, str] | None = None, **kw: Any):  # type: ignore[no-untyped-def]
        return self.client.request(method, f"/api/v1{path}", headers={**self.headers(role), **(headers or {})}, **kw)


@pytest.fixture
def api(runtime: Runtime, database: Database) -> Iterator[Api]:  # noqa: F811
    records = Records(database=database, clock=SystemClock())
    app = create_app(load_settings(retriever="lexical"), runtime=runtime, records=records)
    with TestClient(app) as client:
        yield Api(client, records)


def _intake(name: str = "severe-relapse-prevention") -> dict[str, Any]:
    document: dict[str, Any] = json.loads((INTAKES / f"{name}.json").read_text())
    return document


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and "Traceback" not in response.text
    return body


def test_patient_lifecycle_with_etags_and_soft_delete(api: Api) -> None:
    created = api.call("POST", "/patients", json={"display_name": "Ann Lee", "mrn": "A-1", "birth_year": 1984})
    assert created.status_code == 201 and created.headers["etag"] == '"1"'
    patient = created.json()
    assert created.headers["location"] == f"/api/v1/patients/{patient['id']}"
    path = f"/patients/{patient['id']}"
    read = api.call("GET", path)
    assert read.json() == patient and read.headers["cache-control"] == "no-store"
    _problem(api.call("PATCH", path, json={"birth_year": 1985}), 428)
    changed = api.call("PATCH", path, json={"birth_year": 1985, "mrn": None}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.headers["etag"] == '"2"'
    assert (changed.json()["birth_year"], changed.json()["mrn"]) == (1985, None)
    _problem(api.call("PATCH", path, json={"birth_year": 1990}, headers={"If-Match": '"1"'}), 412)
    _problem(api.call("PATCH", path, json={"birth_year": 1990}, headers={"If-Match": "garbage"}), 412)
    assert api.call("PATCH", path, json={"display_name": "Ann B"}, headers={"If-Match": 'W/"2"'}).status_code == 200
    _problem(api.call("PATCH", path, json={"display_name": None}, headers={"If-Match": "*"}), 422)
    assert api.call("DELETE", path).status_code == 204
    _problem(api.call("GET", path), 410)
    _problem(api.call("DELETE", path), 410)
    _problem(api.call("PATCH", path, json={"birth_year": 1990}, headers={"If-Match": '"3"'}), 410)
    _problem(api.call("GET", "/patients/not-a-patient"), 404)
    assert api.call("GET", "/patients").json()["total"] == 0


def test_patients_are_paginated_and_searched_by_name_or_mrn(api: Api) -> None:
    for n in range(7):
        api.call("POST", "/patients", json={"display_name": f"Patient {n}", "mrn": f"M{n}"})
    page = api.call("GET", "/patients", params={"limit": 3, "offset": 3}).json()
    assert page["total"] == 7 and [p["display_name"] for p in page["items"]] == [f"Patient {n}" for n in (3, 4, 5)]
    assert api.call("GET", "/patients", params={"q": "patient 6"}).json()["total"] == 1
    assert api.call("GET", "/patients", params={"q": "M2"}).json()["items"][0]["display_name"] == "Patient 2"
    _problem(api.call("GET", "/patients", params={"limit": 0}), 422)
    _problem(api.call("POST", "/patients", json={"display_name": "Dup", "mrn": "M1"}), 409)


def test_invalid_bodies_list_every_field_problem(api: Api) -> None:
    body = _problem(api.call("POST", "/patients", json={"display_name": "", "birth_year": "1990", "x": 1}), 422)
    assert {e["field"] for e in body["errors"]} == {"display_name", "birth_year", "x"}
    body = _problem(api.call("POST", "/patients", json={"display_name": "F", "birth_year": 2190}), 422)
    assert body["errors"][0]["field"] == "birth_year"
    duplicate = b'{"display_name": "a", "display_name": "b"}'
    body = _problem(api.call("POST", "/patients", content=duplicate, headers={"content-type": "application/json"}), 422)
    assert "duplicate key" in body["errors"][0]["problem"]
    for raw in (b'{"question": NaN}', b'{"question": 1e999}', b"[" * 100 + b"]" * 100, b"\xff"):
        _problem(api.call("POST", "/answers", content=raw, headers={"content-type": "application/json"}), 422)
    _problem(api.call("POST", "/answers", content=b"question=x", headers={"content-type": "text/plain"}), 415)
    big = json.dumps({"question": "x" * 300_000}).encode()
    _problem(api.call("POST", "/answers", content=big, headers={"content-type": "application/json"}), 413)


def test_encounters_store_the_intake_and_its_care_plan_once_per_idempotency_key(api: Api) -> None:
    patient = api.call("POST", "/patients", json={"display_name": "Enc"}).json()
    path = f"/patients/{patient['id']}/encounters"
    body = {"intake": _intake(), "observed_at": "2026-11-30T09:15:00+01:00"}
    first = api.call("POST", path, json=body, headers={"Idempotency-Key": "visit-1"})
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    encounter = first.json()
    assert encounter["intake"] == {**json.loads(json.dumps(encounter["intake"])), **_intake()}
    assert encounter["care_plan"]["provenance"]["content_hash"].startswith("sha256:")
    assert encounter["observed_at"] == "2026-11-30T08:15:00Z"
    again = api.call("POST", path, json=body, headers={"Idempotency-Key": "visit-1"})
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == encounter["id"]
    other = {**body, "observed_at": "2026-11-30T10:00:00Z"}
    _problem(api.call("POST", path, json=other, headers={"Idempotency-Key": "visit-1"}), 422)
    assert api.call("POST", path, json=other).status_code == 201
    listing = api.call("GET", path).json()
    assert listing["total"] == 2 and listing["items"][0]["observed_at"] == "2026-11-30T10:00:00Z"
    stored = api.call("GET", f"{path}/{encounter['id']}").json()
    assert stored == encounter
    _problem(api.call("GET", f"{path}/nope"), 404)
    naive = {**body, "observed_at": "2026-11-30T09:15:00"}
    _problem(api.call("POST", path, json=naive), 422)
    bad = _problem(api.call("POST", path, json={**body, "intake": {"age": 30, "sex": "m", "criteria": ["x"]}}), 422)
    assert {e["field"] for e in bad["errors"]} == {"intake.sex", "intake.criteria[0]"}
    _problem(api.call("POST", "/patients/nope/encounters", json=body), 404)


def test_observations_form_a_time_series(api: Api) -> None:
    patient = api.call("POST", "/patients", json={"display_name": "Obs"}).json()
    path = f"/patients/{patient['id']}/observations"
    for day, craving in (("2026-11-20", 7), ("2026-11-06", 9), ("2026-11-27", 4)):
        observation = {
            "observed_on": day,
            "craving_score": craving,
            "use_days_past_7": 2,
            "urine_drug_screen": "negative",
            "bladder_symptoms": ["urinary_frequency", "dysuria"],
            "phq2_score": 3,
            "suicidality_screen": "negative",
        }
        assert api.call("POST", path, json=observation).status_code == 201
    series = api.call("GET", path).json()
    assert [(o["observed_on"], o["craving_score"]) for o in series["items"]] == [
        ("2026-11-06", 9),
        ("2026-11-20", 7),
        ("2026-11-27", 4),
    ]
    bad = _problem(
        api.call("POST", path, json={"observed_on": "2026-11-01", "craving_score": 11, "phq2_score": 7}), 422
    )
    assert {e["field"] for e in bad["errors"]} == {"craving_score", "phq2_score"}
    _problem(api.call("POST", path, json={"observed_on": "2999-01-01"}), 422)


def test_decision_support_routes_return_the_contracts(api: Api) -> None:
    answer = api.call("POST", "/answers", json={"question": "Does lamotrigine help with ketamine craving?"})
    assert answer.status_code == 200 and answer.json()["provenance"]["retriever"] == "lexical"
    plan = api.call("POST", "/assessments/evaluate", json={"intake": _intake("acute-intoxication")})
    assert plan.status_code == 200 and plan.json()["phase"] == "intoxication"
    dose = api.call("POST", "/dose/lamotrigine", json={"with": ["Depakote"]})
    assert dose.status_code == 200 and dose.json()["regimen"]
    _problem(api.call("POST", "/dose/lamotrigine", json={"with": ["unobtainium"]}), 422)
    order = api.call("POST", "/dose/ketamine-order", json={"weight_kg": 70, "route": "iv", "mg": 140})
    assert order.status_code == 200 and order.json()["mg_per_kg"] == 2.0
    _problem(api.call("POST", "/dose/ketamine-order", json={"weight_kg": 70, "route": "oral", "mg": 140}), 422)


def test_evidence_routes(api: Api) -> None:
    sources = api.call("GET", "/sources", role="curator").json()
    assert sources and {"id", "title", "reliability_level"} <= set(sources[0])
    detail = api.call("GET", f"/sources/{sources[0]['id']}", role="curator").json()
    assert detail["text"] and detail["reliability"]["items"]
    claims = api.call("GET", "/claims", params={"q": "bladder", "limit": 2}, role="curator").json()
    assert claims["total"] >= len(claims["items"]) > 0
    claim = claims["items"][0]
    assert api.call("GET", f"/claims/{claim['id']}", role="curator").json() == claim
    assert detail["text"][claim["start"] : claim["end"]] == claim["quote"] or claim["source_id"] != detail["id"]
    _problem(api.call("GET", "/claims/nope", role="curator"), 404)
    _problem(api.call("GET", "/sources/nope"), 404)


def test_admins_read_the_audit_trail_and_manage_users(api: Api) -> None:
    patient = api.call("POST", "/patients", json={"display_name": "Audited Person"}).json()
    api.call("GET", f"/patients/{patient['id']}")
    api.call("GET", f"/patients/{patient['id']}", role="curator")  # refused: an audit event too
    trail = api.call("GET", "/audit", role="admin", params={"patient_id": patient["id"]}).json()
    assert [(e["action"], e["outcome"], e["user_name"]) for e in reversed(trail["items"])] == [
        ("create", "success", "user-clinician"),
        ("read", "success", "user-clinician"),
    ]
    refusals = api.call("GET", "/audit", role="admin", params={"user": "user-curator"}).json()["items"]
    assert [(e["action"], e["outcome"], e["resource_type"]) for e in refusals] == [("access", "denied", "patient")]
    assert "Audited Person" not in api.call("GET", "/audit", role="admin").text
    added = api.call("POST", "/users", role="admin", json={"name": "new-doc", "role": "clinician"})
    assert added.status_code == 201
    token = added.json()["token"]
    assert api.client.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    _problem(api.call("POST", "/users", role="admin", json={"name": "new-doc", "role": "clinician"}), 409)
    assert api.call("POST", "/users/new-doc/revoke", role="admin").json()["revoked_at"]
    _problem(api.client.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"}), 401)
    names = [u["name"] for u in api.call("GET", "/users", role="admin").json()]
    assert names == ["user-clinician", "user-curator", "user-admin", "new-doc"]


def test_a_revoked_token_is_refused_on_its_very_next_request(api: Api) -> None:
    # Each request looks its token up (one statement, built once) and nothing remembers a decision between requests,
    # so a revocation made elsewhere (the command line, another worker) counts at once.
    token = add_user(api.records, "locum", "clinician")[1]
    evaluate = {"url": "/api/v1/assessments/evaluate", "json": {"intake": _intake()}}
    assert api.client.post(**evaluate, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    revoke_user(api.records, "locum")
    _problem(api.client.post(**evaluate, headers={"Authorization": f"Bearer {token}"}), 401)
    assert api.client.post(**evaluate, headers=api.headers()).status_code == 200  # other tokens are unaffected
    _problem(api.client.post(**evaluate, headers=api.headers("curator")), 403)  # a role the route does not admit


def test_health_ready_openapi_and_request_ids(api: Api) -> None:
    assert api.client.get("/api/v1/health").json() == {"status": "ok"}
    ready = api.client.get("/api/v1/ready").json()
    assert ready["status"] == "ready" and ready["schema_revision"] and ready["content_version"]
    document = api.client.app.openapi()  # built either way; served only with KETAGUIDE_API_DOCS=true
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert api.client.get("/docs").status_code == 404  # tests/test_http_docs_and_rate_limits.py: docs on
    echoed = api.client.get("/api/v1/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    forged = api.client.get("/api/v1/health", headers={"X-Request-ID": "bad id;<x>"})
    assert forged.headers["x-request-id"] != "bad id;<x>"
    not_found = _problem(api.client.get("/api/v1/nowhere"), 404)
    assert not_found["title"] == "Not found"
    wrong = _problem(api.client.put("/api/v1/patients", headers=api.headers()), 405)
    assert wrong["status"] == 405 and api.client.put("/api/v1/patients").headers["allow"]


def test_logs_hold_no_names_tokens_or_queries(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    created = api.call("POST", "/patients", json={"display_name": "Secret Name", "mrn": "SECRET-MRN"}).json()
    api.call("GET", "/patients", params={"q": "Secret"})
    api.call("GET", f"/patients/{created['id']}")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("ketaguide"))
    assert "GET /api/v1/patients/{patient_id} 200" in logged
    for secret in ("Secret", "SECRET-MRN", api.tokens["clinician"], created["id"]):
        assert secret not in logged
