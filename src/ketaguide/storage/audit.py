"""The audit trail: append-only (database triggers refuse UPDATE, DELETE and TRUNCATE) and hash-chained.

Each event stores `prev_hash` and `hash = SHA-256(canonical JSON of the event, prev_hash included)`, and
`audit_head` holds the last position and hash. `verify()` recomputes the chain: an altered row breaks its own hash,
an inserted or deleted row breaks the positions or the next row's `prev_hash`, a deleted tail disagrees with the
head. An attacker who can rewrite the whole table and the head can rewrite history; anchoring the head hash off the
machine (printing `ketaguide audit verify` into a log shipped elsewhere) closes that gap.

Appends are ordered by the head row: the transaction that appends locks it (SELECT ... FOR UPDATE on PostgreSQL;
SQLite's write transactions are already serial), so workers in several processes extend one chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Connection, Row, bindparam, select, update

from ketaguide.storage.tables import audit_events, audit_head

GENESIS_HASH = "0" * 64
# Built once: SQLAlchemy then reuses their compiled forms; building them per append (coercing each value, keying
# the statement for the compiled cache) cost more than executing them. The values go in as parameters.
_HEAD = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
_INSERT = audit_events.insert()
_ADVANCE_HEAD = (
    update(audit_head)
    .where(audit_head.c.id == 1)
    .values(seq=bindparam("head_seq"), hash=bindparam("head_hash"))  # a column's own name is reserved for it
)


@dataclass(frozen=True)
class AuditEvent:
    """Who did what to which resource, and how it ended. Never the content of a record, never a token."""

    action: str  # create, read, update, delete, search, add-user, revoke-user, access
    resource_type: str  # patient, encounter, observation, user, audit, ...
    outcome: str  # success, denied, not_found, gone, conflict, precondition_failed, invalid, error
    resource_id: str | None = None
    patient_id: str | None = None
    user_id: int | None = None
    user_name: str | None = None
    role: str | None = None
    request_id: str | None = None


_EVENT_FIELDS = tuple(field.name for field in fields(AuditEvent))


def _columns(event: AuditEvent) -> dict[str, object]:
    """The event's fields by name (`dataclasses.asdict` would deep-copy each string and number, for nothing)."""
    return {name: getattr(event, name) for name in _EVENT_FIELDS}


def event_hash(seq: int, occurred_at: datetime, event: AuditEvent, prev_hash: str) -> str:
    content = {**_columns(event), "seq": seq, "occurred_at": occurred_at.isoformat(), "prev_hash": prev_hash}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def append(connection: Connection, event: AuditEvent, occurred_at: datetime) -> int:
    """Append `event` in the caller's transaction (so it commits or rolls back with the change); its position."""
    return append_many(connection, [(event, occurred_at)])


def append_many(connection: Connection, events: Sequence[tuple[AuditEvent, datetime]]) -> int:
    """Append `events`, in order, in the caller's transaction: one lock of the head, one INSERT of every row (an
    executemany), one move of the head. The position of the last; the head's when `events` is empty."""
    last, prev_hash = connection.execute(_HEAD).one()
    seq = int(last)
    rows = []
    for event, occurred_at in events:
        seq += 1
        digest = event_hash(seq, occurred_at, event, prev_hash)
        rows.append({**_columns(event), "seq": seq, "occurred_at": occurred_at, "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    if rows:
        connection.execute(_INSERT, rows)
        connection.execute(_ADVANCE_HEAD, {"head_seq": seq, "head_hash": prev_hash})
    return seq


@dataclass(frozen=True)
class ChainReport:
    events: int
    problems: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(connection: Connection, *, batch: int = 5000) -> ChainReport:
    """Recompute the whole chain; every altered, inserted or deleted row is reported by its position."""
    problems: list[str] = []
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for row in _rows(connection, batch):
        count += 1
        if row.seq != expected_seq:
            problems.append(f"events {expected_seq} to {row.seq - 1} missing (deleted)")
        if row.prev_hash != prev_hash:
            problems.append(f"event {row.seq}: previous hash does not match event {row.seq - 1} (inserted or altered)")
        if event_hash(row.seq, row.occurred_at, _event_of(row), row.prev_hash) != row.hash:
            problems.append(f"event {row.seq}: content does not match its hash (altered)")
        expected_seq, prev_hash = row.seq + 1, row.hash
    head_seq, head_hash = connection.execute(select(audit_head.c.seq, audit_head.c.hash)).one()
    last = expected_seq - 1
    if head_seq > last:
        problems.append(f"events {last + 1} to {head_seq} missing at the end (deleted)")
    elif head_seq < last:
        problems.append(f"events {head_seq + 1} to {last} are not in the chain head (inserted)")
    elif head_hash != prev_hash:
        problems.append(f"event {last}: does not match the chain head (altered)")
    return ChainReport(events=count, problems=tuple(problems))


def _rows(connection: Connection, batch: int) -> Iterator[Row[tuple[object, ...]]]:
    after = 0
    while True:
        query = select(audit_events).where(audit_events.c.seq > after).order_by(audit_events.c.seq).limit(batch)
        rows: Sequence[Row[tuple[object, ...]]] = connection.execute(query).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def _event_of(row: Row[tuple[object, ...]]) -> AuditEvent:
    mapping = row._mapping
    return AuditEvent(**{name: mapping[name] for name in _EVENT_FIELDS})
