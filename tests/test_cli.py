"""The command line: exit codes, output and error messages (README, "Exit codes and errors").

Commands run in process through Typer's CliRunner, which keeps `result.stdout` and `result.stderr` apart
(typer 0.29 vendors click 8.2+ semantics; `result.output` interleaves both). A smoke test runs the installed
console script as a user does (a real process, real streams, real exit codes); test_cli_assess.py runs `assess` so too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ketaguide.cli.app import app

KETAGUIDE = Path(sys.executable).parent / "ketaguide"
runner = CliRunner()
# In process, commands share the session's loaded content (conftest.py); the smoke tests load it for real.
pytestmark = pytest.mark.usefixtures("reused_snapshot")


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def assert_failed_cleanly(result: Result, code: int) -> None:
    """Exit `code`, the message on stderr only, and no exception escaping the command (no traceback)."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def run_installed(*args: str) -> subprocess.CompletedProcess[str]:
    if not KETAGUIDE.exists():
        pytest.skip(f"the ketaguide console script is not installed beside {sys.executable}")
    return subprocess.run([str(KETAGUIDE), *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("command", [[], ["ask"], ["kb"], ["kb", "check"], ["kb", "stats"], ["kb", "export"]])
def test_help_on_every_command(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout


def test_kb_check_passes_on_the_bundled_pack() -> None:
    result = run("kb", "check")
    assert result.exit_code == 0, result.stderr
    assert "OK" in result.stdout


def test_kb_export_json_shape() -> None:
    data = json.loads(run("kb", "export", "--format", "json").stdout)
    claim = data["claims"][0]
    assert {"id", "source_id", "quote", "start", "end"} <= claim.keys()
    texts = {s["id"]: s["text"] for s in data["sources"]}
    assert texts[claim["source_id"]][claim["start"] : claim["end"]] == claim["quote"]
    assert {s["reliability"]["level"] for s in data["sources"]} >= {"moderate", "very low"}


def test_kb_stats_json() -> None:
    stats = json.loads(run("kb", "stats", "--json").stdout)
    assert stats["claims"] >= 100 and len(stats["sources"]) == 5


def test_ask_markdown_and_text_render() -> None:
    markdown = run("ask", "What are the signs of ketamine bladder?", "--format", "markdown")
    assert markdown.exit_code == 0, markdown.output
    assert "**Bottom line.**" in markdown.stdout and "### References" in markdown.stdout
    text = run("ask", "What are the signs of ketamine bladder?")
    assert text.exit_code == 0, text.output
    assert "Bottom line" in text.stdout and "References" in text.stdout


def test_ask_abstains_in_plain_words() -> None:
    result = run("ask", "psilocybin for alcohol use disorder")
    assert result.exit_code == 0, result.output
    assert "No answer" in result.stdout


def test_ask_rejects_empty_question_naming_the_field() -> None:
    result = run("ask", "  ")
    assert_failed_cleanly(result, 2)
    assert "question" in result.stderr and "empty" in result.stderr


def test_ask_rejects_unknown_format() -> None:
    result = run("ask", "lamotrigine", "--format", "pdf")
    assert_failed_cleanly(result, 2)
    assert "format" in result.stderr.lower()


def test_ask_rejects_an_unknown_retriever_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KETAGUIDE_RETRIEVER", "psychic")
    result = run("ask", "lamotrigine for ketamine craving")
    assert_failed_cleanly(result, 3)  # README: a bad KETAGUIDE_* value exits 3 and names the variable
    assert "KETAGUIDE_RETRIEVER" in result.stderr


def test_installed_command_answers_in_json() -> None:
    """End to end in a real process, with the default retriever and the session's cache folder."""
    result = run_installed("ask", "Does lamotrigine reduce ketamine craving?", "--format", "json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["abstained"] is False and answer["certainty"] == "very low"
    assert answer["references"]
    provenance = answer["provenance"]  # README, "JSON contract"
    assert provenance["retriever"] in ("lexical", "hybrid") and provenance["content_hash"].startswith("sha256:")
    assert {"ketaguide_version", "content_version", "policy_version", "generated_at"} <= set(provenance)
