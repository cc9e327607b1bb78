"""Passwords for the web pages: set by an admin from the command line, checked at sign-in, locked after failures.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile: 3 passes over 64 MiB;
OWASP ASVS 5.0 11.4.2). A password is 12 to 256 characters with no composition rules (ASVS 6.2.1, 6.2.5) and may
not be the user's own name. Setting a password ends the user's open sessions (ASVS 7.4.3).

Lock-out (ASVS 6.3.1): each attempt on an account is counted *before* its password is checked, in a short write
transaction, so parallel guesses cannot all slip past the limit; after `MAX_FAILURES` failures in a row the account
is locked for `LOCKOUT`, and a correct password then is refused too. A success resets the count. The answer never
says which of user name, password or lock was wrong, and an unknown user costs the same hash as a known one, so
sign-in does not reveal who has an account. Every attempt is an audit event (ASVS 16.3.1), never with the password
nor, for an unknown user, the name typed (it may be a password typed into the wrong box).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ketaguide.domain.errors import InputError, KetaGuideError
from ketaguide.services.access import Caller, Principal, Role
from ketaguide.services.audit import audited
from ketaguide.services.records import Records
from ketaguide.storage import audit as trail
from ketaguide.storage import web_sessions as store
from ketaguide.storage.audit import AuditEvent
from ketaguide.storage.errors import NotFound

MIN_PASSWORD = 12
MAX_PASSWORD = 256
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


class SignInRefused(KetaGuideError):
    """Wrong user name or password, a revoked user, or a locked account: deliberately not told apart."""


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash to check unknown users' passwords against, so they take as long as known users'."""
    return _hasher().hash("not a password of any user")


def check_password_rules(name: str, password: str) -> None:
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"is {len(password)} characters; use at least {MIN_PASSWORD} (a passphrase is fine)")
    if len(password) > MAX_PASSWORD:
        problems.append(f"is over {MAX_PASSWORD} characters")
    if password.strip().casefold() == name.casefold():
        problems.append("may not be the user name")
    if problems:
        raise InputError("password", "; ".join(problems))


def set_password(records: Records, name: str, password: str, caller: Caller | None = None) -> int:
    """Give `name` a new password (caller None: the command line); ends their open web sessions. The user's id."""
    check_password_rules(name, password)
    hashed = _hasher().hash(password)
    with audited(records, caller, "set-password", "user") as work:
        user = store.user_by_name(work.connection, name)
        if user is None:
            raise NotFound(f"no user named {name!r}")
        work.resource_id = str(user["id"])
        now = records.clock.now()
        store.set_password_hash(work.connection, user["id"], hashed, now)
        store.end_user_sessions(work.connection, user["id"], now)
        return int(user["id"])


@dataclass(frozen=True)
class _Attempt:
    user_id: int | None
    name: str | None
    role: str | None
    password_hash: str | None
    count: int  # this attempt's number in the current run of failures


def sign_in(records: Records, name: str, password: str, request_id: str | None = None) -> Principal:
    """The principal whose name and password these are; SignInRefused otherwise (and after too many failures)."""
    attempt = _count_attempt(records, name[:100])
    usable = attempt.password_hash is not None and attempt.count <= MAX_FAILURES
    matched, rehash = _verify(attempt.password_hash if usable else None, password[: MAX_PASSWORD + 1])
    now = records.clock.now()
    with records.database.write() as connection:
        if attempt.user_id is not None and matched:
            new_hash = _hasher().hash(password) if rehash else None
            store.clear_failures(connection, attempt.user_id, new_hash)
        elif attempt.user_id is not None and attempt.count == MAX_FAILURES:  # this failure reached the limit
            store.record_failure(connection, attempt.user_id, attempt.count, now + LOCKOUT)
        outcome = "success" if matched else ("locked" if attempt.count > MAX_FAILURES else "denied")
        event = AuditEvent(
            action="sign-in",
            resource_type="session",
            outcome=outcome,
            user_id=attempt.user_id,
            user_name=attempt.name,
            role=attempt.role,
            request_id=request_id,
        )
        trail.append(connection, event, now)
    if not matched or attempt.user_id is None or attempt.role is None or attempt.name is None:
        raise SignInRefused("the user name or password is wrong, or the account is locked for a while")
    return Principal(user_id=attempt.user_id, name=attempt.name, role=Role(attempt.role))


def _count_attempt(records: Records, name: str) -> _Attempt:
    """Count this attempt against the account before the password is checked (see the module docstring)."""
    with records.database.write() as connection:
        user = store.user_by_name(connection, name)
        credentials = store.credentials_of(connection, user["id"]) if user is not None else None
        if user is None or credentials is None or user["revoked_at"] is not None:
            return _Attempt(None, None, None, None, 0)
        now = records.clock.now()
        failures, locked_until = credentials["failed_attempts"], credentials["locked_until"]
        if locked_until is not None and locked_until > now:
            count = MAX_FAILURES + 1  # locked: refused without checking the password
        else:
            if locked_until is not None:
                failures, locked_until = 0, None  # the lock-out is over: a fresh run of attempts
            count = failures + 1
            if count > MAX_FAILURES:  # over the limit without a lock (the attempt that reached it never ended)
                locked_until = now + LOCKOUT
            store.record_failure(connection, user["id"], min(count, MAX_FAILURES + 1), locked_until)
        return _Attempt(user["id"], user["name"], user["role"], credentials["password_hash"], count)


def _verify(password_hash: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs a rehash); a missing hash is checked against a dummy so every attempt costs the same."""
    hasher = _hasher()
    try:
        hasher.verify(password_hash or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    if password_hash is None:
        return False, False
    return True, hasher.check_needs_rehash(password_hash)


@dataclass(frozen=True)
class WebAccount:
    """What the admin page shows of a user's web sign-in (never the hash)."""

    has_password: bool
    locked_until: datetime | None
    failed_attempts: int


def web_accounts(records: Records) -> dict[int, WebAccount]:
    with records.database.read() as connection:
        rows = store.users_with_passwords(connection)
    return {user_id: WebAccount(True, row["locked_until"], row["failed_attempts"]) for user_id, row in rows.items()}
