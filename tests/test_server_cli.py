"""The server's commands: `ketaguide db`, `users`, `audit verify`, and that `ketaguide ask` stays light (no web
framework or database imported unless a server command runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("sqlalchemy")

from ketaguide.cli.app import app


def test_the_command_line_imports_no_server_stack() -> None:
    heavy = ("fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "psycopg")
    probe = f"import sys, ketaguide.cli.app\nprint([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_db_users_and_audit_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KETAGUIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'k.db'}")
    runner = CliRunner()
    status = runner.invoke(app, ["db", "status"])
    assert status.exit_code == 1 and "ketaguide db upgrade" in status.output
    refused = runner.invoke(app, ["users", "list"])
    assert refused.exit_code == 1 and "ketaguide db upgrade" in refused.output
    assert "upgraded from empty" in runner.invoke(app, ["db", "upgrade"]).output
    assert "already current" in runner.invoke(app, ["db", "upgrade"]).output
    assert runner.invoke(app, ["db", "status"]).exit_code == 0
    added = runner.invoke(app, ["users", "add", "dr-x", "--role", "clinician"])
    assert added.exit_code == 0 and added.output.strip().splitlines()[-1].startswith("kg_")
    assert runner.invoke(app, ["users", "add", "dr-x", "--role", "admin"]).exit_code == 1
    assert runner.invoke(app, ["users", "add", "bad name", "--role", "admin"]).exit_code == 2
    assert runner.invoke(app, ["users", "add", "x", "--role", "root"]).exit_code == 2
    assert "revoked dr-x" in runner.invoke(app, ["users", "revoke", "dr-x"]).output
    listed = runner.invoke(app, ["users", "list"]).output
    assert "dr-x\tclinician\trevoked" in listed
    assert runner.invoke(app, ["users", "revoke", "nobody"]).exit_code == 1
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0 and "hash chain intact" in verified.output

    import sqlite3

    with sqlite3.connect(tmp_path / "k.db") as connection:
        connection.execute("DROP TRIGGER audit_events_no_update")
        connection.execute("UPDATE audit_events SET action = 'read' WHERE seq = 1")
    tampered = runner.invoke(app, ["audit", "verify"])
    assert tampered.exit_code == 1 and "event 1: content does not match its hash (altered)" in tampered.output


def test_a_bad_database_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KETAGUIDE_DATABASE_URL", "mysql://x")
    result = CliRunner().invoke(app, ["db", "status"])
    assert result.exit_code == 3 and "KETAGUIDE_DATABASE_URL" in result.output
