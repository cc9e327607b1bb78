"""End-to-end fixtures for the web UI: a real `ketaguide serve` process on a free loopback port, its users with
passwords set through `ketaguide users password`, and Debian's chromium driven by Playwright.

The tests skip, saying why, only when there is no chromium at /usr/bin/chromium (or KETAGUIDE_CHROMIUM) or no
Playwright; CI installs both (`.ci/run` installs Debian's chromium, `make` the dev extra). Playwright never
downloads a browser: it is pointed at the system one.

Screenshots of every page at 1280 and 390 pixels wide are written to `var/web-screenshots/` at the top of the
repository (ignored by git), or to KETAGUIDE_SCREENSHOTS.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_e2e_support import CHROMIUM, PASSWORD, SCREENSHOTS, USERS, WebServer

if not CHROMIUM.exists():
    pytest.skip(
        f"no chromium at {CHROMIUM}: install Debian's (`apt-get install -y chromium`; .ci/run does)",
        allow_module_level=True,
    )
pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (the dev extra installs it)")
pytest.importorskip("jinja2", reason="the server extra is not installed")

from playwright.sync_api import Browser, Playwright, sync_playwright


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """`ketaguide serve` with a fresh SQLite database and one user per role, each with a password."""
    folder = tmp_path_factory.mktemp("web-e2e")
    environment = {**os.environ, "KETAGUIDE_DATA_DIR": str(folder), "KETAGUIDE_RETRIEVER": "lexical"}
    environment.pop("KETAGUIDE_DATABASE_URL", None)
    port = _free_port()
    server = WebServer(f"http://127.0.0.1:{port}", environment)
    server.cli("db", "upgrade")
    for name, role in USERS.items():
        server.cli("users", "add", name, "--role", role)
        server.cli("users", "password", name, stdin=PASSWORD + "\n")
    log = (folder / "server.log").open("wb")
    command = [sys.executable, "-m", "ketaguide", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(server.base, process, folder / "server.log")
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/api/v1/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server was not ready in {timeout} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
