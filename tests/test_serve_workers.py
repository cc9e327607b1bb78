"""`ketaguide serve --workers N` (`ketaguide.cli.workers.run_workers`), as real processes on a migrated SQLite file.

The supervisor alone listens, and hands the connections it accepts to the workers in turn (over Unix sockets), so
50 clients that connect together are split evenly; it replaces a worker that dies, stops them all on SIGTERM (exit
0) and refuses a port that is taken. Which process holds a socket is read from Linux's /proc: its descriptors, and
the TCP table.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from test_server_support import ServerProcess, free_port, sqlite_template  # noqa: F401  # a fixture

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the supervisor's hand-over, and /proc to see it, are Linux's"
)

STARTED = "Application startup complete"
ESTABLISHED, LISTEN = "01", "0A"  # TCP states in /proc/net/tcp


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[ServerProcess]:  # noqa: F811
    """`ketaguide serve --workers 2`, both workers started."""
    started = _serve(tmp_path_factory.mktemp("workers"), sqlite_template)
    yield started
    started.stop()


def _serve(folder: Path, template: Path) -> ServerProcess:
    shutil.copy(template, folder / "ketaguide.db")
    server = ServerProcess(f"sqlite:///{folder / 'ketaguide.db'}", workers=2).start(folder / "server.log")
    _wait_for(lambda: _log(server).count(STARTED) >= 2, server, "both workers to start")
    return server


def _log(server: ServerProcess) -> str:
    assert server.log is not None
    return server.log.read_text()


def _wait_for(condition: Callable[[], bool], server: ServerProcess, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{_log(server)}")
        time.sleep(0.1)


def _supervisor(server: ServerProcess) -> int:
    assert server.process is not None
    return server.process.pid


def _children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (field 4 of /proc/PID/stat, after the command's name in brackets)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _workers(server: ServerProcess) -> set[int]:
    """The supervisor's worker processes (its other child is multiprocessing's resource tracker)."""
    found = set()
    for pid in _children(_supervisor(server)):
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.add(pid)
        except OSError:
            continue
    return found


def _sockets_on(port: int, state: str) -> set[str]:
    """The inodes of the sockets on local port `port` in TCP state `state` (the server's side of a connection)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(fields[9])
    return inodes


def _connections_held(pid: int, inodes: set[str]) -> int:
    held = 0
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except OSError:
            continue
        held += target.startswith("socket:[") and target[8:-1] in inodes
    return held


def _health(connection: socket.socket) -> bytes:
    """GET /health on a keep-alive connection; the response's status line."""
    connection.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    received = b""
    while not received.endswith(b'{"status":"ok"}'):
        chunk = connection.recv(4096)
        if not chunk:
            break
        received += chunk
    return received.split(b"\r\n", 1)[0]


def _burst(port: int, count: int) -> list[socket.socket]:
    """`count` connections opened at once: each connect returns at once and the kernel completes the handshakes,
    so they all wait to be accepted together (as when 50 clients start together)."""
    connections = []
    for _ in range(count):
        connection = socket.socket()
        connection.setblocking(False)
        connection.connect_ex(("127.0.0.1", port))
        connections.append(connection)
    for connection in connections:
        connection.settimeout(30)
    return connections


def test_forty_keep_alive_connections_opened_at_once_are_split_evenly_between_the_workers(
    server: ServerProcess,
) -> None:
    for _ in range(2):  # and again once the first forty have closed (a worker may hear of their end late)
        connections = _burst(server.port, 40)
        try:
            assert {_health(connection) for connection in connections} == {b"HTTP/1.1 200 OK"}
            inodes = _sockets_on(server.port, ESTABLISHED)
            assert sorted(_connections_held(pid, inodes) for pid in _workers(server)) == [20, 20]
        finally:
            for connection in connections:
                connection.close()


def test_only_the_supervisor_listens(server: ServerProcess) -> None:
    """Not a socket per worker (SO_REUSEPORT: the kernel hashes each connection to one, unevenly), nor one socket
    every worker accepts from (uvicorn's `--workers`: the first to wake takes every connection waiting)."""
    listening = _sockets_on(server.port, LISTEN)
    assert len(listening) == 1
    assert _connections_held(_supervisor(server), listening) == 1
    assert [_connections_held(pid, listening) for pid in _workers(server)] == [0, 0]


def test_a_worker_killed_with_sigkill_is_replaced_and_service_continues(server: ServerProcess) -> None:
    before = _workers(server)
    assert len(before) == 2
    killed = min(before)
    os.kill(killed, signal.SIGKILL)
    # Reaped by the supervisor, so its socket is closed (a connection queued on it as it dies is reset).
    _wait_for(lambda: not Path(f"/proc/{killed}").exists(), server, "the killed worker to be reaped")
    for _ in range(20):  # served by the other worker while the new one loads: no connection reaches a dead socket
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
            assert _health(connection) == b"HTTP/1.1 200 OK"
    _wait_for(lambda: _log(server).count(STARTED) >= 3, server, "a new worker to start")
    after = _workers(server)
    assert len(after) == 2 and killed not in after and len(after & before) == 1
    assert f"Worker [{killed}] died (signal SIGKILL): starting another" in _log(server)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        assert _health(connection) == b"HTTP/1.1 200 OK"


def test_sigterm_stops_every_worker_and_exits_0(tmp_path: Path, sqlite_template: Path) -> None:  # noqa: F811
    server = _serve(tmp_path, sqlite_template)
    try:
        children = _children(_supervisor(server))
        assert len(children) >= 2
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0, _log(server)
        # The workers are gone by then; multiprocessing's resource tracker leaves once it reads its pipe's end.
        _wait_for(lambda: not [pid for pid in children if Path(f"/proc/{pid}").exists()], server, "no child", 10)
        assert _log(server).count("Finished server process") == 2
    finally:
        server.stop()


def test_a_port_already_taken_is_refused_naming_it(tmp_path: Path, sqlite_template: Path) -> None:  # noqa: F811
    shutil.copy(sqlite_template, tmp_path / "ketaguide.db")
    server = ServerProcess(f"sqlite:///{tmp_path / 'ketaguide.db'}", workers=2)
    with socket.socket() as taken:  # a plain listener, without SO_REUSEPORT, as another program's
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = server.cli("serve", "--port", str(port), "--workers", "2")
    assert refused.returncode == 3
    assert f"Cannot listen on 127.0.0.1:{port}: Address already in use" in refused.stderr


def test_a_worker_that_cannot_start_stops_the_server(tmp_path: Path) -> None:
    """A worker that exits before it serves (here: no folder for the database) is not restarted in a loop."""
    environment = {**os.environ, "KETAGUIDE_DATABASE_URL": f"sqlite:///{tmp_path}/missing/ketaguide.db"}
    launch = f"run_workers('ketaguide.cli.serve:server_app', '127.0.0.1', {free_port()}, 2)"
    command = [sys.executable, "-c", f"from ketaguide.cli.workers import run_workers; {launch}"]
    failed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 3, failed.stderr
    assert "Application startup failed" in failed.stderr and "before serving: stopping" in failed.stderr


def test_a_handed_over_connection_sends_without_waiting_for_acks() -> None:
    """asyncio turns Nagle's algorithm off only on sockets that say they are TCP: a connection accepted by the
    supervisor's socket and rebuilt in a worker from its descriptor must, or every response waits for the client's
    delayed ACK (about 40 ms)."""
    import asyncio

    from ketaguide.cli.workers import _bound_socket

    async def handed_nodelay() -> int:
        listening = _bound_socket("127.0.0.1", 0)
        listening.listen()
        supervisor, worker = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                accepted = transport.get_extra_info("socket")
                seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        _, writer = await asyncio.open_connection(*listening.getsockname())
        accepted, _ = listening.accept()
        socket.send_fds(supervisor, [b"c"], [accepted.fileno()])
        accepted.close()
        _, descriptors, _, _ = socket.recv_fds(worker, 1, 1)
        await asyncio.get_running_loop().connect_accepted_socket(Probe, socket.socket(fileno=descriptors[0]))
        result = await asyncio.wait_for(seen, 10)
        writer.close()
        for sock in (listening, supervisor, worker):
            sock.close()
        return result

    assert asyncio.run(handed_nodelay()) != 0
