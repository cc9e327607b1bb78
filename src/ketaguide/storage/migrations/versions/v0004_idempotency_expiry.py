"""Idempotency keys expire (KETAGUIDE_IDEMPOTENCY_TTL_HOURS): an index on `created_at`, by which each keyed write
purges the expired keys (security.md 5.4; `ketaguide.services.encounters`).

Revision ID: 0004_idempotency
Revises: 0003_cds
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0004_idempotency"
down_revision = "0003_cds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
