"""Run and check the Alembic migrations (`ketaguide db upgrade`; `serve` refuses an out-of-date schema)."""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from ketaguide.storage.engine import Database

SCRIPT_LOCATION = "ketaguide.storage:migrations"


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: an empty database
    head: str

    @property
    def is_current(self) -> bool:
        return self.current == self.head


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the migrations have one head"
    return head


def schema_state(database: Database) -> SchemaState:
    with database.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return SchemaState(current=current, head=head_revision())


def upgrade(database: Database, revision: str = "head") -> SchemaState:
    """Migrate the database to `revision` in one transaction (both engines run DDL transactionally)."""
    with database.write() as connection:
        command.upgrade(_config(connection), revision)
    return schema_state(database)


def downgrade(database: Database, revision: str) -> SchemaState:
    with database.write() as connection:
        command.downgrade(_config(connection), revision)
    return schema_state(database)
