"""Properties of `ask` on any text (hypothesis): an answer or an abstention, never a crash; every statement cited;
every quote verbatim at its offsets; `abstained` exactly when `certainty` is null; every decision explained."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketaguide.bootstrap import Runtime, build_runtime
from ketaguide.contracts.answer import AnswerReport
from ketaguide.domain.citing.references import QuoteCitation
from ketaguide.domain.errors import InputError
from ketaguide.services.evidence import ask
from ketaguide.settings import load_settings

# Words that steer a question into the pack, mixed with noise, shorthand, typos and punctuation.
CLINICAL = [
    "ketamine",
    "ket",
    "K",
    "special k",
    "KUD",
    "lamotrigine",
    "lamotrigin",
    "naltrexone",
    "bzds",
    "withdrawel",
    "withdrawal",
    "craving",
    "bladder",
    "bladdr",
    "uds",
    "hx",
    "tx",
    "sx",
    "y/o",
    "w/",
    "isn't",
    "client's",
    "how",
    "long",
    "does",
    "is",
    "are",
    "there",
    "trials",
    "dose",
    "safe",
    "pregnancy",
    "signs",
    "why",
    "what",
    "which",
    "drugs",
    "interact",
    "with",
    "alcohol",
    "and",
    "or",
    "?",
    "!",
    "'",
    "’s",
    "-",
    "/",
    "liver",
    "melatonin",
    "CBT",
    "rehab",
    "inpatient",
    "how common",
    "vs",
    "more addictive than",
    "opioids",
    "detect",
]
questions = st.one_of(
    st.text(min_size=1, max_size=200),
    st.lists(st.sampled_from(CLINICAL), min_size=1, max_size=14).map(" ".join),
    st.tuples(st.lists(st.sampled_from(CLINICAL), max_size=8), st.text(max_size=30)).map(
        lambda parts: " ".join([*parts[0], parts[1]])
    ),
)


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with build_runtime(load_settings(retriever="lexical")) as built:
        yield built


def check(answer: AnswerReport, runtime: Runtime) -> None:
    pack = runtime.knowledge.pack
    assert answer.abstained == (answer.certainty is None)
    if answer.abstained:
        assert answer.explanation and not answer.sections and not answer.references
    numbers = {r.n for r in answer.references}
    assert [r.n for r in answer.references] == list(range(1, len(numbers) + 1))
    for reference in answer.references:
        if isinstance(reference, QuoteCitation):
            assert pack.sources[reference.source_id].text[reference.start : reference.end] == reference.quote
    for section in answer.sections:
        for statement in section.statements:
            assert statement.citations and set(statement.citations) <= numbers
    for clause in answer.bottom_line_clauses:
        assert set(clause.citations) <= numbers
    assert answer.trace is not None
    assert all(d.reason for d in answer.trace.decisions)


@given(question=questions)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_text_gets_an_answer_or_an_abstention(question: str, runtime: Runtime) -> None:
    try:
        answer = ask(runtime, question)
    except InputError:
        assert not question.strip() or len(question.strip()) > 2000
        return
    check(answer, runtime)
