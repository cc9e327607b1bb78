"""Browser sessions: server-side, in the database (every worker sees them), ended on sign-out or timeout.

- The session id is 256 random bits (`secrets.token_urlsafe(32)`, ASVS 7.2.3); the cookie carries it and the
  database only its SHA-256, so a copy of the database holds no usable session.
- Sign-in always starts a new session and ends any session the browser presented (session fixation, ASVS 7.2.4).
- Timeouts (HIPAA 164.312(a)(2)(iii) automatic logoff; ASVS 7.3.1/7.3.2; NIST SP 800-63B AAL2 asks for at most
  30 minutes idle and 12 hours in all): `IDLE` 15 minutes without a request, `ABSOLUTE` 12 hours after sign-in.
  The last use is written at most once a minute (`TOUCH_EVERY`), so most pages cost one read, not a write.
- Sign-out ends the session in the database (ASVS 7.4.1); so do a new password and a revoked user (7.4.2).
- Each session has its own CSRF token (synchronizer token, ASVS 3.5.1), compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ketaguide.services.access import Principal, Role
from ketaguide.services.records import Records
from ketaguide.storage import audit as trail
from ketaguide.storage import web_sessions as store
from ketaguide.storage.audit import AuditEvent

IDLE = timedelta(minutes=15)
ABSOLUTE = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def is_token(value: str | None) -> bool:
    return value is not None and _TOKEN.fullmatch(value) is not None


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def same_token(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


@dataclass(frozen=True)
class WebSession:
    session_id: str
    principal: Principal
    csrf_token: str
    started_at: datetime


def start(records: Records, principal: Principal, presented: str | None, request_id: str | None) -> WebSession:
    """A new session for `principal`; the one the browser presented, if any, is ended first."""
    session_id, csrf = new_token(), new_token()
    now = records.clock.now()
    with records.database.write() as connection:
        if is_token(presented):
            store.end_session(connection, _hash(presented or ""), now)
        store.purge_sessions(connection, now - ABSOLUTE)
        store.insert_session(
            connection,
            id_hash=_hash(session_id),
            user_id=principal.user_id,
            csrf_token=csrf,
            now=now,
            expires_at=now + ABSOLUTE,
        )
    return WebSession(session_id, principal, csrf, now)


def current(records: Records, session_id: str | None) -> WebSession | None:
    """The live session with this id, or None (unknown, ended, idle too long, past its lifetime, user revoked)."""
    if not is_token(session_id):
        return None
    assert session_id is not None
    id_hash = _hash(session_id)
    with records.database.read() as connection:
        row = store.session_with_user(connection, id_hash)
    now = records.clock.now()
    if row is None or row["ended_at"] is not None or row["user_revoked_at"] is not None:
        return None
    if now >= row["expires_at"] or now - row["last_seen_at"] >= IDLE:
        with records.database.write() as connection:
            store.end_session(connection, id_hash, now)
        return None
    if now - row["last_seen_at"] >= TOUCH_EVERY:
        with records.database.write() as connection:
            store.touch_session(connection, id_hash, now)
    principal = Principal(user_id=row["user_id"], name=row["user_name"], role=Role(row["user_role"]))
    return WebSession(session_id, principal, row["csrf_token"], row["created_at"])


def end(records: Records, session: WebSession, request_id: str | None) -> None:
    """Sign out: the session ends in the database, so its cookie is useless even if it was copied."""
    now = records.clock.now()
    with records.database.write() as connection:
        store.end_session(connection, _hash(session.session_id), now)
        principal = session.principal
        event = AuditEvent(
            action="sign-out",
            resource_type="session",
            outcome="success",
            user_id=principal.user_id,
            user_name=principal.name,
            role=principal.role.value,
            request_id=request_id,
        )
        trail.append(connection, event, now)
