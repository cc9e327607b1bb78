"""The CDS stores on the server's database (SQLite and PostgreSQL): the JWT replay guard decided by the `cds_jti`
primary key (two workers, one accepts), issued cards, idempotent feedback; the server factory uses them without
Redis, and a second worker on the same database refuses a replayed token."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

from ketaguide.cdshooks import database as cds_database
from ketaguide.cdshooks.database import DatabaseCardLedger, DatabaseFeedbackLog, DatabaseReplayCache
from ketaguide.cdshooks.stores import (
    CdsStores,
    FeedbackRecord,
    IssuedCard,
    StoreUnavailable,
    feedback_summary,
    stores_from_settings,
)
from ketaguide.storage.engine import Database
from test_cds_support import BASE, DATA, bearer, server_environment, service_url
from test_server_support import (  # noqa: F401  # fixtures
    database_url,
    postgres,
    postgres_template,
    sqlite_template,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class FixedClock:
    at: datetime = NOW

    def now(self) -> datetime:
        return self.at


@dataclass(frozen=True)
class Stored:
    """The server's records as the stores see them: a database and a clock."""

    database: Database
    clock: FixedClock = FixedClock()


def _on(database: Database) -> Callable[[], Stored]:
    stored = Stored(database)
    return lambda: stored


@pytest.fixture
def databases(database_url: str) -> Iterator[tuple[Database, Database]]:  # noqa: F811
    """Two engines on one database: two workers."""
    first, second = Database(database_url), Database(database_url)
    yield first, second
    first.close()
    second.close()


def test_a_jti_is_accepted_once_per_issuer(databases: tuple[Database, Database]) -> None:
    one, two = DatabaseReplayCache(_on(databases[0])), DatabaseReplayCache(_on(databases[1]))
    until = NOW + timedelta(minutes=5)
    assert one.first_use("https://ehr-a", "jti-1", until)
    assert not one.first_use("https://ehr-a", "jti-1", until)
    assert not two.first_use("https://ehr-a", "jti-1", until)  # another worker
    assert two.first_use("https://ehr-b", "jti-1", until)  # another issuer


def test_of_racing_workers_exactly_one_accepts(databases: tuple[Database, Database]) -> None:
    caches = [DatabaseReplayCache(_on(d)) for d in databases]
    barrier = threading.Barrier(8)
    accepted: list[bool] = []

    def claim(n: int) -> None:
        barrier.wait()
        accepted.append(caches[n % 2].first_use("https://ehr-a", "raced", NOW + timedelta(minutes=5)))

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(accepted) == [False] * 7 + [True]


def test_a_batch_of_claims_stores_each_pair_once(databases: tuple[Database, Database]) -> None:
    """One INSERT for a batch of calls (the call recorder's group commit): a pair claimed before, or earlier in the
    same batch, is not claimed again."""
    from ketaguide.storage.cds import claim_jtis

    until = NOW + timedelta(minutes=5)
    assert DatabaseReplayCache(_on(databases[1])).first_use("https://ehr-a", "before", until)
    batch = [("https://ehr-a", jti, until) for jti in ("before", "one", "two", "one")]
    batch.append(("https://ehr-b", "one", until))
    with databases[0].write() as connection:
        stored = claim_jtis(connection, batch)
    assert stored == {("https://ehr-a", "one"), ("https://ehr-a", "two"), ("https://ehr-b", "one")}
    with databases[0].write() as connection:
        assert claim_jtis(connection, batch) == set() and claim_jtis(connection, []) == set()


def test_expired_pairs_are_purged(databases: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import func, select

    from ketaguide.storage.tables import cds_jti

    monkeypatch.setattr(cds_database, "PURGE_EVERY", 1)
    cache = DatabaseReplayCache(_on(databases[0]))
    assert cache.first_use("https://ehr-a", "old", NOW - timedelta(minutes=1))
    assert cache.first_use("https://ehr-a", "new", NOW + timedelta(minutes=5))
    with databases[0].read() as connection:
        assert connection.execute(select(func.count()).select_from(cds_jti)).scalar() == 1


def _card(uuid_: str, issued_at: datetime = NOW, card_type: str = "option.naltrexone.contraindicated") -> IssuedCard:
    return IssuedCard(
        uuid_, "ketaguide-order-sign", str(uuid.uuid4()), "https://ehr-a", card_type, "critical", ("s-1",), issued_at
    )


def test_issued_cards_are_shared_and_lapse(databases: tuple[Database, Database]) -> None:
    writer, reader = DatabaseCardLedger(_on(databases[0])), DatabaseCardLedger(_on(databases[1]))
    fresh, old = _card("c-fresh"), _card("c-old", NOW - timedelta(days=31))
    writer.record([fresh, old])
    writer.record([fresh])  # recorded again: no error, no second row
    writer.record([])
    assert reader.get("c-fresh") == fresh
    assert reader.get("c-old") is None and reader.get("c-unknown") is None


def _feedback(card: str, outcome: str = "overridden", minute: int = 1, **kw: Any) -> FeedbackRecord:
    values: dict[str, Any] = {
        "card_uuid": card,
        "service_id": "ketaguide-order-sign",
        "card_type": "option.naltrexone.contraindicated",
        "iss": "https://ehr-a",
        "outcome": outcome,
        "accepted_suggestions": ("s-1",) if outcome == "accepted" else (),
        "reason_code": "cds-not-applicable" if outcome == "overridden" else None,
        "reason_system": "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes"
        if outcome == "overridden"
        else None,
        "user_comment": None,
        "outcome_at": NOW + timedelta(minutes=minute),
        "received_at": NOW + timedelta(minutes=minute, seconds=1),
    }
    return FeedbackRecord(**{**values, **kw})


def test_feedback_is_stored_once_and_counted(databases: tuple[Database, Database]) -> None:
    one, two = DatabaseFeedbackLog(_on(databases[0])), DatabaseFeedbackLog(_on(databases[1]))
    first = _feedback("c-1", user_comment="stopped methadone")
    assert one.record(first)
    assert not two.record(first)  # the same item from another worker: a repeat
    assert two.record(_feedback("c-1", "accepted", minute=2))
    assert two.record(_feedback("c-2"))
    stored = one.records()
    assert len(stored) == 3 and first in stored
    [count] = feedback_summary(stored)
    assert (count.accepted, count.overridden, count.override_reasons) == (1, 1, {"cds-not-applicable": 1})


def test_a_database_that_does_not_answer_fails_closed() -> None:
    pytest.importorskip("psycopg")
    unreachable = Database("postgresql://nobody@127.0.0.1:1/none")
    try:
        stores = CdsStores.database(_on(unreachable))
        with pytest.raises(StoreUnavailable):
            stores.replay.first_use("https://ehr-a", "jti", NOW)
        with pytest.raises(StoreUnavailable):
            stores.cards.get("c-1")
        with pytest.raises(StoreUnavailable):
            stores.feedback.record(_feedback("c-1"))
    finally:
        unreachable.close()


def test_redis_first_then_the_database_then_memory(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'unused.db'}")
    try:
        assert isinstance(stores_from_settings(None, _on(database)).replay, DatabaseReplayCache)
        assert type(stores_from_settings(None).replay).__name__ == "MemoryReplayCache"
        assert type(stores_from_settings("redis://127.0.0.1:1/0", _on(database)).replay).__name__ == (
            "RedisReplayCache"
        )
    finally:
        database.close()


# --- the server factory: two workers on one SQLite database --------------------------------------------------------


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return server_environment(monkeypatch, tmp_path)


def test_workers_of_the_server_share_the_replay_guard_and_feedback(environment: Path) -> None:
    from fastapi.testclient import TestClient

    from ketaguide.http.app import create_app_from_environment
    from ketaguide.services.users import add_user

    case = json.loads((DATA / "cases" / "sign-naltrexone-with-methadone.json").read_text(encoding="utf-8"))
    service = case["service"]
    now = datetime.now(UTC)  # noqa: TID251  # the server app reads the system clock; its tokens must be current
    first_app, second_app = create_app_from_environment(), create_app_from_environment()
    assert isinstance(first_app.state.cds_feedback, DatabaseFeedbackLog)
    with TestClient(first_app, base_url=BASE) as first, TestClient(second_app, base_url=BASE) as second:
        headers = {**bearer(service_url(service), now=now), "Content-Type": "application/json"}
        body = json.dumps(case["request"])
        answered = first.post(f"/cds-services/{service}", content=body, headers=headers)
        assert answered.status_code == 200, answered.text
        assert second.post(f"/cds-services/{service}", content=body, headers=headers).status_code == 401  # replay
        card = answered.json()["cards"][0]
        url = f"{BASE}/cds-services/{service}/feedback"
        item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-01T12:00:00Z"}
        feedback = json.dumps({"feedback": [item]})
        for client in (second, first):  # the card was issued by the first worker; feedback reaches the second
            sent = client.post(
                url.removeprefix(BASE),
                content=feedback,
                headers={**bearer(url, now=now), "Content-Type": "application/json"},
            )
            assert sent.status_code == 200, sent.text
        admin = add_user(first_app.state.records, "admin-db", "admin")[1]
        summary = second.get("/api/v1/cds/feedback", headers={"Authorization": f"Bearer {admin}"}).json()
        assert [(c["card_type"], c["overridden"]) for c in summary["card_types"]] == [
            ("option.naltrexone.contraindicated", 1)
        ]
