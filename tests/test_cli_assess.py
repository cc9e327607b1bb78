"""`ketaguide assess`, `dose` and `schema intake`, run as commands: the JSON contract, text output and errors.

Commands run in process through Typer's CliRunner, which keeps `result.stdout` and `result.stderr` apart
(typer 0.29 vendors click 8.2+ semantics; `result.output` interleaves both). One smoke test runs the installed
console script, reading a real standard input.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner, Result

from ketaguide.cli.app import app
from ketaguide.domain.evidence.pack import KnowledgePack

EXAMPLES = Path(__file__).parents[1] / "examples" / "intakes"
SEVERE = EXAMPLES / "severe-relapse-prevention.json"
CONTRACT_KEYS = {
    "diagnosis",
    "phase",
    "phase_basis",
    "phase_citations",
    "red_flags",
    "interactions",
    "prescribing",
    "conflicts",
    "options",
    "options_not_offered",
    "monitoring",
    "recognized_medications",
    "unrecognized_medications",
    "not_checked",
    "evidence_gaps",
    "references",
    "provenance",
}
# README: every output carries provenance (versions, content hash, when it was made).
PROVENANCE_KEYS = {"ketaguide_version", "content_version", "content_hash", "policy_version", "generated_at"}
runner = CliRunner()
# In process, commands share the session's loaded content (conftest.py); the smoke tests load it for real.
pytestmark = pytest.mark.usefixtures("reused_snapshot")


def run(*args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin)


def assert_failed_cleanly(result: Result, code: int) -> None:
    """Exit `code`, the message on stderr only, and no exception escaping the command (no traceback)."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    assert "Traceback" not in result.output


def assess_json(*args: str, stdin: str | None = None) -> dict[str, Any]:
    result = run("assess", *args, "--format", "json", stdin=stdin)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_json_contract_shape() -> None:
    plan = assess_json(str(SEVERE))
    assert set(plan) == CONTRACT_KEYS
    assert {"criteria_met", "severity"} <= set(plan["diagnosis"])
    assert plan["diagnosis"]["severity"] == "severe"
    assert plan["phase"] == "relapse_prevention"
    assert {"code", "urgency", "message", "citations"} <= set(plan["red_flags"][0])
    assert {"drugs", "written_as", "severity", "message", "citations"} <= set(plan["interactions"][0])
    option_keys = {
        "intervention",
        "phase",
        "status",
        "status_reasons",
        "certainty",
        "notes",
        "dose_column",
        "citations",
    }
    assert option_keys <= set(plan["options"][0])
    assert plan["unrecognized_medications"] == ["sertraline"]
    assert {"written_as": "sertraline", "drug": None}.items() <= plan["not_checked"][0].items()
    assert set(plan["provenance"]) >= PROVENANCE_KEYS


def test_option_status_and_reasons_in_the_json_contract() -> None:
    """The exact field names the CDS Hooks adapter maps to cards."""
    plan = assess_json(str(EXAMPLES / "withdrawal-opioid-treatment.json"))
    statuses = {o["id"]: o["status"] for o in plan["options"]}
    assert statuses["benzodiazepines_withdrawal"] == "caution"
    reason = plan["options"][0]["status_reasons"][0]
    assert set(reason) == {"rule_id", "effect", "evidence", "message", "triggers", "citations"}
    assert [o["id"] for o in plan["options_not_offered"]] == ["haloperidol"]
    assert set(plan["options_not_offered"][0]) == {"id", "intervention", "reasons"}
    pair = next(i for i in plan["interactions"] if i["rule_id"] == "ketamine-opioids")
    assert pair["drugs"] == ["ketamine", "methadone"] and pair["written_as"] == ["ketamine", "methadone"]


def test_generic_names_and_names_as_written_are_kept_apart() -> None:
    document = {
        "age": 30,
        "sex": "FEMALE",
        "criteria": ["craving", "tolerance", "cut_down", "larger_amounts"],
        "last_ketamine_use_hours": 3000,
        "medications": ["LAMICTAL 100mg", "Epilim Chrono 500 mg", "Microgynon 30"],
        "other_substances": ["Cannabis"],
    }
    plan = assess_json("-", stdin=json.dumps(document))
    pair = next(i for i in plan["interactions"] if i["rule_id"] == "lamotrigine-valproate")
    assert pair["drugs"] == ["lamotrigine", "valproate"]
    assert pair["written_as"] == ["LAMICTAL 100mg", "Epilim Chrono 500 mg"]
    read = {m["written_as"]: m for m in plan["recognized_medications"]}
    assert read["Microgynon 30"]["drug"] == "ethinylestradiol_levonorgestrel"
    assert read["Microgynon 30"]["ingredients"] == ["ethinylestradiol", "levonorgestrel"]
    assert read["Microgynon 30"]["rxnorm"] == []  # no source gives its codes
    assert read["LAMICTAL 100mg"]["rxnorm"] == ["28439"]
    assert read["Epilim Chrono 500 mg"]["rxnorm"] == ["11118", "266856"]
    assert plan["not_checked"] == [
        {"written_as": "cannabis", "drug": "cannabis", "reason": plan["not_checked"][0]["reason"]}
    ]
    lamotrigine = next(o for o in plan["options"] if o["id"] == "lamotrigine")
    assert lamotrigine["dose_column"]["regimen"] == "valproate"


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + SEVERE.read_bytes())
    result = run("assess", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["diagnosis"]["severity"] == "severe"


def test_duplicate_keys_are_refused_naming_the_key() -> None:
    result = run("assess", "-", stdin='{"age": 30, "sex": "male", "sex": "female"}')
    assert_failed_cleanly(result, 2)
    assert "intake: duplicate key 'sex'" in result.stderr


def test_every_problem_is_listed_one_line_each() -> None:
    document = '{"age": 300, "sex": "m", "criteria": ["cravings"], "last_ketamine_use_hours": 1e23}'
    result = run("assess", "-", stdin=document)
    assert_failed_cleanly(result, 2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 4, lines
    for field in ("age:", "sex:", "criteria[0]:", "last_ketamine_use_hours:"):
        assert any(field in line for line in lines), field


def test_references_have_the_ask_shape() -> None:
    plan = assess_json(str(SEVERE))
    kinds = {r["kind"] for r in plan["references"]}
    assert kinds == {"quote", "external"}
    for ref in plan["references"]:
        if ref["kind"] == "quote":
            assert {"source_id", "quote", "start", "end", "claim_id"} <= set(ref)
        else:
            assert {"id", "title", "publisher", "url", "statement", "confidence"} <= set(ref)
    assert [r["n"] for r in plan["references"]] == list(range(1, len(plan["references"]) + 1))


def test_quotes_are_verbatim_in_their_sources(pack: KnowledgePack) -> None:
    for ref in assess_json(str(SEVERE))["references"]:
        if ref["kind"] == "quote":
            assert pack.sources[ref["source_id"]].text[ref["start"] : ref["end"]] == ref["quote"]


def test_reads_standard_input() -> None:
    assert assess_json("-", stdin=SEVERE.read_text())["diagnosis"]["severity"] == "severe"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_text_output_renders_every_example(path: Path) -> None:
    result = run("assess", str(path))
    assert result.exit_code == 0, result.output
    for heading in ("Diagnosis", "Phase", "References"):
        assert heading in result.stdout


def test_text_output_flags_experimental_options() -> None:
    result = run("assess", str(SEVERE))
    assert "EXPERIMENTAL" in result.stdout
    assert "Not recognised, so not checked for interactions" in result.stdout
    assert "CAUTION" in result.stdout


def test_text_output_shows_a_contraindicated_option_as_such() -> None:
    result = run("assess", str(EXAMPLES / "withdrawal-opioid-treatment.json"))
    assert "Not offered for this patient" in result.stdout
    document = {"age": 38, "sex": "male", "criteria": ["craving", "tolerance"], "last_ketamine_use_hours": 900}
    text = run("assess", "-", stdin=json.dumps({**document, "medications": ["methadone"]})).stdout
    assert "CONTRAINDICATED" in text and "CONTRA-INDICATED" in text


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ('{"age": 30, "sex": "male", "criteria": ["cravings"]}', "criteria[0]: unknown code 'cravings'"),
        ('{"age": 300, "sex": "male"}', "age:"),
        ('{"age": 30, "sex": "male", "craving_score": 12}', "craving_score:"),
        ('{"age": 30, "sex": "male", "colour": "blue"}', "colour: unknown field"),
        ('{"age": 30, "sex": "male",', "intake: not valid JSON"),
        ("[1, 2]", "intake: must be a JSON object"),
    ],
)
def test_bad_intake_exits_non_zero_naming_field_and_value(document: str, expected: str) -> None:
    result = run("assess", "-", "--format", "json", stdin=document)
    assert_failed_cleanly(result, 2)
    assert expected in result.stderr


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = run("assess", str(missing))
    assert_failed_cleanly(result, 2)
    assert str(missing) in result.stderr
    assert "cannot read" in result.stderr or "cannot open" in result.stderr


def test_schema_intake_is_a_valid_json_schema_that_accepts_the_examples() -> None:
    result = run("schema", "intake")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    examples = sorted(EXAMPLES.glob("*.json"))
    assert examples, f"no example intakes in {EXAMPLES}"
    for path in examples:
        jsonschema.validate(json.loads(path.read_text()), schema)


def test_dose_lamotrigine_with_valproate_prints_schedule_and_rash_warning() -> None:
    result = run("dose", "lamotrigine", "--with", "valproate")
    assert result.exit_code == 0, result.output
    assert "25 mg every other day" in result.stdout
    assert "serious skin rashes" in result.stdout


def test_dose_lamotrigine_json() -> None:
    result = run("dose", "lamotrigine", "--with", "Tegretol", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["regimen"]["id"] == "inducer"
    assert data["references"]
    assert set(data["provenance"]) >= PROVENANCE_KEYS


def test_dose_lamotrigine_unknown_co_medication_is_an_error() -> None:
    result = run("dose", "lamotrigine", "--with", "mystery")
    assert_failed_cleanly(result, 2)
    assert "with: 'mystery'" in result.stderr


def test_dose_ketamine_explains_the_order() -> None:
    result = run("dose", "ketamine", "--weight-kg", "70", "--route", "iv", "--mg", "140")
    assert result.exit_code == 0, result.output
    assert "2.00 mg/kg" in result.stdout
    assert "WITHIN" in result.stdout and "ABOVE" in result.stdout
    data = json.loads(run("dose", "ketamine", "--weight-kg", "70", "--route", "iv", "--mg", "140", "-f", "json").stdout)
    assert {c["verdict"] for c in data["comparisons"]} == {"within", "above"}


def test_dose_ketamine_bad_route() -> None:
    result = run("dose", "ketamine", "--weight-kg", "70", "--route", "oral", "--mg", "35")
    assert_failed_cleanly(result, 2)
    assert "route: 'oral'" in result.stderr


def test_installed_command_runs() -> None:
    """The real console script, as a clinician would run it."""
    script = Path(sys.executable).parent / "ketaguide"
    if not script.exists():
        pytest.skip("ketaguide console script not installed in this environment")
    done = subprocess.run(
        [str(script), "assess", str(SEVERE), "--format", "json"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["diagnosis"]["severity"] == "severe"
    bad = subprocess.run(
        [str(script), "assess", "-"], input='{"age": -1, "sex": "male"}', capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2 and "age:" in bad.stderr and "Traceback" not in bad.stderr
    assert bad.stdout == ""
