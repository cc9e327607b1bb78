"""`ketaguide serve`: the REST API on uvicorn (FastAPI and the database are imported only by this command)."""

from __future__ import annotations

import typer

from ketaguide.cli.streams import write_output


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
        token = ensure_first_admin(records)
    finally:
        records.database.close()
    base = settings.public_url or f"http://{_url_host(host)}:{port}"
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


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _run(host: str, port: int, workers: int) -> None:
    import uvicorn

    # Our own access log (ketaguide.http.requests) leaves out query strings, which may hold a patient's name.
    uvicorn.run(
        "ketaguide.http.app:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="info",
        proxy_headers=False,
        server_header=False,
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
