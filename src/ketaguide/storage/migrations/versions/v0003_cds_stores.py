"""CDS Hooks stores in the database, shared by workers without Redis: the cards issued (`cds_issued_cards`) and
the whole feedback item with a unique identity (`cds_feedback.feedback_key`), see `ketaguide.storage.cds`.

Revision ID: 0003_cds
Revises: 0002_web
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Imported for its table and columns: they join the shared metadata, so the migrated schema and the model agree.
from ketaguide.storage import cds  # noqa: F401
from ketaguide.storage.tables import UTCDateTime

revision = "0003_cds"
down_revision = "0002_web"
branch_labels = None
depends_on = None

_FEEDBACK_COLUMNS = ("feedback_key", "card_type", "accepted_suggestions", "reason_system", "user_comment")


def upgrade() -> None:
    op.create_table(
        "cds_issued_cards",
        sa.Column("uuid", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("hook_instance", sa.String(200), nullable=False),
        sa.Column("iss", sa.String(500), nullable=False),
        sa.Column("card_type", sa.String(200), nullable=False),
        sa.Column("indicator", sa.String(20), nullable=False),
        sa.Column("suggestions", sa.Text, nullable=False),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("uuid", name="pk_cds_issued_cards"),
    )
    op.create_index("ix_cds_issued_cards_issued_at", "cds_issued_cards", ["issued_at"])
    op.add_column("cds_feedback", sa.Column("feedback_key", sa.String(64), nullable=True))
    op.add_column("cds_feedback", sa.Column("card_type", sa.String(200), nullable=True))
    op.add_column("cds_feedback", sa.Column("accepted_suggestions", sa.Text, nullable=True))
    op.add_column("cds_feedback", sa.Column("reason_system", sa.Text, nullable=True))
    op.add_column("cds_feedback", sa.Column("user_comment", sa.Text, nullable=True))
    op.create_index("uq_cds_feedback_feedback_key", "cds_feedback", ["feedback_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_cds_feedback_feedback_key", table_name="cds_feedback")
    with op.batch_alter_table("cds_feedback") as batch:
        for column in _FEEDBACK_COLUMNS:
            batch.drop_column(column)
    op.drop_index("ix_cds_issued_cards_issued_at", table_name="cds_issued_cards")
    op.drop_table("cds_issued_cards")
