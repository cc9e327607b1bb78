"""BEIR-format benchmark datasets: `corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv` (Thakur et al., 2021).

SciFact's `claims_<split>.jsonl` (rationale sentences per abstract, Wadden et al., 2020) loads here too. Every
malformed line raises `DatasetError` naming the file and the line, so a broken download is found at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ketaguide.domain.errors import DatasetError

QRELS_HEADER = ("query-id", "corpus-id", "score")


@dataclass(frozen=True)
class BeirDocument:
    doc_id: str
    title: str
    text: str
    sentences: tuple[str, ...] = ()  # SciFact ships them; other BEIR corpora do not


@dataclass(frozen=True)
class BeirDataset:
    directory: Path
    split: str
    corpus: dict[str, BeirDocument]
    queries: dict[str, str]  # the queries judged in this split, by id
    qrels: dict[str, dict[str, int]]  # query id -> document id -> graded relevance


@dataclass(frozen=True)
class RationaleClaim:
    """A claim and, per abstract, the indices of the sentences that support or contradict it."""

    claim_id: str
    text: str
    rationales: dict[str, frozenset[int]] = field(default_factory=dict)


def cache_collection(directory: Path, *kind: str) -> str:
    """The embedding-cache collection of a dataset's texts: its directory name plus a hash of its resolved path.

    By name alone, two datasets both called `scifact` would overwrite each other's cached vectors on every run.
    """
    resolved = directory.resolve()
    digest = hashlib.blake2b(str(resolved).encode("utf-8"), digest_size=6).hexdigest()  # 12 hex digits
    return "-".join(("beir", resolved.name, digest, *kind))


def load_beir(directory: Path, split: str) -> BeirDataset:
    corpus = load_corpus(directory / "corpus.jsonl")
    qrels_path = directory / "qrels" / f"{split}.tsv"
    qrels = load_qrels(qrels_path)
    queries = load_queries(directory / "queries.jsonl")
    for qid, judged in qrels.items():
        if qid not in queries:
            raise DatasetError(str(qrels_path), None, f"query {qid!r} is not in queries.jsonl")
        unknown = sorted(set(judged) - set(corpus))
        if unknown:
            raise DatasetError(
                str(qrels_path), None, f"query {qid!r} judges documents not in corpus.jsonl: {unknown[:3]}"
            )
    return BeirDataset(directory, split, corpus, {q: queries[q] for q in qrels}, qrels)


def load_corpus(path: Path) -> dict[str, BeirDocument]:
    corpus: dict[str, BeirDocument] = {}
    for line, record in _json_lines(path):
        doc_id = _identifier(record, "_id", path, line)
        if doc_id in corpus:
            raise DatasetError(str(path), line, f"duplicate _id {doc_id!r}")
        sentences = record.get("sentences", [])
        if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
            raise DatasetError(str(path), line, "'sentences' must be a list of strings")
        title = _text(record, "title", path, line, required=False)
        corpus[doc_id] = BeirDocument(doc_id, title, _text(record, "text", path, line), tuple(sentences))
    return corpus


def load_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for line, record in _json_lines(path):
        qid = _identifier(record, "_id", path, line)
        if qid in queries:
            raise DatasetError(str(path), line, f"duplicate _id {qid!r}")
        queries[qid] = _text(record, "text", path, line)
    return queries


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for line, text in _lines(path):
        columns = text.split("\t")
        if line == 1 and tuple(c.strip() for c in columns) == QRELS_HEADER:
            continue
        if len(columns) != 3:
            raise DatasetError(
                str(path), line, f"expected 3 tab-separated columns (query-id, corpus-id, score), got {len(columns)}"
            )
        qid, doc_id, score = (c.strip() for c in columns)
        try:
            grade = int(score)
        except ValueError:
            raise DatasetError(str(path), line, f"score {score!r} is not an integer") from None
        if not qid or not doc_id:
            raise DatasetError(str(path), line, "empty query-id or corpus-id")
        qrels.setdefault(qid, {})[doc_id] = grade
    if not qrels:
        raise DatasetError(str(path), None, "no relevance judgements")
    return qrels


def load_rationale_claims(path: Path) -> list[RationaleClaim]:
    """SciFact claims: `{"id", "claim", "evidence": {doc_id: [{"sentences": [i, ...], "label"}, ...]}}`."""
    claims = []
    for line, record in _json_lines(path):
        evidence = record.get("evidence", {})
        if not isinstance(evidence, dict):
            raise DatasetError(str(path), line, "'evidence' must be an object keyed by document id")
        rationales = {str(doc): _sentence_indices(sets, path, line) for doc, sets in evidence.items()}
        claims.append(
            RationaleClaim(_identifier(record, "id", path, line), _text(record, "claim", path, line), rationales)
        )
    return claims


def _sentence_indices(sets: Any, path: Path, line: int) -> frozenset[int]:
    try:
        return frozenset(int(i) for rationale in sets for i in rationale["sentences"])
    except (TypeError, KeyError, ValueError):
        raise DatasetError(str(path), line, "each evidence entry must be {'sentences': [int, ...], ...}") from None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if text.strip():
                    yield number, text.rstrip("\r\n")
    except FileNotFoundError:
        raise DatasetError(str(path), None, "file not found") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(str(path), None, f"not UTF-8 text ({exc.reason})") from None


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, text in _lines(path):
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(str(path), number, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict):
            raise DatasetError(str(path), number, "expected a JSON object")
        yield number, record


def _identifier(record: dict[str, Any], key: str, path: Path, line: int) -> str:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
        raise DatasetError(str(path), line, f"missing or invalid {key!r} (a non-empty string or integer)")
    return str(value)


def _text(record: dict[str, Any], key: str, path: Path, line: int, required: bool = True) -> str:
    value = record.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise DatasetError(str(path), line, f"missing or non-string {key!r}")
    return value
