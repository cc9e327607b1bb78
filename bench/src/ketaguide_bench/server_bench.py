"""Server benchmark (`ketaguide-bench server`): requests/s, p50 and p99 of the REST API on loopback.

For each database (SQLite; PostgreSQL when a URL is given) a fresh, migrated database and a real `uvicorn` process
serving KetaGuide's application plus one no-op route (`POST /bench/noop`: the same authentication and JSON body
handling, no work) are measured, closed loop, at 1, 10 and 50 concurrent clients: POST /api/v1/answers,
POST /api/v1/assessments/evaluate, POST /api/v1/patients/{id}/encounters, each beside the no-op route in the same
run (the framework's own cost). The load generator is one asyncio process speaking HTTP/1.1 keep-alive over raw
sockets, so that it costs the shared 2 cores far less than the server it measures.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ketaguide_bench.loadgen import Rotating, free_port, measure, request_bytes
from ketaguide_bench.progress import Progress

QUESTIONS = (
    "Does lamotrigine help with ketamine craving and relapse?",
    "What are the signs of ketamine bladder?",
    "Is ketamine withdrawal physical?",
    "Can naltrexone be used for ketamine addiction?",
)
INTAKES = Path(__file__).resolve().parents[3] / "examples" / "intakes"
CONCURRENCY = (1, 10, 50)


def bench_app() -> Any:
    """The application factory the benchmark's uvicorn runs: KetaGuide's app and the no-op route."""
    from fastapi import APIRouter, Depends

    from ketaguide.http.app import create_app
    from ketaguide.http.requests import StrictJSONRoute
    from ketaguide.http.security import CLINICIAN, require

    router = APIRouter(route_class=StrictJSONRoute)

    @router.post("/bench/noop", dependencies=[Depends(require(*CLINICIAN))])
    def noop(body: dict[str, Any]) -> dict[str, str]:
        return {}

    return create_app(routers=[router])


# Databases and the server ------------------------------------------------------------------------------------------


@contextmanager
def _database(kind: str, postgres_url: str | None) -> Iterator[str]:
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="ketaguide-bench-")
        try:
            yield f"sqlite:///{folder}/ketaguide.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from ketaguide.storage.engine import engine_url

    assert postgres_url is not None
    name = f"kg_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(engine_url(postgres_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(engine_url(postgres_url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _prepare(url: str) -> tuple[str, str]:
    """Migrate, add a clinician and a patient; the clinician's token and the patient's id."""
    from ketaguide.bootstrap import SystemClock
    from ketaguide.services.access import Caller, Principal, Role
    from ketaguide.services.patients import NewPatient, create_patient
    from ketaguide.services.records import Records
    from ketaguide.services.users import add_user
    from ketaguide.storage.engine import Database
    from ketaguide.storage.schema import upgrade

    database = Database(url)
    try:
        upgrade(database)
        records = Records(database, SystemClock())
        user, token = add_user(records, "bench", Role.CLINICIAN)
        caller = Caller(Principal(user.id, user.name, user.role))
        patient = create_patient(records, caller, NewPatient(display_name="Bench Patient"))
    finally:
        database.close()
    return token, patient.id


@contextmanager
def _server(url: str, port: int, workers: int) -> Iterator[subprocess.Popen[bytes]]:
    import httpx

    env = {**os.environ, "KETAGUIDE_DATABASE_URL": url, "KETAGUIDE_RETRIEVER": "lexical"}
    command = [sys.executable, "-m", "uvicorn", "ketaguide_bench.server_bench:bench_app", "--factory"]
    command += ["--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the benchmark server did not start")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=60)


def _target(path: str, bodies: list[dict[str, Any]], token: str, port: int) -> Rotating:
    """One route's requests, prepared as bytes, rotating through several bodies."""
    return Rotating([request_bytes(path, json.dumps(body).encode(), port, f"Bearer {token}") for body in bodies])


def run_server_benchmark(
    postgres_url: str | None, seconds: float, warmup: float, workers: int, progress: Progress
) -> dict[str, Any]:
    kinds = ["sqlite"] + (["postgresql"] if postgres_url else [])
    intakes = [json.loads(p.read_text()) for p in sorted(INTAKES.glob("*.json"))]
    rows: list[dict[str, Any]] = []
    step = progress("server benchmark", len(kinds) * len(CONCURRENCY) * 6)
    for kind in kinds:
        with _database(kind, postgres_url) as url:
            token, patient_id = _prepare(url)
            port = free_port()
            with _server(url, port, workers):
                evaluate = [{"intake": i} for i in intakes]
                encounters = [{"intake": i, "observed_at": "2026-11-30T09:00:00Z"} for i in intakes]
                targets = {
                    "answers": _target("/api/v1/answers", [{"question": q} for q in QUESTIONS], token, port),
                    "evaluate": _target("/api/v1/assessments/evaluate", evaluate, token, port),
                    "encounters": _target(f"/api/v1/patients/{patient_id}/encounters", encounters, token, port),
                }
                routes = {
                    "answers": "POST /api/v1/answers",
                    "evaluate": "POST /api/v1/assessments/evaluate",
                    "encounters": "POST /api/v1/patients/{id}/encounters",
                }
                noop = _target("/bench/noop", [{"n": 1}], token, port)
                for clients in CONCURRENCY:
                    for name, target in targets.items():
                        for route, measured in (("POST /bench/noop", noop), (routes[name], target)):
                            row = asyncio.run(measure(port, route, measured, clients, seconds, warmup))
                            rows.append({"database": kind, "workers": workers, "pair": name, **row})
                            step(1)
    return {
        "benchmark": "server",
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "seconds_per_measure": seconds,
        "warmup_seconds": warmup,
        "workers": workers,
        "goal": "POST /api/v1/assessments/evaluate p99 <= 100 ms at 50 concurrent clients",
        "rows": rows,
    }


def table_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """(database, clients, route, req/s, p50, p99, no-op req/s, no-op p50, no-op p99) per measured route."""
    rows = report["rows"]
    out: list[tuple[str, ...]] = []
    for noop, target in zip(rows[0::2], rows[1::2], strict=True):
        out.append(
            (
                target["database"],
                str(target["clients"]),
                target["route"],
                f"{target['requests_per_s']:.0f}",
                f"{target['p50_ms']:.1f}",
                f"{target['p99_ms']:.1f}",
                f"{noop['requests_per_s']:.0f}",
                f"{noop['p50_ms']:.1f}",
                f"{noop['p99_ms']:.1f}",
                str(target["errors"] + noop["errors"]),
            )
        )
    return out
