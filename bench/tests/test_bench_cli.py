"""`ketaguide-bench` as a user runs it, on a small BEIR-format dataset written here.

The commands run in process through typer's CliRunner; one smoke test runs the installed console script.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from ketaguide.retrieval.embedding import missing_dense_modules
from ketaguide_bench import cli

KETAGUIDE_BENCH = str(Path(sys.executable).parent / "ketaguide-bench")
DOCS = {
    "d1": ("Ketamine cystitis", ["Ketamine damages the bladder.", "Pelvic pain and urgency follow."]),
    "d2": ("Lamotrigine and craving", ["Lamotrigine reduced craving.", "It inhibits glutamate release."]),
    "d3": ("Naltrexone", ["Naltrexone is an opioid antagonist.", "It was tried in ketamine dependence."]),
    "d4": ("Overdose", ["High doses cause unconsciousness.", "Breathing can stop."]),
    "d5": ("Withdrawal", ["Stopping causes craving and low mood.", "There is little physical withdrawal."]),
}
QUERIES = {"q1": "ketamine bladder damage", "q2": "drug to reduce craving", "q3": "can an overdose stop breathing"}
QRELS = {"q1": "d1", "q2": "d2", "q3": "d4"}


def write_dataset(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    corpus = [{"_id": d, "title": t, "text": " ".join(s), "sentences": s} for d, (t, s) in DOCS.items()]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(c) for c in corpus))
    (root / "queries.jsonl").write_text("\n".join(json.dumps({"_id": q, "text": t}) for q, t in QUERIES.items()))
    qrels = "".join(f"{q}\t{d}\t1\n" for q, d in QRELS.items())
    (root / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n" + qrels)
    claims = [
        {"id": 1, "claim": "Ketamine harms the bladder", "evidence": {"d1": [{"sentences": [0], "label": "SUPPORT"}]}},
        {"id": 2, "claim": "Overdose can halt breathing", "evidence": {"d4": [{"sentences": [1], "label": "SUPPORT"}]}},
    ]
    (root / "claims_train.jsonl").write_text("\n".join(json.dumps(c) for c in claims))
    return root


def bench(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args))


def test_retrieval_report_is_the_documented_json(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "tiny")
    args = ["retrieval", "--dataset", str(data), "--split", "train", "--format", "json", "--repeats", "1"]
    result = bench(*args, "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("retriever", "ndcg_at_10", "recall_at_100", "queries_per_second", "index_seconds", "peak_rss_mb"):
        assert key in report
    assert {"fts5", "lexical"} <= set(report["baselines"])
    for row in report["baselines"].values():
        assert 0.0 <= row["ndcg_at_10"] <= 1.0 and row["queries_per_second"] > 0
    assert report["recall_at_100"] == 1.0  # five documents: every relevant one is in the top 100
    if report["retriever"] == "hybrid":
        assert report["embedding"]["computed"] == len(DOCS)
        again = json.loads(bench(*args, "--cache-dir", str(tmp_path / "cache")).stdout)
        assert again["embedding"]["computed"] == 0  # the second run reads the cache


def test_lexical_only_run(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "tiny")
    result = bench("retrieval", "--dataset", str(data), "--retriever", "lexical", "--format", "json", "--repeats", "1")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["retriever"] == "lexical" and "embedding" not in report


def test_text_report(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "tiny")
    result = bench("retrieval", "--dataset", str(data), "--repeats", "1", "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.stderr
    assert "nDCG@10" in result.stdout and "fts5" in result.stdout


def test_sentence_report(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "tiny")
    result = bench("sentences", "--dataset", str(data), "--format", "json", "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["pairs"] == 2 and report["sentences"] == 4
    assert {"precision", "recall", "f1"} <= set(report)


@pytest.mark.parametrize(
    ("file", "content", "where"),
    [
        ("corpus.jsonl", '{"_id": "d1", "text": "ok"}\n{"_id": "d2", "text": }\n', "corpus.jsonl:2: invalid JSON"),
        ("qrels/train.tsv", "q1\td1\n", "train.tsv:1: expected 3 tab-separated columns"),
    ],
)
def test_malformed_dataset_fails_with_file_and_line(tmp_path: Path, file: str, content: str, where: str) -> None:
    data = write_dataset(tmp_path / "tiny")
    (data / file).write_text(content)
    result = bench("retrieval", "--dataset", str(data), "--format", "json")
    assert result.exit_code == 2
    assert where in result.stderr
    assert result.stdout == ""


needs_dense = pytest.mark.skipif(bool(missing_dense_modules()), reason="the dense extra is not installed")


@needs_dense
def test_datasets_with_the_same_name_keep_their_own_cached_embeddings(tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    first, second = write_dataset(tmp_path / "a" / "tiny"), write_dataset(tmp_path / "b" / "tiny")
    other_texts = [{"_id": d, "title": t, "text": s[-1]} for d, (t, s) in DOCS.items()]
    (second / "corpus.jsonl").write_text("\n".join(json.dumps(c) for c in other_texts))

    def computed(data: Path) -> int:
        result = bench("retrieval", "--dataset", str(data), "--format", "json", "--repeats", "1", "--cache-dir", cache)
        assert result.exit_code == 0, result.stderr
        return int(json.loads(result.stdout)["embedding"]["computed"])

    assert computed(first) == len(DOCS)
    assert computed(second) == len(DOCS)  # other texts, same directory name
    assert computed(first) == 0  # the second dataset did not overwrite the first one's cached vectors


def test_ask_latency_writes_the_report_and_a_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warm = {"ask_p95_ms": 3.5, "fts5_p95_ms": 1.5, "p95_ratio_to_fts5": 2.3}
    cold = {
        "ask_cold_median_s": 0.5,
        "ask_cold_max_s": 0.6,
        "ask_cold_cpu_median_s": 0.45,
        "fts5_cold_median_s": 0.3,
        "median_ratio_to_fts5": 1.7,
        "load_average_1min": [0.4, 0.6],
    }
    report: dict[str, Any] = {
        "command": "make bench (ketaguide-bench ask-latency)",
        "lexical": {"warm": warm, "cold": cold},
    }
    monkeypatch.setattr("ketaguide_bench.ask_latency.run_ask_latency", lambda questions: report)
    questions, out = tmp_path / "questions.yaml", tmp_path / "results" / "ask_latency.json"
    questions.write_text("answered: []\nabstained: []\n")
    result = bench("ask-latency", "--questions", str(questions), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text()) == report
    assert result.stdout.startswith("lexical: warm ask p95 3.5 ms") and f"written to {out}" in result.stdout
    assert "CPU 0.45 s" in result.stdout and "load average 0.4-0.6" in result.stdout


def test_ask_latency_needs_its_questions_file(tmp_path: Path) -> None:
    result = bench("ask-latency", "--questions", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "out.json"))
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert not (tmp_path / "out.json").exists()


def test_the_console_script_runs_as_a_process(tmp_path: Path) -> None:
    """Smoke test of the installed `ketaguide-bench` entry point: a lexical run, JSON on stdout."""
    data = write_dataset(tmp_path / "tiny")
    args = ["retrieval", "--dataset", str(data), "--retriever", "lexical", "--format", "json", "--repeats", "1"]
    result = subprocess.run([KETAGUIDE_BENCH, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["retriever"] == "lexical"
