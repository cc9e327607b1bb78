"""Opening a deployment's records: the database named by the settings, its schema, and its durability.

`ketaguide db upgrade` migrates; the server and the user commands refuse a schema that is not current (and say
which command fixes it) or a database that could lose acknowledged writes.
"""

from __future__ import annotations

from ketaguide.domain.errors import KetaGuideError
from ketaguide.domain.ports import Clock
from ketaguide.services.records import Records
from ketaguide.settings import Settings
from ketaguide.storage import schema
from ketaguide.storage.engine import Database, redacted
from ketaguide.storage.schema import SchemaState

UPGRADE_HINT = "run `ketaguide db upgrade`"


class DatabaseNotReady(KetaGuideError):
    """The database's schema is not the one this KetaGuide needs, or its settings could lose writes."""


def open_records(settings: Settings, clock: Clock) -> Records:
    """The settings' database (not yet checked: see `require_ready`)."""
    database = Database(settings.resolved_database_url(), pool_size=settings.database_pool_size)
    return Records(database=database, clock=clock)


def require_capacity(records: Records, settings: Settings, workers: int) -> None:
    """DatabaseNotReady when `workers` full pools would exceed PostgreSQL's connections: at peak load requests
    would fail with "too many clients" instead of the server refusing to start now, naming the settings."""
    available = records.database.max_connections()
    wanted = workers * settings.database_pool_size
    if available is not None and wanted > available:
        raise DatabaseNotReady(
            f"{workers} workers x KETAGUIDE_DATABASE_POOL_SIZE {settings.database_pool_size} = {wanted} connections, "
            f"more than PostgreSQL's {available} (max_connections less the reserved ones): lower the workers or the "
            "pool size, or raise max_connections"
        )


def describe(records: Records) -> str:
    return redacted(records.database.url)


def require_ready(records: Records) -> SchemaState:
    """The schema state, if current and durable; DatabaseNotReady naming the fix otherwise."""
    state = schema.schema_state(records.database)
    if not state.is_current:
        found = "empty" if state.current is None else f"at revision {state.current}"
        raise DatabaseNotReady(
            f"the database schema is {found}; this KetaGuide needs revision {state.head}: {UPGRADE_HINT}"
        )
    problems = records.database.durability_problems()
    if problems:
        raise DatabaseNotReady("; ".join(problems))
    return state


def upgrade(records: Records) -> SchemaState:
    return schema.upgrade(records.database)


def status(records: Records) -> SchemaState:
    return schema.schema_state(records.database)
