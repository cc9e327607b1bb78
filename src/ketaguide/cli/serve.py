"""`ketaguide serve`: the REST API on uvicorn (FastAPI and the database are imported only by this command).

Each worker serves `server_app()`: the application of `create_app_from_environment`, whose objects of start-up are
frozen out of the garbage collector once it has started (`gc.freeze`). A worker holds a couple of hundred thousand
objects that live as long as it does (the content pack, the evidence index, the routes); unfrozen, every full
collection walks all of them, 65-80 ms of CPU during which the worker answers nothing, every few seconds under load
(issue #11: at 25 clients a worker made four in six seconds). Frozen, a full collection walks only what requests left
behind (about 15 ms), and with young collections less frequent there are hardly any.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import typer

from ketaguide.cli.streams import write_output
from ketaguide.cli.workers import can_hand_over_connections, run_workers, url_host, uvicorn_options

if TYPE_CHECKING:
    from fastapi import FastAPI


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on (0: any free port)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes."),
) -> None:
    """Serve the REST API (/api/v1; docs at /docs when KETAGUIDE_API_DOCS=true). The database must be current:
    `ketaguide db upgrade`."""
    from ketaguide.bootstrap import SystemClock
    from ketaguide.services import deployment
    from ketaguide.services.users import ensure_first_admin
    from ketaguide.settings import load_settings

    settings = load_settings()
    records = deployment.open_records(settings, SystemClock())
    try:
        deployment.require_ready(records)
        deployment.require_capacity(records, settings, workers)
        token = ensure_first_admin(records)
    finally:
        records.database.close()
    base = settings.public_url or f"http://{url_host(host)}:{port}"
    write_output(f"KetaGuide {base}/api/v1  (database {deployment.describe(records)}, {workers} worker(s))")
    docs = f"{base}/docs" if settings.api_docs else "off (KETAGUIDE_API_DOCS=true serves /docs)"
    write_output(f"API docs  {docs}   health: {base}/health, readiness: {base}/ready")
    write_output(f"Web UI    {base}/  (set a password: `ketaguide users password NAME`)")
    if token is not None:
        write_output(f"First start: an admin user was created. Its API token, shown this once:\n  {token}")
        write_output("Add clinicians with `ketaguide users add NAME --role clinician` or POST /api/v1/users.")
    else:
        write_output("Tokens are shown once: add one with `ketaguide users add NAME --role clinician|curator|admin`.")
    _run(host, port, workers)


SERVER_APP = "ketaguide.cli.serve:server_app"


def _run(host: str, port: int, workers: int) -> None:
    run_app(SERVER_APP, host, port, workers)


def run_app(app: str, host: str, port: int, workers: int, log_level: str = "info") -> None:
    """Serve the application factory `app` ("module:function") as `ketaguide serve` does: one uvicorn process, or
    `workers` processes under `run_workers`, whose supervisor hands connections to them in turn (Linux)."""
    if workers > 1 and can_hand_over_connections():
        run_workers(app, host, port, workers, log_level)
        return
    import uvicorn

    # uvicorn's own socket for several processes does not say it is TCP, so asyncio's loop would leave Nagle's
    # algorithm on (`workers._bound_socket`): uvloop, which turns it off on every connection, serves those.
    loop = "auto" if workers > 1 else "asyncio"
    uvicorn.run(app, workers=workers, **uvicorn_options(host, port, log_level, loop))


def server_app() -> FastAPI:
    """The application each worker serves: `create_app_from_environment()`, its start-up objects frozen once its
    lifespan has started (see the module docstring)."""
    from ketaguide.http.app import create_app_from_environment

    app = create_app_from_environment()
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: Any) -> AsyncIterator[Any]:
        async with started(served) as state:
            freeze_startup()
            yield state

    app.router.lifespan_context = lifespan
    return app


# Container allocations between two young collections (CPython's default: 700). Each young collection promotes
# what the requests in flight hold at that moment, and what is promoted is freed only by a full collection once it
# adds up to a quarter of the old generation; with 25 requests in flight per worker that was a full collection
# every ~600 calls. Ten times fewer young collections promote ten times less (none in 2,000 calls at 25 clients).
YOUNG_COLLECTION_THRESHOLD = 7_000


def freeze_startup() -> None:
    """Collect start-up's garbage (so none of it is kept for good), then freeze what is left: the collector no
    longer walks it, and a full collection costs what the requests since left behind. Then collect the young
    generation less often (`YOUNG_COLLECTION_THRESHOLD`)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
