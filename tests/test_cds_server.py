"""CDS Hooks inside the server's app: `ketaguide.http.cds_hooks.router(settings)` beside the REST API, on the
app's own runtime, with every hook call in the server's hash-chained audit trail (SQLite here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

from test_cds_support import BASE, DATA, bearer, call, check_cards, clients_document, server_environment


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    yield from _server(tmp_path)


def _server(tmp_path: Path, **settings_given: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from ketaguide.bootstrap import SystemClock, build_runtime
    from ketaguide.http import cds_hooks
    from ketaguide.http.app import create_app
    from ketaguide.services.records import Records
    from ketaguide.settings import load_settings
    from ketaguide.storage.engine import Database
    from ketaguide.storage.schema import upgrade
    from ketaguide.storage.tables import audit_events

    clients = tmp_path / "cds-clients.json"
    clients.write_text(json.dumps(clients_document()), encoding="utf-8")
    settings = load_settings(retriever="lexical", cds_clients=clients, public_url=BASE, **settings_given)
    database = Database(f"sqlite:///{tmp_path / 'ketaguide.db'}")
    upgrade(database)
    runtime = build_runtime(settings)
    app = create_app(
        settings, runtime=runtime, records=Records(database, SystemClock()), routers=[cds_hooks.router(settings)]
    )
    with TestClient(app, base_url=BASE) as client:

        def trail() -> list[dict[str, Any]]:
            with database.read() as connection:
                return [
                    dict(r) for r in connection.execute(select(audit_events).order_by(audit_events.c.seq)).mappings()
                ]

        client.trail = trail
        yield client
    runtime.close()
    database.close()


def _now() -> datetime:
    return datetime.now(UTC)  # noqa: TID251  # the server app reads the system clock; its tokens must be current


def test_a_hook_call_in_the_server_app_is_in_its_audit_trail(server: Any) -> None:
    case = json.loads((DATA / "cases" / "sign-naltrexone-with-methadone.json").read_text(encoding="utf-8"))
    response = call(server, case["service"], case["request"], now=_now())
    assert response.status_code == 200
    assert [c["source"]["topic"]["code"] for c in check_cards(response.json())] == [c["type"] for c in case["cards"]]
    event = server.trail()[-1]
    assert event["action"] == "cds-call" and event["outcome"] == "success" and event["role"] == "ehr-client"
    assert event["resource_type"] == "cds:ketaguide-order-sign"
    assert event["resource_id"] == f"{case['request']['hookInstance']} Patient/example-kud"
    assert event["user_name"] == "https://ehr-es.example.org" and event["request_id"]


def test_refused_calls_are_audited_too(server: Any) -> None:
    assert server.get("/cds-services").status_code == 401
    event = server.trail()[-1]
    assert (event["action"], event["outcome"], event["user_name"]) == ("cds-discovery", "denied", "unverified client")


def test_feedback_counts_are_for_admins(server: Any) -> None:
    from ketaguide.services.users import add_user

    records = server.app.state.records
    admin, clinician = add_user(records, "admin-1", "admin")[1], add_user(records, "dr-1", "clinician")[1]
    case = json.loads((DATA / "cases" / "sign-naltrexone-with-methadone.json").read_text(encoding="utf-8"))
    card = call(server, case["service"], case["request"], now=_now()).json()["cards"][0]
    url = f"{BASE}/cds-services/{case['service']}/feedback"
    item = {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2026-12-01T12:00:00Z",
        "overrideReason": {"userComment": "methadone stopped last week"},
    }
    headers = {**bearer(url, now=_now()), "Content-Type": "application/json"}
    assert (
        server.post(url.removeprefix(BASE), content=json.dumps({"feedback": [item]}), headers=headers).status_code
        == 200
    )
    assert server.get("/api/v1/cds/feedback", headers={"Authorization": f"Bearer {clinician}"}).status_code == 403
    summary = server.get("/api/v1/cds/feedback", headers={"Authorization": f"Bearer {admin}"}).json()
    assert summary["card_types"] == [
        {
            "service_id": "ketaguide-order-sign",
            "card_type": "option.naltrexone.contraindicated",
            "accepted": 0,
            "overridden": 1,
            "override_reasons": {"no reason given": 1},
        }
    ]


def test_discovery_and_the_rest_api_share_the_app(server: Any) -> None:
    assert server.get("/cds-services", headers=bearer(f"{BASE}/cds-services", now=_now())).status_code == 200
    assert server.get("/api/v1/health").status_code == 200


def test_the_server_factory_includes_cds_hooks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from ketaguide.http.app import create_app_from_environment
    from ketaguide.storage.engine import Database
    from ketaguide.storage.schema import upgrade

    database = Database(f"sqlite:///{tmp_path / 'ketaguide.db'}")
    upgrade(database)
    database.close()
    monkeypatch.setenv("KETAGUIDE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KETAGUIDE_RETRIEVER", "lexical")
    with TestClient(create_app_from_environment()) as client:
        assert client.get("/cds-services").status_code == 401  # there, and closed to callers without a JWT
        assert client.get("/api/v1/health").status_code == 200


def test_failed_client_authentication_is_rate_limited_per_address(tmp_path: Path) -> None:
    """The REST API's limit on failed authentication covers EHR clients too: after the limit, a bare 429 with
    Retry-After, even with a good token, before the token is read; another address is unaffected."""
    from fastapi.testclient import TestClient

    server = _server(tmp_path, rate_limit_auth_failures="3/minute")
    client = next(server)
    try:
        case = json.loads((DATA / "cases" / "sign-naltrexone-with-methadone.json").read_text(encoding="utf-8"))
        bad = {"Authorization": "Bearer not-a-jwt", "Content-Type": "application/json"}
        refused = [client.post(f"/cds-services/{case['service']}", content="{}", headers=bad) for _ in range(3)]
        assert [r.status_code for r in refused] == [401, 401, 401]
        limited = call(client, case["service"], case["request"], now=_now())
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0 and limited.content == b""
        with TestClient(client.app, base_url=BASE, client=("198.51.100.9", 50000)) as elsewhere:
            assert call(elsewhere, case["service"], case["request"], now=_now()).status_code == 200
    finally:
        server.close()


def test_a_served_worker_freezes_its_start_up_objects(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`ketaguide serve`'s app: once started, what start-up built is out of the collector's reach (a full
    collection then walks only what requests left), and young collections come less often; it still serves."""
    import gc

    from fastapi.testclient import TestClient

    from ketaguide.cli.serve import YOUNG_COLLECTION_THRESHOLD, server_app

    server_environment(monkeypatch, tmp_path)
    thresholds = gc.get_threshold()
    app = server_app()
    try:
        gc.unfreeze()  # as a new worker starts: nothing frozen yet
        with TestClient(app) as client:
            assert gc.get_freeze_count() > 10_000
            assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *thresholds[1:])
            assert client.get("/cds-services").status_code == 401
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
