"""Shared fixtures of the server suites (storage, HTTP, end-to-end), imported by their modules.

Every suite runs against SQLite and PostgreSQL. PostgreSQL is the server named by KETAGUIDE_TEST_POSTGRES_URL
(`.ci/run` sets it, so CI fails if it cannot connect), or else the local one on 127.0.0.1:5432 when it answers;
otherwise the PostgreSQL cases are skipped. Each test gets a fresh database: SQLite in its own folder, PostgreSQL
a new database copied from a template migrated once per test process, named with a random run id so parallel runs
and workers never share one; all are dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="the server extra is not installed")

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from ketaguide.storage.engine import Database, engine_url
from ketaguide.storage.schema import upgrade

POSTGRES_VARIABLE = "KETAGUIDE_TEST_POSTGRES_URL"
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
RUN_ID = uuid.uuid4().hex[:10]


def _reachable(url: str) -> bool:
    try:
        engine = create_engine(engine_url(url), connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def postgres_admin_url() -> str | None:
    """The PostgreSQL server to test against, or None to skip; a configured one that fails is an error."""
    configured = os.environ.get(POSTGRES_VARIABLE)
    if configured:
        if not _reachable(configured):
            raise RuntimeError(f"{POSTGRES_VARIABLE} is set but PostgreSQL does not answer at it")
        return configured
    return LOCAL_POSTGRES if _reachable(LOCAL_POSTGRES) else None


_ADMIN_URL = postgres_admin_url()
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql", marks=pytest.mark.skipif(_ADMIN_URL is None, reason=f"no PostgreSQL ({POSTGRES_VARIABLE})")
    ),
]


class PostgresDatabases:
    """Creates and drops uniquely named databases on the test server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.engine = create_engine(engine_url(admin_url), isolation_level="AUTOCOMMIT")

    def url_of(self, name: str) -> str:
        return make_url(engine_url(self.admin_url)).set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        with self.engine.connect() as connection:
            clause = f" TEMPLATE {template}" if template else ""
            connection.execute(text(f"CREATE DATABASE {name}{clause}"))
        return self.url_of(name)

    def drop(self, name: str) -> None:
        with self.engine.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    if _ADMIN_URL is None:
        pytest.skip("no PostgreSQL")
    databases = PostgresDatabases(_ADMIN_URL)
    yield databases
    databases.engine.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresDatabases) -> Iterator[str]:
    """A migrated database to copy (per test process)."""
    name = f"kg_{RUN_ID}_{uuid.uuid4().hex[:8]}_template"
    database = Database(postgres.create(name))
    upgrade(database)
    database.close()
    yield name
    postgres.drop(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "ketaguide.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.close()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ketaguide.db'}"
        return
    postgres: PostgresDatabases = request.getfixturevalue("postgres")
    name = f"kg_{RUN_ID}_{uuid.uuid4().hex[:12]}"
    yield postgres.create(name)
    postgres.drop(name)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each backend, migrated to the current schema."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "ketaguide.db")
        yield f"sqlite:///{tmp_path / 'ketaguide.db'}"
        return
    postgres: PostgresDatabases = request.getfixturevalue("postgres")
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"kg_{RUN_ID}_{uuid.uuid4().hex[:12]}"
    yield postgres.create(name, template=template_name)
    postgres.drop(name)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    opened = Database(database_url)
    yield opened
    opened.close()


# A real server process --------------------------------------------------------------------------------------------


def sent_statements(database: Database) -> list[str]:
    """Every SQL statement sent on `database` from now on, as sent (an executemany counts once)."""
    sent: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: sent.append(args[2].lstrip()))
    return sent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServerProcess:
    """`ketaguide serve` in a child process on a free loopback port."""

    database_url: str
    workers: int = 1
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    log: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        return {**os.environ, "KETAGUIDE_DATABASE_URL": self.database_url, "KETAGUIDE_RETRIEVER": "lexical"}

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ketaguide", *args]
        return subprocess.run(command, env=self.environment(), capture_output=True, text=True, timeout=120)

    def start(self, log: Path, timeout: float = 60) -> ServerProcess:
        import httpx

        self.port, self.log = free_port(), log
        command = [sys.executable, "-m", "ketaguide", "serve", "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        with log.open("ab") as sink:
            self.process = subprocess.Popen(command, env=self.environment(), stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}):\n{log.read_text()}")
            try:
                if httpx.get(f"{self.base}/api/v1/ready", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not become ready:\n{log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no checkpoint."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def add_user(server: ServerProcess, name: str, role: str) -> str:
    """A user's token, added through the service (`ketaguide users add` is tested on its own; a process start per
    user would cost seconds)."""
    from ketaguide.bootstrap import SystemClock
    from ketaguide.services import users
    from ketaguide.services.records import Records

    database = Database(server.database_url)
    try:
        return users.add_user(Records(database, SystemClock()), name, role)[1]
    finally:
        database.close()
