"""The CDS stores on the server's database (`ketaguide.storage.cds`), shared by every worker without Redis.

`DatabaseReplayCache.first_use` inserts (issuer, jti) with ON CONFLICT DO NOTHING: the primary key of `cds_jti`
decides, so of two workers given the same token exactly one accepts it. Expired pairs and cards older than
`CARD_DAYS` are purged now and then by the worker that happens to write. A database that does not answer is
`StoreUnavailable` (503), never an accepted replay.

`DatabaseCallRecorder` writes what a hook call leaves behind, its jti claim, the cards issued and the event of the
server's audit trail, in one transaction: one commit per call instead of three. With SQLite every commit is synced
to disk (`synchronous=FULL`, a few milliseconds) while holding the one write lock, so three commits per call capped
every worker together at about a hundred calls a second. The claim still decides: a token whose jti another call
claimed first is refused (401), its cards are not kept and the refusal is what the audit trail records. The
server's own audit of a call (`DatabaseHookAudit`) is here too, so both write the same event.

The database and its clock are named by a function (`records()`: anything with `.database` and `.clock`, such as
the server's `Records`), because the server opens them at start-up, after the routes are built
(`app.state.records`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ketaguide.cdshooks.stores import (
    CARD_DAYS,
    FeedbackRecord,
    HookCallEvent,
    IssuedCard,
    RecentClaims,
    ReplayClaim,
    StoreUnavailable,
    refused_as_replay,
)
from ketaguide.domain.ports import Clock
from ketaguide.storage import cds
from ketaguide.storage.audit import AuditEvent, append, append_many
from ketaguide.storage.engine import Database
from ketaguide.storage.tables import cds_jti

log = logging.getLogger("ketaguide.cdshooks")

PURGE_EVERY = 512  # writes between two purges, per process
# How long the event loop waits for the write lock before it hands a batch to a worker thread. The other worker of a
# two-worker server holds it, for its own batch (about 3 ms), when one batch in twenty comes; handed over at once,
# those batches made the p99 (order-sign at 50 clients, issue #11). With 10 ms, 3 batches of 1,600 were handed over.
LOOP_PATIENCE = 0.01
# Built once: SQLAlchemy then reuses its compiled form (a statement built per call costs ~0.3 ms to key and look up).
_CLAIMED = select(cds_jti.c.jti).where(cds_jti.c.iss == bindparam("iss"), cds_jti.c.jti == bindparam("jti"))


class StoredRecords(Protocol):
    """What the stores need of the server's records (`ketaguide.services.records.Records`)."""

    @property
    def database(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...


RecordsSource = Callable[[], StoredRecords]


@contextmanager
def _unavailable_if_failed() -> Iterator[None]:
    """A database error as `StoreUnavailable` (the caller answers 503), but a constraint's as it is."""
    try:
        yield
    except IntegrityError:
        raise
    except SQLAlchemyError as exc:
        raise StoreUnavailable(f"the database did not answer ({type(exc).__name__})") from None


class _Store:
    def __init__(self, records: RecordsSource) -> None:
        self._records = records
        self._writes = itertools.count(1)

    def _now(self) -> datetime:
        return self._records().clock.now()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with _unavailable_if_failed(), self._records().database.write() as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with _unavailable_if_failed(), self._records().database.read() as connection:
            yield connection

    def _purge_due(self) -> bool:
        return next(self._writes) % PURGE_EVERY == 0


class DatabaseReplayCache(_Store):
    def first_use(self, issuer: str, jti: str, keep_until: datetime) -> bool:
        with self._write() as connection:
            if self._purge_due():
                cds.purge_jti(connection, self._now())
            return cds.claim_jti(connection, issuer, jti, keep_until)

    def seen(self, issuer: str, jti: str) -> bool:
        # A read (no write lock, no disk sync); `first_use` is what decides.
        with self._read() as connection:
            return connection.execute(_CLAIMED, {"iss": issuer, "jti": jti}).first() is not None


def _card_rows(cards: Sequence[IssuedCard]) -> list[dict[str, Any]]:
    return [
        {
            "uuid": card.uuid,
            "service_id": card.service_id,
            "hook_instance": card.hook_instance,
            "iss": card.iss,
            "card_type": card.card_type,
            "indicator": card.indicator,
            "suggestions": json.dumps(list(card.suggestions)),
            "issued_at": card.issued_at,
        }
        for card in cards
    ]


class DatabaseCardLedger(_Store):
    def record(self, cards: Sequence[IssuedCard]) -> None:
        if not cards:
            return
        with self._write() as connection:
            if self._purge_due():
                cds.purge_cards(connection, self._now() - timedelta(days=CARD_DAYS))
            cds.record_cards(connection, _card_rows(cards))

    def get(self, uuid: str) -> IssuedCard | None:
        with self._read() as connection:
            row = cds.issued_card(connection, uuid, self._now() - timedelta(days=CARD_DAYS))
        if row is None:
            return None
        return IssuedCard(
            uuid=row["uuid"],
            service_id=row["service_id"],
            hook_instance=row["hook_instance"],
            iss=row["iss"],
            card_type=row["card_type"],
            indicator=row["indicator"],
            suggestions=tuple(json.loads(row["suggestions"])),
            issued_at=row["issued_at"],
        )


class DatabaseFeedbackLog(_Store):
    """Feedback in `cds_feedback`, one row per item: the unique `feedback_key` makes a repeat a no-op."""

    def record(self, item: FeedbackRecord) -> bool:
        row: dict[str, Any] = {
            "service_id": item.service_id,
            "card_uuid": item.card_uuid,
            "outcome": item.outcome,
            "override_reason": item.reason_code,
            "outcome_at": item.outcome_at,
            "received_at": item.received_at,
            "iss": item.iss,
            "feedback_key": item.key,
            "card_type": item.card_type,
            "accepted_suggestions": json.dumps(list(item.accepted_suggestions)),
            "reason_system": item.reason_system,
            "user_comment": item.user_comment,
        }
        with self._write() as connection:
            return cds.record_feedback(connection, row)

    def records(self) -> list[FeedbackRecord]:
        with self._read() as connection:
            rows = cds.all_feedback(connection)
        return [
            FeedbackRecord(
                card_uuid=row["card_uuid"],
                service_id=row["service_id"],
                card_type=row["card_type"] or "",
                iss=row["iss"] or "",
                outcome=row["outcome"],
                accepted_suggestions=tuple(json.loads(row["accepted_suggestions"] or "[]")),
                reason_code=row["override_reason"],
                reason_system=row["reason_system"],
                user_comment=row["user_comment"],
                outcome_at=row["outcome_at"],
                received_at=row["received_at"],
            )
            for row in rows
        ]


# --- the audit trail, and a whole call in one transaction ----------------------------------------------------------

_OUTCOMES = {200: "success", 401: "denied", 404: "not_found", 412: "precondition_failed", 400: "invalid"}


def audit_event(event: HookCallEvent) -> AuditEvent:
    """A CDS call as an event of the server's hash-chained audit trail.

    The trail has no columns for the client's `iss` and `jti` or the EHR's patient id (its `patient_id` is
    KetaGuide's own patient), so: `user_name` = the issuer, `role` = "ehr-client", `request_id` = the jti,
    `resource_id` = the hookInstance and the EHR's Patient reference. Card uuids are in the card ledger, by
    hookInstance. (The server's owners may move this into services/audit.py and give the trail those columns.)"""
    target = " ".join(p for p in (event.hook_instance, event.patient_id and f"Patient/{event.patient_id}") if p)
    return AuditEvent(
        action=event.action,
        resource_type=f"cds:{event.service_id}"[:40] if event.service_id else "cds:discovery",
        outcome=_OUTCOMES.get(event.status, "invalid" if event.status < 500 else "error"),
        resource_id=target[:200] or None,
        user_name=(event.iss or "unverified client")[:100],
        role="ehr-client",
        request_id=(event.jti or "")[:64] or None,
    )


class DatabaseHookAudit(_Store):
    """Every CDS call as an event of the server's audit trail, in a transaction of its own."""

    def record(self, event: HookCallEvent) -> None:
        with self._write() as connection:
            append(connection, audit_event(event), event.occurred_at)


def _written(batch: Sequence[tuple[_Call, asyncio.Future[None]]]) -> None:
    for _, written in batch:
        if not written.done():  # its request may have been cancelled (the client left): still recorded
            written.set_result(None)


@dataclass
class _Call:
    """One call waiting to be recorded, and how it went."""

    event: HookCallEvent
    claim: ReplayClaim | None
    cards: Sequence[IssuedCard]
    done: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    accepted: bool = False
    error: BaseException | None = None

    def outcome(self) -> bool:
        """Whether its claim was accepted, once written; the transaction's error if the write failed."""
        if self.error is not None:
            raise self.error
        return self.accepted


class DatabaseCallRecorder(_Store):
    """The jti claim, the cards issued and the audit event of a call in one transaction, with the calls of other
    threads of this process that are waiting at the same moment (group commit): one commit, so one disk sync and
    one turn of the write lock, for all of them. Each call returns only once the commit that holds its records is
    done. Used when the stores and the audit trail are in the same database (the server without Redis). Calls
    served on the event loop take the same path through `record_soon`, a batch at a time.

    Why: SQLite lets one writer in at a time, and a writer that finds it taken sleeps and retries (SQLite's busy
    handler: 1, 2, 5 ... 100 ms), so threads that each open their own transaction queue unfairly and the slowest
    wait seconds; PostgreSQL serialises audit appends on the chain's head row the same way. Here one thread of the
    process (the leader: the first to arrive when no one writes) writes what is waiting, up to `BATCH` calls, then
    hands over to the first call still waiting; and the leaders of several workers on one SQLite file take turns
    (`ketaguide.storage.engine.WriterTurns`, as every writer does) instead of sleeping in the busy handler (with
    two workers at 50 clients that took the p99 from 3.5-4.9 s to 0.5 s). Within a batch each call keeps its own
    outcome: a jti claimed twice is accepted once, and the other call is recorded as refused. If the transaction
    fails, every call in it fails (503), none is recorded half."""

    claims = True
    BATCH = 64

    def __init__(self, records: RecordsSource) -> None:
        super().__init__(records)
        self._lock = threading.Lock()
        self._waiting: list[_Call] = []
        self._writing = False
        self._queued: list[tuple[_Call, asyncio.Future[None]]] = []  # calls served on the event loop
        self._flusher: asyncio.Future[None] | None = None  # a worker thread's batches, while the lock was taken
        self._on_loop: asyncio.Handle | None = None  # the loop's next batch, after its current turn
        self._purges: set[asyncio.Future[None]] = set()  # held until done (the loop keeps only weak references)
        self._claimed = RecentClaims()

    def seen(self, issuer: str, jti: str) -> bool:
        """Claimed by this process lately (`RecentClaims`: no database read before the work; the claim decides)."""
        return (issuer, jti) in self._claimed

    def record(self, event: HookCallEvent, claim: ReplayClaim | None, cards: Sequence[IssuedCard]) -> bool:
        call = _Call(event, claim, cards)
        with self._lock:
            self._waiting.append(call)
            if not self._writing:
                self._writing = call.leads = True
        if not call.leads:
            call.done.wait()
        if call.leads:  # first to arrive, or handed the lead while waiting: its call is in this batch
            self._write_batch()
        return call.outcome()

    async def record_soon(self, event: HookCallEvent, claim: ReplayClaim | None, cards: Sequence[IssuedCard]) -> bool:
        """`record` for a call served on the event loop (`ketaguide.http.cds_hooks`). On SQLite, the calls whose
        work ended in one turn of the loop are written together by the loop itself, right after that turn, if the
        write lock can be had within `LOOP_PATIENCE` (`Database.write_at_once`; the loop then waits for the local
        disk sync); else a worker thread waits for the lock and writes that batch. On PostgreSQL a worker thread
        writes every batch, and the calls that come meanwhile wait for its next. One event loop's calls: a server's
        worker runs one.

        Why on the loop: a batch written in a thread was done with its commit 13 ms (p50) to 45 ms (p99) before the
        loop, busy with other calls' work, got round to answering its calls (order-sign at 50 clients, issue #11)."""
        call = _Call(event, claim, cards)
        loop = asyncio.get_running_loop()
        written = loop.create_future()
        self._queued.append((call, written))
        if self._flusher is None and self._on_loop is None:
            self._start_flushing(loop)
        await written
        return call.outcome()

    def _start_flushing(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._records().database.writes_at_once:
            self._on_loop = loop.call_soon(self._flush_on_loop)
        else:
            self._flusher = asyncio.ensure_future(self._flush_in_thread())

    def _purged(self, task: asyncio.Future[None]) -> None:
        self._purges.discard(task)
        if not task.cancelled() and task.exception() is not None:  # the next purge tries again; calls go on
            log.warning("CDS purge failed: %s", type(task.exception()).__name__)

    def _flush_on_loop(self) -> None:
        self._on_loop = None
        if self._purge_due():  # in a transaction of its own, by a worker thread: many rows may be due
            self._purges.add(task := asyncio.ensure_future(asyncio.to_thread(self._purge_in_thread)))
            task.add_done_callback(self._purged)
        while self._queued and self._flusher is None:
            batch = self._queued[: self.BATCH]
            if not self._write_calls([call for call, _ in batch], at_once=True):  # the lock stayed taken
                self._flusher = asyncio.ensure_future(self._flush_in_thread())
                return
            self._queued = self._queued[self.BATCH :]
            _written(batch)

    async def _flush_in_thread(self) -> None:
        """Batches written by a worker thread, which waits for the lock: on SQLite one, then the loop writes the
        next if it can; on PostgreSQL all that are waiting."""
        try:
            while self._queued:
                batch, self._queued = self._queued[: self.BATCH], self._queued[self.BATCH :]
                await asyncio.to_thread(self._write_calls, [call for call, _ in batch])
                _written(batch)
                if self._records().database.writes_at_once:
                    break
        finally:
            self._flusher = None
            if self._queued and self._on_loop is None:
                self._on_loop = asyncio.get_running_loop().call_soon(self._flush_on_loop)

    def _write_batch(self) -> None:
        with self._lock:
            batch, self._waiting = self._waiting[: self.BATCH], self._waiting[self.BATCH :]
        try:
            self._write_calls(batch)
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting[0].leads = True
                    self._waiting[0].done.set()
                else:
                    self._writing = False
            for call in batch:
                call.done.set()

    def _write_calls(self, batch: Sequence[_Call], *, at_once: bool = False) -> bool:
        """One transaction for `batch`; if it fails, every call of it carries the error. With `at_once`, only if the
        write lock is had within `LOOP_PATIENCE`: False (nothing written) if it is not."""
        try:
            with self._write_at_once() if at_once else self._write() as connection:
                if connection is None:
                    return False
                if not at_once and self._purge_due():  # (the loop leaves it to a worker thread: `_flush_on_loop`)
                    self._purge(connection)
                self._record_all(connection, batch)
        except BaseException as exc:  # the transaction is rolled back: no call of the batch is recorded
            for call in batch:
                call.error = exc
            return True
        self._claimed.add((c.claim.issuer, c.claim.jti) for c in batch if c.accepted and c.claim is not None)
        return True

    @contextmanager
    def _write_at_once(self) -> Iterator[Connection | None]:
        """The event loop's write transaction if the lock is had within `LOOP_PATIENCE`, else None
        (`Database.write_at_once`)."""
        with _unavailable_if_failed(), self._records().database.write_at_once(LOOP_PATIENCE) as connection:
            yield connection

    def _purge(self, connection: Connection) -> None:
        now = self._now()
        cds.purge_jti(connection, now)
        cds.purge_cards(connection, now - timedelta(days=CARD_DAYS))

    def _purge_in_thread(self) -> None:
        with self._write() as connection:
            self._purge(connection)

    @staticmethod
    def _record_all(connection: Connection, batch: Sequence[_Call]) -> None:
        """Each call's claim, in the order the calls came (of two with one jti, the first is accepted and the other
        recorded as refused); then the cards of the accepted calls and the audit events of all, each kind in one
        INSERT (an executemany: the statement is run once for the batch, not once per row)."""
        claims = [call.claim for call in batch if call.claim is not None]
        stored = cds.claim_jtis(connection, [(c.issuer, c.jti, c.keep_until) for c in claims])
        for call in batch:
            claim = call.claim
            call.accepted = claim is None or (claim.issuer, claim.jti) in stored
            if claim is not None:  # a later call of the batch with the same jti is a replay
                stored.discard((claim.issuer, claim.jti))
        cds.record_cards(connection, _card_rows([card for call in batch if call.accepted for card in call.cards]))
        events = [call.event if call.accepted else refused_as_replay(call.event) for call in batch]
        append_many(connection, [(audit_event(event), event.occurred_at) for event in events])
