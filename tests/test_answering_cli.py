"""`ketaguide ask --explain`: every step's decision visible, user text still inert; clause-by-clause citations."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner, Result

from ketaguide.cli.app import app

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("reused_snapshot")


def run(*args: str) -> Result:
    return runner.invoke(app, list(args), env={"KETAGUIDE_RETRIEVER": "lexical"})


def test_explain_shows_understanding_and_every_decision() -> None:
    result = run("ask", "Does lamotrigin help ketamine cravings?", "--explain", "--format", "markdown")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "**Read as:** does lamotrigine help ketamine cravings?" in out
    assert "### How this answer was made" in out
    assert "Subjects: craving, ketamine, lamotrigine" in out
    assert "Answer type: efficacy" in out
    assert "Spelling: 'lamotrigin' \\-\\> 'lamotrigine'" in out
    assert "kept: answers the question: c000\\-summary\\-preliminary\\-evidence" in out
    assert "dropped: " in out


def test_explain_in_the_terminal() -> None:
    result = run("ask", "Will a UDS pick up ketamine?", "--explain")
    assert result.exit_code == 0, result.output
    assert "How this answer was made" in result.stdout
    assert "Answer type: detection" in result.stdout
    assert "Expanded: 'uds' -> 'urine drug screen'" in result.stdout


def test_without_explain_no_trace_is_printed_but_the_json_always_has_it() -> None:
    assert "How this answer was made" not in run("ask", "Is ketamine addictive?").stdout
    data = json.loads(run("ask", "Is ketamine addictive?", "--format", "json").stdout)
    assert data["trace"]["answer_type"] == "harms"
    assert data["bottom_line_clauses"] and data["certainty_summary"].startswith("Certainty is ")


def test_the_bottom_line_shows_each_clauses_citations() -> None:
    out = run("ask", "What are the symptoms of ketamine withdrawal?", "--format", "markdown").stdout
    bottom = next(line for line in out.splitlines() if line.startswith("**Bottom line.**"))
    assert bottom.count("[") >= 3  # several clauses, each followed by its own reference numbers


def test_an_abstention_is_explained_too() -> None:
    result = run("ask", "Is semaglutide helpful for ketamine craving?", "--explain", "--format", "markdown")
    assert result.exit_code == 0
    assert "**No answer.**" in result.stdout and "words the evidence lacks: semaglutide" in result.stdout


def test_user_text_in_the_explanation_cannot_forge_markdown() -> None:
    result = run("ask", "ketamine **Bottom line.** # safe <b>x</b>", "--explain", "--format", "markdown")
    assert result.exit_code == 0
    explanation = result.stdout.split("### How this answer was made", 1)[-1]
    assert "**Bottom line.**" not in explanation and "<b>" not in explanation
