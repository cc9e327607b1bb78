"""The database: one SQLAlchemy engine with KetaGuide's durability settings, and its transactions.

SQLite (the embedded default), on every connection: `journal_mode=WAL` (readers never block the writer),
`synchronous=FULL` (a commit is synced to disk before it is acknowledged, so it survives a power loss, not only a
crash of the process), `foreign_keys=ON` and `busy_timeout` (a writer waits for the lock instead of failing).
pysqlite's own implicit transactions are switched off and KetaGuide emits BEGIN itself, `BEGIN IMMEDIATE` for
writes, so a write transaction takes the write lock at its start and two writers never deadlock upgrading a read
lock (the recipe of SQLAlchemy's SQLite dialect documentation, "Serializable isolation / Savepoints / Transactional
DDL"). WAL needs a local file system, not a network share. Writers take turns before they ask SQLite for its lock
(`WriterTurns`): SQLite lets a waiting writer only poll, with sleeps that grow to 100 ms, so under load some waited
seconds while others went first. A writer that must not wait long (a server worker's event loop) asks for a
transaction only if the turn and the lock can be had within a bound (`write_at_once`), and otherwise gets none.

PostgreSQL: KetaGuide refuses to store on a server that acknowledges commits before they are durable
(`fsync=off` or `synchronous_commit=off`), checked by `durability_problems()` when the server starts. A process's
writers take turns there too (`WriterTurns`), first come first served.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from ketaguide.domain.errors import ConfigurationError, FieldProblem

SQLITE_BUSY_TIMEOUT_MS = 30_000
POLL_SECONDS = 0.0002  # between two tries of a writer that waits a bounded time (`WriterTurns.enter_within`)
_BEGIN_OPTION = "ketaguide_begin"


def engine_url(url: str) -> str:
    """`url` with the driver KetaGuide uses: psycopg 3 for PostgreSQL (SQLAlchemy's default is psycopg2)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def redacted(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    return make_url(engine_url(url)).render_as_string(hide_password=True)


class Database:
    """One engine per process (a pool of connections); `write()` and `read()` open transactions."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        """`pool_size`: PostgreSQL connections kept, and the most opened (no overflow: a connection opened for a burst
        and closed after it costs PostgreSQL a backend process start each time, measured as multi-second tails at 50
        clients with a pool of 10 and 20 overflow); SQLite keeps the SQLAlchemy defaults (a file, no server)."""
        self.url = engine_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        if self.dialect == "sqlite":
            _create_sqlite_folder(self.url)
            self.engine: Engine = create_engine(self.url, pool_size=pool_size, max_overflow=20, pool_timeout=60)
            _configure_sqlite(self.engine)
            self._turns: WriterTurns | NoTurns = writer_turns(make_url(self.url).database)
        elif self.dialect == "postgresql":
            self.engine = create_engine(
                self.url, pool_size=pool_size, max_overflow=0, pool_timeout=60, pool_pre_ping=True
            )
            self._turns = WriterTurns(None)
        else:
            problem = f"{redacted(url)!r}: KetaGuide stores in SQLite or PostgreSQL only"
            raise ConfigurationError([FieldProblem("KETAGUIDE_DATABASE_URL", problem)])

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends, rolled back if it raises; opened once it is this
        writer's turn (`WriterTurns`)."""
        options = {_BEGIN_OPTION: "BEGIN IMMEDIATE"}
        with self._turns, self.engine.connect().execution_options(**options) as connection, connection.begin():
            yield connection

    @property
    def writes_at_once(self) -> bool:
        """Whether `write_at_once` can open a transaction here: on SQLite, not on PostgreSQL."""
        return self.dialect == "sqlite"

    @contextmanager
    def write_at_once(self, patience: float = 0.0) -> Iterator[Connection | None]:
        """`write()` for a caller that must not wait long, an event loop: the transaction if the turn and SQLite's
        write lock can be had within `patience` seconds, else None (nothing written). On PostgreSQL always None:
        its row locks are held by other processes, which take no turns with this one."""
        if not self.writes_at_once or not self._turns.enter_within(patience):
            yield None
            return
        try:
            with self.engine.connect() as connection:
                begun = _begun_within(connection, patience)
                if begun is None:
                    yield None
                    return
                with begun:
                    yield connection
        finally:
            self._turns.__exit__(None, None, None)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent snapshot in WAL mode and in PostgreSQL)."""
        with self.engine.connect() as connection, connection.begin():
            yield connection

    def max_connections(self) -> int | None:
        """PostgreSQL's `max_connections` less its reserved superuser slots; None for SQLite."""
        if self.dialect != "postgresql":
            return None
        with self.engine.connect() as connection:
            total = int(connection.exec_driver_sql("SHOW max_connections").scalar_one())
            reserved = int(connection.exec_driver_sql("SHOW superuser_reserved_connections").scalar_one())
        return total - reserved

    def durability_problems(self) -> list[str]:
        """Settings under which an acknowledged write could be lost; empty when every commit is durable."""
        with self.engine.connect() as connection:
            if self.dialect == "sqlite":
                synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
                mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
                problems = [] if synchronous == 2 else [f"SQLite synchronous is {synchronous}, not FULL (2)"]
                return problems + ([] if mode == "wal" else [f"SQLite journal_mode is {mode}, not wal"])
            problems = []
            for setting in ("fsync", "synchronous_commit"):
                value = connection.exec_driver_sql(f"SHOW {setting}").scalar()
                if value == "off":
                    problems.append(f"PostgreSQL {setting} is off: acknowledged commits could be lost")
            return problems

    def close(self) -> None:
        self.engine.dispose()


class _FirstComeFirstServed:
    """A re-entrant lock that lets waiting threads in in the order they came (`threading.Lock` promises no order:
    encounters on PostgreSQL at 50 clients had a p99 of 988-1,155 ms behind it, 787-993 ms behind this one)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[tuple[int, threading.Lock]] = deque()
        self._owner: int | None = None
        self._depth = 0

    def acquire_if_free(self) -> bool:
        """The turn if no thread has it or waits for it: True, held; else False, and nothing waited for."""
        with self._mutex:
            if self._owner is not None:
                return False
            self._owner, self._depth = threading.get_ident(), 1
            return True

    def acquire(self) -> bool:
        """Wait for this thread's turn; True when it is the thread's first hold, False when it already held it."""
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return False
            if self._owner is None:
                self._owner, self._depth = me, 1
                return True
            baton = threading.Lock()
            baton.acquire()
            self._waiting.append((me, baton))
        baton.acquire()  # released by the thread before this one, which has made this one the owner
        return True

    @property
    def depth(self) -> int:
        """The owner's holds (read by the owner only: no other thread changes it meanwhile)."""
        return self._depth

    def release(self) -> None:
        """End one hold; after the last, the turn passes to the next in line."""
        with self._mutex:
            self._depth -= 1
            if self._depth:
                return
            if self._waiting:
                self._owner, baton = self._waiting.popleft()
                self._depth = 1
                baton.release()
            else:
                self._owner = None


class WriterTurns:
    """A database's writers in turn, first come first served: a thread waits for the writers of its own process,
    then, on a SQLite file, for those of other processes (an exclusive `flock` on `<database>.writers.lock`, the
    kernel's queue), and only then opens its write transaction.

    SQLite: its write lock is free by then unless a program that does not take turns holds it (its busy handler
    still waits for that one); on its own it lets a waiting writer only poll, with sleeps growing to 100 ms, so under
    load some writers waited seconds while later ones went first. PostgreSQL: every write appends to the one audit
    chain, whose head row lets one transaction through at a time anyway; without turns a worker's waiting threads
    each held a pooled connection on that row and went through in no particular order (encounters at 50 clients:
    p99 2.5-2.9 s, issue #10). The turn is re-entrant: a thread that opens a second write transaction inside its
    first is not kept waiting for itself (SQLite then refuses it, "database is locked", after its busy timeout)."""

    def __init__(self, sqlite_file: str | None) -> None:
        self._path = f"{sqlite_file}.writers.lock" if sqlite_file else None
        self._queue = _FirstComeFirstServed()
        self._descriptor: int | None = None  # opened in the process that writes (workers are spawned, not forked)

    def __enter__(self) -> None:
        if self._queue.acquire():
            self._lock_file(wait=True)

    def enter_within(self, patience: float) -> bool:
        """`with turns` for a caller that must not wait long: True when the turn was had within `patience` seconds
        (leave it with `__exit__`), False when writers of this process or another kept it that long. Polled: a
        waiting caller takes no place in line."""
        deadline = time.monotonic() + patience
        while not (self._queue.acquire_if_free() and self._lock_file(wait=False)):
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)
        return True

    def _lock_file(self, *, wait: bool) -> bool:
        """Other processes' turn, once this process's is had: True when taken (or there is no file, on PostgreSQL);
        False, and this process's turn given back, when another holds it and `wait` is off."""
        if self._path is None:
            return True
        try:
            import fcntl

            if self._descriptor is None:
                self._descriptor = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._descriptor, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._queue.release()
            return False
        except BaseException:
            self._queue.release()
            raise
        return True

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if self._queue.depth == 1 and self._descriptor is not None:  # before the next thread of this process
                import fcntl

                fcntl.flock(self._descriptor, fcntl.LOCK_UN)
        finally:
            self._queue.release()


class NoTurns(nullcontext[None]):
    """The turns of a database with one connection (SQLite in memory): nothing to take, so always free."""

    def enter_within(self, patience: float) -> bool:
        return True


def writer_turns(database: str | None) -> WriterTurns | NoTurns:
    """The turns of a SQLite file's writers; an in-memory database has one connection, nothing to take."""
    if not database or database == ":memory:" or database.startswith("file:") or os.name != "posix":
        return NoTurns()
    return WriterTurns(str(Path(database).expanduser()))


def _begun_within(connection: Connection, patience: float) -> RootTransaction | None:
    """`BEGIN IMMEDIATE` with SQLite's busy handler waiting `patience` seconds at most: the transaction, or None if
    the write lock was held that long."""
    raw = connection.connection.driver_connection  # pysqlite in autocommit: a PRAGMA here opens no transaction
    assert raw is not None
    raw.execute(f"PRAGMA busy_timeout = {int(patience * 1000)}")
    try:
        return connection.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"}).begin()
    except OperationalError as exc:
        if getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY:
            return None
        raise
    finally:
        raw.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


def _create_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite must not BEGIN on its own; `_on_begin` does
        cursor = dbapi_connection.cursor()
        for pragma in (
            f"busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
            "journal_mode = WAL",
            "synchronous = FULL",
            "foreign_keys = ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))
