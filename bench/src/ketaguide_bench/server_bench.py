"""Server benchmark (`ketaguide-bench server`): requests/s, p50 and p99 of the REST API on loopback.

For each database (SQLite; PostgreSQL when a URL is given) a fresh, migrated database and a real server, started as
`ketaguide serve` starts it (`ketaguide.cli.serve.run_app`: with `--workers N` above 1, N uvicorn workers each with
its own listening socket), serving what `ketaguide serve` serves (`create_app_from_environment`) plus one no-op route
(`POST /bench/noop`: the same authentication and JSON body handling, no work; matched first) are measured, closed
loop, at 1, 10 and 50 concurrent clients: POST /api/v1/answers, POST /api/v1/assessments/evaluate,
POST /api/v1/patients/{id}/encounters, each beside the no-op route in the same run (the framework's own cost).

The load generator is wrk when it is installed (C, one thread: it costs the shared cores a small fraction of what
the server does), else the Python generator of `ketaguide_bench.loadgen`; the report names the one that ran. Each
row also gives the server's CPU time per request (user + system of the uvicorn processes over the measured
seconds), which does not depend on how busy the rest of the machine is, and each process's share of it (how evenly
the workers were loaded); the report gives the load average before and after: on a shared machine latency measures
the machine as much as the server.

The server's rate limits stay on as deployed, with a per-token budget this one token cannot spend
(`KETAGUIDE_RATE_LIMIT_TOKEN`): a benchmark sends in minutes what a clinician sends in a year.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from ketaguide_bench.loadgen import (
    Rotating,
    free_port,
    process_cpu_clock,
    python_generator,
    request_bytes,
    run_measure,
    server_cpu,
    statuses,
    wrk_path,
    wrk_version,
)
from ketaguide_bench.progress import Progress

QUESTIONS = (
    "Does lamotrigine help with ketamine craving and relapse?",
    "What are the signs of ketamine bladder?",
    "Is ketamine withdrawal physical?",
    "Can naltrexone be used for ketamine addiction?",
)
INTAKES = Path(__file__).resolve().parents[3] / "examples" / "intakes"
CONCURRENCY = (1, 10, 50)
ROUTES = {
    "answers": "POST /api/v1/answers",
    "evaluate": "POST /api/v1/assessments/evaluate",
    "encounters": "POST /api/v1/patients/{id}/encounters",
}
NOOP = "POST /bench/noop"
STARTED = "Application startup complete"  # uvicorn logs it once per worker, when its lifespan has run
# The rate limits as deployed, with a budget per token that no benchmark run comes near.
SERVER_ENV = {"KETAGUIDE_RETRIEVER": "lexical", "KETAGUIDE_RATE_LIMIT_TOKEN": "999999999/hour"}


def bench_app() -> Any:
    """The application factory the benchmark's uvicorn runs: the server's own (`ketaguide serve`'s, with its process
    settings) and the no-op route."""
    from fastapi import APIRouter, Depends

    from ketaguide.cli.serve import server_app
    from ketaguide.http.requests import StrictJSONRoute
    from ketaguide.http.security import CLINICIAN, require

    router = APIRouter(route_class=StrictJSONRoute)

    # A coroutine, as the evaluate route is: the framework's own cost, without a trip to the threadpool.
    @router.post("/bench/noop", dependencies=[Depends(require(*CLINICIAN))])
    async def noop(body: dict[str, Any]) -> dict[str, str]:
        return {}

    app = server_app()
    app.include_router(router)
    return first_in_line(app)


def first_in_line(app: Any) -> Any:
    """`app` with its last route moved first (a benchmark's no-op): FastAPI tries routes in order, and behind CDS
    Hooks, the API and the web pages a no-op would pay for about 75 route checks (0.36 ms on a 2-core virtual
    machine) that the routes it stands beside pay only in part."""
    app.router.routes.insert(0, app.router.routes.pop())
    return app


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


class _Log:
    """uvicorn's log, read as it is written (so the pipe never fills), kept for an error message."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stderr is not None
        stream = process.stderr
        self._reader = threading.Thread(target=lambda: self.lines.extend(stream), daemon=True)
        self._reader.start()

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def tail(self) -> str:
        return "".join(self.lines[-20:])


def launcher(app: str, port: int, workers: int) -> list[str]:
    """The command that serves the application factory `app` as `ketaguide serve` does (`run_app`: uvicorn, or with
    several workers one listening socket each under a supervisor), on loopback."""
    call = f"run_app({app!r}, '127.0.0.1', {port}, {workers}, 'info')"
    return [sys.executable, "-c", f"from ketaguide.cli.serve import run_app; {call}"]


@contextmanager
def serving(app: str, port: int, workers: int, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """`launcher(app)` running, once every worker has started (a keep-alive connection stays with the worker that
    accepted it, so a measure must not begin while some workers are still loading)."""
    command = launcher(app, port, workers)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log = _Log(process)
    try:
        deadline = time.monotonic() + 180
        while log.count(STARTED) < workers:
            if process.poll() is not None or time.monotonic() > deadline:
                state = f"exited ({process.returncode})" if process.returncode is not None else "did not start in time"
                raise RuntimeError(f"the benchmark server {state}:\n{log.tail()}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=60)


def _server(url: str, port: int, workers: int) -> AbstractContextManager[subprocess.Popen[str]]:
    env = {**os.environ, **SERVER_ENV, "KETAGUIDE_DATABASE_URL": url}
    return serving("ketaguide_bench.server_bench:bench_app", port, workers, env)


def _target(path: str, bodies: list[dict[str, Any]], token: str, port: int) -> Rotating:
    """One route's requests, prepared as bytes, rotating through several bodies."""
    return Rotating([request_bytes(path, json.dumps(body).encode(), port, f"Bearer {token}") for body in bodies])


def _checked(port: int, route: str, target: Rotating) -> None:
    """Each prepared request answers a success before it is measured (wrk counts only statuses of 400 or more)."""
    found = statuses(port, target.requests)
    if any(status >= 300 for status in found):
        raise RuntimeError(f"{route}: the prepared requests answered {found}, not a success")


def _measured(
    port: int,
    route: str,
    target: Rotating,
    clients: int,
    seconds: float,
    warmup: float,
    cpu: Callable[[], dict[int, float]],
) -> dict[str, Any]:
    """One measure after its warm-up, with the server's CPU time per request over the measured seconds and each
    process's share of it (how evenly the workers were loaded)."""
    if warmup > 0:
        run_measure(port, route, target, clients, warmup, 0)
    before = cpu()
    row = run_measure(port, route, target, clients, seconds, 0)
    return row | server_cpu(before, cpu(), row["requests"], 3)


def run_server_benchmark(
    postgres_url: str | None, seconds: float, warmup: float, workers: int, progress: Progress
) -> dict[str, Any]:
    kinds = ["sqlite"] + (["postgresql"] if postgres_url else [])
    intakes = [json.loads(p.read_text()) for p in sorted(INTAKES.glob("*.json"))]
    rows: list[dict[str, Any]] = []
    load: dict[str, list[float]] = {}
    step = progress("server benchmark", len(kinds) * len(CONCURRENCY) * 6)
    for kind in kinds:
        with _database(kind, postgres_url) as url:
            token, patient_id = _prepare(url)
            port = free_port()
            with _server(url, port, workers) as server:
                cpu = process_cpu_clock(server.pid)
                evaluate = [{"intake": i} for i in intakes]
                encounters = [{"intake": i, "observed_at": "2026-11-30T09:00:00Z"} for i in intakes]
                targets = {
                    "answers": _target("/api/v1/answers", [{"question": q} for q in QUESTIONS], token, port),
                    "evaluate": _target("/api/v1/assessments/evaluate", evaluate, token, port),
                    "encounters": _target(f"/api/v1/patients/{patient_id}/encounters", encounters, token, port),
                }
                noop = _target("/bench/noop", [{"n": 1}], token, port)
                for name, target in (("noop", noop), *targets.items()):
                    _checked(port, ROUTES.get(name, NOOP), target)
                load[f"{kind} before"] = [round(x, 2) for x in os.getloadavg()]
                for clients in CONCURRENCY:
                    for name, target in targets.items():
                        for route, measured in ((NOOP, noop), (ROUTES[name], target)):
                            row = _measured(port, route, measured, clients, seconds, warmup, cpu)
                            rows.append({"database": kind, "workers": workers, "pair": name, **row})
                            step(1)
                load[f"{kind} after"] = [round(x, 2) for x in os.getloadavg()]
    wrk = wrk_path()
    return {
        "benchmark": "server",
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "load_average_1_5_15_min": load,
        "generator": wrk_version(wrk) if wrk else f"{python_generator()} (wrk is not installed)",
        "seconds_per_measure": seconds,
        "warmup_seconds": warmup,
        "workers": workers,
        "server_env": SERVER_ENV,
        "goal": "POST /api/v1/assessments/evaluate p99 <= 100 ms at 50 concurrent clients",
        "rows": rows,
    }


def table_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """(database, clients, route, req/s, p50, p99, no-op req/s, no-op p50, no-op p99, errors) per measured route."""
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
