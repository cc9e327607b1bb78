"""The CDS stores on the server's database (`ketaguide.storage.cds`), shared by every worker without Redis.

`DatabaseReplayCache.first_use` inserts (issuer, jti) with ON CONFLICT DO NOTHING: the primary key of `cds_jti`
decides, so of two workers given the same token exactly one accepts it. Expired pairs and cards older than
`CARD_DAYS` are purged now and then by the worker that happens to write. A database that does not answer is
`StoreUnavailable` (503), never an accepted replay.

The database and its clock are named by a function (`records()`: anything with `.database` and `.clock`, such as
the server's `Records`), because the server opens them at start-up, after the routes are built
(`app.state.records`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ketaguide.cdshooks.stores import CARD_DAYS, FeedbackRecord, IssuedCard, StoreUnavailable
from ketaguide.domain.ports import Clock
from ketaguide.storage import cds
from ketaguide.storage.engine import Database

PURGE_EVERY = 512  # writes between two purges, per process


class StoredRecords(Protocol):
    """What the stores need of the server's records (`ketaguide.services.records.Records`)."""

    @property
    def database(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...


RecordsSource = Callable[[], StoredRecords]


class _Store:
    def __init__(self, records: RecordsSource) -> None:
        self._records = records
        self._writes = itertools.count(1)

    def _now(self) -> datetime:
        return self._records().clock.now()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self._records().database.write() as connection:
                yield connection
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"the database did not answer ({type(exc).__name__})") from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._records().database.read() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"the database did not answer ({type(exc).__name__})") from None

    def _purge_due(self) -> bool:
        return next(self._writes) % PURGE_EVERY == 0


class DatabaseReplayCache(_Store):
    def first_use(self, issuer: str, jti: str, keep_until: datetime) -> bool:
        with self._write() as connection:
            if self._purge_due():
                cds.purge_jti(connection, self._now())
            return cds.claim_jti(connection, issuer, jti, keep_until)


class DatabaseCardLedger(_Store):
    def record(self, cards: Sequence[IssuedCard]) -> None:
        if not cards:
            return
        rows = [
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
        with self._write() as connection:
            if self._purge_due():
                cds.purge_cards(connection, self._now() - timedelta(days=CARD_DAYS))
            cds.record_cards(connection, rows)

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
