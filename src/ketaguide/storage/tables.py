"""The tables, as SQLAlchemy Core. The schema itself is made by the migrations (`migrations/versions/`); a test
checks that the migrated schema and these tables agree.

Times are UTC (`UTCDateTime`); documents (an intake, a care plan) are canonical JSON text, stored as received and
computed, never parsed by SQL. Identifiers of patients and encounters are random UUIDs (opaque in URLs).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both engines (SQLite keeps no zone: it is stored as UTC and restored)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass a UTC time from the Clock")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    CheckConstraint("role IN ('clinician', 'curator', 'admin')", name="role"),
)

patients = Table(
    "patients",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("mrn", String(64), nullable=True, unique=True),
    Column("birth_year", Integer, nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    Column("created_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("updated_by", Integer, ForeignKey("users.id"), nullable=False),
    CheckConstraint("version >= 1", name="version"),
)
Index("ix_patients_display_name", patients.c.display_name)

encounters = Table(
    "encounters",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False),
    Column("observed_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("recorded_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("intake", Text, nullable=False),
    Column("care_plan", Text, nullable=False),
    Column("ketaguide_version", String(40), nullable=False),
    Column("content_version", String(100), nullable=False),
    Column("content_hash", String(80), nullable=False),
    Column("policy_version", String(40), nullable=False),
)
Index("ix_encounters_patient", encounters.c.patient_id, encounters.c.observed_at)

observations = Table(
    "observations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False),
    Column("observed_on", Date, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("recorded_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("craving_score", Integer, nullable=True),
    Column("use_days_past_7", Integer, nullable=True),
    Column("urine_drug_screen", String(20), nullable=True),
    Column("bladder_symptoms", Text, nullable=False),
    Column("phq2_score", Integer, nullable=True),
    Column("suicidality_screen", String(30), nullable=True),
    CheckConstraint("craving_score BETWEEN 0 AND 10", name="craving_score"),
    CheckConstraint("use_days_past_7 BETWEEN 0 AND 7", name="use_days_past_7"),
    CheckConstraint("phq2_score BETWEEN 0 AND 6", name="phq2_score"),
)
Index("ix_observations_patient", observations.c.patient_id, observations.c.observed_on)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("key", String(200), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("resource_id", String(36), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
)
# Keys expire (KETAGUIDE_IDEMPOTENCY_TTL_HOURS); each keyed write purges the expired ones by this index (v0004).
Index("ix_idempotency_keys_created_at", idempotency_keys.c.created_at)

# The audit trail: append-only (triggers refuse UPDATE and DELETE) and hash-chained (`audit.py`). `seq` is the
# position in the chain, 1, 2, 3...; `audit_head` holds the last position and hash, so a deleted tail is detected,
# and its row lock orders appends from every worker.
audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("user_id", Integer, nullable=True),
    Column("user_name", String(100), nullable=True),
    Column("role", String(20), nullable=True),
    Column("action", String(40), nullable=False),
    Column("resource_type", String(40), nullable=False),
    Column("resource_id", String(200), nullable=True),
    Column("patient_id", String(36), nullable=True),
    Column("outcome", String(30), nullable=False),
    Column("request_id", String(64), nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
Index("ix_audit_events_patient", audit_events.c.patient_id)
Index("ix_audit_events_occurred_at", audit_events.c.occurred_at)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

# For CDS Hooks (src/ketaguide/cdshooks): a JWT `jti` is accepted once per issuer, shared by every worker.
cds_jti = Table(
    "cds_jti",
    metadata,
    Column("iss", String(500), primary_key=True),
    Column("jti", String(200), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False),
)
Index("ix_cds_jti_expires_at", cds_jti.c.expires_at)

# For CDS Hooks feedback (a card accepted or overridden, with reasons), kept for post-market monitoring.
cds_feedback = Table(
    "cds_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(100), nullable=False),
    Column("card_uuid", String(64), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("override_reason", Text, nullable=True),
    Column("outcome_at", UTCDateTime, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("iss", String(500), nullable=True),
)
Index("ix_cds_feedback_card", cds_feedback.c.card_uuid)
