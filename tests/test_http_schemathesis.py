"""Property-based API testing with schemathesis: cases generated from the OpenAPI document, each sent with a token of
a role the operation admits, every response checked (no 5xx, documented status and content type, body matching
its schema, invalid data rejected). Bounded (a fixed number of examples per operation, derandomised) so the suite
stays fast; the number of generated cases is printed at the end of the module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

from ketaguide.bootstrap import SystemClock, build_runtime  # noqa: E402
from ketaguide.http.app import create_app  # noqa: E402
from ketaguide.services.access import Caller, Principal, Role  # noqa: E402
from ketaguide.services.patients import NewPatient, create_patient  # noqa: E402
from ketaguide.services.records import Records  # noqa: E402
from ketaguide.services.users import add_user  # noqa: E402
from ketaguide.settings import load_settings  # noqa: E402
from ketaguide.storage.engine import Database  # noqa: E402
from test_http_access_matrix import EXPECTED, PUBLIC  # noqa: E402
from test_server_support import sqlite_template  # noqa: E402, F401  # fixture

EXAMPLES_PER_OPERATION = 12  # per generation mode (positive and negative)
TOKENS: dict[str, str] = {}
GENERATED: list[tuple[str, str, str, int]] = []


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Any]:  # noqa: F811
    path = tmp_path_factory.mktemp("schemathesis") / "ketaguide.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    records = Records(database, SystemClock())
    for role in ("clinician", "curator", "admin"):
        user, TOKENS[role] = add_user(records, f"st-{role}", role)
        if role == "clinician":  # a live patient exists, as in any deployment
            create_patient(records, Caller(Principal(user.id, user.name, Role.CLINICIAN)), NewPatient(display_name="S"))
    with build_runtime(load_settings(retriever="lexical")) as runtime:
        # The document is read from /openapi.json (served with KETAGUIDE_API_DOCS=true). The `ignored_auth` check
        # probes every operation with a wrong token, a burst from one address that the rate limit (30 a minute)
        # would answer with 429 (tests/test_http_docs_and_rate_limits.py), so it is off here.
        app_settings = load_settings(retriever="lexical", api_docs=True, rate_limit=False)
        app = create_app(app_settings, runtime=runtime, records=records)
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    database.close()
    operations = len({(method, path) for method, path, *_ in GENERATED})
    errors = sum(1 for *_, status in GENERATED if status >= 500)
    print(f"\nschemathesis: {len(GENERATED)} generated cases over {operations} operations, {errors} with 5xx")


def _token_for(method: str, path: str) -> dict[str, str]:
    admitted = EXPECTED[(method.upper(), path)]
    if admitted == PUBLIC:
        return {}
    role = "clinician" if "clinician" in admitted else sorted(admitted)[0]
    return {"Authorization": f"Bearer {TOKENS[role]}"}


# Business rules beyond the schema make some schema-valid requests invalid (a birth year in the future, a medicine
# KetaGuide does not know, a stale If-Match, a patient id that does not exist), so positive_data_acceptance is off;
# every other check runs, negative_data_rejection included.
EXCLUDED_CHECKS = [positive_data_acceptance]
NO_INPUT = {("GET", "/api/v1/health"), ("GET", "/api/v1/ready"), ("GET", "/api/v1/sources"), ("GET", "/api/v1/users")}


@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED), ids=lambda value: str(value).replace("/api/v1", ""))
def test_api_conforms_to_its_openapi_document(api_schema: Any, method: str, path: str, mode: GenerationMode) -> None:
    if mode is GenerationMode.NEGATIVE and (method, path) in NO_INPUT:
        pytest.skip("no parameters or body to make invalid")
    operation = api_schema.find_operation_by_label(f"{method} {path}")
    assert operation is not None
    headers = _token_for(method, path)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def conforms(case: Any) -> None:
        response = case.call_and_validate(headers={**(case.headers or {}), **headers}, excluded_checks=EXCLUDED_CHECKS)
        GENERATED.append((method, path, mode.value, response.status_code))

    conforms()
