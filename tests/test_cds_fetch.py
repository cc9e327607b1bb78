"""The fetch path: prefetch keys the client did not send are read from its FHIR server (a real HTTP server on
127.0.0.1 here), with its token, within one deadline; anything else that leaves required data missing is a 412.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from test_cds_support import (
    FakeFhirServer,
    call,
    care_engine,
    cds_test_app,
    check_cards,
    clients_document,
    fhir_server,
    order_sign_case,
    timed,
)

__all__ = ["fhir_server"]  # the fixture, imported for pytest
TOKEN = "fhir-access-token-9c1d"
SERVICE = "ketaguide-order-sign"


@pytest.fixture(scope="module")
def engine() -> Any:
    return care_engine()


def _request(
    server: FakeFhirServer, *, drop: tuple[str, ...] = ("patient", "conditions", "medications")
) -> dict[str, Any]:
    request = copy.deepcopy(order_sign_case()["request"])
    for key in drop:
        request["prefetch"].pop(key)
    request["fhirServer"] = server.url
    request["fhirAuthorization"] = {
        "access_token": TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/Patient.read patient/Condition.read patient/MedicationRequest.read",
        "subject": "ketaguide",
        "patient": "example-kud",
    }
    return request


def _serve_case(server: FakeFhirServer) -> None:
    prefetch = order_sign_case()["request"]["prefetch"]
    server.routes["/Patient/example-kud"] = (200, prefetch["patient"])
    server.routes["/Condition?patient=example-kud&clinical-status=active"] = (200, prefetch["conditions"])
    server.routes["/MedicationRequest?patient=example-kud&status=active"] = (200, prefetch["medications"])


def _client(engine: Any, server: FakeFhirServer, budget: float = 2.0) -> Any:
    return cds_test_app(engine, clients=clients_document(fhir_servers=[server.url]), budget=budget)


def test_missing_keys_are_fetched_with_the_clients_token(engine: Any, fhir_server: FakeFhirServer) -> None:
    _serve_case(fhir_server)
    response = call(_client(engine, fhir_server), SERVICE, _request(fhir_server))
    assert response.status_code == 200, response.text
    cards = check_cards(response.json())
    assert [card["source"]["topic"]["code"] for card in cards] == [c["type"] for c in order_sign_case()["cards"]]
    paths = sorted(path for path, _ in fhir_server.requests)
    assert paths == [
        "/fhir/Condition?patient=example-kud&clinical-status=active",
        "/fhir/MedicationRequest?patient=example-kud&status=active",
        "/fhir/Patient/example-kud",
    ]
    for _, headers in fhir_server.requests:
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert headers["Accept"] == "application/fhir+json"


def test_only_the_missing_key_is_fetched(engine: Any, fhir_server: FakeFhirServer) -> None:
    _serve_case(fhir_server)
    response = call(_client(engine, fhir_server), SERVICE, _request(fhir_server, drop=("conditions",)))
    assert response.status_code == 200
    assert [path for path, _ in fhir_server.requests] == ["/fhir/Condition?patient=example-kud&clinical-status=active"]


def test_an_operation_outcome_in_prefetch_is_fetched_again(engine: Any, fhir_server: FakeFhirServer) -> None:
    _serve_case(fhir_server)
    request = _request(fhir_server, drop=())
    request["prefetch"]["medications"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    assert call(_client(engine, fhir_server), SERVICE, request).status_code == 200
    assert [path for path, _ in fhir_server.requests] == ["/fhir/MedicationRequest?patient=example-kud&status=active"]


def test_a_server_the_client_may_not_name_is_never_called(engine: Any, fhir_server: FakeFhirServer) -> None:
    _serve_case(fhir_server)
    client = cds_test_app(engine)  # the clients file lists no FHIR server
    response = call(client, SERVICE, _request(fhir_server))
    assert response.status_code == 412
    assert "no FHIR server KetaGuide may use" in response.json()["issue"][0]["diagnostics"]
    assert fhir_server.requests == []


def test_a_slow_server_is_a_412_within_the_deadline(engine: Any) -> None:
    server = FakeFhirServer(delay=3.0)
    try:
        _serve_case(server)
        client = _client(engine, server, budget=0.5)
        response, seconds = timed(lambda: call(client, SERVICE, _request(server)))
    finally:
        server.close()
    assert response.status_code == 412
    assert "did not answer in time" in response.json()["issue"][0]["diagnostics"]
    assert seconds < 2.0


@pytest.mark.parametrize(
    ("answer", "diagnostics"),
    [
        ((500, {"resourceType": "OperationOutcome"}), "HTTP 500"),
        ((200, b"<html>not fhir</html>"), "not JSON"),
        ((200, {"resourceType": "OperationOutcome", "issue": [{"severity": "fatal", "code": "exception"}]}), "error"),
        ((401, {}), "HTTP 401"),
    ],
    ids=["server-error", "not-json", "operation-outcome", "unauthorised"],
)
def test_a_failed_fetch_is_a_412(engine: Any, fhir_server: FakeFhirServer, answer: Any, diagnostics: str) -> None:
    _serve_case(fhir_server)
    fhir_server.routes["/Condition?patient=example-kud&clinical-status=active"] = answer
    response = call(_client(engine, fhir_server), SERVICE, _request(fhir_server))
    assert response.status_code == 412
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert diagnostics in response.json()["issue"][0]["diagnostics"]


def test_an_unknown_patient_is_no_data_not_an_error(engine: Any, fhir_server: FakeFhirServer) -> None:
    _serve_case(fhir_server)
    del fhir_server.routes["/Patient/example-kud"]
    response = call(_client(engine, fhir_server), SERVICE, _request(fhir_server))
    assert response.status_code == 200


def test_pages_are_followed_on_the_same_server(engine: Any, fhir_server: FakeFhirServer) -> None:
    _serve_case(fhir_server)
    medications = order_sign_case()["request"]["prefetch"]["medications"]
    first = {**medications, "entry": [], "link": [{"relation": "next", "url": f"{fhir_server.url}/page-2"}]}
    fhir_server.routes["/MedicationRequest?patient=example-kud&status=active"] = (200, first)
    fhir_server.routes["/page-2"] = (200, medications)
    response = call(_client(engine, fhir_server), SERVICE, _request(fhir_server))
    assert response.status_code == 200
    assert "/fhir/page-2" in [path for path, _ in fhir_server.requests]
    assert response.json()["cards"][0]["indicator"] == "critical"  # methadone was on the second page


def test_a_next_link_off_the_server_is_not_followed(engine: Any, fhir_server: FakeFhirServer) -> None:
    _serve_case(fhir_server)
    first = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": "http://127.0.0.2:9/x"}],
    }
    fhir_server.routes["/MedicationRequest?patient=example-kud&status=active"] = (200, first)
    response = call(_client(engine, fhir_server), SERVICE, _request(fhir_server))
    assert response.status_code == 412
    assert "leads off" in response.json()["issue"][0]["diagnostics"]


def test_a_paged_prefetch_without_a_server_is_a_412(engine: Any) -> None:
    request = copy.deepcopy(order_sign_case()["request"])
    request["prefetch"]["medications"]["link"] = [{"relation": "next", "url": "https://ehr.example.org/fhir/p2"}]
    response = call(cds_test_app(engine), SERVICE, request)
    assert response.status_code == 412
    assert "paged" in response.json()["issue"][0]["diagnostics"]


def test_the_fhir_token_is_never_logged_or_audited(
    engine: Any, fhir_server: FakeFhirServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    _serve_case(fhir_server)
    client = _client(engine, fhir_server)
    call(client, SERVICE, _request(fhir_server))
    fhir_server.routes["/Condition?patient=example-kud&clinical-status=active"] = (500, {})
    call(client, SERVICE, _request(fhir_server))
    assert TOKEN not in caplog.text
    assert all(TOKEN not in repr(event) for event in client.backend.audit.events)
