"""The first schema: users, patients, encounters, observations, idempotency keys, the audit trail, CDS Hooks tables.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ketaguide.storage.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The audit trail refuses UPDATE and DELETE in the database itself, whoever connects (security.md, 5.2).
_SQLITE_AUDIT_TRIGGERS = [
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
]
_POSTGRESQL_AUDIT_TRIGGERS = [
    """CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$""",
    """CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
       FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
       FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
]


def upgrade() -> None:
    _users_and_patients()
    _clinical_records()
    _audit_and_keys()
    _cds_hooks()
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_AUDIT_TRIGGERS if dialect == "sqlite" else _POSTGRESQL_AUDIT_TRIGGERS:
        op.execute(statement)
    op.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')")


def _users_and_patients() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("name", name="uq_users_name"),
        sa.UniqueConstraint("token_hash", name="uq_users_token_hash"),
        sa.CheckConstraint("role IN ('clinician', 'curator', 'admin')", name="ck_users_role"),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("mrn", sa.String(64), nullable=True),
        sa.Column("birth_year", sa.Integer, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime, nullable=True),
        sa.Column("created_by", sa.Integer, nullable=False),
        sa.Column("updated_by", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_patients"),
        sa.UniqueConstraint("mrn", name="uq_patients_mrn"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="fk_patients_created_by_users"),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name="fk_patients_updated_by_users"),
        sa.CheckConstraint("version >= 1", name="ck_patients_version"),
    )
    op.create_index("ix_patients_display_name", "patients", ["display_name"])


def _clinical_records() -> None:
    op.create_table(
        "encounters",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("observed_at", UTCDateTime, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("recorded_by", sa.Integer, nullable=False),
        sa.Column("intake", sa.Text, nullable=False),
        sa.Column("care_plan", sa.Text, nullable=False),
        sa.Column("ketaguide_version", sa.String(40), nullable=False),
        sa.Column("content_version", sa.String(100), nullable=False),
        sa.Column("content_hash", sa.String(80), nullable=False),
        sa.Column("policy_version", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_encounters"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_encounters_patient_id_patients"),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name="fk_encounters_recorded_by_users"),
    )
    op.create_index("ix_encounters_patient", "encounters", ["patient_id", "observed_at"])
    op.create_table(
        "observations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("observed_on", sa.Date, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("recorded_by", sa.Integer, nullable=False),
        sa.Column("craving_score", sa.Integer, nullable=True),
        sa.Column("use_days_past_7", sa.Integer, nullable=True),
        sa.Column("urine_drug_screen", sa.String(20), nullable=True),
        sa.Column("bladder_symptoms", sa.Text, nullable=False),
        sa.Column("phq2_score", sa.Integer, nullable=True),
        sa.Column("suicidality_screen", sa.String(30), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_observations"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_observations_patient_id_patients"),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name="fk_observations_recorded_by_users"),
        sa.CheckConstraint("craving_score BETWEEN 0 AND 10", name="ck_observations_craving_score"),
        sa.CheckConstraint("use_days_past_7 BETWEEN 0 AND 7", name="ck_observations_use_days_past_7"),
        sa.CheckConstraint("phq2_score BETWEEN 0 AND 6", name="ck_observations_phq2_score"),
    )
    op.create_index("ix_observations_patient", "observations", ["patient_id", "observed_on"])


def _audit_and_keys() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("resource_id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_idempotency_keys"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_idempotency_keys_user_id_users"),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("user_name", sa.String(100), nullable=True),
        sa.Column("role", sa.String(20), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("resource_type", sa.String(40), nullable=False),
        sa.Column("resource_id", sa.String(200), nullable=True),
        sa.Column("patient_id", sa.String(36), nullable=True),
        sa.Column("outcome", sa.String(30), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_patient", "audit_events", ["patient_id"])
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
        sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),
    )


def _cds_hooks() -> None:
    op.create_table(
        "cds_jti",
        sa.Column("iss", sa.String(500), nullable=False),
        sa.Column("jti", sa.String(200), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("iss", "jti", name="pk_cds_jti"),
    )
    op.create_index("ix_cds_jti_expires_at", "cds_jti", ["expires_at"])
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("card_uuid", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("override_reason", sa.Text, nullable=True),
        sa.Column("outcome_at", UTCDateTime, nullable=True),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("iss", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cds_feedback"),
    )
    op.create_index("ix_cds_feedback_card", "cds_feedback", ["card_uuid"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only() CASCADE")
    for table in (
        "cds_feedback",
        "cds_jti",
        "audit_head",
        "audit_events",
        "idempotency_keys",
        "observations",
        "encounters",
        "patients",
        "users",
    ):
        op.drop_table(table)
