"""Alembic's entry point: migrate the connection passed in `config.attributes["connection"]`, in its transaction."""

from __future__ import annotations

from alembic import context

from ketaguide.storage.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
