"""Storage on SQLite and PostgreSQL: migrations, durability settings, the audit trail's immutability and tamper
detection, tokens stored as hashes, optimistic concurrency, idempotency keys, the CDS Hooks replay guard."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from ketaguide.services import patients, users
from ketaguide.services.access import Caller, Principal, Role, Unauthenticated
from ketaguide.services.audit import audited, verify_trail
from ketaguide.services.records import Records
from ketaguide.storage import audit, repository, schema
from ketaguide.storage.audit import AuditEvent
from ketaguide.storage.engine import Database
from ketaguide.storage.errors import Conflict, Gone, NotFound, PreconditionFailed
from ketaguide.storage.tables import audit_events, metadata
from ketaguide.storage.tables import users as users_table
from test_server_support import (  # noqa: F401  # fixtures
    database,
    database_url,
    empty_database_url,
    postgres,
    postgres_template,
    sent_statements,
    sqlite_template,
)


class TickingClock:
    """A clock that moves one second per reading, from a fixed start."""

    def __init__(self) -> None:
        self.current = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        self.lock = threading.Lock()

    def now(self) -> datetime:
        with self.lock:
            self.current += timedelta(seconds=1)
            return self.current


@pytest.fixture
def records(database: Database) -> Records:  # noqa: F811  # the imported fixture
    return Records(database=database, clock=TickingClock())


@pytest.fixture
def clinician(records: Records) -> Iterator[Caller]:
    user, _ = users.add_user(records, "dr-a", Role.CLINICIAN)
    yield Caller(Principal(user.id, user.name, user.role), request_id="req-1")


# Migrations and settings ------------------------------------------------------------------------------------------


def test_migrations_create_the_tables_of_the_model_and_run_down_and_up(empty_database_url: str) -> None:  # noqa: F811
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    db = Database(empty_database_url)
    try:
        assert schema.schema_state(db).current is None
        assert schema.upgrade(db).is_current
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
        assert differences == []
        assert schema.downgrade(db, "base").current is None
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        assert schema.upgrade(db).is_current
    finally:
        db.close()


def test_sqlite_is_durable_and_postgresql_commits_synchronously(database: Database) -> None:  # noqa: F811
    assert database.durability_problems() == []
    if database.dialect == "sqlite":
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_foreign_keys_are_enforced(database: Database) -> None:  # noqa: F811
    from sqlalchemy.exc import IntegrityError

    now = datetime(2026, 1, 1, tzinfo=UTC)
    values = {"id": "o", "patient_id": "no-such-patient", "observed_on": now.date(), "recorded_at": now}
    with pytest.raises(IntegrityError), database.write() as connection:
        repository.insert_observation(connection, {**values, "recorded_by": 999, "bladder_symptoms": "[]"})


# The audit trail --------------------------------------------------------------------------------------------------


def _append(records: Records, count: int) -> None:
    with records.database.write() as connection:
        for n in range(count):
            event = AuditEvent(action="read", resource_type="patient", outcome="success", resource_id=f"p{n}")
            audit.append(connection, event, records.clock.now())


def test_the_audit_trail_refuses_update_and_delete(records: Records) -> None:
    _append(records, 3)
    refused = 0
    for statement in ("UPDATE audit_events SET outcome = 'denied' WHERE seq = 2", "DELETE FROM audit_events"):
        try:
            with records.database.write() as connection:
                connection.execute(text(statement))
        except Exception as error:
            assert "append-only" in str(error)
            refused += 1
    assert refused == 2
    assert verify_trail(records).intact and verify_trail(records).events == 3


def _drop_audit_triggers(db: Database) -> None:
    """What an attacker with DDL rights would do first."""
    with db.write() as connection:
        if db.dialect == "sqlite":
            connection.execute(text("DROP TRIGGER audit_events_no_update"))
            connection.execute(text("DROP TRIGGER audit_events_no_delete"))
        else:
            connection.execute(text("DROP TRIGGER audit_events_no_change ON audit_events"))


@pytest.mark.parametrize(
    ("tampering", "expected"),
    [
        ("UPDATE audit_events SET outcome = 'denied' WHERE seq = 3", "event 3: content does not match"),
        ("DELETE FROM audit_events WHERE seq = 3", "events 3 to 3 missing"),
        ("DELETE FROM audit_events WHERE seq = 5", "events 5 to 5 missing at the end"),
        (
            "INSERT INTO audit_events SELECT seq + 1, occurred_at, user_id, user_name, role, action, "
            "resource_type, resource_id, patient_id, outcome, request_id, hash, hash FROM audit_events "
            "WHERE seq = 5",
            "events 6 to 6 are not in the chain head (inserted)",
        ),
    ],
)
def test_audit_verify_reports_altered_deleted_and_inserted_events(
    records: Records, tampering: str, expected: str
) -> None:
    _append(records, 5)
    _drop_audit_triggers(records.database)
    with records.database.write() as connection:
        connection.execute(text(tampering))
    report = verify_trail(records)
    assert not report.intact
    assert any(expected in problem for problem in report.problems), report.problems


def test_every_single_byte_mutation_of_an_event_is_detected(records: Records) -> None:
    _append(records, 20)
    _drop_audit_triggers(records.database)
    rng = random.Random(7)
    columns = ["action", "resource_type", "resource_id", "outcome", "user_name", "request_id", "hash", "prev_hash"]
    detected = 0
    for _ in range(25):
        seq, column = rng.randint(1, 20), rng.choice(columns)
        with records.database.write() as connection:
            original = connection.execute(text(f"SELECT {column} FROM audit_events WHERE seq = {seq}")).scalar()
            value = original or "x"
            at = rng.randrange(len(value))
            changed = value[:at] + chr((ord(value[at]) + 1) % 128 or 65) + value[at + 1 :]
            update = text(f"UPDATE audit_events SET {column} = :v WHERE seq = {seq}")
            connection.execute(update, {"v": changed})
        detected += not verify_trail(records).intact
        with records.database.write() as connection:
            connection.execute(update, {"v": original})
        assert verify_trail(records).intact
    assert detected == 25


def test_concurrent_appends_extend_one_chain(records: Records) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: _append(records, 5), range(16)))
    report = verify_trail(records)
    assert report.intact and report.events == 80


def test_events_appended_together_extend_the_chain_in_three_statements(records: Records) -> None:
    _append(records, 2)
    events = [
        AuditEvent(action="read", resource_type="patient", outcome="success", resource_id=f"q{n}") for n in (1, 2, 3)
    ]
    statements = sent_statements(records.database)
    with records.database.write() as connection:
        statements.clear()  # SQLite's BEGIN IMMEDIATE
        last = audit.append_many(connection, [(event, records.clock.now()) for event in events])
        assert audit.append_many(connection, []) == last == 5  # nothing to append: the head's position
    # the head locked and read, every event in one INSERT, the head moved; then, for nothing, the head read only
    assert [statement.split()[0] for statement in statements] == ["SELECT", "INSERT", "UPDATE", "SELECT"]
    report = verify_trail(records)
    assert report.intact and report.events == 5
    with records.database.read() as connection:
        stored = connection.execute(select(audit_events).order_by(audit_events.c.seq)).mappings().all()
    assert [(row["seq"], row["resource_id"]) for row in stored[2:]] == [(3, "q1"), (4, "q2"), (5, "q3")]


# Users ------------------------------------------------------------------------------------------------------------


def test_tokens_are_stored_only_as_hashes_and_revocation_is_immediate(records: Records) -> None:
    user, token = users.add_user(records, "carol", "curator")
    assert users.authenticate(records, token) == Principal(user.id, "carol", Role.CURATOR)
    with records.database.read() as connection:
        stored = [str(v) for row in connection.execute(select(users_table)).all() for v in row]
        logged = [str(v) for row in connection.execute(select(audit_events)).all() for v in row]
    assert not any(token in value for value in stored + logged)
    users.revoke_user(records, "carol")
    for bad in (token, None, "", "kg_short", "Bearer " + token, token + "x"):
        with pytest.raises(Unauthenticated):
            users.authenticate(records, bad)
    with pytest.raises(Conflict):
        users.add_user(records, "carol", "admin")


def test_the_first_admin_is_created_once(records: Records) -> None:
    token = users.ensure_first_admin(records)
    assert token is not None and users.authenticate(records, token).role is Role.ADMIN
    assert users.ensure_first_admin(records) is None


# Patients ---------------------------------------------------------------------------------------------------------


def test_patient_lifecycle_is_audited_without_identifiers(records: Records, clinician: Caller) -> None:
    new = patients.NewPatient(display_name="Zelda Quux", mrn="MRN-77", birth_year=1980)
    created = patients.create_patient(records, clinician, new)
    assert patients.get_patient(records, clinician, created.id).version == 1
    assert patients.search_patients(records, clinician, "zel", 10, 0).total == 1
    assert patients.search_patients(records, clinician, "MRN-77", 10, 0).total == 1
    assert patients.search_patients(records, clinician, "%", 10, 0).total == 0  # LIKE wildcards are literal
    changed = patients.update_patient(records, clinician, created.id, 1, patients.PatientChanges(birth_year=1981))
    assert (changed.version, changed.birth_year) == (2, 1981)
    with pytest.raises(PreconditionFailed):
        patients.update_patient(records, clinician, created.id, 1, patients.PatientChanges(birth_year=1982))
    with pytest.raises(Conflict):
        patients.create_patient(records, clinician, patients.NewPatient(display_name="B", mrn="MRN-77"))
    patients.delete_patient(records, clinician, created.id, None)
    with pytest.raises(Gone):
        patients.get_patient(records, clinician, created.id)
    with pytest.raises(NotFound):
        patients.get_patient(records, clinician, "no-such-id")
    assert patients.search_patients(records, clinician, None, 10, 0).total == 0

    with records.database.read() as connection:
        rows = connection.execute(select(audit_events).order_by(audit_events.c.seq)).mappings().all()
    outcomes = [(r["action"], r["outcome"]) for r in rows if r["resource_type"] == "patient"]
    assert outcomes == [
        ("create", "success"),
        ("read", "success"),
        ("search", "success"),
        ("search", "success"),
        ("search", "success"),
        ("update", "success"),
        ("update", "precondition_failed"),
        ("create", "conflict"),
        ("delete", "success"),
        ("read", "gone"),
        ("read", "not_found"),
        ("search", "success"),
    ]
    assert all(r["user_name"] == "dr-a" and r["role"] == "clinician" and r["request_id"] == "req-1" for r in rows[1:])
    flattened = " ".join(str(v) for row in rows for v in row.values())
    assert "Zelda" not in flattened and "MRN-77" not in flattened and "zel" not in flattened
    assert verify_trail(records).intact


def test_ten_concurrent_updates_of_one_version_give_one_success(records: Records, clinician: Caller) -> None:
    created = patients.create_patient(records, clinician, patients.NewPatient(display_name="Race"))
    barrier = threading.Barrier(10)

    def update(n: int) -> str:
        barrier.wait()
        try:
            patients.update_patient(records, clinician, created.id, 1, patients.PatientChanges(birth_year=1950 + n))
        except PreconditionFailed:
            return "412"
        return "200"

    with ThreadPoolExecutor(10) as pool:
        results = sorted(pool.map(update, range(10)))
    assert results == ["200"] + ["412"] * 9
    assert patients.get_patient(records, clinician, created.id).version == 2


# CDS Hooks storage --------------------------------------------------------------------------------------------------


def test_a_jti_is_accepted_once_until_it_expires(records: Records) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with records.database.write() as connection:
        assert repository.remember_jti(connection, "https://ehr", "j1", now + timedelta(minutes=5), now)
        assert not repository.remember_jti(connection, "https://ehr", "j1", now + timedelta(minutes=5), now)
        assert repository.remember_jti(connection, "https://other", "j1", now + timedelta(minutes=5), now)
    later = now + timedelta(minutes=6)
    with records.database.write() as connection:
        assert repository.remember_jti(connection, "https://ehr", "j1", later + timedelta(minutes=5), later)


def test_a_failed_audited_operation_leaves_no_change_and_one_failure_event(records: Records) -> None:
    with pytest.raises(NotFound), audited(records, None, "delete", "patient", resource_id="x") as work:
        repository.live_patient(work.connection, "x")
    with records.database.read() as connection:
        rows = connection.execute(select(audit_events.c.outcome)).scalars().all()
    assert rows == ["not_found"]


# Connections: one pool per worker, no overflow (PostgreSQL) ------------------------------------------------------


def test_the_pool_never_opens_more_than_its_size_on_postgresql(database_url: str) -> None:  # noqa: F811
    """Every connection the pool opens is kept: a burst waits for one instead of opening (and then closing) more."""
    opened = Database(database_url, pool_size=3)
    try:
        pool = opened.engine.pool
        overflow = getattr(pool, "_max_overflow", None)
        assert overflow == (0 if opened.dialect == "postgresql" else 20)
        assert (opened.max_connections() is None) == (opened.dialect == "sqlite")
    finally:
        opened.close()


@pytest.mark.parametrize(("workers", "pool_size", "refused"), [(2, 40, False), (2, 1000, True), (1, 1000, True)])
def test_serve_refuses_more_connections_than_postgresql_has(
    database_url: str,  # noqa: F811  # the imported fixture
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
    pool_size: int,
    refused: bool,
) -> None:
    """workers x KETAGUIDE_DATABASE_POOL_SIZE above max_connections would fail requests at peak load ("too many
    clients"): the server refuses to start and names both settings. SQLite has no such limit."""
    from ketaguide.bootstrap import SystemClock
    from ketaguide.services import deployment
    from ketaguide.services.deployment import DatabaseNotReady
    from ketaguide.settings import load_settings

    monkeypatch.setenv("KETAGUIDE_DATABASE_URL", database_url)
    monkeypatch.setenv("KETAGUIDE_DATABASE_POOL_SIZE", str(pool_size))
    settings = load_settings()
    records = deployment.open_records(settings, SystemClock())
    try:
        if refused and records.database.dialect == "postgresql":
            with pytest.raises(
                DatabaseNotReady,
                match=r"KETAGUIDE_DATABASE_POOL_SIZE 1000 = \d+ connections, more than PostgreSQL's \d+",
            ):
                deployment.require_capacity(records, settings, workers)
        else:
            deployment.require_capacity(records, settings, workers)
    finally:
        records.database.close()


# Writers of one SQLite file take turns (storage.engine.WriterTurns) ---------------------------------------------


def _flock_free_elsewhere(lock_file: str) -> bool:
    """Whether another process can take the writers' lock now (without waiting)."""
    import subprocess
    import sys

    probe = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
        "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(1)\n"
    )
    return subprocess.run([sys.executable, "-c", probe, lock_file], check=False).returncode == 0


def test_a_sqlite_writer_holds_its_turn_against_other_processes_and_threads(tmp_path: Any) -> None:
    sqlite = Database(f"sqlite:///{tmp_path / 'turns.db'}")
    schema.upgrade(sqlite)
    lock_file = str(tmp_path / "turns.db.writers.lock")
    order: list[str] = []
    waiting = threading.Event()

    def second_writer() -> None:
        waiting.set()
        with sqlite.write():
            order.append("second")

    try:
        with sqlite.write():
            order.append("first")
            assert not _flock_free_elsewhere(lock_file)  # another worker process waits for its turn
            thread = threading.Thread(target=second_writer)
            thread.start()
            waiting.wait()
            thread.join(timeout=0.5)
            assert thread.is_alive() and order == ["first"]  # ... and so does another thread of this one
        thread.join()
        assert order == ["first", "second"] and _flock_free_elsewhere(lock_file)
    finally:
        sqlite.close()


def test_a_write_at_once_is_opened_only_when_no_one_has_or_waits_for_the_lock(tmp_path: Any) -> None:
    import fcntl
    import os
    import sqlite3

    from ketaguide.storage.engine import SQLITE_BUSY_TIMEOUT_MS

    path = tmp_path / "at-once.db"
    sqlite = Database(f"sqlite:///{path}")
    schema.upgrade(sqlite)
    try:
        holding, release = threading.Event(), threading.Event()

        def another_thread() -> None:
            with sqlite.write():
                holding.set()
                release.wait()

        thread = threading.Thread(target=another_thread)
        thread.start()
        holding.wait()
        with sqlite.write_at_once() as connection:
            assert connection is None  # a writer of this process has the turn
        threading.Timer(0.05, release.set).start()
        with sqlite.write_at_once(patience=30) as connection:
            assert connection is not None and release.is_set()  # ... and leaves it within the patience given
        thread.join()

        other_process = os.open(f"{path}.writers.lock", os.O_RDWR)  # its own open file: a lock of its own
        fcntl.flock(other_process, fcntl.LOCK_EX)
        with sqlite.write_at_once() as connection:
            assert connection is None  # another worker has the turn
        fcntl.flock(other_process, fcntl.LOCK_UN)
        os.close(other_process)

        outsider = sqlite3.connect(path, isolation_level=None)  # a program that takes no turns
        outsider.execute("BEGIN IMMEDIATE")
        with sqlite.write_at_once() as connection:
            assert connection is None  # SQLite's lock is held: refused at once, not after the busy timeout
        outsider.execute("ROLLBACK")
        outsider.close()

        with sqlite.write_at_once() as connection:
            assert connection is not None
            connection.exec_driver_sql("CREATE TABLE at_once (n INTEGER)")
            connection.exec_driver_sql("INSERT INTO at_once VALUES (1)")
            timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert timeout == SQLITE_BUSY_TIMEOUT_MS  # other writers on this connection wait as before
        with sqlite.read() as connection:
            assert connection.exec_driver_sql("SELECT n FROM at_once").scalars().all() == [1]
        assert _flock_free_elsewhere(f"{path}.writers.lock")  # the turn was left
    finally:
        sqlite.close()


def test_a_write_at_once_is_opened_on_a_free_sqlite_file_never_on_postgresql(database: Database) -> None:  # noqa: F811
    with database.write_at_once() as connection:  # PostgreSQL's row locks are held by processes that take no turns
        assert (connection is not None) == (database.dialect == "sqlite")


def test_writers_of_many_threads_each_get_their_turn(database: Database) -> None:  # noqa: F811
    records = Records(database=database, clock=TickingClock())
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: users.add_user(records, f"user-{n}", Role.CLINICIAN), range(40)))
    with database.read() as connection:
        assert len(repository.list_users(connection)) == 40
    assert verify_trail(records).intact


def test_waiting_writers_get_their_turns_in_the_order_they_came() -> None:
    from ketaguide.storage.engine import WriterTurns

    turns = WriterTurns(None)  # a PostgreSQL database's: the threads of this process only
    order: list[int] = []

    def writer(n: int) -> None:
        with turns:
            order.append(n)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    with turns:
        for n, thread in enumerate(threads):
            thread.start()
            while len(turns._queue._waiting) <= n:  # this thread is in line before the next one starts
                threading.Event().wait(0.001)
        with turns:  # re-entrant
            pass
    for thread in threads:
        thread.join()
    assert order == list(range(6))
