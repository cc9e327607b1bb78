"""Several workers for `ketaguide serve --workers N` on Linux: one listening socket each (SO_REUSEPORT) under a
supervisor that replaces a worker that dies and stops them all on SIGINT or SIGTERM.

uvicorn's own `--workers` binds one socket that every worker accepts from. uvloop accepts all pending connections at
once and a keep-alive connection stays with the worker that accepted it, so when 50 clients connect together one
worker may get most of them: measured, 91% of the server's CPU in one of two workers, one core saturated and the
other idle. Here each worker listens on a socket of its own and the kernel spreads connections.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import SpawnContext

# How long a stopping worker may take to finish the requests it has (uvicorn's own graceful shutdown has no limit).
WORKER_STOP_SECONDS = 30.0
STARTUP_FAILURE = 3  # uvicorn's exit code for a server that could not start (its `config.STARTUP_FAILURE`)

logger = logging.getLogger("uvicorn.error")  # the supervisor's lines, beside uvicorn's own


def kernel_balances_connections() -> bool:
    """Linux hashes each new connection to one of the listening sockets that share a port with SO_REUSEPORT. BSD
    and macOS accept the option but do not balance (FreeBSD has SO_REUSEPORT_LB for that); Windows lacks it."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def uvicorn_options(host: str, port: int, log_level: str, loop: str = "asyncio") -> dict[str, Any]:
    """uvicorn's options for KetaGuide's server, one process or several."""
    # Our own access log (ketaguide.http.requests) leaves out query strings, which may hold a patient's name.
    return {
        "factory": True,
        "host": host,
        "port": port,
        "access_log": False,
        "log_level": log_level,
        "proxy_headers": False,
        "server_header": False,
        # Python's own event loop, not uvloop: with every core busy, uvloop left some connections unread for 1-2 s
        # while it served the others (the app itself answered each in under 35 ms); asyncio's loop served them in
        # turn. Evaluate at 50 clients, one worker: p99 1,088 ms with uvloop, 253 ms with asyncio (issue #10).
        "loop": loop,
    }


def run_workers(app: str, host: str, port: int, workers: int, log_level: str = "info") -> None:
    """Serve `app` from `workers` processes, each with its own listening socket on `host:port` (SO_REUSEPORT), under
    a supervisor: a worker that dies is replaced, SIGINT or SIGTERM stops them all (exit 0). Exits with
    `STARTUP_FAILURE` if the port is taken or a worker fails before it has started serving."""
    import uvicorn

    uvicorn.Config(app, **uvicorn_options(host, port, log_level))  # sets up uvicorn's logging, as its master does
    reserved = _reserve_port(host, port)
    try:
        supervisor = _Supervisor((app, host, reserved.getsockname()[1], log_level), workers)
        code = supervisor.run()
    finally:
        reserved.close()
    if code:
        sys.exit(code)


def _reserve_port(host: str, port: int) -> socket.socket:
    """The port, checked free and then held (bound, never listening: it receives no connection) while the
    supervisor runs, so that nothing else takes it while a worker restarts; port 0 becomes a free port. The check
    binds without SO_REUSEPORT, so a server already on the port is refused rather than joined."""
    try:
        with _bound_socket(host, port, reuse_port=False) as probe:
            port = probe.getsockname()[1]
        return _bound_socket(host, port, reuse_port=True)
    except OSError as error:
        logger.error("Cannot listen on %s:%d: %s", url_host(host), port, error.strerror or error)
        sys.exit(STARTUP_FAILURE)


def _bound_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to `host:port`, IPv6 when the host is an IPv6 address (as uvicorn chooses)."""
    # IPPROTO_TCP named, not left 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets that say
    # they are TCP, and with it on every response waited ~40 ms for the client's delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _serve_worker(app: str, host: str, port: int, log_level: str, started: Connection) -> None:
    """A worker process: uvicorn serving `app` on a socket of its own. The socket is bound here but left for
    uvicorn to listen on (backlog 2048, its default) once the application's lifespan has run: a socket that is not
    listening gets no connections, so a worker that is still loading (a restarted one) is not handed any."""
    import uvicorn

    sock = _bound_socket(host, port, reuse_port=True)
    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_options(host, port, log_level)))
    threading.Thread(target=_report_started, args=(server, started), daemon=True).start()
    # Ctrl-C reaches the whole process group: once uvicorn has shut down it raises the SIGINT again, and the
    # traceback of that KeyboardInterrupt would tell the operator nothing (uvicorn's own workers suppress it too).
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])


def _report_started(server: Any, started: Connection) -> None:
    """Tell the supervisor once `server` has started serving (uvicorn sets `started` then)."""
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.05)
    started.send(True)


class _Worker:
    """One worker process, and the pipe on which it says it has started serving."""

    def __init__(self, context: SpawnContext, arguments: tuple[str, str, int, str]) -> None:
        self._news, sender = context.Pipe(duplex=False)
        self.process = context.Process(target=_serve_worker, args=(*arguments, sender), name="ketaguide-worker")
        self.process.start()
        sender.close()  # the worker holds the only sending end, so its exit reads as the end of the pipe
        self._started = False

    def has_started(self) -> bool:
        if not self._started and self._news.poll():
            with contextlib.suppress(EOFError):  # it exited without saying so
                self._started = self._news.recv()
        return self._started


class _Supervisor:
    """Starts the workers, replaces one that dies, and stops them all on SIGINT or SIGTERM."""

    def __init__(self, arguments: tuple[str, str, int, str], count: int) -> None:
        # "spawn": a fresh interpreter per worker (a fork would copy the supervisor's threads and locks).
        self._context = multiprocessing.get_context("spawn")
        self._arguments, self._count = arguments, count
        self._workers: list[_Worker] = []
        self._stopping = False

    def run(self) -> int:
        """0 once stopped by a signal; `STARTUP_FAILURE` if a worker exited before it started serving."""
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {number: signal.signal(number, self._stop) for number in handled}
        _, host, port, _ = self._arguments
        logger.info("Started parent process [%d]: %d workers, one socket each", os.getpid(), self._count)
        logger.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", url_host(host), port)
        try:
            self._workers = [_Worker(self._context, self._arguments) for _ in range(self._count)]
            return self._watch()
        finally:
            self._stop_workers()
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _stop(self, number: int, frame: object) -> None:
        # The flag first: a second signal (SIGTERM to the process group) may run this handler inside the first's log.
        first, self._stopping = not self._stopping, True
        if first:
            logger.info("Received %s: stopping %d workers", signal.Signals(number).name, self._count)

    def _watch(self) -> int:
        while not self._stopping:
            multiprocessing.connection.wait([worker.process.sentinel for worker in self._workers], timeout=0.5)
            for index, worker in enumerate(self._workers):
                if worker.process.exitcode is None or self._stopping:
                    continue
                if not worker.has_started():
                    logger.error(
                        "Worker [%d] exited (%s) before serving: stopping", worker.process.pid, _ending(worker)
                    )
                    return STARTUP_FAILURE
                logger.warning("Worker [%d] died (%s): starting another", worker.process.pid, _ending(worker))
                self._workers[index] = _Worker(self._context, self._arguments)
        return 0

    def _stop_workers(self) -> None:
        """SIGTERM to each (uvicorn finishes the requests in hand), then SIGKILL to any still running after
        `WORKER_STOP_SECONDS`."""
        for worker in self._workers:
            if worker.process.exitcode is None:
                worker.process.terminate()
        deadline = time.monotonic() + WORKER_STOP_SECONDS
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.exitcode is None:
                logger.warning(
                    "Worker [%d] still running after %.0f s: killed", worker.process.pid, WORKER_STOP_SECONDS
                )
                worker.process.kill()
                worker.process.join()


def _ending(worker: _Worker) -> str:
    """How a worker ended, for the log: the signal that killed it, or its exit code."""
    code = worker.process.exitcode
    return f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
