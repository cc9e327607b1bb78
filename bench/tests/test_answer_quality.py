"""The answer-quality metrics on small hand-made answers (each rule passing and failing), and
`ketaguide-bench answer-quality` on a slice of the question set through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ketaguide_bench import cli
from ketaguide_bench.answer_quality import (
    UNDERSTANDING_MISSING,
    Question,
    TopicIndex,
    bottom_line_answers,
    contains,
    evaluate,
    facts_shown,
    figure_rows,
    figures,
    handles_unanswerable,
    judge,
    load_question_set,
    normalise,
    on_topic_counts,
    says_not_stated,
    seed_coverage,
    understanding_figures,
)

REPOSITORY_SET = Path(__file__).parents[2] / "tests" / "data" / "questions"

INDEX = TopicIndex(
    claim_concepts={
        "c-lam-case": frozenset({"lamotrigine", "ketamine_use_disorder", "craving"}),
        "c-lam-rash": frozenset({"lamotrigine", "rash"}),
        "c-bladder": frozenset({"ketamine", "ketamine_uropathy", "urinary_symptoms"}),
        "c-nmda": frozenset({"ketamine", "nmda_antagonists"}),
        "c-dose": frozenset({"ketamine"}),
    },
    claim_types={
        "c-lam-case": "efficacy",
        "c-lam-rash": "dosing",
        "c-bladder": "diagnosis_signs",
        "c-nmda": "mechanism",
        "c-dose": "dosing",
    },
    reference_concepts={"merck": frozenset({"ketamine", "urinary_symptoms"}), "label": frozenset({"lamotrigine"})},
)


def question(**fields: Any) -> Question:
    entry: dict[str, Any] = {
        "id": "a900",
        "question": "Does lamotrigine help ketamine craving?",
        "subjects": ["lamotrigine", "ketamine", "craving"],
        "answer_type": "efficacy",
        "answerable": True,
        "style": ["lay"],
        "facts": [{"text": "reduction in craving", "claim": "c-lam-case"}],
        "bottom_line_must": ["case report"],
    }
    return Question.model_validate(entry | fields)


def quote(n: int, claim_id: str, text: str) -> dict[str, Any]:
    return {"n": n, "kind": "quote", "claim_id": claim_id, "quote": text, "source_id": "s", "start": 0, "end": 1}


def external(n: int, ref_id: str, statement: str) -> dict[str, Any]:
    return {"n": n, "kind": "external", "id": ref_id, "statement": statement}


def answer(bottom_line: str | None, statements: list[tuple[str, list[int]]], references: list[dict[str, Any]]) -> Any:
    return {
        "abstained": bottom_line is None,
        "explanation": None,
        "bottom_line": bottom_line,
        "sections": [{"heading": "Evidence", "statements": [{"text": t, "citations": c} for t, c in statements]}],
        "references": references,
    }


ABSTENTION = {"abstained": True, "explanation": "The question names 'semaglutide'.", "bottom_line": None}
LAMOTRIGINE = answer(
    "In one case report lamotrigine cut craving. Certainty: very low.",
    [
        ("A patient had a significant   Reduction in craving.", [1]),
        ("Titrate slowly to avoid rash.", [2]),
        ("Ketamine blocks the NMDA receptor.", [3]),
    ],
    [quote(1, "c-lam-case", "case quote"), quote(2, "c-lam-rash", "Titrate lamotrigine"), quote(3, "c-nmda", "NMDA")],
)


@pytest.mark.parametrize(
    ("text", "phrase", "found"),
    [
        ("Two CASE\n reports", "case report", True),
        ("the usual dosage", "age", False),
        ("no controlled trials.", "no controlled trials", True),
        ("30.2% endorsed withdrawal", "30.2%", True),
        ("a non-visible haematuria", "visible haematuria", True),
        (None, "anything", False),
    ],
)
def test_phrases_match_whole_words(text: str | None, phrase: str, found: bool) -> None:
    assert contains(text, phrase) is found


def test_normalise_ignores_case_spacing_and_typographic_marks() -> None:
    assert normalise("  Ketamine\u2019s   “very low”\n\u2013 GRADE ") == 'ketamine\'s "very low" - grade'


# --- (a) and (b): abstaining, and saying plainly that the sources do not state it ---------------------------------


def test_an_abstention_handles_an_unanswerable_question() -> None:
    assert handles_unanswerable(ABSTENTION)


@pytest.mark.parametrize(
    "bottom_line",
    [
        "None of KetaGuide's sources states a lamotrigine dose for this case.",
        "The sources do NOT   state how long treatment should last.",
        "A detection window is not stated.",
        "None of KetaGuide's sources gives a dose for lamotrigine in this case report.",
    ],
)
def test_saying_the_sources_do_not_state_it_handles_an_unanswerable_question(bottom_line: str) -> None:
    assert says_not_stated(answer(bottom_line, [], [])) and handles_unanswerable(answer(bottom_line, [], []))


def test_an_answer_about_something_else_does_not_handle_an_unanswerable_question() -> None:
    hedged = answer(
        "No reliable source in the knowledge pack answers this directly; what it holds on neighbouring points is "
        "shown below, so no conclusion is drawn.",
        [("Lamotrigine reduced craving.", [1])],
        [quote(1, "c-lam-case", "q")],
    )
    assert not says_not_stated(hedged) and not handles_unanswerable(hedged)


def test_the_explanation_counts_too() -> None:
    said = {"abstained": False, "bottom_line": "See below.", "explanation": "Sources do not state a dose."}
    assert says_not_stated(said)


# --- (c) the bottom line answers what was asked ------------------------------------------------------------------


def test_bottom_line_answers_when_any_phrase_is_in_it() -> None:
    asked = question(bottom_line_must=["no controlled trials", "CASE   report"])
    assert bottom_line_answers(LAMOTRIGINE, asked)


def test_bottom_line_fails_without_the_phrase_or_without_a_bottom_line() -> None:
    asked = question(bottom_line_must=["no controlled trials"])
    assert not bottom_line_answers(LAMOTRIGINE, asked)
    assert not bottom_line_answers(ABSTENTION, question())


# --- (e) key facts shown -----------------------------------------------------------------------------------------


def test_facts_are_found_in_statements_cited_quotes_and_external_statements() -> None:
    shown = answer(
        "Bottom line.",
        [("A patient had a significant reduction in craving.", [1, 2])],
        [quote(1, "c-lam-case", "Titrate lamotrigine slowly"), external(2, "label", "Weeks 1-2: 25 mg daily")],
    )
    asked = question(
        facts=[
            {"text": "reduction in craving", "claim": "c-lam-case"},
            {"text": "lamotrigine slowly", "claim": "c-lam-rash"},
            {"text": "25 mg daily", "reference": "label"},
            {"text": "serious rash", "claim": "c-lam-rash"},
        ]
    )
    assert facts_shown(shown, asked) == [True, True, True, False]
    assert facts_shown(ABSTENTION, asked) == [False] * 4


# --- (d) on-topic statements ---------------------------------------------------------------------------------------


def test_statements_citing_expected_claims_or_subjects_are_on_topic_and_others_are_not() -> None:
    # 1: an expected claim; 2: names lamotrigine (a discriminating subject); 3: about NMDA only: off topic.
    assert on_topic_counts(LAMOTRIGINE, question(), INDEX) == (2, 3)


def test_a_conflict_statement_is_on_topic_when_any_claim_it_cites_is() -> None:
    conflict = answer(
        "x",
        [("Sources conflict on ...", [1, 2]), ("NMDA", [2])],
        [quote(1, "c-lam-rash", "a"), quote(2, "c-nmda", "b")],
    )
    assert on_topic_counts(conflict, question(facts=[{"text": "a", "claim": "c-lam-rash"}]), INDEX) == (1, 2)


def test_ketamine_alone_does_not_make_a_statement_on_topic() -> None:
    bladder = question(
        subjects=["ketamine_uropathy", "ketamine"], answer_type="signs", facts=[{"text": "t", "claim": "c-bladder"}]
    )
    shown = answer("x", [("bladder", [1]), ("dose", [2])], [quote(1, "c-bladder", "q"), quote(2, "c-dose", "q")])
    assert on_topic_counts(shown, bladder, INDEX) == (1, 2)


def test_without_a_discriminating_subject_the_claim_type_must_fit_the_answer_type() -> None:
    how = question(subjects=["ketamine"], answer_type="mechanism", facts=[{"text": "x", "reference": "merck"}])
    shown = answer("x", [("NMDA", [1]), ("2 mg/kg", [2])], [quote(1, "c-nmda", "q"), quote(2, "c-dose", "q")])
    assert on_topic_counts(shown, how, INDEX) == (1, 2)
    anything = question(subjects=["ketamine"], answer_type="comparison", facts=[{"text": "x", "reference": "merck"}])
    assert on_topic_counts(shown, anything, INDEX) == (2, 2)


def test_external_references_are_on_topic_by_id_or_by_their_concepts() -> None:
    urine = question(
        subjects=["ketamine", "urinary_symptoms"], answer_type="detection", facts=[{"text": "x", "reference": "merck"}]
    )
    shown = answer("x", [("screens", [1]), ("label", [2])], [external(1, "merck", "s"), external(2, "label", "s")])
    assert on_topic_counts(shown, urine, INDEX) == (1, 2)
    lamotrigine = question(facts=[{"text": "x", "reference": "merck"}])
    assert on_topic_counts(shown, lamotrigine, INDEX) == (2, 2)  # merck: expected; label: names lamotrigine
    point = answer("x", [("screens", [1])], [external(1, "merck/2", "one point of the reference")])
    assert on_topic_counts(point, urine, INDEX) == (1, 1)


# --- (f) seed-000 coverage ---------------------------------------------------------------------------------------


def test_seed_coverage_counts_statements_any_of_whose_claims_is_cited() -> None:
    seed = question(
        seed_000=True,
        seed_statements=[
            {"statement": "case report", "claims": ["c-lam-case"]},
            {"statement": "rash", "claims": ["c-other", "c-lam-rash"]},
            {"statement": "trials", "claims": ["c-trials"]},
        ],
    )
    assert seed_coverage(LAMOTRIGINE, seed) == (2, 3)
    assert seed_coverage(ABSTENTION, seed) == (0, 3)


# --- the figures over a set ----------------------------------------------------------------------------------------


def test_figures_over_a_small_set() -> None:
    answerable = question()
    seed = question(id="a901", seed_000=True, seed_statements=[{"statement": "s", "claims": ["c-lam-case"]}])
    unanswerable = question(id="u900", answerable=False, facts=[], bottom_line_must=[], why="Not in any source.")
    asked = [answerable, seed, unanswerable, unanswerable]
    answers = [LAMOTRIGINE, ABSTENTION, ABSTENTION, LAMOTRIGINE]
    result = figures([judge(a, q, INDEX) for a, q in zip(answers, asked, strict=True)], asked)
    assert result["a_false_abstentions"] == {"count": 1, "total": 2, "share": 0.5}
    assert result["b_unanswerable_handled"]["count"] == 1 and result["b_unanswerable_handled"]["answered_anyway"]
    assert result["c_bottom_line_answers"]["count"] == 1
    assert result["d_on_topic_statements"] == {
        "count": 2,
        "total": 3,
        "share": 0.6667,
        "mean_share_per_answer": 0.6667,
    }
    assert result["e_key_facts_shown"] == {"count": 1, "total": 2, "share": 0.5}
    assert result["f_seed_000_coverage"] == {"count": 0, "total": 1, "share": 0.0}


def test_an_engine_that_raises_fails_the_question_and_the_run_goes_on() -> None:
    asked = [question(), question(id="a901", question="Is ketamine addictive?")]

    def ask(text: str) -> Any:
        if text == asked[1].question:
            raise KeyError("min_relative_score")
        return LAMOTRIGINE

    results, records = evaluate(ask, asked, INDEX)
    assert results["errors"] == {"count": 1, "total": 2, "share": 0.5, "first": "KeyError: 'min_relative_score'"}
    assert records[1]["error"] and not records[1]["bottom_line_answers"] and not records[1]["abstained"]
    assert results["c_bottom_line_answers"]["count"] == 1


def test_understanding_accuracy_and_a_failing_understanding() -> None:
    bladder = question(id="a901", question="K bladder signs?", subjects=["ketamine_uropathy"], answer_type="signs")
    asked = [question(), bladder]
    understood = {asked[0].question: ({"lamotrigine", "ketamine", "craving", "evidence_quality"}, "efficacy")}

    def understand(text: str) -> tuple[set[str], str | None]:
        return understood.get(text, ({"ketamine"}, "harms"))

    result = understanding_figures(understand, asked)
    assert result["subjects_exact"]["count"] == 1  # the answer-type topic evidence_quality is not a subject
    assert (result["subjects_precision"], result["subjects_recall"]) == (0.75, 0.75)
    assert result["answer_type_accuracy"]["count"] == 1

    def broken(text: str) -> tuple[set[str], str | None]:
        raise RuntimeError("not yet")

    failed = understanding_figures(broken, asked)
    assert failed["errors"] == 2 and "RuntimeError" in failed["first_error"]


def test_rows_say_when_understanding_is_not_available() -> None:
    figure = {"count": 1, "total": 2, "share": 0.5}
    engine = dict.fromkeys(
        [
            "a_false_abstentions",
            "a_answerable_bottom_line_says_not_stated",
            "b_unanswerable_handled",
            "c_bottom_line_answers",
            "d_on_topic_statements",
            "e_key_facts_shown",
            "f_seed_000_coverage",
            "errors",
        ],
        figure,
    )
    report = {
        "engines": {
            "current": {**engine, "understanding": UNDERSTANDING_MISSING},
            "baseline": {**engine, "understanding": {"subjects_exact": figure, "answer_type_accuracy": "n/a"}},
        }
    }
    rows = figure_rows(report)
    assert rows[0][1:] == ("1/2 (50.0%)", "1/2 (50.0%)")
    assert rows[-1] == ("answer type understood", "n/a", UNDERSTANDING_MISSING)


# --- the command on a slice of the set -----------------------------------------------------------------------------


def write_slice(path: Path) -> Path:
    """The seed-000 entry, one more answerable question and one unanswerable one from the repository's set."""
    questions = load_question_set(REPOSITORY_SET)
    picked = [next(q for q in questions if q.seed_000), questions[1], next(q for q in questions if not q.answerable)]
    entries = [q.model_dump(mode="json", exclude_defaults=True) | {"answerable": q.answerable} for q in picked]
    path.write_text(yaml.safe_dump({"questions": entries}, sort_keys=False), encoding="utf-8")
    return path


def test_the_command_reports_both_engines_as_json(tmp_path: Path) -> None:
    questions = write_slice(tmp_path / "slice.yaml")
    args = ["answer-quality", "--questions", str(questions), "--retriever", "lexical", "--format", "json"]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["command"] == f"ketaguide-bench {' '.join(args)}"
    assert report["question_set"]["answerable"] == 2 and report["question_set"]["unanswerable"] == 1
    for name in ("current", "baseline"):
        engine = report["engines"][name]
        assert engine["a_false_abstentions"]["total"] == 2 and engine["f_seed_000_coverage"]["total"] == 23
        assert len(report["per_question"][name]) == 3
    current = report["engines"]["current"]["understanding"]
    assert current == UNDERSTANDING_MISSING or current["subjects_exact"]["total"] == 3


def test_the_command_prints_a_table(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["answer-quality", "--questions", str(write_slice(tmp_path / "s.yaml"))])
    assert result.exit_code == 0, result.stderr
    assert "Answer quality" in result.stdout and "baseline" in result.stdout


def test_the_command_needs_its_question_set(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["answer-quality", "--questions", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "does not exist" in result.stderr
