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
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


# The load generator ----------------------------------------------------------------------------------------------


class Target:
    """One request, prepared as bytes, rotating through several bodies."""

    def __init__(self, name: str, path: str, bodies: list[dict[str, Any]], token: str, port: int) -> None:
        self.name = name
        self.requests = [_request_bytes(path, body, token, port) for body in bodies]


def _request_bytes(path: str, body: dict[str, Any], token: str, port: int) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _client(port: int, target: Target, stop_at: float, latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    try:
        while time.perf_counter() < stop_at:
            request = target.requests[n % len(target.requests)]
            n += 1
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = next(
                int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status >= 300:
                errors.append(status)
    finally:
        writer.close()


async def _load(port: int, target: Target, clients: int, seconds: float, warmup: float) -> dict[str, Any]:
    warm_latencies: list[float] = []
    await asyncio.gather(
        *(_client(port, target, time.perf_counter() + warmup, warm_latencies, []) for _ in range(clients))
    )
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(*(_client(port, target, started + seconds, latencies, errors) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "route": target.name,
        "clients": clients,
        "requests": len(ordered),
        "errors": len(errors),
        "requests_per_s": round(len(ordered) / elapsed, 1),
        "p50_ms": round(_percentile(ordered, 0.50) * 1000, 2),
        "p99_ms": round(_percentile(ordered, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else None,
    }


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
            port = _free_port()
            with _server(url, port, workers):
                targets = {
                    "answers": Target(
                        "POST /api/v1/answers", "/api/v1/answers", [{"question": q} for q in QUESTIONS], token, port
                    ),
                    "evaluate": Target(
                        "POST /api/v1/assessments/evaluate",
                        "/api/v1/assessments/evaluate",
                        [{"intake": i} for i in intakes],
                        token,
                        port,
                    ),
                    "encounters": Target(
                        "POST /api/v1/patients/{id}/encounters",
                        f"/api/v1/patients/{patient_id}/encounters",
                        [{"intake": i, "observed_at": "2026-11-30T09:00:00Z"} for i in intakes],
                        token,
                        port,
                    ),
                }
                noop = Target("POST /bench/noop", "/bench/noop", [{"n": 1}], token, port)
                for clients in CONCURRENCY:
                    for name, target in targets.items():
                        for measured in (noop, target):
                            row = asyncio.run(_load(port, measured, clients, seconds, warmup))
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
