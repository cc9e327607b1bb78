"""The loopback load generator (`ketaguide_bench.loadgen`) against a tiny HTTP/1.1 server written here.

The server answers every request on a keep-alive connection with a fixed status and body, and counts what it
received, so each generator's figures can be checked against what was really sent: the Python generator always,
wrk when it is installed (it is skipped otherwise, and `run_measure` then falls back to Python, which is tested too).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from ketaguide_bench import loadgen
from ketaguide_bench.loadgen import OneShot, Rotating, request_bytes


@dataclass
class _Server:
    port: int
    status: int = 200
    seconds_per_request: float = 0.0  # a slower server, so that a few thousand one-shot requests last a measure
    bodies: list[bytes] = field(default_factory=list)


def _serve(server: _Server, ready: threading.Event, stop: threading.Event) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                server.bodies.append(await reader.readexactly(length))
                await asyncio.sleep(server.seconds_per_request)
                body = b'{"ok": true}'
                reason = b"OK" if server.status == 200 else b"Error"
                writer.write(
                    b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                    % (server.status, reason, len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        listener = await asyncio.start_server(handle, "127.0.0.1", server.port)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        listener.close()

    asyncio.run(main())


@pytest.fixture
def server() -> Iterator[_Server]:
    found = _Server(port=loadgen.free_port())
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=_serve, args=(found, ready, stop), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield found
    stop.set()
    thread.join(10)


def _requests(port: int) -> list[bytes]:
    return [request_bytes("/x", b'{"n": %d}' % n, port, "Bearer t") for n in range(3)]


ROW_KEYS = {"route", "clients", "generator", "requests", "errors", "requests_per_s", "p50_ms", "p99_ms", "mean_ms"}


def test_request_bytes_is_a_keep_alive_post_with_its_length() -> None:
    request = request_bytes("/api/v1/x", b'{"a": 1}', 8000, "Bearer kg_x")
    head, body = request.split(b"\r\n\r\n")
    assert head.startswith(b"POST /api/v1/x HTTP/1.1\r\n")
    assert b"\r\nContent-Length: 8\r\n" in head + b"\r\n" and body == b'{"a": 1}'
    assert b"Authorization: Bearer kg_x" in head and b"Connection" not in head


def test_python_generator_counts_what_the_server_received(server: _Server) -> None:
    source = Rotating(_requests(server.port))
    row = loadgen.run(loadgen.measure(server.port, "x", source, 4, 0.5, 0.2))
    assert set(row) >= ROW_KEYS and row["generator"].startswith("python asyncio")
    assert row["requests"] > 0 and row["errors"] == 0 and 0 < row["p50_ms"] <= row["p99_ms"]
    # Warm-up requests are sent but not counted; the bodies rotate in turn.
    assert len(server.bodies) >= row["requests"]
    assert set(server.bodies) == {b'{"n": 0}', b'{"n": 1}', b'{"n": 2}'}


def test_python_generator_counts_failed_statuses(server: _Server) -> None:
    server.status = 503
    row = loadgen.run(loadgen.measure(server.port, "x", Rotating(_requests(server.port)), 2, 0.3, 0))
    assert row["errors"] == row["requests"] > 0 and row["error_statuses"] == [503]


def test_one_shot_requests_are_each_sent_once(server: _Server) -> None:
    source = OneShot(_requests(server.port))
    row = loadgen.run(loadgen.measure(server.port, "x", source, 2, 2.0, 0))
    assert row["requests"] == 3 and row["ran_out_of_requests"]
    assert sorted(server.bodies) == [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}']


def test_statuses_sends_each_request_once(server: _Server) -> None:
    server.status = 201
    assert loadgen.statuses(server.port, _requests(server.port)) == [201, 201, 201]
    assert len(server.bodies) == 3


def test_run_measure_falls_back_to_python_without_wrk(server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loadgen, "wrk_path", lambda: None)
    row = loadgen.run_measure(server.port, "x", Rotating(_requests(server.port)), 2, 0.3, 0)
    assert row["generator"].startswith("python asyncio") and row["requests"] > 0


def test_run_measure_sends_one_shot_requests_with_python(server: _Server) -> None:
    row = loadgen.run_measure(server.port, "x", OneShot(_requests(server.port)), 2, 1.0, 0, use_wrk=False)
    assert row["generator"].startswith("python asyncio") and row["requests"] == 3


@pytest.mark.skipif(loadgen.wrk_path() is None, reason="wrk is not installed (apt-get install wrk)")
def test_wrk_sends_one_shot_requests_once_each_and_says_when_they_ran_out(server: _Server) -> None:
    """Signed tokens may be sent once: the warm-up takes its share, the measure the rest, in order; past the last
    one the list starts again (the server would refuse those replays) and the row says the requests ran out."""
    server.seconds_per_request = 0.005  # 2 clients: at most about 400 requests a second
    many = [loadgen.request_bytes("/x", f'{{"n": {i}}}'.encode(), server.port, None) for i in range(3_000)]
    row = loadgen.run_measure(server.port, "x", OneShot(many), 2, 1, 1)
    assert row["generator"].startswith("wrk") and not row["ran_out_of_requests"]
    assert len(server.bodies) == len(set(server.bodies))  # none sent twice, warm-up included
    few = loadgen.run_measure(server.port, "x", OneShot(_requests(server.port)), 2, 1, 0)
    assert few["ran_out_of_requests"] and few["requests"] > 3


@pytest.mark.skipif(loadgen.wrk_path() is None, reason="wrk is not installed (apt-get install wrk)")
def test_wrk_rotates_the_prepared_requests_and_reports_the_row(server: _Server) -> None:
    row = loadgen.run_measure(server.port, "x", Rotating(_requests(server.port)), 3, 1, 0)
    assert set(row) >= ROW_KEYS and row["generator"].startswith("wrk")
    assert row["requests"] > 0 and row["errors"] == 0 and 0 < row["p50_ms"] <= row["p99_ms"]
    assert len(server.bodies) >= row["requests"]
    assert set(server.bodies) == {b'{"n": 0}', b'{"n": 1}', b'{"n": 2}'}


@pytest.mark.skipif(loadgen.wrk_path() is None, reason="wrk is not installed (apt-get install wrk)")
def test_wrk_counts_error_statuses(server: _Server) -> None:
    server.status = 500
    row = loadgen.run_measure(server.port, "x", Rotating(_requests(server.port)), 2, 1, 0)
    assert row["errors"] == row["requests"] > 0 and row["error_kinds"]["status"] == row["requests"]


def test_cpu_clock_reads_a_process_cpu_time() -> None:
    clock = loadgen.cpu_clock(os.getpid())
    before = clock()
    sum(i * i for i in range(300_000))
    assert clock() > before >= 0


def test_cpu_shares_say_how_the_workers_shared_the_work() -> None:
    before = {1: 10.0, 2: 5.0, 3: 1.0}
    after = {1: 13.0, 2: 6.0, 3: 1.0, 4: 0.001}  # 3 idle, 4 started since and nearly idle
    assert loadgen.cpu_shares(before, after) == [0.75, 0.25]
    assert loadgen.cpu_shares(before, before) == []


def test_the_process_clock_reads_this_process() -> None:
    clock = loadgen.process_cpu_clock(os.getpid())
    before = clock()
    sum(i * i for i in range(300_000))
    assert clock()[os.getpid()] > before[os.getpid()] >= 0
