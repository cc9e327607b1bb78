"""End to end against a real `ketaguide serve` process on a free loopback port, on SQLite and PostgreSQL: the
start-up checks, the first admin, a clinician's requests, ten concurrent PATCHes of one version (one 200, nine
412), kill -9 during 1,000 acknowledged encounter writes, and two workers on one SQLite file."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ketaguide.storage.engine import Database
from ketaguide.storage.tables import audit_events, encounters
from test_server_support import (  # noqa: F401  # fixtures
    ServerProcess,
    add_user,
    database_url,
    empty_database_url,
    postgres,
    postgres_template,
    sqlite_template,
)

httpx = pytest.importorskip("httpx")
pytestmark = pytest.mark.slow
INTAKE = json.loads((Path(__file__).resolve().parents[1] / "examples/intakes/early-remission.json").read_text())


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_serve_refuses_an_old_schema_then_serves_and_one_of_ten_concurrent_patches_wins(
    empty_database_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    server = ServerProcess(empty_database_url)
    refused = server.cli("serve", "--port", "1")
    assert refused.returncode == 1 and "ketaguide db upgrade" in refused.stderr
    assert server.cli("db", "upgrade").returncode == 0
    server.start(tmp_path / "server.log")
    try:
        printed = (tmp_path / "server.log").read_text()
        admin_token = next(line.strip() for line in printed.splitlines() if line.strip().startswith("kg_"))
        assert "/docs" in printed and "/api/v1" in printed
        clinician = add_user(server, "dr-e2e", "clinician")
        with httpx.Client(base_url=f"{server.base}/api/v1", timeout=30, headers=_bearer(clinician)) as client:
            created = client.post("/patients", json={"display_name": "E2E"})
            etag, path = created.headers["etag"], f"/patients/{created.json()['id']}"
            body = {"intake": INTAKE, "observed_at": "2026-11-30T09:00:00Z"}
            assert client.post(f"{path}/encounters", json=body).status_code == 201
            assert client.get(f"{path}/encounters").json()["total"] == 1
            assert client.get("/patients", headers=_bearer(admin_token)).status_code == 403
            assert client.get("/audit", headers=_bearer(admin_token)).json()["total"] >= 4
        assert _patch_race(server, clinician, path, etag) == [200] + [412] * 9
        with httpx.Client(base_url=f"{server.base}/api/v1", timeout=30, headers=_bearer(clinician)) as client:
            assert client.get(path).json()["version"] == 2
    finally:
        server.stop()
    verified = server.cli("audit", "verify")
    assert verified.returncode == 0 and "hash chain intact" in verified.stdout


def _patch_race(server: ServerProcess, token: str, path: str, etag: str) -> list[int]:
    """Ten clients PATCH the same version at once; their statuses, sorted."""
    barrier = threading.Barrier(10)

    def patch(year: int) -> int:
        with httpx.Client(base_url=f"{server.base}/api/v1", timeout=30, headers=_bearer(token)) as client:
            barrier.wait()
            return client.patch(path, json={"birth_year": year}, headers={"If-Match": etag}).status_code

    with ThreadPoolExecutor(10) as pool:
        return sorted(pool.map(patch, range(1950, 1960)))


def _write_until_killed(server: ServerProcess, token: str, patient_id: str, target: int) -> set[str]:
    """Clients post encounters until `target` are acknowledged, then the server is killed mid-flight."""
    acknowledged: set[str] = set()
    lock, enough = threading.Lock(), threading.Event()
    body = {"intake": INTAKE, "observed_at": "2026-11-30T09:00:00Z"}

    def client_loop() -> None:
        with httpx.Client(base_url=f"{server.base}/api/v1", timeout=10, headers=_bearer(token)) as client:
            while True:
                try:
                    response = client.post(
                        f"/patients/{patient_id}/encounters", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 201:
                    with lock:
                        acknowledged.add(response.json()["id"])
                        if len(acknowledged) >= target:
                            enough.set()

    threads = [threading.Thread(target=client_loop) for _ in range(8)]
    for thread in threads:
        thread.start()
    assert enough.wait(timeout=300), f"only {len(acknowledged)} writes acknowledged"
    server.kill()  # SIGKILL while the other clients' writes are in flight
    for thread in threads:
        thread.join(timeout=60)
    return acknowledged


def test_kill_9_during_writes_loses_no_acknowledged_encounter(database_url: str, tmp_path: Path) -> None:  # noqa: F811
    server = ServerProcess(database_url).start(tmp_path / "server.log")
    token = add_user(server, "dr-crash", "clinician")
    with httpx.Client(base_url=f"{server.base}/api/v1", timeout=30, headers=_bearer(token)) as client:
        patient_id = client.post("/patients", json={"display_name": "Crash"}).json()["id"]
    acknowledged = _write_until_killed(server, token, patient_id, target=1000)
    assert len(acknowledged) >= 1000

    server.start(tmp_path / "server-restarted.log")
    try:
        with httpx.Client(base_url=f"{server.base}/api/v1", timeout=30, headers=_bearer(token)) as client:
            assert client.get(f"/patients/{patient_id}/encounters").json()["total"] >= len(acknowledged)
    finally:
        server.stop()
    database = Database(database_url)
    try:
        with database.read() as connection:
            stored = set(connection.execute(select(encounters.c.id)).scalars())
            audited = set(
                connection.execute(
                    select(audit_events.c.resource_id).where(
                        audit_events.c.resource_type == "encounter", audit_events.c.outcome == "success"
                    )
                ).scalars()
            )
            if database.dialect == "sqlite":
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    finally:
        database.close()
    assert acknowledged <= stored, f"{len(acknowledged - stored)} acknowledged writes lost"
    assert stored <= audited, "an encounter without its audit event"
    verified = server.cli("audit", "verify")
    assert verified.returncode == 0, verified.stderr
    print(f"\nkill -9 ({database_url.split(':')[0]}): {len(acknowledged)} acknowledged, {len(stored)} stored, 0 lost")


def test_several_workers_share_one_sqlite_file(tmp_path: Path, sqlite_template: Path) -> None:  # noqa: F811
    import shutil

    shutil.copy(sqlite_template, tmp_path / "ketaguide.db")
    url = f"sqlite:///{tmp_path / 'ketaguide.db'}"
    server = ServerProcess(url, workers=2).start(tmp_path / "server.log")
    try:
        token = add_user(server, "dr-workers", "clinician")

        def work(n: int) -> list[int]:
            with httpx.Client(base_url=f"{server.base}/api/v1", timeout=60, headers=_bearer(token)) as client:
                created = client.post("/patients", json={"display_name": f"W{n}", "mrn": f"W-{n}"})
                pid = created.json()["id"]
                body: dict[str, Any] = {"intake": INTAKE, "observed_at": "2026-11-30T09:00:00Z"}
                statuses = [created.status_code]
                for _ in range(5):
                    statuses.append(client.post(f"/patients/{pid}/encounters", json=body).status_code)
                    statuses.append(client.get(f"/patients/{pid}").status_code)
                return statuses

        with ThreadPoolExecutor(8) as pool:
            statuses = [s for batch in pool.map(work, range(8)) for s in batch]
        assert set(statuses) <= {200, 201}, sorted(set(statuses))
    finally:
        server.stop()
    database = Database(url)
    try:
        with database.read() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert len(connection.execute(select(encounters.c.id)).all()) == 40
    finally:
        database.close()
    assert server.cli("audit", "verify").returncode == 0


def test_a_new_user_s_server_answers_health_within_20_seconds(tmp_path: Path) -> None:
    """As the README starts it: a fresh data folder and an empty cache, `db upgrade`, then `serve` with the default
    retriever; probes reach `/health` and `/ready` at the root as well as under /api/v1."""
    import os
    import subprocess
    import sys
    import time

    from test_server_support import free_port

    environment = {k: v for k, v in os.environ.items() if k not in ("KETAGUIDE_DATABASE_URL", "KETAGUIDE_RETRIEVER")}
    environment |= {"KETAGUIDE_DATA_DIR": str(tmp_path / "data"), "KETAGUIDE_CACHE_DIR": str(tmp_path / "cache")}
    ketaguide = [sys.executable, "-m", "ketaguide"]
    upgrade = subprocess.run([*ketaguide, "db", "upgrade"], env=environment, capture_output=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen([*ketaguide, "serve", "--port", str(port)], env=environment, stdout=log, stderr=log)
    try:
        started, answered = time.monotonic(), None
        while answered is None and time.monotonic() - started < 20:
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.2)
        assert answered is not None and answered.json() == {"status": "ok"}, (tmp_path / "serve.log").read_text()
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).json()["status"] == "ready"
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
