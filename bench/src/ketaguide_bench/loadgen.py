"""The loopback load generator the server benchmarks share: prepared HTTP/1.1 requests sent by closed-loop clients
on keep-alive connections, latency per request, throughput, p50 and p99.

Two generators send the same prepared bytes, and every row says which one ran (`generator`):

- `wrk` (a C load generator; `apt-get install wrk`), used by `run_measure` when it is on the PATH: one thread with
  an epoll loop drives every connection, a Lua script hands out the prepared requests in turn, and the latencies
  go to an HdrHistogram. It costs the machine a small fraction of what the server does, so the figures are the
  server's, not the generator's.
  One-shot requests (a signed JWT whose `jti` may be used once) are handed out in order, each at most once: the
  warm-up gets its share of them and the measure the rest, and the row says if they ran out.
- `measure`, pure Python (asyncio, on uvloop when installed), the fallback when wrk is absent. Requests are bytes
  prepared before timing, so its cost per request is a write, a read of the head and of the body.

Closed loop: each client sends its next request when the previous response has been read in full. Latency is from
the request's write to the last byte of its response. A warm-up (same requests, not counted) precedes each measure.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

_T = TypeVar("_T")
Failed = Callable[[int], bool]


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


# The Python generator ------------------------------------------------------------------------------------------


async def _response(reader: asyncio.StreamReader) -> int:
    """Read one response (head and Content-Length body); its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    at = head.lower().find(b"\r\ncontent-length:")
    if at < 0:
        raise ValueError("a response without Content-Length (the generator reads only those)")
    end = head.find(b"\r\n", at + 2)
    await reader.readexactly(int(head[at + 17 : end]))
    return int(head[9:12])


async def _client(
    port: int, source: Source, stop_at: float, latencies: list[float], errors: list[int], failed: Failed
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    clock = time.perf_counter
    try:
        while clock() < stop_at and (request := source.take()) is not None:
            started = clock()
            writer.write(request)
            status = await _response(reader)
            latencies.append(clock() - started)
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
    failed: Failed = lambda status: status >= 300,
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
        "generator": python_generator(),
        "requests": len(ordered),
        "errors": len(errors),
        "error_statuses": sorted(set(errors)),
        "requests_per_s": round(len(ordered) / elapsed, 1),
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else None,
        "ran_out_of_requests": source.exhausted,
    }


def run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine of the Python generator on uvloop when it is installed (a cheaper event loop), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def python_generator() -> str:
    try:
        import uvloop  # noqa: F401  # only asks whether it is installed
    except ImportError:
        return "python asyncio"
    return "python asyncio (uvloop)"


# wrk -----------------------------------------------------------------------------------------------------------

# Each wrk thread runs this with its own Lua state: the prepared requests are read from a file (raw HTTP/1.1 bytes,
# as `request_bytes` makes them, each after its size) and handed out in turn; `done` prints the figures as one
# JSON line.
_WRK_SCRIPT = r"""
local requests, n = {}, 0
-- The prepared requests, one file: each request's size in bytes on a line, then its bytes.
local file = assert(io.open(os.getenv("KETAGUIDE_WRK_REQUESTS"), "rb"))
for size in file:lines() do
  requests[#requests + 1] = file:read(tonumber(size))
end
file:close()
assert(#requests > 0, "no prepared requests")

-- One-shot requests (KETAGUIDE_WRK_ONCE=1: each signed token may be sent once): past the last one the list starts
-- again, the server refuses the replays (errors in the row) and `exhausted` says so.
local once, threads = os.getenv("KETAGUIDE_WRK_ONCE") == "1", {}
exhausted = 0

setup = function(thread)
  threads[#threads + 1] = thread
end

request = function()
  if once and n == #requests then
    exhausted = 1
  end
  n = n % #requests + 1
  return requests[n]
end

done = function(summary, latency, requests)
  local e, ran_out = summary.errors, 0
  for _, thread in ipairs(threads) do
    ran_out = math.max(ran_out, thread:get("exhausted") or 0)
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, "exhausted": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, ran_out))
end
"""


def wrk_path() -> str | None:
    """The wrk executable, or None when it is not installed (the Python generator is used then)."""
    return shutil.which("wrk")


def wrk_version(wrk: str) -> str:
    """wrk's version line ("wrk debian/4.1.0-3 [epoll]"), as it prints it."""
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    line = (done.stdout or done.stderr).strip().splitlines()
    return " ".join(line[0].split()[:3]) if line else "wrk"


def _wrk(
    wrk: str, port: int, bundle: Path, clients: int, seconds: float, folder: Path, *, once: bool = False
) -> dict[str, Any]:
    # wrk takes whole seconds; the row's rate uses the duration wrk reports.
    whole = max(1, math.ceil(seconds))
    command = [wrk, "-t1", f"-c{clients}", f"-d{whole}s", f"--timeout={max(10, 4 * whole)}s"]
    command += ["-s", str(folder / "rotate.lua"), f"http://127.0.0.1:{port}/"]
    env = {**os.environ, "KETAGUIDE_WRK_REQUESTS": str(bundle), "KETAGUIDE_WRK_ONCE": "1" if once else "0"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=seconds + 120)
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"requests"')]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}): {(done.stderr or done.stdout).strip()[:300]}")
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


def measure_wrk(
    wrk: str,
    port: int,
    route: str,
    requests: Sequence[bytes],
    clients: int,
    seconds: float,
    warmup: float,
    *,
    once: bool = False,
) -> dict[str, Any]:
    """`measure`'s row, from wrk: `clients` connections sending `requests` in turn, `warmup` seconds not counted,
    then `seconds` (each rounded up to whole seconds, as wrk takes them). wrk counts a status of 400 or more as an
    error (check each request's status beforehand with `statuses`); it cannot tell which statuses it saw. `once`:
    each request is sent at most once (one-shot tokens): the warm-up gets its share of them, the measure the rest,
    and `ran_out_of_requests` says if they did not last."""
    with tempfile.TemporaryDirectory(prefix="ketaguide-wrk-") as name:
        folder = Path(name)
        (folder / "rotate.lua").write_text(_WRK_SCRIPT, encoding="utf-8")
        # One-shot: the warm-up's share of the requests first, then the measure's; rotating: all of them each time.
        split = math.ceil(len(requests) * warmup / (warmup + seconds)) if once else 0
        warm = _bundle(folder / "warm-up", requests[:split] if once else requests)
        measured = _bundle(folder / "measure", requests[split:] if once else requests)
        if warmup > 0:
            _wrk(wrk, port, warm, clients, warmup, folder, once=once)
        figures = _wrk(wrk, port, measured, clients, seconds, folder, once=once)
    errors = sum(figures[kind] for kind in ("connect", "read", "write", "status", "timeout"))
    elapsed = figures["duration_us"] / 1e6
    return {
        "route": route,
        "clients": clients,
        "generator": wrk_version(wrk),
        "requests": figures["requests"],
        "errors": errors,
        "error_statuses": [],  # wrk counts them (`errors`) without saying which
        "error_kinds": {kind: figures[kind] for kind in ("connect", "read", "write", "status", "timeout")},
        "requests_per_s": round(figures["requests"] / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(figures["p50_us"] / 1000, 2),
        "p99_ms": round(figures["p99_us"] / 1000, 2),
        "mean_ms": round(figures["mean_us"] / 1000, 2),
        "ran_out_of_requests": bool(figures["exhausted"]),
    }


def _bundle(path: Path, requests: Sequence[bytes]) -> Path:
    """The requests in one file as the wrk script reads them: each one's size on a line, then its bytes."""
    path.write_bytes(b"".join(b"%d\n%s" % (len(request), request) for request in requests))
    return path


def run_measure(
    port: int,
    route: str,
    source: Source,
    clients: int,
    seconds: float,
    warmup: float,
    failed: Failed = lambda status: status >= 300,
    *,
    use_wrk: bool = True,
) -> dict[str, Any]:
    """One measure with the cheapest generator at hand: wrk when it is installed (and `use_wrk`), else the Python
    generator. Both give the same row, `generator` naming the one that ran; with wrk a one-shot source's `sent`
    stays 0 (wrk counts only what it measured)."""
    wrk = wrk_path() if use_wrk else None
    if wrk is None:
        return run(measure(port, route, source, clients, seconds, warmup, failed))
    return measure_wrk(wrk, port, route, source.requests, clients, seconds, warmup, once=isinstance(source, OneShot))


def statuses(port: int, requests: Sequence[bytes]) -> list[int]:
    """The status of each prepared request, sent once in turn on one connection (a check before a measure)."""

    async def send() -> list[int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            found = []
            for request in requests:
                writer.write(request)
                found.append(await _response(reader))
            return found
        finally:
            writer.close()

    return asyncio.run(send())


# The server's side ---------------------------------------------------------------------------------------------


def cpu_clock(pid: int) -> Callable[[], float]:
    """A clock of a server's CPU seconds (user + system of the process and all its children: uvicorn's workers).
    CPU time per request does not depend on how busy the rest of the machine is, unlike latency."""
    by_process = process_cpu_clock(pid)
    return lambda: sum(by_process().values())


def process_cpu_clock(pid: int) -> Callable[[], dict[int, float]]:
    """`cpu_clock` by process id: how the work was shared between the workers."""
    import psutil

    parent = psutil.Process(pid)

    def seconds() -> dict[int, float]:
        found = {}
        for member in (parent, *parent.children(recursive=True)):
            try:
                times = member.cpu_times()
            except psutil.Error:
                continue
            found[member.pid] = times.user + times.system
        return found

    return seconds


def server_cpu(before: dict[int, float], after: dict[int, float], served: float, digits: int) -> dict[str, Any]:
    """A row's server CPU fields from two readings of `process_cpu_clock` around a measure: CPU ms per request
    served (rounded to `digits`) and each process's share (how evenly the workers were loaded)."""
    used = sum(after.values()) - sum(before.get(pid, 0.0) for pid in after)
    return {
        "server_cpu_ms_per_request": round(1000 * used / served, digits) if served else None,
        "server_cpu_share_by_process": cpu_shares(before, after),
    }


def cpu_shares(before: dict[int, float], after: dict[int, float]) -> list[float]:
    """Each process's share of the CPU time used between two readings of `process_cpu_clock`, largest first
    (processes that used under 1% left out)."""
    used = {pid: seconds - before.get(pid, 0.0) for pid, seconds in after.items()}
    total = sum(used.values())
    shares = sorted((seconds / total for seconds in used.values()), reverse=True) if total > 0 else []
    return [round(share, 2) for share in shares if share >= 0.01]


def percentile(ordered: list[float], q: float) -> float:
    """The q-quantile of sorted values (nearest rank); NaN when there are none."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
