"""What CDS Hooks keeps in the database, shared by every worker (`ketaguide.cdshooks.database` uses it when
`KETAGUIDE_REDIS_URL` is not set):

    cds_jti           (tables.py) each JWT (issuer, jti) once: the primary key makes a replay lose on every worker
    cds_issued_cards  each card issued, so feedback is tied to the cards this service actually issued
    cds_feedback      (tables.py) each feedback item once: `feedback_key` (the item's identity) is unique, and the
                      columns below, added by migration `v0003_cds_stores`, keep the whole item

The added `cds_feedback` columns are declared here, on the table of `tables.py`, so that the model and the
migrated schema agree (migration 0003 imports this module, as 0002 imports `web_sessions`). Every function runs
inside a transaction the caller opened (`Database.write()` / `read()`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Index, RowMapping, String, Table, Text, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from ketaguide.storage.tables import UTCDateTime, cds_feedback, cds_jti, metadata

cds_issued_cards = Table(
    "cds_issued_cards",
    metadata,
    Column("uuid", String(64), primary_key=True),
    Column("service_id", String(100), nullable=False),
    Column("hook_instance", String(200), nullable=False),
    Column("iss", String(500), nullable=False),
    Column("card_type", String(200), nullable=False),
    Column("indicator", String(20), nullable=False),
    Column("suggestions", Text, nullable=False),  # a JSON array of suggestion uuids
    Column("issued_at", UTCDateTime, nullable=False),
)
Index("ix_cds_issued_cards_issued_at", cds_issued_cards.c.issued_at)

FEEDBACK_COLUMNS = (
    Column("feedback_key", String(64), nullable=True),
    Column("card_type", String(200), nullable=True),
    Column("accepted_suggestions", Text, nullable=True),  # a JSON array of suggestion uuids
    Column("reason_system", Text, nullable=True),
    Column("user_comment", Text, nullable=True),
)
if "feedback_key" not in cds_feedback.c:
    for _column in FEEDBACK_COLUMNS:
        cds_feedback.append_column(_column)
    Index("uq_cds_feedback_feedback_key", cds_feedback.c.feedback_key, unique=True)


# Statements are built once (per engine kind where the dialect's INSERT differs) and given their values as
# parameters: SQLAlchemy then reuses their compiled forms, where building one per call costs its construction and a
# walk to key it for the compiled cache, more than running it.
_CARD = select(cds_issued_cards).where(
    cds_issued_cards.c.uuid == bindparam("uuid"), cds_issued_cards.c.issued_at >= bindparam("issued_since")
)
_PURGE_JTI = delete(cds_jti).where(cds_jti.c.expires_at < bindparam("before"))
_PURGE_CARDS = delete(cds_issued_cards).where(cds_issued_cards.c.issued_at < bindparam("before"))
_ALL_FEEDBACK = select(cds_feedback).where(cds_feedback.c.feedback_key.is_not(None)).order_by(cds_feedback.c.id)


@functools.cache
def _insert_new(dialect: str, table: Table) -> Any:
    """INSERT that skips a row whose key exists (ON CONFLICT DO NOTHING) on both engines."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table).on_conflict_do_nothing()


@functools.cache
def _insert_new_returning(dialect: str, table: Table) -> Any:
    """`_insert_new` that returns the primary key of the row it stored: none when the row existed. (psycopg
    reports no rowcount for ON CONFLICT DO NOTHING.)"""
    return _insert_new(dialect, table).returning(*table.primary_key.columns)


def claim_jti(connection: Connection, iss: str, jti: str, expires_at: datetime) -> bool:
    """Store (iss, jti); False when it was stored before (by any worker): the primary key decides."""
    return (iss, jti) in claim_jtis(connection, [(iss, jti, expires_at)])


def claim_jtis(connection: Connection, claims: Sequence[tuple[str, str, datetime]]) -> set[tuple[str, str]]:
    """Store each (iss, jti, expires_at) in one INSERT of every row; the pairs stored now. A pair stored before, or
    earlier in `claims`, is not stored again and is not in the result."""
    if not claims:
        return set()
    rows = [{"iss": iss, "jti": jti, "expires_at": expires_at} for iss, jti, expires_at in claims]
    stored = connection.execute(_insert_new_returning(connection.dialect.name, cds_jti), rows)
    return {(iss, jti) for iss, jti in stored}


def purge_jti(connection: Connection, before: datetime) -> int:
    """Forget pairs kept until before `before` (their tokens can no longer pass the time checks)."""
    return connection.execute(_PURGE_JTI, {"before": before}).rowcount


def record_cards(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Store the cards issued: one INSERT of every row (an executemany); a uuid stored before is kept as it was."""
    if rows:
        connection.execute(_insert_new(connection.dialect.name, cds_issued_cards), [dict(row) for row in rows])


def issued_card(connection: Connection, uuid: str, issued_since: datetime) -> RowMapping | None:
    return connection.execute(_CARD, {"uuid": uuid, "issued_since": issued_since}).mappings().first()


def purge_cards(connection: Connection, before: datetime) -> int:
    return connection.execute(_PURGE_CARDS, {"before": before}).rowcount


def record_feedback(connection: Connection, row: Mapping[str, Any]) -> bool:
    """Store one feedback item; False when an item with the same `feedback_key` was stored before."""
    statement = _insert_new_returning(connection.dialect.name, cds_feedback)
    return connection.execute(statement, dict(row)).first() is not None


def all_feedback(connection: Connection) -> list[RowMapping]:
    return list(connection.execute(_ALL_FEEDBACK).mappings())
