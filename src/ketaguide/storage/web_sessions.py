"""Sign-in for the web pages (`ketaguide.web`): users' passwords and their browser sessions.

Kept apart from the API's tables (`tables.py`) so that the REST API's users keep their tokens untouched: a user
may have an API token, a password, or both. The tables join the one `metadata` (so the migrated schema and the
model still agree); migration `v0002_web_sign_in` creates them.

    web_credentials  one row per user with a password: its Argon2id hash, consecutive failures, the lock-out end
    web_sessions     one row per browser session: the SHA-256 of its random id (the cookie holds the id itself,
                     which is never stored), its CSRF token, when it started, when it was last used, when it ends

Every function runs inside a transaction the caller opened (`Database.write()` / `read()`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    RowMapping,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)

from ketaguide.storage.tables import UTCDateTime, metadata, users

web_credentials = Table(
    "web_credentials",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True, autoincrement=False),
    Column("password_hash", String(255), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("failed_attempts", Integer, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
)
Index("ix_web_sessions_user", web_sessions.c.user_id)
Index("ix_web_sessions_expires_at", web_sessions.c.expires_at)


# Users and passwords ----------------------------------------------------------------------------------------------


def user_by_name(connection: Connection, name: str) -> RowMapping | None:
    return connection.execute(select(users).where(users.c.name == name)).mappings().first()


def credentials_of(connection: Connection, user_id: int) -> RowMapping | None:
    query = select(web_credentials).where(web_credentials.c.user_id == user_id)
    return connection.execute(query).mappings().first()


def users_with_passwords(connection: Connection) -> dict[int, RowMapping]:
    return {row["user_id"]: row for row in connection.execute(select(web_credentials)).mappings()}


def set_password_hash(connection: Connection, user_id: int, password_hash: str, at: datetime) -> None:
    """Store a new password hash; a new password also clears the failure count and any lock-out."""
    values = {"password_hash": password_hash, "changed_at": at, "failed_attempts": 0, "locked_until": None}
    if credentials_of(connection, user_id) is None:
        connection.execute(insert(web_credentials).values(user_id=user_id, **values))
    else:
        connection.execute(update(web_credentials).where(web_credentials.c.user_id == user_id).values(**values))


def record_failure(connection: Connection, user_id: int, failed_attempts: int, locked_until: datetime | None) -> None:
    statement = update(web_credentials).where(web_credentials.c.user_id == user_id)
    connection.execute(statement.values(failed_attempts=failed_attempts, locked_until=locked_until))


def clear_failures(connection: Connection, user_id: int, password_hash: str | None = None) -> None:
    """Reset the failure count (after a successful sign-in), storing a rehashed password when given."""
    values: dict[str, object] = {"failed_attempts": 0, "locked_until": None}
    if password_hash is not None:
        values["password_hash"] = password_hash
    connection.execute(update(web_credentials).where(web_credentials.c.user_id == user_id).values(**values))


# Sessions ---------------------------------------------------------------------------------------------------------


def insert_session(
    connection: Connection, *, id_hash: str, user_id: int, csrf_token: str, now: datetime, expires_at: datetime
) -> None:
    values = {"id_hash": id_hash, "user_id": user_id, "csrf_token": csrf_token}
    connection.execute(
        insert(web_sessions).values(**values, created_at=now, last_seen_at=now, expires_at=expires_at, ended_at=None)
    )


def session_with_user(connection: Connection, id_hash: str) -> RowMapping | None:
    """The session and its user's name, role and revocation time."""
    query = (
        select(
            web_sessions,
            users.c.name.label("user_name"),
            users.c.role.label("user_role"),
            users.c.revoked_at.label("user_revoked_at"),
        )
        .join(users, users.c.id == web_sessions.c.user_id)
        .where(web_sessions.c.id_hash == id_hash)
    )
    return connection.execute(query).mappings().first()


def touch_session(connection: Connection, id_hash: str, at: datetime) -> None:
    connection.execute(update(web_sessions).where(web_sessions.c.id_hash == id_hash).values(last_seen_at=at))


def end_session(connection: Connection, id_hash: str, at: datetime) -> None:
    statement = update(web_sessions).where(web_sessions.c.id_hash == id_hash, web_sessions.c.ended_at.is_(None))
    connection.execute(statement.values(ended_at=at))


def end_user_sessions(connection: Connection, user_id: int, at: datetime) -> int:
    """End every open session of a user (a new password, a revoked user); how many were open."""
    statement = update(web_sessions).where(web_sessions.c.user_id == user_id, web_sessions.c.ended_at.is_(None))
    return int(connection.execute(statement.values(ended_at=at)).rowcount)


def purge_sessions(connection: Connection, before: datetime) -> None:
    """Forget sessions that expired before `before` (they can no longer be used; the audit trail keeps sign-ins)."""
    connection.execute(delete(web_sessions).where(web_sessions.c.expires_at < before))
