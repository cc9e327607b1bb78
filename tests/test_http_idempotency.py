"""Idempotency keys on `POST /patients/{id}/encounters` (security.md 5.4, draft-ietf-httpapi-idempotency-key-header),
on SQLite and PostgreSQL: retries replay one stored encounter, another body with the key is 422, concurrent
duplicates store one, and keys expire after KETAGUIDE_IDEMPOTENCY_TTL_HOURS (then the key is new and the old row
is purged)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ketaguide.bootstrap import Runtime, build_runtime
from ketaguide.services import encounters, patients
from ketaguide.services.access import Caller, Principal, Role
from ketaguide.services.records import Records
from ketaguide.services.users import add_user
from ketaguide.settings import load_settings
from ketaguide.storage.engine import Database
from ketaguide.storage.tables import encounters as encounter_rows
from ketaguide.storage.tables import idempotency_keys
from test_server_support import (  # noqa: F401  # fixtures
    database,
    database_url,
    postgres,
    postgres_template,
    sqlite_template,
)

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from ketaguide.http.app import create_app
from web_testing import MovableClock

INTAKES = Path(__file__).resolve().parents[1] / "examples" / "intakes"
INTAKE = json.loads((INTAKES / "severe-relapse-prevention.json").read_text())
TTL_HOURS = 2  # a short setting, to show it is the setting that counts (the default, 24, is checked below)


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with build_runtime(load_settings(retriever="lexical", idempotency_ttl_hours=TTL_HOURS)) as built:
        yield built


class Visit:
    """A clinician's client, a live patient and the encounters path; the clock the server dates keys by."""

    def __init__(self, client: TestClient, records: Records, clock: MovableClock) -> None:
        self.client, self.records, self.clock = client, records, clock
        user, token = add_user(records, "dr-key", "clinician")
        self.caller = Caller(Principal(user.id, user.name, Role.CLINICIAN))
        self.headers = {"Authorization": f"Bearer {token}"}
        patient = patients.create_patient(records, self.caller, patients.NewPatient(display_name="Key Patient"))
        self.patient_id = patient.id
        self.path = f"/api/v1/patients/{patient.id}/encounters"

    def post(self, key: str, observed_at: str = "2026-11-30T09:15:00Z") -> Any:
        body = {"intake": INTAKE, "observed_at": observed_at}
        return self.client.post(self.path, json=body, headers={**self.headers, "Idempotency-Key": key})

    def count(self, table: Any) -> int:
        with self.records.database.read() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def visit(runtime: Runtime, database: Database) -> Iterator[Visit]:  # noqa: F811
    clock = MovableClock()
    records = Records(database=database, clock=clock)
    with TestClient(create_app(load_settings(retriever="lexical"), runtime=runtime, records=records)) as client:
        yield Visit(client, records, clock)


def test_twenty_retries_store_one_encounter_and_answer_alike(visit: Visit) -> None:
    responses = [visit.post("retry-key") for _ in range(20)]
    assert {r.status_code for r in responses} == {201}
    assert len({r.text for r in responses}) == 1 and len({r.headers["location"] for r in responses}) == 1
    assert [r.headers.get("idempotent-replayed") for r in responses] == [None] + ["true"] * 19
    assert visit.count(encounter_rows) == 1 and visit.count(idempotency_keys) == 1


def test_the_same_key_with_another_body_is_422_and_stores_nothing(visit: Visit) -> None:
    assert visit.post("body-key").status_code == 201
    other = visit.post("body-key", observed_at="2026-11-30T10:00:00Z")
    assert other.status_code == 422 and other.headers["content-type"] == "application/problem+json"
    assert other.json()["errors"] == [
        {"field": "Idempotency-Key", "problem": "was already used with a different request; use a new key"}
    ]
    assert visit.count(encounter_rows) == 1


def test_a_key_expires_after_the_ttl_then_it_is_new_and_the_old_one_is_purged(visit: Visit) -> None:
    first = visit.post("daily-key").json()
    visit.clock.advance(hours=TTL_HOURS, seconds=-1)  # still alive: replayed; another body still refused
    assert visit.post("daily-key").headers.get("idempotent-replayed") == "true"
    assert visit.post("daily-key", observed_at="2026-11-30T10:00:00Z").status_code == 422
    other = visit.post("other-key")  # a second key, stored a little later
    assert other.status_code == 201
    visit.clock.advance(seconds=2)  # `daily-key` is older than the TTL now
    again = visit.post("daily-key", observed_at="2026-11-30T10:00:00Z")
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first["id"] and visit.count(encounter_rows) == 3
    with visit.records.database.read() as connection:
        keys = connection.execute(select(idempotency_keys.c.key, idempotency_keys.c.resource_id)).all()
    assert set(keys) == {("daily-key", again.json()["id"]), ("other-key", other.json()["id"])}
    visit.clock.advance(hours=TTL_HOURS + 1)  # any keyed write purges every expired key, whoever's
    assert visit.post("last-key").status_code == 201
    assert visit.count(idempotency_keys) == 1


def test_concurrent_duplicates_store_one_encounter(runtime: Runtime, visit: Visit) -> None:
    new = encounters.NewEncounter.model_validate({"intake": INTAKE, "observed_at": "2026-11-30T09:15:00Z"})
    start = threading.Barrier(10)

    def record(_: int) -> encounters.Stored:
        start.wait()
        return encounters.record_encounter(runtime, visit.records, visit.caller, visit.patient_id, new, "same-key")

    with ThreadPoolExecutor(10) as pool:
        stored = list(pool.map(record, range(10)))
    assert len({s.encounter.id for s in stored}) == 1
    assert sorted(s.replayed for s in stored) == [False] + [True] * 9
    assert visit.count(encounter_rows) == 1 and visit.count(idempotency_keys) == 1


def test_the_default_ttl_is_24_hours() -> None:
    assert load_settings().idempotency_ttl_hours == 24
