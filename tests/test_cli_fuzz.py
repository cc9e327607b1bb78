"""The command line's guarantee, for any input: exit 0, or exit 2 with one `error: field: problem` line per problem.

Never a traceback, never exit 1 (that is a defect), never a hang. Arbitrary text, bytes and JSON go to `ask`,
`assess`, `dose` and `schema` in process (one shared runtime keeps hypothesis fast); a few inputs that only a real
process can give (an endless stream, a full disk, NaN on the command line) run as real processes.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import ketaguide.bootstrap
from ketaguide.bootstrap import Runtime, build_runtime
from ketaguide.cli.app import app
from ketaguide.settings import load_settings

KETAGUIDE = str(Path(sys.executable).parent / "ketaguide")
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
intake_like = st.fixed_dictionaries(
    {"age": st.integers(-5, 130) | st.text(max_size=3), "sex": st.sampled_from(["male", "female", "x", "MALE"])},
    optional={
        "criteria": st.lists(st.sampled_from(["craving", "tolerance", "withdrawal", "cravings", ""]), max_size=4),
        "medications": st.lists(st.text(max_size=30), max_size=3),
        "last_ketamine_use_hours": st.floats(allow_nan=False) | st.none(),
        "symptoms": st.lists(st.text(max_size=10), max_size=2),
        "asq": json_values,
    },
)


@pytest.fixture(scope="module")
def shared_runtime() -> Iterator[Runtime]:
    with build_runtime(load_settings(retriever="lexical")) as runtime:
        yield runtime


@pytest.fixture
def cli(shared_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Commands build their runtime through bootstrap.build_runtime; hand them the shared one, left open."""
    monkeypatch.setattr(ketaguide.bootstrap, "build_runtime", lambda *a, **k: contextlib.nullcontext(shared_runtime))
    return CliRunner()


def assert_clean(result: object) -> None:
    """Exit 0 with output, or exit 2 with only `error:` lines on stderr and nothing on stdout."""
    exit_code, stdout, stderr = result.exit_code, result.stdout, result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stdout + stderr
    assert exit_code in (0, 2), (exit_code, stderr, getattr(result, "exception", None))
    if exit_code == 0:
        assert stdout.strip()
    else:
        lines = stderr.strip().splitlines()
        assert lines, "an error exit must say why"
        # Either KetaGuide's own report (one `error:` line per problem) or the framework's usage box.
        assert "Usage:" in stderr or all(line.startswith("error: ") for line in lines), stderr
        assert not stdout.strip()


@FUZZ
@given(question=st.text(max_size=300), fmt=st.sampled_from(["json", "markdown", "text"]))
def test_ask_any_text(cli: CliRunner, question: str, fmt: str) -> None:
    result = cli.invoke(app, ["ask", "--format", fmt, "--", question])
    assert_clean(result)
    if result.exit_code == 0 and fmt == "json":
        answer = json.loads(result.stdout)
        assert answer["abstained"] == (answer["certainty"] is None)


@FUZZ
@given(document=st.binary(max_size=400))
def test_assess_any_bytes(cli: CliRunner, document: bytes) -> None:
    assert_clean(cli.invoke(app, ["assess", "-", "--format", "json"], input=document))


@FUZZ
@given(document=json_values | intake_like)
def test_assess_any_json(cli: CliRunner, document: object) -> None:
    result = cli.invoke(app, ["assess", "-", "--format", "json"], input=json.dumps(document))
    assert_clean(result)
    if result.exit_code == 0:
        assert json.loads(result.stdout)["provenance"]["content_hash"].startswith("sha256:")


@FUZZ
@given(
    weight=st.floats() | st.text(max_size=6),
    mg=st.floats() | st.text(max_size=6),
    route=st.text(max_size=4) | st.sampled_from(["iv", "im"]),
    minutes=st.none() | st.floats(),
)
def test_dose_ketamine_any_numbers(cli: CliRunner, weight: object, mg: object, route: str, minutes: object) -> None:
    args = ["dose", "ketamine", "--weight-kg", str(weight), "--mg", str(mg), "--route", route, "--format", "json"]
    if minutes is not None:
        args += ["--minutes", str(minutes)]
    result = cli.invoke(app, args)
    assert_clean(result)
    if result.exit_code == 0:
        assert "NaN" not in result.stdout and "Infinity" not in result.stdout


@FUZZ
@given(names=st.lists(st.text(max_size=25), max_size=3), age=st.none() | st.integers(-10, 200))
def test_dose_lamotrigine_any_names(cli: CliRunner, names: list[str], age: int | None) -> None:
    args = ["dose", "lamotrigine", "--format", "json", *[f"--with={n}" for n in names]]
    assert_clean(cli.invoke(app, args + ([f"--age={age}"] if age is not None else [])))


def test_every_problem_of_an_intake_is_listed(cli: CliRunner) -> None:
    document = {"age": 300, "sex": "robot", "criteria": ["cravings"], "colour": "blue"}
    result = cli.invoke(app, ["assess", "-"], input=json.dumps(document))
    assert result.exit_code == 2
    fields = [line.split(":")[1].strip() for line in result.stderr.splitlines()]
    assert fields == ["age", "sex", "criteria[0]", "colour"]


def test_schema_names_match_the_contracts(cli: CliRunner) -> None:
    from ketaguide.cli.schema import DocumentName
    from ketaguide.contracts.schemas import DOCUMENTS

    assert sorted(n.value for n in DocumentName) == sorted(DOCUMENTS)
    for name in DOCUMENTS:
        result = cli.invoke(app, ["schema", name])
        assert result.exit_code == 0 and json.loads(result.stdout)["$schema"].endswith("2020-12/schema")


def _run(command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(
    ("command", "expected_exit", "message"),
    [
        ("{k} assess /dev/zero", 2, "error: intake: "),
        ("yes | {k} assess -", 2, "error: intake: "),
        ("{k} assess - 0<&-", 2, "error: intake: "),
        ("{k} dose ketamine --weight-kg 70 --route iv --mg 140 --minutes nan --format json", 2, "error: minutes: "),
        ("{k} schema answer > /dev/full", 1, "error: "),
        ("KETAGUIDE_RETRIEVER=bm25 {k} ask 'is ketamine addictive?'", 3, "error: KETAGUIDE_RETRIEVER: "),
        ("KETAGUIDE_CONTENT_DIR=/nonexistent {k} kb stats", 3, "error: KETAGUIDE_CONTENT_DIR: "),
    ],
)
def test_real_process_edges(command: str, expected_exit: int, message: str) -> None:
    result = _run(command.format(k=KETAGUIDE))
    assert result.returncode == expected_exit, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
