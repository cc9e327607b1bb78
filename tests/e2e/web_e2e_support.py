"""What the web UI's end-to-end tests share with their fixtures (conftest.py): paths, users, the server handle."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path(os.environ.get("KETAGUIDE_CHROMIUM", "/usr/bin/chromium"))
REPOSITORY = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("KETAGUIDE_SCREENSHOTS", REPOSITORY / "var" / "web-screenshots"))
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
PASSWORD = "a long test passphrase"
USERS = {"dr-e2e": "clinician", "cur-e2e": "curator", "admin-e2e": "admin"}


@dataclass
class WebServer:
    base: str
    environment: dict[str, str]

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ketaguide", *args]
        return subprocess.run(
            command, env=self.environment, input=stdin, capture_output=True, text=True, timeout=120, check=True
        )
