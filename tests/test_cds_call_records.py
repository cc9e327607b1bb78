"""What a CDS call leaves behind, written once: its jti claim, the cards it issued and its audit event.

On the server's database (`DatabaseCallRecorder`) the three are one transaction, shared with the calls of other
threads waiting at the same moment (group commit); the token check before the work only asks whether the jti was
used, and the claim in that transaction decides. These tests check that one hook call is one write transaction,
that a jti raced by many threads is accepted once and the others are recorded as refused, that a batch keeps the
audit chain intact, that a jti is claimed before anything is fetched from the client's FHIR server, and that a
record that cannot be written is a 503.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

from ketaguide.cdshooks.database import DatabaseCallRecorder
from ketaguide.cdshooks.stores import (
    BatchingRecorder,
    CdsStores,
    HookCallEvent,
    IssuedCard,
    MemoryHookAudit,
    RecentClaims,
    ReplayClaim,
    StoreUnavailable,
)
from ketaguide.storage.engine import Database
from test_cds_support import (
    BASE,
    EHR_ES,
    bearer,
    call,
    care_engine,
    cds_test_app,
    clients_document,
    order_sign_case,
    server_environment,
    service_url,
)
from test_server_support import (  # noqa: F401  # fixtures
    database,
    database_url,
    postgres,
    postgres_template,
    sent_statements,
    sqlite_template,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SERVICE = "ketaguide-order-sign"


@dataclass(frozen=True)
class _Clock:
    def now(self) -> datetime:
        return NOW


@dataclass(frozen=True)
class _Records:
    database: Database
    clock: _Clock = _Clock()


@pytest.fixture
def records(tmp_path: Path) -> Iterator[_Records]:
    from ketaguide.storage.schema import upgrade

    sqlite = Database(f"sqlite:///{tmp_path / 'ketaguide.db'}")
    upgrade(sqlite)
    yield _Records(sqlite)
    sqlite.close()


@pytest.fixture(scope="module")
def engine() -> Any:
    return care_engine()


def _fetching(server: str) -> dict[str, Any]:
    """The case's request without its medications prefetched: KetaGuide fetches them from `server`."""
    request = copy.deepcopy(order_sign_case()["request"])
    request["prefetch"].pop("medications")
    request["fhirServer"] = server
    request["fhirAuthorization"] = {
        "access_token": "fhir-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/MedicationRequest.read",
        "subject": "ketaguide",
    }
    return request


def _event(jti: str) -> HookCallEvent:
    return HookCallEvent(occurred_at=NOW, action="cds-call", service_id=SERVICE, status=200, iss="https://ehr", jti=jti)


def _card(hook_instance: str) -> IssuedCard:
    return IssuedCard(str(uuid.uuid4()), SERVICE, hook_instance, "https://ehr", "assessment", "info", (), NOW)


def _rows(records: _Records, table: Any) -> list[dict[str, Any]]:
    from sqlalchemy import select

    with records.database.read() as connection:
        return [dict(row) for row in connection.execute(select(table)).mappings()]


def _chain_intact(records: _Records) -> bool:
    from ketaguide.storage.audit import verify

    with records.database.read() as connection:
        return verify(connection).intact


def test_many_threads_racing_one_jti_are_accepted_once(records: _Records) -> None:
    from ketaguide.storage.cds import cds_issued_cards
    from ketaguide.storage.tables import audit_events

    recorder = DatabaseCallRecorder(lambda: records)
    claim = ReplayClaim("https://ehr", "raced", NOW + timedelta(minutes=5))
    accepted: list[bool] = []
    start = threading.Barrier(12)

    def one(n: int) -> None:
        start.wait()
        accepted.append(recorder.record(_event("raced"), claim, [_card(f"h-{n}")]))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(accepted) == [False] * 11 + [True]
    assert len(_rows(records, cds_issued_cards)) == 1  # the refused calls' cards are not kept
    outcomes = sorted(row["outcome"] for row in _rows(records, audit_events))
    assert outcomes == ["denied"] * 11 + ["success"]
    assert _chain_intact(records)


def test_calls_of_many_threads_are_all_recorded_with_the_chain_intact(records: _Records) -> None:
    from ketaguide.storage.cds import cds_issued_cards
    from ketaguide.storage.tables import audit_events, cds_jti

    recorder = DatabaseCallRecorder(lambda: records)
    transactions = _count_write_transactions(records.database)
    statements = sent_statements(records.database)

    def calls(worker: int) -> None:
        for n in range(10):
            jti = f"{worker}-{n}"
            claim = ReplayClaim("https://ehr", jti, NOW + timedelta(minutes=5))
            assert recorder.record(_event(jti), claim, [_card(jti), _card(jti)])

    threads = [threading.Thread(target=calls, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(_rows(records, cds_jti)) == 80 and len(_rows(records, cds_issued_cards)) == 160
    assert len(_rows(records, audit_events)) == 80 and _chain_intact(records)
    assert 1 <= len(transactions) <= 80  # calls waiting together share a commit
    # ... and, however many calls a commit holds, one INSERT of their claims, one of their cards and one of their
    # audit events
    for table in ("cds_jti", "cds_issued_cards", "audit_events"):
        assert sum(s.startswith(f"INSERT INTO {table} ") for s in statements) == len(transactions)


def test_a_worker_knows_the_jtis_it_claimed_and_another_workers_replay_loses_at_its_claim(records: _Records) -> None:
    """The check before a call's work asks the recorder's memory of its own claims, not the database; a token
    replayed to another worker passes that check and is refused by the claim (the primary key decides)."""
    served, other = DatabaseCallRecorder(lambda: records), DatabaseCallRecorder(lambda: records)
    claim = ReplayClaim("https://ehr", "once", NOW + timedelta(minutes=5))
    assert not served.seen("https://ehr", "once")
    assert served.record(_event("once"), claim, [_card("once")])
    assert served.seen("https://ehr", "once") and not served.seen("https://other-ehr", "once")
    assert not other.seen("https://ehr", "once")  # another process's claim: not known before the work ...
    assert not other.record(_event("once"), claim, [_card("again")])  # ... and refused at its claim
    assert not other.seen("https://ehr", "once")  # a refused claim is not this worker's


def test_a_failed_batch_leaves_no_claim_in_memory(tmp_path: Path) -> None:
    unmigrated = _Records(Database(f"sqlite:///{tmp_path / 'empty.db'}"))  # no tables: every write fails
    recorder = DatabaseCallRecorder(lambda: unmigrated)
    with pytest.raises(StoreUnavailable):
        recorder.record(_event("lost"), ReplayClaim("https://ehr", "lost", NOW + timedelta(minutes=5)), [])
    assert not recorder.seen("https://ehr", "lost")
    unmigrated.database.close()


def test_recent_claims_keep_the_newest_pairs_only() -> None:
    recent = RecentClaims(size=2)
    recent.add([("iss", "a"), ("iss", "b")])
    recent.add([("iss", "c")])
    assert ("iss", "a") not in recent and ("iss", "b") in recent and ("iss", "c") in recent


def test_a_transaction_that_fails_fails_its_calls_and_leaves_no_writer_behind(tmp_path: Path) -> None:
    unmigrated = _Records(Database(f"sqlite:///{tmp_path / 'empty.db'}"))  # no tables: every write fails
    recorder = DatabaseCallRecorder(lambda: unmigrated)
    try:
        for _ in range(2):  # the second call finds no writer left behind by the failed one
            with pytest.raises(StoreUnavailable):
                recorder.record(_event("j"), ReplayClaim("https://ehr", "j", NOW), [_card("h")])
    finally:
        unmigrated.database.close()


# --- calls served on the event loop: `record_soon`, a batch at a time ---------------------------------------------


def test_calls_on_the_event_loop_share_commits_and_a_raced_jti_is_accepted_once(database: Database) -> None:  # noqa: F811
    from ketaguide.storage.cds import cds_issued_cards
    from ketaguide.storage.tables import audit_events, cds_jti

    records = _Records(database)
    recorder = DatabaseCallRecorder(lambda: records)
    transactions = _count_write_transactions(records.database)

    async def calls() -> list[bool]:
        jtis = [f"loop-{n}" for n in range(60)] + ["raced"] * 5
        claims = [ReplayClaim("https://ehr", jti, NOW + timedelta(minutes=5)) for jti in jtis]
        return await asyncio.gather(*(recorder.record_soon(_event(c.jti), c, [_card(c.jti)]) for c in claims))

    accepted = asyncio.run(calls())
    assert accepted[:61] == [True] * 61 and accepted[61:] == [False] * 4  # the first "raced" call wins
    assert len(_rows(records, cds_jti)) == 61 and len(_rows(records, cds_issued_cards)) == 61
    outcomes = [row["outcome"] for row in _rows(records, audit_events)]
    assert outcomes.count("success") == 61 and outcomes.count("denied") == 4 and _chain_intact(records)
    # One turn of the loop's calls, BATCH a commit: written by the loop on SQLite, by a worker thread on PostgreSQL.
    assert transactions == (["at once"] * 2 if database.dialect == "sqlite" else ["write"] * 2)


def test_while_another_writer_has_the_lock_the_loop_goes_on_and_a_thread_writes_its_calls(records: _Records) -> None:
    from ketaguide.storage.tables import cds_jti

    recorder = DatabaseCallRecorder(lambda: records)
    holding, release = threading.Event(), threading.Event()

    def other_writer() -> None:  # another request's write, in the threadpool
        with records.database.write():
            holding.set()
            release.wait()

    writer = threading.Thread(target=other_writer)
    writer.start()
    holding.wait()
    transactions = _count_write_transactions(records.database)

    async def calls() -> list[bool]:
        claims = [ReplayClaim("https://ehr", f"held-{n}", NOW + timedelta(minutes=5)) for n in range(5)]
        pending = asyncio.gather(*(recorder.record_soon(_event(c.jti), c, [_card(c.jti)]) for c in claims))
        try:
            for _ in range(20):  # the loop is not blocked: it turns while the calls wait for the lock
                await asyncio.sleep(0.005)
            assert not pending.done()
        finally:
            release.set()  # (before the loop closes: it waits for its worker thread, which waits for the lock)
        return await pending

    try:
        assert asyncio.run(calls()) == [True] * 5
    finally:
        release.set()
        writer.join()
    assert transactions == ["write"] and len(_rows(records, cds_jti)) == 5  # a worker thread's one batch


def test_the_loop_leaves_purges_to_a_worker_thread(records: _Records, monkeypatch: pytest.MonkeyPatch) -> None:
    from ketaguide.cdshooks import database as cds_database
    from ketaguide.storage.tables import cds_jti

    monkeypatch.setattr(cds_database, "PURGE_EVERY", 1)
    recorder = DatabaseCallRecorder(lambda: records)
    purged_in: list[threading.Thread] = []
    purge = recorder._purge
    monkeypatch.setattr(recorder, "_purge", lambda c: (purged_in.append(threading.current_thread()), purge(c)))

    async def calls() -> None:
        for jti, keep_until in (("old", NOW - timedelta(minutes=1)), ("new", NOW + timedelta(minutes=5))):
            assert await recorder.record_soon(_event(jti), ReplayClaim("https://ehr", jti, keep_until), [_card(jti)])
        await asyncio.sleep(0.05)  # the second purge starts (the loop's end then waits for its thread)

    asyncio.run(calls())
    assert [row["jti"] for row in _rows(records, cds_jti)] == ["new"]  # the expired claim is gone
    assert len(purged_in) == 2 and threading.main_thread() not in purged_in  # never on the loop


def test_a_failed_batch_on_the_event_loop_fails_its_calls_and_the_next_call_is_written(tmp_path: Path) -> None:
    from ketaguide.storage.schema import upgrade

    later = Database(f"sqlite:///{tmp_path / 'later.db'}")  # no tables yet: the first batch fails
    recorder = DatabaseCallRecorder(lambda: _Records(later))

    async def one(jti: str) -> bool:
        return await recorder.record_soon(_event(jti), ReplayClaim("https://ehr", jti, NOW), [_card("h")])

    async def failing() -> list[bool | BaseException]:
        return list(await asyncio.gather(one("a"), one("b"), return_exceptions=True))

    try:
        assert all(isinstance(result, StoreUnavailable) for result in asyncio.run(failing()))
        upgrade(later)
        assert asyncio.run(one("c")) is True  # no flusher was left behind, on this loop or a new one
    finally:
        later.close()


def _count_write_transactions(spied: Database) -> list[str]:
    """Every write transaction opened on `spied` from now on: its `write()` calls, and its `write_at_once()`
    calls that opened one (as "at once")."""
    opened: list[str] = []
    waiting, at_once = spied.write, spied.write_at_once

    def counted() -> Any:
        opened.append("write")
        return waiting()

    @contextmanager
    def counted_at_once(patience: float = 0.0) -> Iterator[Any]:
        with at_once(patience) as connection:
            if connection is not None:
                opened.append("at once")
            yield connection

    spied.write = counted  # type: ignore[method-assign]  # a test spy on one instance
    spied.write_at_once = counted_at_once  # type: ignore[method-assign]
    return opened


# --- the server's app: one write transaction per hook call --------------------------------------------------------


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from ketaguide.http.app import create_app_from_environment

    server_environment(monkeypatch, tmp_path)
    with TestClient(create_app_from_environment(), base_url=BASE) as client:
        yield client


def test_a_hook_call_is_one_write_transaction_on_the_servers_database(server: Any) -> None:
    from ketaguide.storage.cds import cds_issued_cards
    from ketaguide.storage.tables import audit_events, cds_jti

    records = server.app.state.records
    stored = _Records(records.database)
    now = datetime.now(UTC)  # noqa: TID251  # the server app reads the system clock; its tokens must be current
    call(server, SERVICE, order_sign_case()["request"], now=now)  # the first call builds the backend
    transactions = _count_write_transactions(records.database)
    headers = {**bearer(service_url(SERVICE), now=now), "Content-Type": "application/json"}
    body = json.dumps(order_sign_case()["request"])
    response = server.post(f"/cds-services/{SERVICE}", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert transactions == ["at once"]  # by the event loop, the write lock being free
    issued = {row["uuid"] for row in _rows(stored, cds_issued_cards)}
    assert {card["uuid"] for card in response.json()["cards"]} <= issued
    assert len(_rows(stored, cds_jti)) == 2
    assert _rows(stored, audit_events)[-1]["outcome"] == "success"
    replayed = server.post(f"/cds-services/{SERVICE}", content=body, headers=headers)
    assert replayed.status_code == 401 and replayed.content == b""
    assert _rows(stored, audit_events)[-1]["outcome"] == "denied"
    assert _chain_intact(stored)


# --- the claim is made before a FHIR fetch, and a failed record is a 503 ----------------------------------------


@dataclass
class _DeferringRecorder:
    """A recorder that claims the jti itself, on memory stores (as the database's does in its transaction)."""

    stores: CdsStores
    audit: MemoryHookAudit
    fail: bool = False
    claimed: list[ReplayClaim | None] = field(default_factory=list)
    claims = True

    def seen(self, issuer: str, jti: str) -> bool:
        return self.stores.replay.seen(issuer, jti)

    def record(self, event: HookCallEvent, claim: ReplayClaim | None, cards: Sequence[IssuedCard]) -> bool:
        if self.fail:
            raise StoreUnavailable("down")
        self.claimed.append(claim)
        if claim is not None and not self.stores.replay.first_use(claim.issuer, claim.jti, claim.keep_until):
            return False
        self.stores.cards.record(cards)
        self.audit.record(event)
        return True


class _BatchingRecorder(_DeferringRecorder):
    """The same, for calls served on the event loop (as the database's `record_soon`)."""

    async def record_soon(self, event: HookCallEvent, claim: ReplayClaim | None, cards: Sequence[IssuedCard]) -> bool:
        return self.record(event, claim, cards)


# The thread pool's path, and the event loop's (which hands a call that must fetch to the thread pool).
RECORDERS = pytest.mark.parametrize("recorder_kind", [_DeferringRecorder, _BatchingRecorder], ids=["thread", "loop"])


class _SeesTheClaim:
    """A FHIR fetcher that notes whether the caller's jti was claimed when it was asked, and answers the case."""

    def __init__(self, stores: CdsStores, jti: str) -> None:
        self.stores = stores
        self.jti = jti
        self.claimed_first: list[bool] = []

    def get(self, url: str, token: str, deadline: float) -> Any:
        self.claimed_first.append(self.stores.replay.seen(EHR_ES, self.jti))
        prefetch = order_sign_case()["request"]["prefetch"]
        if "/Patient/" in url:
            return prefetch["patient"]
        return prefetch["conditions"] if "/Condition" in url else prefetch["medications"]


FHIR_SERVER = "https://ehr.example.org/fhir"


def _fetching_app(engine: Any, stores: CdsStores, audit: MemoryHookAudit, recorder: Any, fetcher: Any) -> Any:
    """The CDS app for a client whose FHIR server KetaGuide may fetch from, with these stores and records."""
    clients = clients_document(fhir_servers=[FHIR_SERVER])
    return cds_test_app(engine, clients=clients, stores=stores, audit=audit, recorder=recorder, fetcher=fetcher)


@RECORDERS
def test_the_jti_is_claimed_before_the_clients_fhir_server_is_asked(
    engine: Any, recorder_kind: type[_DeferringRecorder]
) -> None:
    stores = CdsStores.memory()
    audit = MemoryHookAudit()
    recorder = recorder_kind(stores, audit)
    assert isinstance(recorder, BatchingRecorder) == (recorder_kind is _BatchingRecorder)
    fetcher = _SeesTheClaim(stores, "fetching-jti")
    client = _fetching_app(engine, stores, audit, recorder, fetcher)
    response = call(client, SERVICE, _fetching(FHIR_SERVER), jti="fetching-jti")
    assert response.status_code == 200, response.text
    assert fetcher.claimed_first == [True]  # claimed before the fetch ...
    assert recorder.claimed == [None]  # ... so not claimed again with the records
    prefetched = call(client, SERVICE, order_sign_case()["request"])
    assert prefetched.status_code == 200 and recorder.claimed[-1] is not None  # nothing fetched: claimed with them


@RECORDERS
def test_a_record_that_cannot_be_written_is_a_503_and_audited_if_the_trail_answers(
    engine: Any, recorder_kind: type[_DeferringRecorder]
) -> None:
    audit = MemoryHookAudit()
    recorder = recorder_kind(CdsStores.memory(), audit, fail=True)
    client = cds_test_app(engine, audit=audit, recorder=recorder)
    response = call(client, SERVICE, order_sign_case()["request"])
    assert response.status_code == 503
    assert response.json()["issue"][0]["code"] == "transient"
    [event] = audit.events
    assert (event.status, event.reason, event.card_uuids) == (503, "store", ())


class _ClaimedMeanwhile:
    """A replay cache in which another worker claims the jti between the token check and the claim."""

    def first_use(self, issuer: str, jti: str, keep_until: datetime) -> bool:
        return False

    def seen(self, issuer: str, jti: str) -> bool:
        return False


@RECORDERS
def test_a_claim_lost_before_a_fetch_is_a_401_and_nothing_is_fetched(
    engine: Any, recorder_kind: type[_DeferringRecorder]
) -> None:
    memory = CdsStores.memory()
    stores = CdsStores(_ClaimedMeanwhile(), memory.cards, memory.feedback)
    audit = MemoryHookAudit()
    fetcher = _SeesTheClaim(stores, "raced-jti")
    client = _fetching_app(engine, stores, audit, recorder_kind(stores, audit), fetcher)
    response = call(client, SERVICE, _fetching(FHIR_SERVER), jti="raced-jti")
    assert response.status_code == 401 and response.content == b""
    assert fetcher.claimed_first == []  # nothing was fetched
    [event] = audit.events
    assert (event.status, event.reason, event.card_uuids) == (401, "jti replayed", ())
