"""Feedback on issued cards: tied to the cards this service issued to this client, stored once, counted per card
type; and the stores behind it (memory and Redis), the replay guard shared by workers."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.testclient import TestClient

from test_cds_support import BASE, DATA, RS384, FixedClock, bearer, call, care_engine, cds_test_app

SERVICE = "ketaguide-order-sign"
FEEDBACK_URL = f"{BASE}/cds-services/{SERVICE}/feedback"


@pytest.fixture(scope="module")
def engine() -> Any:
    return care_engine()


@pytest.fixture
def client(engine: Any) -> Any:
    return cds_test_app(engine)


def _cards(client: Any) -> list[dict[str, Any]]:
    case = json.loads((DATA / "cases" / "sign-naltrexone-with-methadone.json").read_text(encoding="utf-8"))
    cards: list[dict[str, Any]] = call(client, SERVICE, case["request"]).json()["cards"]
    return cards


def _send(client: Any, items: list[dict[str, Any]], service: str = SERVICE, **token_kwargs: Any) -> Any:
    url = f"{BASE}/cds-services/{service}/feedback"
    headers = {**bearer(url, **token_kwargs), "Content-Type": "application/json"}
    return client.post(f"/cds-services/{service}/feedback", content=json.dumps({"feedback": items}), headers=headers)


def _accepted(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
        "outcomeTimestamp": "2026-12-01T12:01:00.123Z",
    }


def _overridden(
    card: dict[str, Any], code: str | None = "cds-not-applicable", comment: str | None = None
) -> dict[str, Any]:
    reason: dict[str, Any] = {}
    if code:  # the sandbox sends the reason without its display
        reason["reason"] = {"code": code, "system": "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes"}
    if comment:
        reason["userComment"] = comment
    return {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": reason,
        "outcomeTimestamp": "2026-12-01T12:02:00Z",
    }


def test_feedback_is_stored_once_and_counted_per_card_type(client: Any) -> None:
    from ketaguide.cdshooks.stores import feedback_summary

    critical, warning = _cards(client)
    assert _send(client, [_accepted(critical), _overridden(warning)]).status_code == 200
    assert _send(client, [_accepted(critical)]).status_code == 200  # the same item again: idempotent
    summary = feedback_summary(_stores(client).feedback.records())
    assert [(c.card_type, c.accepted, c.overridden, c.override_reasons) for c in summary] == [
        ("interaction.naltrexone-opioids", 0, 1, {"cds-not-applicable": 1}),
        ("option.naltrexone.contraindicated", 1, 0, {}),
    ]
    assert len(_stores(client).feedback.records()) == 2
    assert client.backend.audit.events[-1].action == "cds-feedback"


def test_the_latest_outcome_of_a_card_counts(client: Any) -> None:
    from ketaguide.cdshooks.stores import feedback_summary

    critical, _ = _cards(client)
    later = {**_overridden(critical, comment="patient stopped methadone"), "outcomeTimestamp": "2026-12-01T13:00:00Z"}
    assert _send(client, [_accepted(critical), later]).status_code == 200
    summary = feedback_summary(_stores(client).feedback.records())
    assert [(c.accepted, c.overridden) for c in summary] == [(0, 1)]


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda card: {**_accepted(card), "card": str(uuid.uuid4())}, "not a card this service issued"),
        (lambda card: {**_accepted(card), "acceptedSuggestions": [{"id": "not-suggested"}]}, "not suggested"),
        (lambda card: {k: v for k, v in _accepted(card).items() if k != "acceptedSuggestions"}, "cds-fb-2"),
        (lambda card: {**_overridden(card, code=None)}, "cds-fb-3"),
        (lambda card: {**_accepted(card), "outcomeTimestamp": "2026-12-01T12:01:00"}, "timezone"),
        (lambda card: {**_accepted(card), "outcome": "ignored"}, "outcome"),
        (lambda card: {**_accepted(card), "extra": 1}, "extra"),
    ],
    ids=[
        "unknown-card",
        "unknown-suggestion",
        "accepted-without-suggestions",
        "empty-reason",
        "no-timezone",
        "bad-outcome",
        "unknown-member",
    ],
)
def test_bad_feedback_is_refused_whole(client: Any, make: Any, problem: str) -> None:
    critical, warning = _cards(client)
    response = _send(client, [_overridden(warning), make(critical)])
    assert response.status_code == 400
    assert problem.lower() in response.json()["issue"][0]["diagnostics"].lower()
    assert _stores(client).feedback.records() == []


def test_feedback_for_another_services_card_is_refused(client: Any) -> None:
    critical, _ = _cards(client)
    response = _send(client, [_accepted(critical)], service="ketaguide-order-select")
    assert response.status_code == 400


def test_feedback_from_another_client_is_refused(client: Any) -> None:
    critical, _ = _cards(client)
    assert _send(client, [_accepted(critical)], key=RS384).status_code == 400


def test_feedback_needs_a_token_for_the_feedback_url(client: Any) -> None:
    critical, _ = _cards(client)
    headers = {**bearer(f"{BASE}/cds-services/{SERVICE}"), "Content-Type": "application/json"}
    body = json.dumps({"feedback": [_accepted(critical)]})
    assert client.post(f"/cds-services/{SERVICE}/feedback", content=body, headers=headers).status_code == 401


def _admin_only(request: Request) -> None:
    if request.headers.get("x-role") != "admin":
        raise HTTPException(403)


def test_the_admin_summary_router(client: Any) -> None:
    from ketaguide.http.cds_hooks import feedback_admin_router

    critical, warning = _cards(client)
    _send(client, [_accepted(critical), _overridden(warning)])
    app = FastAPI()
    app.include_router(feedback_admin_router(_stores(client).feedback, [Depends(_admin_only)]), prefix="/api/v1")
    admin = TestClient(app)
    assert admin.get("/api/v1/cds/feedback").status_code == 403
    body = admin.get("/api/v1/cds/feedback", headers={"x-role": "admin"}).json()
    assert {c["card_type"]: (c["accepted"], c["overridden"]) for c in body["card_types"]} == {
        "interaction.naltrexone-opioids": (0, 1),
        "option.naltrexone.contraindicated": (1, 0),
    }


def _stores(client: Any) -> Any:
    return client.stores


# --- the stores themselves -----------------------------------------------------------------------------------------


@pytest.fixture
def redis_stores() -> Any:
    redis = pytest.importorskip("redis")
    from ketaguide.cdshooks.stores import CdsStores

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"ketaguide-test:{uuid.uuid4().hex}:"
    yield CdsStores.redis("redis://127.0.0.1:6379/0", prefix=prefix)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def _replay_caches(redis_stores: Any) -> list[Any]:
    from ketaguide.cdshooks.stores import MemoryReplayCache

    return [MemoryReplayCache(), redis_stores.replay]


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_a_jti_is_accepted_once_across_threads(redis_stores: Any, kind: str) -> None:
    cache = _replay_caches(redis_stores)[kind == "redis"]
    results: list[bool] = []
    until = datetime.now(UTC) + timedelta(minutes=5)  # noqa: TID251  # Redis expiry is real time
    barrier = threading.Barrier(16)

    def use() -> None:
        barrier.wait()
        results.append(cache.first_use("https://ehr.example.org", "jti-1", until))

    threads = [threading.Thread(target=use) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 15 + [True]


def test_two_workers_sharing_redis_refuse_a_replay(engine: Any, redis_stores: Any) -> None:
    """Two apps (two workers) with their own memory but one Redis: a token used on one fails on the other.
    (Redis expires keys on its own clock, so this test runs on real time.)"""
    now = datetime.now(UTC)  # noqa: TID251  # Redis expires the jti on real time, not the test's fixed clock
    first = cds_test_app(engine, stores=redis_stores, clock=FixedClock(now))
    second = cds_test_app(engine, stores=redis_stores, clock=FixedClock(now))
    headers = bearer(f"{BASE}/cds-services", now=now)
    assert first.get("/cds-services", headers=headers).status_code == 200
    assert second.get("/cds-services", headers=headers).status_code == 401


def test_redis_ledger_and_feedback_round_trip(redis_stores: Any) -> None:
    from ketaguide.cdshooks.stores import FeedbackRecord, IssuedCard

    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    card = IssuedCard("u-1", SERVICE, "h-1", "https://ehr", "assessment", "info", ("s-1",), now)
    redis_stores.cards.record([card])
    assert redis_stores.cards.get("u-1") == card
    assert redis_stores.cards.get("u-2") is None
    item = FeedbackRecord("u-1", SERVICE, "assessment", "https://ehr", "accepted", ("s-1",), None, None, None, now, now)
    assert redis_stores.feedback.record(item) is True
    assert redis_stores.feedback.record(item) is False
    assert redis_stores.feedback.records() == [item]


def test_an_unreachable_redis_fails_closed(engine: Any) -> None:
    from ketaguide.cdshooks.stores import CdsStores

    stores = CdsStores.redis("redis://127.0.0.1:1/0")
    client = cds_test_app(engine, stores=stores)
    response = client.get("/cds-services", headers=bearer(f"{BASE}/cds-services"))
    assert response.status_code == 503
    assert response.json()["issue"][0]["code"] == "transient"


def test_an_audit_that_cannot_be_written_fails_the_call(engine: Any) -> None:
    class Broken:
        def record(self, event: Any) -> None:
            raise OSError("disk full")

    client = cds_test_app(engine, audit=Broken())
    assert client.get("/cds-services", headers=bearer(f"{BASE}/cds-services")).status_code == 503
