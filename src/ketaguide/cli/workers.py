"""Several workers for `ketaguide serve --workers N` on Linux: the supervisor listens on the port, accepts each
connection and hands it to the workers in turn (the descriptor sent over a Unix socket, SCM_RIGHTS); it replaces a
worker that dies and stops them all on SIGINT or SIGTERM.

Why the supervisor accepts: a keep-alive connection stays with the worker that took it, and both ways of letting the
kernel choose spread connections unevenly. uvicorn's own `--workers` binds one socket that every worker accepts
from, and the first to wake takes every connection waiting (with uvloop: 91% of the server's CPU in one of two
workers, one core saturated and the other idle). One socket per worker (`SO_REUSEPORT`, this module's earlier
design) hashes each connection to a socket at random: 50 connections were split 26/24, 28/22 and 32/18 in three
runs, and since both workers get the same CPU, the p99 of CDS order-sign at 50 clients was the busier worker's (101,
106 and 131 ms). Node.js's cluster module hands connections out in turn from its primary process for the same reason.
The hand-over costs the supervisor a few system calls per connection, not per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
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
LISTEN_BACKLOG = 2048  # connections the kernel holds until they are accepted (uvicorn's default)
HAND_OVER_SECONDS = 2.0  # a worker that takes no connection for this long is passed over (it may be hung)
ACCEPT_WAKE_SECONDS = 0.5  # how soon the accepting thread notices that the server is stopping

logger = logging.getLogger("uvicorn.error")  # the supervisor's lines, beside uvicorn's own


def can_hand_over_connections() -> bool:
    """Linux: Unix sockets that keep message boundaries (SOCK_SEQPACKET) carry the descriptors to the workers."""
    return sys.platform.startswith("linux") and hasattr(socket, "send_fds")


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
    """Serve `app` from `workers` processes under a supervisor that listens on `host:port` and hands each connection
    to the workers in turn: a worker that dies is replaced, SIGINT or SIGTERM stops them all (exit 0).
    Exits with `STARTUP_FAILURE` if the port is taken or a worker fails before it has started serving."""
    import uvicorn

    uvicorn.Config(app, **uvicorn_options(host, port, log_level))  # sets up uvicorn's logging, as its master does
    listener = _listening_socket(host, port)
    try:
        supervisor = _Supervisor((app, host, listener.getsockname()[1], log_level), workers, listener)
        code = supervisor.run()
    finally:
        listener.close()
    if code:
        sys.exit(code)


def _listening_socket(host: str, port: int) -> socket.socket:
    """The server's one listening socket (port 0 becomes a free port). Bound without SO_REUSEPORT, so a server
    already on the port is refused rather than joined."""
    try:
        sock = _bound_socket(host, port)
        sock.listen(LISTEN_BACKLOG)
    except OSError as error:
        logger.error("Cannot listen on %s:%d: %s", url_host(host), port, error.strerror or error)
        sys.exit(STARTUP_FAILURE)
    return sock


def _bound_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port`, IPv6 when the host is an IPv6 address (as uvicorn chooses)."""
    # IPPROTO_TCP named, not left 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets that say
    # they are TCP (an accepted socket inherits the listener's), and with it on every response waited ~40 ms for
    # the client's delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


# --- a worker ----------------------------------------------------------------------------------------------------


def _serve_worker(app: str, host: str, port: int, log_level: str, started: Connection, handed: socket.socket) -> None:
    """A worker process: uvicorn serving `app` on the connections the supervisor hands over on `handed`."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_options(host, port, log_level)))
    # Ctrl-C reaches the whole process group: once uvicorn has shut down it raises the SIGINT again, and the
    # traceback of that KeyboardInterrupt would tell the operator nothing (uvicorn's own workers suppress it too).
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_handed(server, started, handed))  # the loop `uvicorn_options` names: asyncio's


async def _serve_handed(server: Any, started: Connection, handed: socket.socket) -> None:
    """uvicorn's server with no listening socket of its own, serving the connections the supervisor hands over."""
    taking = asyncio.get_running_loop().create_task(_take_once_started(server, started, handed))
    try:
        await server.serve(sockets=[])
    finally:
        taking.cancel()
        with contextlib.suppress(ValueError, OSError):  # the reader may not have been added
            asyncio.get_running_loop().remove_reader(handed.fileno())
        handed.close()


async def _take_once_started(server: Any, started: Connection, handed: socket.socket) -> None:
    """Once the application has started: tell the supervisor, and take handed connections (those handed earlier
    have waited in the Unix socket)."""
    while not server.started:
        await asyncio.sleep(0.01)
    started.send(True)
    handed.setblocking(False)
    asyncio.get_running_loop().add_reader(handed.fileno(), _take_handed, server, handed)


_ATTACHING: set[asyncio.Task[None]] = set()


def _take_handed(server: Any, handed: socket.socket) -> None:
    """Serve each connection waiting on `handed` (one descriptor a message)."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            _, descriptors, _, _ = socket.recv_fds(handed, 1, 1)
        except BlockingIOError:
            return
        except OSError:
            descriptors = []
        if not descriptors:  # the supervisor has gone: uvicorn stops on the signal it sends
            loop.remove_reader(handed.fileno())
            return
        connection = socket.socket(fileno=descriptors[0])
        connection.setblocking(False)
        attaching = loop.create_task(_serve_connection(server, connection))
        _ATTACHING.add(attaching)  # held until done: the loop keeps only a weak reference to a task
        attaching.add_done_callback(_ATTACHING.discard)


async def _serve_connection(server: Any, connection: socket.socket) -> None:
    """`connection` served by uvicorn's HTTP protocol, as if its own listening socket had accepted it."""
    if server.should_exit:
        connection.close()
        return
    config = server.config
    try:
        await asyncio.get_running_loop().connect_accepted_socket(
            # What uvicorn's `startup` builds for each connection its own listening socket accepts.
            lambda: config.http_protocol_class(
                config=config, server_state=server.server_state, app_state=server.lifespan.state
            ),
            connection,
        )
    except OSError:  # the client left before it could be served
        connection.close()


# --- the supervisor ----------------------------------------------------------------------------------------------


class _Worker:
    """One worker process: the pipe on which it says it has started serving, and the Unix socket that hands it
    connections."""

    def __init__(self, context: SpawnContext, arguments: tuple[str, str, int, str]) -> None:
        self.news, sender = context.Pipe(duplex=False)
        self._hand, handed = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = context.Process(target=_serve_worker, args=(*arguments, sender, handed), name="ketaguide-worker")
        self.process.start()
        sender.close()  # the worker holds the only sending end, so its exit reads as the end of the pipe
        handed.close()
        self._hand.settimeout(HAND_OVER_SECONDS)
        self._reading = threading.Lock()
        self.started = False

    def has_started(self) -> bool:
        """Whether it has said it serves (asked by the accepting thread and the watching one)."""
        with self._reading:
            if not self.started and self.news.poll():
                with contextlib.suppress(EOFError):  # it exited without saying so
                    self.started = self.news.recv()
        return self.started

    def hand_over(self, connection: socket.socket) -> bool:
        """Send `connection`'s descriptor to the worker; False if it cannot take it (gone, or not reading)."""
        try:
            socket.send_fds(self._hand, [b"c"], [connection.fileno()])
        except OSError:
            return False
        return True

    def close(self) -> None:
        self._hand.close()


class _Supervisor:
    """Starts the workers, hands them connections, replaces one that dies, and stops them all on SIGINT or
    SIGTERM."""

    def __init__(self, arguments: tuple[str, str, int, str], count: int, listener: socket.socket) -> None:
        # "spawn": a fresh interpreter per worker (a fork would copy the supervisor's threads and locks).
        self._context = multiprocessing.get_context("spawn")
        self._arguments, self._count = arguments, count
        self._listener = listener
        self._workers: list[_Worker] = []
        self._stopping = False

    def run(self) -> int:
        """0 once stopped by a signal; `STARTUP_FAILURE` if a worker exited before it started serving."""
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {number: signal.signal(number, self._stop) for number in handled}
        _, host, port, _ = self._arguments
        logger.info("Started parent process [%d]: %d workers, connections handed out in turn", os.getpid(), self._count)
        logger.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", url_host(host), port)
        accepting = threading.Thread(target=self._hand_out, name="ketaguide-accept", daemon=True)
        try:
            self._workers = [_Worker(self._context, self._arguments) for _ in range(self._count)]
            accepting.start()
            return self._watch()
        finally:
            self._stopping = True
            if accepting.is_alive():
                accepting.join()
            self._stop_workers()
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _stop(self, number: int, frame: object) -> None:
        # The flag first: a second signal (SIGTERM to the process group) may run this handler inside the first's log.
        first, self._stopping = not self._stopping, True
        if first:
            logger.info("Received %s: stopping %d workers", signal.Signals(number).name, self._count)

    def _hand_out(self) -> None:
        """Accept each connection and hand it to the next worker in turn (round robin) of those that have started,
        or, while none has, of all (each serves what it was handed once it has started). In turn rather than to the
        worker holding the fewest: a worker hears that its connections have closed only when its event loop gets to
        them, and when 50 clients reconnected at once a busy worker's stale count sent it 12 of them and the other
        38."""
        self._listener.settimeout(ACCEPT_WAKE_SECONDS)
        turns = itertools.count()
        while not self._stopping:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # the timeout (the stopping flag is read again), or a client that left while waiting
                continue
            with connection:  # the worker holds its own descriptor once handed; a connection no worker took is reset
                workers = [w for w in self._workers if w.has_started()] or list(self._workers)
                first = next(turns)
                for n in range(len(workers)):
                    if workers[(first + n) % len(workers)].hand_over(connection):
                        break

    def _watch(self) -> int:
        while not self._stopping:
            waiting = [w.process.sentinel for w in self._workers] + [w.news for w in self._workers if not w.started]
            multiprocessing.connection.wait(waiting, timeout=0.5)
            for index, worker in enumerate(self._workers):
                worker.has_started()
                if worker.process.exitcode is None or self._stopping:
                    continue
                worker.close()
                if not worker.started:
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
            worker.close()


def _ending(worker: _Worker) -> str:
    """How a worker ended, for the log: the signal that killed it, or its exit code."""
    code = worker.process.exitcode
    return f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
