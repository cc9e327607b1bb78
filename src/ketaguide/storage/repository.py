"""The queries the services run, each inside a transaction the caller opened (`Database.write()` / `read()`).

Rows come back as read-only mappings; the services turn them into their typed records. Changes to a patient are
optimistic: `UPDATE ... WHERE version = :expected`, and no row updated means someone else changed it first (412).
Nothing here deletes a clinical row: a patient's deletion is a timestamp, and lists and reads honour it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ketaguide.storage.errors import Conflict, Gone, NotFound, PreconditionFailed
from ketaguide.storage.tables import cds_feedback, cds_jti, encounters, idempotency_keys, observations, patients, users

# Users ------------------------------------------------------------------------------------------------------------


def insert_user(connection: Connection, *, name: str, role: str, token_hash: str, created_at: datetime) -> int:
    if connection.execute(select(users.c.id).where(users.c.name == name)).first() is not None:
        raise Conflict(f"a user named {name!r} already exists")
    values = {"name": name, "role": role, "token_hash": token_hash, "created_at": created_at}
    return int(connection.execute(insert(users).values(values).returning(users.c.id)).scalar_one())


# Every API request runs this one; built once, it costs about half as much as building it per request (issue #10).
_USER_BY_TOKEN_HASH = select(users).where(users.c.token_hash == bindparam("token_hash"))


def user_by_token_hash(connection: Connection, token_hash: str) -> RowMapping | None:
    return connection.execute(_USER_BY_TOKEN_HASH, {"token_hash": token_hash}).mappings().first()


def list_users(connection: Connection) -> Sequence[RowMapping]:
    return connection.execute(select(users).order_by(users.c.id)).mappings().all()


def count_users(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(users)).scalar_one())


def revoke_user(connection: Connection, name: str, at: datetime) -> RowMapping:
    user = connection.execute(select(users).where(users.c.name == name)).mappings().first()
    if user is None:
        raise NotFound(f"no user named {name!r}")
    if user["revoked_at"] is None:
        connection.execute(update(users).where(users.c.id == user["id"]).values(revoked_at=at))
    return user


# Patients ---------------------------------------------------------------------------------------------------------


def insert_patient(connection: Connection, values: Mapping[str, Any]) -> None:
    _check_mrn_free(connection, values.get("mrn"), None)
    try:
        connection.execute(insert(patients).values(**values))
    except IntegrityError as error:  # a concurrent request took the MRN between the check and the insert
        raise Conflict("a patient with this MRN already exists") from error


def live_patient(connection: Connection, patient_id: str) -> RowMapping:
    """The patient, or NotFound / Gone (deleted)."""
    row = connection.execute(select(patients).where(patients.c.id == patient_id)).mappings().first()
    if row is None:
        raise NotFound("no such patient")
    if row["deleted_at"] is not None:
        raise Gone("this patient was deleted")
    return row


def search_patients(
    connection: Connection, query: str | None, limit: int, offset: int
) -> tuple[Sequence[RowMapping], int]:
    """Live patients whose name contains `query` (any case) or whose MRN is `query`, by name; and their count."""
    condition: ColumnElement[bool] = patients.c.deleted_at.is_(None)
    if query:
        name_matches = func.lower(patients.c.display_name).contains(query.lower(), autoescape=True)
        condition = and_(condition, or_(name_matches, patients.c.mrn == query))
    total = connection.execute(select(func.count()).select_from(patients).where(condition)).scalar_one()
    page = select(patients).where(condition).order_by(patients.c.display_name, patients.c.id).limit(limit)
    return connection.execute(page.offset(offset)).mappings().all(), int(total)


def update_patient(
    connection: Connection, patient_id: str, expected_version: int | None, changes: Mapping[str, Any]
) -> RowMapping:
    """Apply `changes` if the stored version is still `expected_version` (None: whatever it is)."""
    current = live_patient(connection, patient_id)
    if "mrn" in changes:
        _check_mrn_free(connection, changes["mrn"], patient_id)
    version = current["version"] if expected_version is None else expected_version
    statement = (
        update(patients)
        .where(patients.c.id == patient_id, patients.c.version == version, patients.c.deleted_at.is_(None))
        .values(**changes, version=version + 1)
    )
    try:
        updated = connection.execute(statement).rowcount
    except IntegrityError as error:
        raise Conflict("a patient with this MRN already exists") from error
    if updated != 1:
        raise PreconditionFailed(f"the patient is at version {current['version']}, not {version}; read it again")
    return connection.execute(select(patients).where(patients.c.id == patient_id)).mappings().one()


def _check_mrn_free(connection: Connection, mrn: str | None, patient_id: str | None) -> None:
    if mrn is None:
        return
    query = select(patients.c.id).where(patients.c.mrn == mrn)
    if patient_id is not None:
        query = query.where(patients.c.id != patient_id)
    if connection.execute(query).first() is not None:
        raise Conflict("a patient with this MRN already exists")


# Encounters and observations --------------------------------------------------------------------------------------


def insert_encounter(connection: Connection, values: Mapping[str, Any]) -> None:
    connection.execute(insert(encounters).values(**values))


def list_encounters(
    connection: Connection, patient_id: str, limit: int, offset: int
) -> tuple[Sequence[RowMapping], int]:
    condition = encounters.c.patient_id == patient_id
    total = connection.execute(select(func.count()).select_from(encounters).where(condition)).scalar_one()
    order = (encounters.c.observed_at.desc(), encounters.c.id)
    page = select(encounters).where(condition).order_by(*order).limit(limit).offset(offset)
    return connection.execute(page).mappings().all(), int(total)


def get_encounter(connection: Connection, patient_id: str, encounter_id: str) -> RowMapping:
    query = select(encounters).where(encounters.c.id == encounter_id, encounters.c.patient_id == patient_id)
    row = connection.execute(query).mappings().first()
    if row is None:
        raise NotFound("no such encounter for this patient")
    return row


def insert_observation(connection: Connection, values: Mapping[str, Any]) -> None:
    connection.execute(insert(observations).values(**values))


def list_observations(connection: Connection, patient_id: str) -> Sequence[RowMapping]:
    order = (observations.c.observed_on, observations.c.recorded_at, observations.c.id)
    query = select(observations).where(observations.c.patient_id == patient_id).order_by(*order)
    return connection.execute(query).mappings().all()


# Idempotency keys -------------------------------------------------------------------------------------------------


def purge_idempotency_keys(connection: Connection, created_before: datetime) -> int:
    """Forget keys stored before `created_before` (expired: a retry with one is a new request); how many."""
    statement = delete(idempotency_keys).where(idempotency_keys.c.created_at < created_before)
    return int(connection.execute(statement).rowcount)


def find_idempotency_key(connection: Connection, user_id: int, key: str) -> RowMapping | None:
    query = select(idempotency_keys).where(idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key)
    return connection.execute(query).mappings().first()


def insert_idempotency_key(connection: Connection, values: Mapping[str, Any]) -> None:
    """Claim a key; raises IntegrityError when a concurrent request claimed it first (PostgreSQL waits for that
    request to commit, then raises), which the caller answers by replaying the stored result."""
    connection.execute(insert(idempotency_keys).values(**values))


# CDS Hooks: replay guard and feedback (for ketaguide.cdshooks) ------------------------------------------------------


def remember_jti(connection: Connection, iss: str, jti: str, expires_at: datetime, now: datetime) -> bool:
    """Record a JWT id for its issuer; False when it was seen before and has not expired (a replay). Every worker
    shares the table, so a replay is caught whichever process receives it. Expired ids are purged on the way."""
    connection.execute(delete(cds_jti).where(cds_jti.c.expires_at < now))
    seen = select(cds_jti.c.jti).where(cds_jti.c.iss == iss, cds_jti.c.jti == jti)
    if connection.execute(seen).first() is not None:
        return False
    try:
        with connection.begin_nested():
            connection.execute(insert(cds_jti).values(iss=iss, jti=jti, expires_at=expires_at))
    except IntegrityError:
        return False
    return True


def insert_feedback(connection: Connection, values: Mapping[str, Any]) -> int:
    return int(connection.execute(insert(cds_feedback).values(**values).returning(cds_feedback.c.id)).scalar_one())
