"""Deny by default: every operation of the OpenAPI document, for every role and for no token, a malformed token and
a revoked user's token, against the expected matrix. A route added without an entry here fails the test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ketaguide.bootstrap import SystemClock, build_runtime
from ketaguide.services.records import Records
from ketaguide.services.users import add_user, revoke_user
from ketaguide.settings import load_settings
from ketaguide.storage.engine import Database
from test_server_support import database, database_url, sqlite_template  # noqa: F401  # fixtures

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from ketaguide.http.app import create_app

PUBLIC = "public"
CLINICIAN, CURATOR, ADMIN = {"clinician"}, {"curator"}, {"admin"}
EXPECTED: dict[tuple[str, str], set[str] | str] = {
    ("GET", "/api/v1/health"): PUBLIC,
    ("GET", "/api/v1/ready"): PUBLIC,
    ("POST", "/api/v1/answers"): CLINICIAN,
    ("POST", "/api/v1/assessments/evaluate"): CLINICIAN,
    ("POST", "/api/v1/dose/lamotrigine"): CLINICIAN,
    ("POST", "/api/v1/dose/ketamine-order"): CLINICIAN,
    ("POST", "/api/v1/patients"): CLINICIAN,
    ("GET", "/api/v1/patients"): CLINICIAN,
    ("GET", "/api/v1/patients/{patient_id}"): CLINICIAN,
    ("PATCH", "/api/v1/patients/{patient_id}"): CLINICIAN,
    ("DELETE", "/api/v1/patients/{patient_id}"): CLINICIAN,
    ("POST", "/api/v1/patients/{patient_id}/encounters"): CLINICIAN,
    ("GET", "/api/v1/patients/{patient_id}/encounters"): CLINICIAN,
    ("GET", "/api/v1/patients/{patient_id}/encounters/{encounter_id}"): CLINICIAN,
    ("POST", "/api/v1/patients/{patient_id}/observations"): CLINICIAN,
    ("GET", "/api/v1/patients/{patient_id}/observations"): CLINICIAN,
    ("GET", "/api/v1/sources"): CLINICIAN | CURATOR,
    ("GET", "/api/v1/sources/{source_id}"): CLINICIAN | CURATOR,
    ("GET", "/api/v1/claims"): CLINICIAN | CURATOR,
    ("GET", "/api/v1/claims/{claim_id}"): CLINICIAN | CURATOR,
    ("GET", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users/{name}/revoke"): ADMIN,
    ("GET", "/api/v1/audit"): ADMIN,
}
# Mounted with CDS Hooks (`ketaguide.http.cds_hooks.router`, as `ketaguide serve` does); its /cds-services routes
# are not API operations (described by discovery, authenticated by the EHR's JWT).
CDS_EXPECTED: dict[tuple[str, str], set[str] | str] = {
    ("GET", "/api/v1/cds/feedback"): ADMIN,
}
ALL_EXPECTED = {**EXPECTED, **CDS_EXPECTED}
ROLES = ("clinician", "curator", "admin")
BAD_CREDENTIALS = ("none", "malformed", "revoked", "unknown", "basic")


@pytest.fixture(scope="module")
def client_and_tokens(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Any,  # noqa: F811
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    import shutil

    path = tmp_path_factory.mktemp("matrix") / "ketaguide.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    records = Records(db, SystemClock())
    tokens = {role: add_user(records, role, role)[1] for role in ROLES}
    tokens["revoked"] = add_user(records, "gone", "clinician")[1]
    revoke_user(records, "gone")
    with build_runtime(load_settings(retriever="lexical")) as runtime:
        from ketaguide.http import cds_hooks

        # Its wrong tokens, a burst from one address, are what the rate limit refuses with 429 after a few
        # (tests/test_http_docs_and_rate_limits.py); here they must each reach authentication.
        settings = load_settings(retriever="lexical", rate_limit=False)
        app = create_app(settings, runtime=runtime, records=records, routers=[cds_hooks.router(settings)])
        with TestClient(app) as client:
            yield client, tokens
    db.close()


def _operations(client: TestClient) -> list[tuple[str, str]]:
    document = client.app.openapi()  # served at /openapi.json only with KETAGUIDE_API_DOCS=true
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


def _headers(credential: str, tokens: dict[str, str]) -> dict[str, str]:
    if credential == "none":
        return {}
    if credential == "malformed":
        return {"Authorization": "Bearer not-a-token"}
    if credential == "unknown":
        return {"Authorization": "Bearer kg_" + "A" * 43}
    if credential == "basic":
        return {"Authorization": "Basic dXNlcjpwYXNz"}
    return {"Authorization": f"Bearer {tokens[credential]}"}


def test_every_operation_is_in_the_matrix(client_and_tokens: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = client_and_tokens
    assert sorted(_operations(client)) == sorted(ALL_EXPECTED)


def test_every_role_and_credential_gets_what_the_matrix_says(
    client_and_tokens: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = client_and_tokens
    cases = unauthorized_2xx = 0
    for method, template in _operations(client):
        path = template.format(patient_id="p", encounter_id="e", source_id="s", claim_id="c", name="nobody")
        admitted = ALL_EXPECTED[(method, template)]
        for credential in ROLES + BAD_CREDENTIALS:
            response = client.request(method, path, headers=_headers(credential, tokens), json={})
            status, cases = response.status_code, cases + 1
            if admitted == PUBLIC:
                assert status in (200, 503), (method, template, credential, status)
            elif credential in admitted:
                assert status not in (401, 403), (method, template, credential, status)
            else:
                expected = 403 if credential in ROLES else 401
                assert status == expected, (method, template, credential, status, response.text)
                unauthorized_2xx += 200 <= status < 300
    assert cases == len(ALL_EXPECTED) * (len(ROLES) + len(BAD_CREDENTIALS)) and unauthorized_2xx == 0
