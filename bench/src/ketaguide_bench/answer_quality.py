"""Benchmark: answer quality on KetaGuide's clinical question set (issue #8, "Tests and figures").

The set (tests/data/questions/*.yaml) holds answerable questions, each with its key facts (every one traced to a
claim or an external reference of the pack by tests/test_question_set.py) and the phrases that show a bottom line
answers what was asked, and unanswerable ones, which the pack truly does not answer. `ketaguide-bench answer-quality`
asks every question of the engine in this tree and of the baseline (the answer composition before issue #8,
`ketaguide_bench.baseline_answering`), in the same run, on the same pack and retrieval, and reports:

(a) false abstentions: answerable questions the engine abstains on.
(b) unanswerable questions handled: the engine abstains, or its bottom line or explanation says plainly that the
    sources do not state it: one of `NOT_STATED_PHRASES` occurs in it. "No reliable source answers this directly"
    does not count: it is said when unreliable sources do answer, so it is no statement that the sources are silent.
(c) bottom line answers what was asked: one of the question's `bottom_line_must` phrases occurs in the bottom line.
(d) on-topic share of the statements shown (answered answerable questions, pooled). A statement is on topic when any
    reference it cites (i) is one of the question's expected claims or references (those its facts and seed
    statements name), or (ii) names one of the question's discriminating subjects (its subjects other than ketamine,
    esketamine, ketamine use disorder and addiction in general, which nearly every claim names): a claim by its
    concepts (quote, statement, `about`, keywords, intervention: `KnowledgePack.concepts_of`), an external reference
    by the lexicon concepts of its title and statement; or (iii) when the question has no discriminating subject,
    is a claim naming one of its subjects whose claim type is one the answer type asks for (`ANSWER_TYPE_CLAIMS`;
    comparison and other accept any type). Conflict, limitation and caveat statements cite the claims they are
    about, so they are on topic exactly when one of those claims is.
(e) key facts shown: a fact phrase occurs in the bottom line, a statement, a cited quote or a cited external
    reference's statement.
(f) seed-000 coverage: of the statements of seed 000's model answer, how many the answer to seed 000's own question
    cites (any claim mapped to the statement among the answer's references).
A question on which an engine raises counts as answered with nothing (it fails every figure) and is counted in
`errors`.
Plus, when `ketaguide.domain.answering.understanding.understand_question` exists: subject accuracy (exact set, and
micro precision and recall) and answer-type accuracy over all questions; the baseline's subjects are the concepts
its QuestionFocus found (it has no answer types).

A phrase is found in a text when it occurs as whole words (a plural "s" or "es" allowed) after `normalise`: NFKC,
casefolded, typographic quotes and dashes made plain, whitespace single.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaguide.domain.evidence.models import AnswerType
from ketaguide_bench.progress import Progress, no_progress

if TYPE_CHECKING:
    from ketaguide.bootstrap import Runtime
    from ketaguide.domain.evidence.pack import KnowledgePack

UNDERSTANDING_MISSING = "n/a (understanding not available)"

# The answering engine's own answer types: the set is labelled in the engine's vocabulary.
ANSWER_TYPES = tuple(t.value for t in AnswerType)
REGISTERS = ("lay", "clinical", "shorthand")
FORMS = ("street_name", "typo", "possessive_contraction", "yes_no", "list", "multi_part", "comparison")
# Lexicon topics that only say what kind of answer is wanted; the set's `answer_type` carries them, not `subjects`.
ANSWER_TYPE_TOPICS = frozenset({"mechanism", "dosing", "interaction", "evidence_quality", "signs", "epidemiology"})
# Subjects nearly every claim names: they cannot tell an on-topic statement from an off-topic one.
SCOPE_SUBJECTS = frozenset({"ketamine", "esketamine", "ketamine_use_disorder", "substance_use_disorder"})
# Claim types that answer each answer type (rule (d)(iii)); None: any type.
ANSWER_TYPE_CLAIMS: dict[str, frozenset[str] | None] = {
    "efficacy": frozenset({"efficacy", "evidence_limitation"}),
    "evidence_yes_no": frozenset({"efficacy", "evidence_limitation"}),
    "mechanism": frozenset({"mechanism"}),
    "dose": frozenset({"dosing"}),
    "time_course": frozenset({"dosing", "diagnosis_signs", "safety_harm", "efficacy"}),
    "harms": frozenset({"safety_harm", "interaction"}),
    "signs": frozenset({"diagnosis_signs"}),
    "risk_factors": frozenset({"epidemiology", "safety_harm"}),
    "management": frozenset({"efficacy", "treatment_setting"}),
    "setting": frozenset({"treatment_setting"}),
    "interactions": frozenset({"interaction"}),
    "monitoring": frozenset({"treatment_setting", "diagnosis_signs"}),
    "detection": frozenset({"diagnosis_signs"}),
    "comparison": None,
    "epidemiology": frozenset({"epidemiology"}),
    "definition": frozenset({"mechanism", "diagnosis_signs"}),
    "other": None,
}
# Rule (b): wording that says the sources do not state what was asked (compared after `normalise`).
NOT_STATED_PHRASES = (
    "none of ketaguide's sources",  # "... states", "... gives a dose for", "... reports a study of"
    "none of the sources",
    "no source states",
    "sources do not state",
    "do not state",
    "does not state",
    "don't state",
    "doesn't state",
    "not stated",
)

_PLAIN = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u2212": "-"}
)


def normalise(text: str) -> str:
    """Text in one comparable form: NFKC, casefolded, plain quotes and dashes, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_PLAIN).casefold().split())


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """`phrase` as whole words (a plural "s" or "es" allowed), to search a `normalise`d text."""
    return re.compile(rf"(?<!\w){re.escape(normalise(phrase))}(?:s|es)?(?!\w)")


def contains(text: str | None, phrase: str) -> bool:
    """Whether `phrase` occurs in `text` as whole words, after `normalise`: "case report" is in "two case reports",
    "age" is not in "dosage"."""
    return bool(text) and phrase_pattern(phrase).search(normalise(text or "")) is not None


# --- the question set ---------------------------------------------------------------------------------------------


class Fact(BaseModel):
    """A key fact a correct answer shows, with the claim or external reference that holds it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1)
    claim: str | None = None
    reference: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Fact:
        if (self.claim is None) == (self.reference is None):
            raise ValueError("a fact names exactly one of `claim` or `reference`")
        return self


class SeedStatement(BaseModel):
    """A statement of seed 000's model answer and the claims that hold it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    statement: str = Field(min_length=1)
    claims: tuple[str, ...] = Field(min_length=1)


class Question(BaseModel):
    """One entry of the question set (the fields are described in tests/data/questions/answerable.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[au][0-9]{3}$")
    question: str = Field(min_length=1)
    subjects: tuple[str, ...]
    answer_type: str
    answerable: bool
    style: tuple[str, ...] = Field(min_length=1)
    facts: tuple[Fact, ...] = ()
    bottom_line_must: tuple[str, ...] = ()
    why: str | None = None
    absent: tuple[str, ...] = ()  # unanswerable: words that occur in no source, claim or external reference
    seed_000: bool = False
    seed_statements: tuple[SeedStatement, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        problems = []
        if self.answer_type not in ANSWER_TYPES:
            problems.append(f"answer_type {self.answer_type!r} is not one of {', '.join(ANSWER_TYPES)}")
        unknown_styles = set(self.style) - {*REGISTERS, *FORMS}
        if unknown_styles:
            problems.append(f"unknown style {sorted(unknown_styles)}")
        if not set(self.style) & set(REGISTERS):
            problems.append(f"style names no register ({', '.join(REGISTERS)})")
        if self.answerable:
            if not 1 <= len(self.facts) <= 4 or not 1 <= len(self.bottom_line_must) <= 3 or self.why:
                problems.append("an answerable question has 1-4 facts, 1-3 bottom_line_must phrases and no why")
        elif self.facts or self.bottom_line_must or not self.why or self.seed_000:
            problems.append("an unanswerable question has a why and no facts, bottom_line_must or seed_000")
        if self.answerable and self.absent:
            problems.append("only an unanswerable question lists absent words")
        if self.seed_000 != bool(self.seed_statements):
            problems.append("seed_statements belong to the seed_000 entry, and it needs them")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def expected_claims(self) -> frozenset[str]:
        named = {f.claim for f in self.facts if f.claim}
        return frozenset(named | {c for s in self.seed_statements for c in s.claims})

    @property
    def expected_references(self) -> frozenset[str]:
        return frozenset(f.reference for f in self.facts if f.reference)


def load_question_set(path: Path) -> list[Question]:
    """The questions of a YAML file, or of every *.yaml file in a folder (sorted), each `{questions: [...]}`."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    questions = []
    for file in files:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        questions += [Question.model_validate(entry) for entry in data.get("questions", [])]
    return questions


def set_profile(questions: Sequence[Question]) -> dict[str, Any]:
    """How many questions of each kind, answer type and wording style."""
    return {
        "answerable": sum(q.answerable for q in questions),
        "unanswerable": sum(not q.answerable for q in questions),
        "by_answer_type": dict(sorted(Counter(q.answer_type for q in questions).items())),
        "by_style": dict(sorted(Counter(s for q in questions for s in q.style).items())),
    }


# --- metrics on one answer (the answer contract's JSON shape) -----------------------------------------------------

Answer = Mapping[str, Any]


@dataclass(frozen=True)
class TopicIndex:
    """What rule (d) needs to know of the pack: each claim's concepts and type, each external reference's concepts."""

    claim_concepts: Mapping[str, frozenset[str]]
    claim_types: Mapping[str, str]
    reference_concepts: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, runtime: Runtime) -> TopicIndex:
        pack = runtime.knowledge.pack
        refs = external_references(runtime.settings.content_dir)
        return cls(
            claim_concepts={c.id: pack.concepts_of(c) for c in pack.claims},
            claim_types={c.id: str(c.claim_type) for c in pack.claims},
            reference_concepts={
                ref_id: frozenset(pack.lexicon.concepts_in(f"{r['title']} {r['statement']}"))
                for ref_id, r in refs.items()
            },
        )


def external_references(content_dir: Path | None = None) -> dict[str, dict[str, str]]:
    """The external references of a content folder (default: the bundled one) by id: title and statement.

    Read from references.yaml itself rather than through the care engine's clinical content, so that the benchmark
    depends on nothing but the references.
    """
    from ketaguide.knowledge.snapshot import content_folder

    data = yaml.safe_load((content_folder(content_dir) / "references.yaml").read_text(encoding="utf-8"))
    return {r["id"]: {"title": r["title"], "statement": r["statement"]} for r in data["references"]}


def statements(answer: Answer) -> list[Mapping[str, Any]]:
    return [s for section in answer.get("sections") or () for s in section.get("statements") or ()]


def shown_texts(answer: Answer) -> list[str]:
    """Everything an answer shows: bottom line, statements, cited quotes and external references' statements."""
    texts = [answer.get("bottom_line") or ""]
    texts += [s["text"] for s in statements(answer)]
    texts += [r.get("quote") or r.get("statement") or "" for r in answer.get("references") or ()]
    return texts


def cited_claims(answer: Answer) -> set[str]:
    return {r["claim_id"] for r in answer.get("references") or () if r.get("kind") == "quote"}


def says_not_stated(answer: Answer) -> bool:
    """Rule (b): the bottom line or the explanation says plainly that the sources do not state it."""
    said = f"{answer.get('bottom_line') or ''} {answer.get('explanation') or ''}"
    return any(contains(said, phrase) for phrase in NOT_STATED_PHRASES)


def handles_unanswerable(answer: Answer) -> bool:
    return bool(answer.get("abstained")) or says_not_stated(answer)


def bottom_line_answers(answer: Answer, question: Question) -> bool:
    return any(contains(answer.get("bottom_line"), phrase) for phrase in question.bottom_line_must)


def facts_shown(answer: Answer, question: Question) -> list[bool]:
    shown = " \n ".join(shown_texts(answer))
    return [contains(shown, f.text) for f in question.facts]


def statement_on_topic(statement: Mapping[str, Any], answer: Answer, question: Question, index: TopicIndex) -> bool:
    """Rule (d): any reference the statement cites is expected, or names a subject the question is about."""
    by_number = {r["n"]: r for r in answer.get("references") or ()}
    return any(_reference_on_topic(by_number[n], question, index) for n in statement["citations"] if n in by_number)


def _reference_on_topic(reference: Mapping[str, Any], question: Question, index: TopicIndex) -> bool:
    discriminating = set(question.subjects) - SCOPE_SUBJECTS
    if reference.get("kind") == "external":
        ref_id = str(reference["id"]).split("/")[0]  # a point of a reference ("merck.ketamine-pcp/1") is the reference
        return ref_id in question.expected_references or bool(
            discriminating & index.reference_concepts.get(ref_id, frozenset())
        )
    claim_id = reference["claim_id"]
    concepts = index.claim_concepts.get(claim_id, frozenset())
    if claim_id in question.expected_claims or discriminating & concepts:
        return True
    if discriminating:
        return False
    wanted = ANSWER_TYPE_CLAIMS[question.answer_type]
    names_subject = not question.subjects or bool(set(question.subjects) & concepts)
    return names_subject and (wanted is None or index.claim_types.get(claim_id) in wanted)


def on_topic_counts(answer: Answer, question: Question, index: TopicIndex) -> tuple[int, int]:
    """(statements on topic, statements shown)."""
    shown = statements(answer)
    return sum(statement_on_topic(s, answer, question, index) for s in shown), len(shown)


def seed_coverage(answer: Answer, question: Question) -> tuple[int, int]:
    """(seed statements whose claims the answer cites, seed statements)."""
    cited = cited_claims(answer)
    return sum(bool(cited & set(s.claims)) for s in question.seed_statements), len(question.seed_statements)


# --- one engine over the set --------------------------------------------------------------------------------------


def share(count: int, total: int) -> dict[str, Any]:
    return {"count": count, "total": total, "share": round(count / total, 4) if total else None}


def judge(answer: Answer, question: Question, index: TopicIndex) -> dict[str, Any]:
    """Every per-question measurement of one answer."""
    record: dict[str, Any] = {"id": question.id, "abstained": bool(answer.get("abstained"))}
    record["says_not_stated"] = says_not_stated(answer)
    if not question.answerable:
        return record
    facts = facts_shown(answer, question)
    on_topic, shown = on_topic_counts(answer, question, index)
    record |= {
        "bottom_line_answers": bottom_line_answers(answer, question),
        "facts_missing": [f.text for f, ok in zip(question.facts, facts, strict=True) if not ok],
        "facts_shown": sum(facts),
        "facts": len(facts),
        "statements": shown,
        "on_topic": on_topic,
    }
    if question.seed_000:
        record["seed_000_covered"], record["seed_000_statements"] = seed_coverage(answer, question)
    return record


def figures(records: Sequence[dict[str, Any]], questions: Sequence[Question]) -> dict[str, Any]:
    """The six figures of issue #8 from per-question records (same order as `questions`)."""
    answerable = [r for r, q in zip(records, questions, strict=True) if q.answerable]
    unanswerable = [r for r, q in zip(records, questions, strict=True) if not q.answerable]
    answered = [r for r in answerable if not r["abstained"]]
    seeds = [r for r in answerable if "seed_000_statements" in r]
    on_topic_shares = [r["on_topic"] / r["statements"] for r in answered if r["statements"]]
    return {
        "a_false_abstentions": share(sum(r["abstained"] for r in answerable), len(answerable)),
        "a_answerable_bottom_line_says_not_stated": share(sum(r["says_not_stated"] for r in answered), len(answerable)),
        "b_unanswerable_handled": {
            **share(sum(r["abstained"] or r["says_not_stated"] for r in unanswerable), len(unanswerable)),
            "abstained": sum(r["abstained"] for r in unanswerable),
            "said_not_stated": sum(r["says_not_stated"] and not r["abstained"] for r in unanswerable),
            "answered_anyway": [r["id"] for r in unanswerable if not (r["abstained"] or r["says_not_stated"])],
        },
        "c_bottom_line_answers": share(sum(r["bottom_line_answers"] for r in answerable), len(answerable)),
        "d_on_topic_statements": {
            **share(sum(r["on_topic"] for r in answered), sum(r["statements"] for r in answered)),
            "mean_share_per_answer": round(sum(on_topic_shares) / len(on_topic_shares), 4) if on_topic_shares else None,
        },
        "e_key_facts_shown": share(sum(r["facts_shown"] for r in answerable), sum(r["facts"] for r in answerable)),
        "f_seed_000_coverage": share(
            sum(r["seed_000_covered"] for r in seeds), sum(r["seed_000_statements"] for r in seeds)
        ),
    }


def evaluate(
    ask: Callable[[str], Answer],
    questions: Sequence[Question],
    index: TopicIndex,
    advance: Callable[[int], None] = lambda steps: None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(figures, per-question records) of one engine.

    An engine that raises on a question gets an empty answer for it (neither an abstention nor a bottom line, so it
    fails every figure) and the error is recorded: the run goes on and says how many failed.
    """
    records = []
    for question in questions:
        try:
            record = judge(ask(question.question), question, index)
        except Exception as exc:  # a benchmark reports a failing engine, it does not stop at it
            record = judge(NO_ANSWER, question, index) | {"error": f"{type(exc).__name__}: {exc}"}
        records.append(record)
        advance(1)
    failed = [r for r in records if "error" in r]
    results = figures(records, questions)
    results["errors"] = {**share(len(failed), len(records)), "first": failed[0]["error"] if failed else None}
    return results, records


NO_ANSWER: Answer = {"abstained": False, "explanation": None, "bottom_line": None, "sections": [], "references": []}


# --- question understanding ---------------------------------------------------------------------------------------

# Subjects and answer type a question is understood to have; None when the engine cannot tell (answer type).
Understand = Callable[[str], tuple[Iterable[str], str | None]]


def understanding_figures(understand: Understand, questions: Sequence[Question]) -> dict[str, Any]:
    """Subject accuracy (exact set; micro precision and recall) and answer-type accuracy over all questions.

    The six answer-type topics are dropped from the understood subjects, as the set leaves them out of `subjects`.
    """
    exact = typed = found = predicted = expected = errors = 0
    first_error = None
    for question in questions:
        try:
            subjects, answer_type = understand(question.question)
        except Exception as exc:  # a benchmark reports a failing engine, it does not stop at it
            errors, first_error = errors + 1, first_error or f"{question.id}: {type(exc).__name__}: {exc}"
            continue
        got, want = set(subjects) - ANSWER_TYPE_TOPICS, set(question.subjects)
        exact += got == want
        found, predicted, expected = found + len(got & want), predicted + len(got), expected + len(want)
        typed += answer_type is not None and str(answer_type) == question.answer_type
    total = len(questions)
    report: dict[str, Any] = {
        "subjects_exact": share(exact, total),
        "subjects_precision": round(found / predicted, 4) if predicted else None,
        "subjects_recall": round(found / expected, 4) if expected else None,
        "answer_type_accuracy": share(typed, total),
        "errors": errors,
    }
    if first_error:
        report["first_error"] = first_error
    return report


def current_understanding(runtime: Runtime) -> Understand | None:
    """`understand_question` of the engine in this tree, or None until it exists."""
    try:
        from ketaguide.domain.answering.understanding import (  # type: ignore[import-not-found,unused-ignore]
            understand_question,
        )
    except ImportError:
        return None
    pack, common = runtime.knowledge.pack, runtime.is_common_word

    def understand(question: str) -> tuple[Iterable[str], str | None]:
        understood = understand_question(question, pack, common)
        return understood.subjects, understood.answer_type

    return understand


def baseline_understanding(runtime: Runtime) -> Understand:
    """The baseline's subjects: the concepts its QuestionFocus finds; it has no answer types."""
    from ketaguide.domain.evidence.text import normalise_text
    from ketaguide_bench.baseline_answering import QuestionFocus

    pack: KnowledgePack = runtime.knowledge.pack

    def understand(question: str) -> tuple[Iterable[str], str | None]:
        return QuestionFocus.of(normalise_text(question), pack, runtime.is_common_word).concepts, None

    return understand


# --- the benchmark ------------------------------------------------------------------------------------------------


def run_answer_quality(
    questions_path: Path, retriever: str = "lexical", progress: Progress = no_progress
) -> dict[str, Any]:
    """Figures (a)-(f) and understanding accuracy for the engine in this tree and for the pre-issue-8 baseline."""
    from ketaguide import KetaGuide
    from ketaguide_bench.baseline_answering import DEFAULT_POLICY as BASELINE_POLICY
    from ketaguide_bench.baseline_answering import baseline_answer

    questions = load_question_set(questions_path)
    with KetaGuide.from_settings(retriever=retriever) as guide:
        runtime = guide.runtime
        index = TopicIndex.of(runtime)
        engines: dict[str, Callable[[str], Answer]] = {
            "current": lambda q: guide.ask(q).model_dump(mode="json"),
            "baseline": lambda q: baseline_answer(runtime, q),
        }
        report: dict[str, Any] = {
            "command": f"ketaguide-bench answer-quality --questions {questions_path} --retriever {retriever}",
            "question_set": {"path": str(questions_path), **set_profile(questions)},
            "retriever": runtime.retrieval_note,
            "content_hash": runtime.knowledge.content_hash,
            "policy_version": {"current": runtime.answer_policy.version, "baseline": BASELINE_POLICY.version},
            "engines": {},
            "per_question": {},
        }
        for name, ask in engines.items():
            results, records = evaluate(ask, questions, index, progress(f"{name} engine", len(questions)))
            report["engines"][name] = results
            report["per_question"][name] = records
        understand = current_understanding(runtime)
        report["engines"]["current"]["understanding"] = (
            understanding_figures(understand, questions) if understand else UNDERSTANDING_MISSING
        )
        baseline = understanding_figures(baseline_understanding(runtime), questions)
        baseline["answer_type_accuracy"] = "n/a (the pre-issue-8 engine has no answer types)"
        report["engines"]["baseline"]["understanding"] = baseline
    return report


FIGURE_LABELS = (
    ("a_false_abstentions", "(a) false abstentions, answerable (lower is better)"),
    ("a_answerable_bottom_line_says_not_stated", "    answered, but bottom line says not stated"),
    ("b_unanswerable_handled", "(b) unanswerable: abstained or said not stated"),
    ("c_bottom_line_answers", "(c) bottom line answers what was asked"),
    ("d_on_topic_statements", "(d) on-topic statements shown"),
    ("e_key_facts_shown", "(e) key facts shown"),
    ("f_seed_000_coverage", "(f) seed-000 statements cited"),
    ("errors", "engine errors (lower is better)"),
)


def figure_rows(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, baseline, current) rows for a text table."""
    engines = report["engines"]
    rows = [(label, _cell(engines["baseline"][key]), _cell(engines["current"][key])) for key, label in FIGURE_LABELS]
    for key, label in (
        ("subjects_exact", "subjects understood exactly"),
        ("answer_type_accuracy", "answer type understood"),
    ):
        baseline, current = (engines[e]["understanding"] for e in ("baseline", "current"))
        rows.append((label, _understood(baseline, key), _understood(current, key)))
    return rows


def _understood(understanding: Any, key: str) -> str:
    return _cell(understanding[key]) if isinstance(understanding, Mapping) else str(understanding)


def _cell(figure: Any) -> str:
    if not isinstance(figure, Mapping):
        return str(figure)
    if figure["share"] is None:
        return f"{figure['count']}/{figure['total']}"
    return f"{figure['count']}/{figure['total']} ({figure['share']:.1%})"
