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

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Index, RowMapping, String, Table, Text, delete, select
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


def _insert_new(connection: Connection, table: Table) -> Any:
    """INSERT that skips a row whose key exists (ON CONFLICT DO NOTHING) on both engines."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def claim_jti(connection: Connection, iss: str, jti: str, expires_at: datetime) -> bool:
    """Store (iss, jti); False when it was stored before (by any worker): the primary key decides. (RETURNING says
    whether the row went in: psycopg reports no rowcount for ON CONFLICT DO NOTHING.)"""
    statement = _insert_new(connection, cds_jti).values(iss=iss, jti=jti, expires_at=expires_at)
    return connection.execute(statement.returning(cds_jti.c.jti)).first() is not None


def purge_jti(connection: Connection, before: datetime) -> int:
    """Forget pairs kept until before `before` (their tokens can no longer pass the time checks)."""
    return connection.execute(delete(cds_jti).where(cds_jti.c.expires_at < before)).rowcount


def record_cards(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        connection.execute(_insert_new(connection, cds_issued_cards), [dict(row) for row in rows])


def issued_card(connection: Connection, uuid: str, issued_since: datetime) -> RowMapping | None:
    query = select(cds_issued_cards).where(
        cds_issued_cards.c.uuid == uuid, cds_issued_cards.c.issued_at >= issued_since
    )
    return connection.execute(query).mappings().first()


def purge_cards(connection: Connection, before: datetime) -> int:
    return connection.execute(delete(cds_issued_cards).where(cds_issued_cards.c.issued_at < before)).rowcount


def record_feedback(connection: Connection, row: Mapping[str, Any]) -> bool:
    """Store one feedback item; False when an item with the same `feedback_key` was stored before."""
    statement = _insert_new(connection, cds_feedback).values(**row).returning(cds_feedback.c.id)
    return connection.execute(statement).first() is not None


def all_feedback(connection: Connection) -> list[RowMapping]:
    query = select(cds_feedback).where(cds_feedback.c.feedback_key.is_not(None)).order_by(cds_feedback.c.id)
    return list(connection.execute(query).mappings())
