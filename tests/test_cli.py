"""The command line as a user runs it: a real process, real output, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

KETAGUIDE = [str(Path(sys.executable).parent / "ketaguide")]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KETAGUIDE, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [[], ["ask"], ["kb"], ["kb", "check"], ["kb", "stats"], ["kb", "export"]])
def test_help_on_every_command(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout


def test_kb_check_passes_on_the_bundled_pack() -> None:
    result = run("kb", "check")
    assert result.returncode == 0, result.stderr
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


def test_ask_json_end_to_end() -> None:
    result = run("ask", "Does lamotrigine reduce ketamine craving?", "--format", "json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["abstained"] is False and answer["certainty"] == "very low"
    assert answer["references"]


def test_ask_markdown_and_text_render() -> None:
    markdown = run("ask", "What are the signs of ketamine bladder?", "--format", "markdown").stdout
    assert "**Bottom line.**" in markdown and "### References" in markdown
    text = run("ask", "What are the signs of ketamine bladder?").stdout
    assert "Bottom line" in text and "References" in text


def test_ask_abstains_in_plain_words() -> None:
    result = run("ask", "psilocybin for alcohol use disorder")
    assert result.returncode == 0
    assert "No answer" in result.stdout


def test_ask_rejects_empty_question_naming_the_field() -> None:
    result = run("ask", "  ")
    assert result.returncode == 2
    assert "question" in result.stderr and "empty" in result.stderr


def test_ask_rejects_unknown_format() -> None:
    result = run("ask", "lamotrigine", "--format", "pdf")
    assert result.returncode != 0
    assert "format" in result.stderr.lower()


def test_ask_rejects_an_unknown_retriever_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KETAGUIDE_RETRIEVER", "psychic")
    result = run("ask", "lamotrigine for ketamine craving")
    assert result.returncode != 0
    assert "retriever" in result.stderr.lower()
    assert "Traceback" not in result.stderr
