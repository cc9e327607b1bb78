"""The loopback load generator the server benchmarks share: prepared HTTP/1.1 requests sent by closed-loop clients
on keep-alive connections, latency per request, throughput, p50 and p99.

Requests are bytes prepared before timing, so the generator's own cost per request is a write and a read.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def request_bytes(path: str, body: bytes, port: int, authorization: str | None) -> bytes:
    """A POST of a JSON body, ready to write to a keep-alive connection."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
    head += f"Authorization: {authorization}\r\n" if authorization else ""
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


class Rotating:
    """Prepared requests sent in turn, for as long as the measure lasts."""

    def __init__(self, requests: Sequence[bytes]) -> None:
        self.requests = list(requests)
        self.sent = 0
        self.exhausted = False

    def take(self) -> bytes | None:
        self.sent += 1
        return self.requests[(self.sent - 1) % len(self.requests)]


class OneShot:
    """Prepared requests each sent once (a signed JWT's jti may not be reused); `exhausted` says if they ran out."""

    def __init__(self, requests: Sequence[bytes]) -> None:
        self.requests = list(requests)
        self.sent = 0

    @property
    def exhausted(self) -> bool:
        return self.sent >= len(self.requests)

    def take(self) -> bytes | None:
        if self.exhausted:
            return None
        self.sent += 1
        return self.requests[self.sent - 1]


Source = Rotating | OneShot


async def _client(
    port: int, source: Source, stop_at: float, latencies: list[float], errors: list[int], failed: Callable[[int], bool]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at and (request := source.take()) is not None:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = next(
                int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if failed(status):
                errors.append(status)
    finally:
        writer.close()


async def measure(
    port: int,
    route: str,
    source: Source,
    clients: int,
    seconds: float,
    warmup: float,
    failed: Callable[[int], bool] = lambda status: status >= 300,
) -> dict[str, Any]:
    """`clients` connections sending `source`'s requests for `warmup` seconds (not counted), then `seconds`."""
    await asyncio.gather(*(_client(port, source, time.perf_counter() + warmup, [], [], failed) for _ in range(clients)))
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(*(_client(port, source, started + seconds, latencies, errors, failed) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "route": route,
        "clients": clients,
        "requests": len(ordered),
        "errors": len(errors),
        "error_statuses": sorted(set(errors)),
        "requests_per_s": round(len(ordered) / elapsed, 1),
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else None,
        "ran_out_of_requests": source.exhausted,
    }


def percentile(ordered: list[float], q: float) -> float:
    """The q-quantile of sorted values (nearest rank); NaN when there are none."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
