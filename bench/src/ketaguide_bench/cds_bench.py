"""CDS Hooks benchmark (`ketaguide-bench cds`): order-sign requests/s, p50 and p99 at 50 clients on loopback.

A real `uvicorn` process serves KetaGuide's CDS Hooks routes (in-memory stores, or Redis with `--redis-url`) and a
no-op route (`POST /bench/noop`: the same JSON body read, no JWT check and no hook work), measured closed loop in the
same run at the same concurrency: the no-op gives the framework's own cost. Every order-sign request carries a JWT
of its own (ES384, a new `jti`: the replay guard refuses a reused one), signed before the measured phase so the load
generator does not sign while it measures. Requests rotate through golden order-sign cases with everything
prefetched (no FHIR fetch). The load generator is one asyncio process speaking HTTP/1.1 keep-alive over raw sockets.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from ketaguide_bench.loadgen import OneShot, Rotating, free_port, measure, request_bytes
from ketaguide_bench.progress import Progress

CASES = Path(__file__).resolve().parents[3] / "tests" / "data" / "cds" / "cases"
CONCURRENCY = (1, 10, 50)
# Requests signed per measured second: above what one or two workers serve (the report says if they ran out).
SIGNED_PER_SECOND = 400
ORDER_SIGN_CASES = ("sign-naltrexone-with-methadone", "sign-lamotrigine-with-depakote", "sign-lorazepam-with-fentanyl")
ISSUER = "https://bench-ehr.example.org"
SERVICE = "ketaguide-order-sign"


def bench_app() -> Any:
    """The application the benchmark's uvicorn runs: the CDS Hooks routes on KetaGuide's runtime, and a no-op."""
    from ketaguide.bootstrap import build_runtime
    from ketaguide.cdshooks.service import CareEngine
    from ketaguide.cdshooks.stores import MemoryHookAudit
    from ketaguide.http.cds_hooks import Backend, cds_app, router_from_settings
    from ketaguide.services.assessment import assess
    from ketaguide.settings import load_settings

    settings = load_settings()
    runtime = build_runtime(settings)
    _ = runtime.knowledge.clinical
    engine = CareEngine(knowledge=runtime.knowledge, assess=lambda document: assess(runtime, document))
    app = cds_app(router_from_settings(settings, Backend(engine, runtime.clock, MemoryHookAudit(limit=1000))))

    app.add_api_route("/bench/noop", _noop, methods=["POST"])
    return app


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


@contextmanager
def _server(port: int, clients_file: Path, redis_url: str | None, workers: int) -> Iterator[None]:
    import httpx

    env = {
        **os.environ,
        "KETAGUIDE_RETRIEVER": "lexical",
        "KETAGUIDE_CDS_CLIENTS": str(clients_file),
        "KETAGUIDE_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("KETAGUIDE_REDIS_URL", None)
    if redis_url:
        env["KETAGUIDE_REDIS_URL"] = redis_url
    command = [sys.executable, "-m", "uvicorn", "ketaguide_bench.cds_bench:bench_app", "--factory"]
    command += ["--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/cds-services", timeout=2)  # 401 without a JWT: it is up
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the benchmark server did not start")
        yield
    finally:
        process.terminate()
        process.wait(timeout=60)


def run_cds_benchmark(
    seconds: float, warmup: float, redis_url: str | None, workers: int, progress: Progress
) -> dict[str, Any]:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(key.public_key())), "kid": "bench", "alg": "ES384"}
    port = free_port()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ketaguide-cds-bench-") as folder:
        clients_file = Path(folder) / "cds-clients.json"
        clients_file.write_text(json.dumps([{"iss": ISSUER, "jwks": {"keys": [jwk]}}]))
        signed = {
            clients: OneShot(_signed_requests(int((seconds + warmup) * SIGNED_PER_SECOND), port, key, progress))
            for clients in CONCURRENCY
        }
        noop = Rotating([request_bytes("/bench/noop", b'{"n": 1}', port, None)])
        step = progress("CDS Hooks benchmark", 2 * len(CONCURRENCY))
        with _server(port, clients_file, redis_url, workers):
            for clients in CONCURRENCY:
                measures = (
                    ("POST /bench/noop", noop),
                    (f"POST /cds-services/{SERVICE}", signed[clients]),
                )
                for name, requests in measures:
                    rows.append(
                        asyncio.run(
                            measure(port, name, requests, clients, seconds, warmup, lambda status: status != 200)
                        )
                    )
                    step(1)
    return {
        "benchmark": "cds-hooks order-sign",
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "workers": workers,
        "stores": "redis" if redis_url else "memory",
        "seconds_per_measure": seconds,
        "warmup_seconds": warmup,
        "goal": "order-sign p99 <= 100 ms at 50 concurrent clients",
        "cases": list(ORDER_SIGN_CASES),
        "rows": rows,
    }
