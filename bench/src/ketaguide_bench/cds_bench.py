"""CDS Hooks benchmark (`ketaguide-bench cds`): order-sign requests/s, p50 and p99 at 1, 10 and 50 clients on loopback.

A real server, started as `ketaguide serve` starts it (`ketaguide.cli.serve.run_app`: with `--workers N` above 1,
N uvicorn workers each with its own listening socket), serves the application `ketaguide serve` serves
(`create_app_from_environment`: the REST API, the web pages and the CDS Hooks routes) on a fresh, migrated SQLite
database, so the CDS stores are the deployment default: the JWT replay guard, the issued cards and the audit trail
in the server's database (or the replay guard and cards in Redis with `--redis-url`, the audit trail still in the
database). Beside it, in the same app and the same run, a no-op route (`POST /bench/noop`: the same JSON body read,
no JWT check, no hook work, no database) measured at the same concurrency gives the framework's and the load
generator's own cost.

Every order-sign request carries a JWT of its own (ES384, a new `jti`: the replay guard refuses a reused one),
signed before the measured phase so the load generator does not sign while it measures. Both routes are sent by wrk
when it is installed (its Lua script hands out the signed requests in order, each once; the row says if they ran
out), else by the Python generator of `ketaguide_bench.loadgen` (each row names its generator). Requests rotate
through golden order-sign cases with everything prefetched (no FHIR fetch). The report states the stores and
workers, the load average before and after (the machine may be shared), and each row the server's CPU time per
request (user + system of the uvicorn processes over the measure, warm-up included on both sides), which does not
depend on how busy the machine is.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from ketaguide_bench.loadgen import (
    OneShot,
    Rotating,
    Source,
    free_port,
    process_cpu_clock,
    request_bytes,
    run_measure,
    server_cpu,
)
from ketaguide_bench.progress import Progress
from ketaguide_bench.server_bench import first_in_line, serving

CASES = Path(__file__).resolve().parents[3] / "tests" / "data" / "cds" / "cases"
CONCURRENCY = (1, 10, 50)
# Requests signed per measured second: above what one or two workers serve (the report says if they ran out; at
# 400 two workers did, and a measure that runs out ends early).
SIGNED_PER_SECOND = 1000
ORDER_SIGN_CASES = ("sign-naltrexone-with-methadone", "sign-lamotrigine-with-depakote", "sign-lorazepam-with-fentanyl")
ISSUER = "https://bench-ehr.example.org"
SERVICE = "ketaguide-order-sign"


def bench_app() -> Any:
    """The application the benchmark's uvicorn runs: the server's own (`ketaguide serve`'s, with its process
    settings), and a no-op route."""
    from ketaguide.cli.serve import server_app

    app = server_app()
    app.add_api_route("/bench/noop", _noop, methods=["POST"])
    return first_in_line(app)


async def _noop(request: Request) -> Response:
    """The no-op: read and parse the JSON body, answer `{"cards": []}`."""
    json.loads(await request.body())
    return JSONResponse({"cards": []})


def _signed_requests(count: int, port: int, private_key: Any, progress: Progress) -> list[bytes]:
    import jwt

    bodies = [
        json.dumps(json.loads((CASES / f"{name}.json").read_text())["request"]).encode() for name in ORDER_SIGN_CASES
    ]
    audience = f"http://127.0.0.1:{port}/cds-services/{SERVICE}"
    now = int(time.time())  # noqa: TID251  # the server checks tokens against the real clock
    step = progress("signing request JWTs", count)
    requests = []
    for n in range(count):
        claims = {"iss": ISSUER, "aud": audience, "iat": now, "exp": now + 900, "jti": uuid.uuid4().hex}
        token = jwt.encode(claims, private_key, algorithm="ES384", headers={"kid": "bench", "typ": "JWT"})
        requests.append(request_bytes(f"/cds-services/{SERVICE}", bodies[n % len(bodies)], port, f"Bearer {token}"))
        step(1)
    return requests


def _migrated_sqlite(folder: Path) -> str:
    """A fresh SQLite database at the current schema (`ketaguide db upgrade`), as a new server has."""
    from ketaguide.storage.engine import Database
    from ketaguide.storage.schema import upgrade

    url = f"sqlite:///{folder / 'ketaguide.db'}"
    database = Database(url)
    try:
        upgrade(database)
    finally:
        database.close()
    return url


def _server(port: int, env: dict[str, str], workers: int) -> AbstractContextManager[subprocess.Popen[str]]:
    return serving("ketaguide_bench.cds_bench:bench_app", port, workers, env)


def _measured(
    port: int,
    route: str,
    source: Source,
    clients: int,
    seconds: float,
    warmup: float,
    cpu: Callable[[], dict[int, float]],
) -> dict[str, Any]:
    """One measure, with the server's CPU time per request over it (warm-up included on both sides of the ratio:
    the CPU clock cannot tell them apart, and the warm-up serves the same requests), and each process's share of
    it: a keep-alive connection stays with the worker that accepted it, and one worker given most connections
    makes the latency of most requests (the p99 of two workers is often one worker's)."""
    before = cpu()
    row = run_measure(port, route, source, clients, seconds, warmup, lambda status: status != 200)
    return row | server_cpu(before, cpu(), _served(source, row, seconds, warmup), 2)


def _served(source: Source, row: dict[str, Any], seconds: float, warmup: float) -> float:
    """Requests served over the measure and its warm-up: counted where the generator hands them out, else
    estimated from the measured rate (wrk reports the measured seconds only)."""
    if isinstance(source, OneShot) and source.sent:  # the Python generator ran
        return float(source.sent)
    return float(row["requests"]) * (seconds + warmup) / seconds if row["requests"] else 0.0


def run_cds_benchmark(
    seconds: float, warmup: float, redis_url: str | None, workers: int, progress: Progress
) -> dict[str, Any]:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(key.public_key())), "kid": "bench", "alg": "ES384"}
    port = free_port()
    rows = []
    load_before = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="ketaguide-cds-bench-"))
    try:
        clients_file = folder / "cds-clients.json"
        clients_file.write_text(json.dumps([{"iss": ISSUER, "jwks": {"keys": [jwk]}}]))
        env = {
            **os.environ,
            "KETAGUIDE_DATABASE_URL": _migrated_sqlite(folder),
            "KETAGUIDE_RETRIEVER": "lexical",
            "KETAGUIDE_CDS_CLIENTS": str(clients_file),
            "KETAGUIDE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
        env.pop("KETAGUIDE_REDIS_URL", None)
        if redis_url:
            env["KETAGUIDE_REDIS_URL"] = redis_url
        signed = {
            clients: OneShot(_signed_requests(int((seconds + warmup) * SIGNED_PER_SECOND), port, key, progress))
            for clients in CONCURRENCY
        }
        noop = Rotating([request_bytes("/bench/noop", b'{"n": 1}', port, None)])
        step = progress("CDS Hooks benchmark", 2 * len(CONCURRENCY))
        with _server(port, env, workers) as process:
            cpu = process_cpu_clock(process.pid)
            for clients in CONCURRENCY:
                measures: tuple[tuple[str, Source], ...] = (
                    ("POST /bench/noop", noop),
                    (f"POST /cds-services/{SERVICE}", signed[clients]),
                )
                for name, requests in measures:
                    rows.append(_measured(port, name, requests, clients, seconds, warmup, cpu))
                    step(1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "benchmark": "cds-hooks order-sign",
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
        "workers": workers,
        "stores": _stores(redis_url),
        "seconds_per_measure": seconds,
        "warmup_seconds": warmup,
        "goal": "order-sign p99 <= 100 ms at 50 concurrent clients",
        "cases": list(ORDER_SIGN_CASES),
        "rows": rows,
    }


def _stores(redis_url: str | None) -> str:
    """The stores, as the report and the CLI's table title name them."""
    if redis_url:
        return "redis (replay guard, cards) + sqlite (audit trail)"
    return "sqlite database (replay guard, cards, audit trail: one transaction per call)"
