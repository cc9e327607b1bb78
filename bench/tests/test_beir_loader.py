"""The BEIR loader: a well-formed dataset loads; every malformed file names itself and the offending line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ketaguide.domain.errors import DatasetError
from ketaguide_bench.beir import cache_collection, load_beir, load_rationale_claims

CORPUS = [
    {"_id": "d1", "title": "Ketamine cystitis", "text": "Ketamine damages the bladder.", "sentences": ["a", "b"]},
    {"_id": 2, "text": "Lamotrigine reduces glutamate release."},
]
QUERIES = [{"_id": "q1", "text": "ketamine bladder"}, {"_id": "q2", "text": "glutamate"}, {"_id": "q3", "text": "x"}]
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\t2\t2\n"


def write_dataset(root: Path, corpus: str | None = None, queries: str | None = None, qrels: str = QRELS) -> Path:
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text(corpus if corpus is not None else "\n".join(map(json.dumps, CORPUS)) + "\n")
    (root / "queries.jsonl").write_text(queries if queries is not None else "\n".join(map(json.dumps, QUERIES)))
    (root / "qrels" / "train.tsv").write_text(qrels)
    return root


def error_for(tmp_path: Path, **files: str) -> DatasetError:
    with pytest.raises(DatasetError) as caught:
        load_beir(write_dataset(tmp_path, **files), "train")
    return caught.value


def test_loads_a_well_formed_dataset(tmp_path: Path) -> None:
    data = load_beir(write_dataset(tmp_path), "train")
    assert set(data.corpus) == {"d1", "2"}  # integer ids become strings
    assert data.corpus["2"].title == ""  # title is optional in BEIR
    assert data.corpus["d1"].sentences == ("a", "b")
    assert data.queries == {"q1": "ketamine bladder", "q2": "glutamate"}  # only the queries judged in the split
    assert data.qrels == {"q1": {"d1": 1}, "q2": {"2": 2}}


def test_blank_lines_and_a_headerless_qrels_file_are_accepted(tmp_path: Path) -> None:
    corpus = "\n" + json.dumps(CORPUS[0]) + "\n\n" + json.dumps(CORPUS[1]) + "\n"
    data = load_beir(write_dataset(tmp_path, corpus=corpus, qrels="q1\td1\t1\n"), "train")
    assert len(data.corpus) == 2 and data.qrels == {"q1": {"d1": 1}}


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    corpus = json.dumps(CORPUS[0]) + '\n{"_id": "d2", "text": "unterminated\n'
    error = error_for(tmp_path, corpus=corpus)
    assert error.path.endswith("corpus.jsonl") and error.line == 2
    assert "corpus.jsonl:2: invalid JSON" in str(error)


def test_a_json_value_that_is_not_an_object(tmp_path: Path) -> None:
    error = error_for(tmp_path, queries='["q1", "text"]\n')
    assert (Path(error.path).name, error.line) == ("queries.jsonl", 1)
    assert "expected a JSON object" in str(error)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"title": "no id", "text": "t"}, "'_id'"),
        ({"_id": "d9", "title": "no text"}, "'text'"),
        ({"_id": "d9", "text": 42}, "'text'"),
        ({"_id": "", "text": "empty id"}, "'_id'"),
        ({"_id": "d9", "text": "t", "sentences": "not a list"}, "'sentences'"),
    ],
)
def test_missing_or_mistyped_fields(tmp_path: Path, record: dict[str, object], message: str) -> None:
    corpus = json.dumps(CORPUS[0]) + "\n" + json.dumps(CORPUS[1]) + "\n" + json.dumps(record) + "\n"
    error = error_for(tmp_path, corpus=corpus)
    assert (Path(error.path).name, error.line) == ("corpus.jsonl", 3)
    assert message in str(error)


def test_duplicate_document_id(tmp_path: Path) -> None:
    error = error_for(tmp_path, corpus=json.dumps(CORPUS[0]) + "\n" + json.dumps(CORPUS[0]) + "\n")
    assert error.line == 2 and "duplicate _id 'd1'" in str(error)


@pytest.mark.parametrize(
    ("qrels", "line", "message"),
    [
        ("query-id\tcorpus-id\tscore\nq1\td1\n", 2, "expected 3 tab-separated columns"),
        ("q1\td1\t1\nq2\t2\t1\textra\n", 2, "got 4"),
        ("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\t2\thigh\n", 3, "score 'high' is not an integer"),
        ("q1\td1\t1.5\n", 1, "is not an integer"),
        ("q1 d1 1\n", 1, "got 1"),  # spaces, not tabs
    ],
)
def test_malformed_qrels(tmp_path: Path, qrels: str, line: int, message: str) -> None:
    error = error_for(tmp_path, qrels=qrels)
    assert (Path(error.path).name, error.line) == ("train.tsv", line)
    assert message in str(error)
    assert f"train.tsv:{line}:" in str(error)


def test_qrels_naming_unknown_queries_or_documents(tmp_path: Path) -> None:
    assert "query 'q9' is not in queries.jsonl" in str(error_for(tmp_path, qrels="q9\td1\t1\n"))
    assert "not in corpus.jsonl" in str(error_for(tmp_path, qrels="q1\tnope\t1\n"))


def test_missing_file_is_named(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    with pytest.raises(DatasetError, match=r"qrels/test\.tsv: file not found"):
        load_beir(tmp_path, "test")


def test_rationale_claims(tmp_path: Path) -> None:
    path = tmp_path / "claims_train.jsonl"
    good = {"id": 4, "claim": "c", "evidence": {"7": [{"sentences": [1, 3], "label": "SUPPORT"}, {"sentences": [3]}]}}
    path.write_text(json.dumps(good) + "\n" + json.dumps({"id": 5, "claim": "d", "evidence": {"7": [{"x": 1}]}}))
    with pytest.raises(DatasetError) as caught:
        load_rationale_claims(path)
    assert caught.value.line == 2 and "sentences" in str(caught.value)
    path.write_text(json.dumps(good))
    [claim] = load_rationale_claims(path)
    assert (claim.claim_id, claim.text, claim.rationales) == ("4", "c", {"7": frozenset({1, 3})})


def test_cache_collection_is_keyed_by_the_resolved_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one, other = tmp_path / "a" / "scifact", tmp_path / "b" / "scifact"
    assert cache_collection(one) != cache_collection(other)  # same name, different datasets: no shared vectors
    assert cache_collection(one).startswith("beir-scifact-")
    monkeypatch.chdir(tmp_path)
    assert cache_collection(Path("a/scifact")) == cache_collection(one)  # relative or absolute, one collection
    assert cache_collection(one, "claims-train") == cache_collection(one) + "-claims-train"
