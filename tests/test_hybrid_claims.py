"""The claim index `ask` uses: hybrid when the dense extra is installed, lexical otherwise, never worse answers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ketaguide.bootstrap import Runtime, build_runtime
from ketaguide.contracts.answer import AnswerReport
from ketaguide.domain.citing.references import QuoteCitation
from ketaguide.domain.errors import InputError
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.retrieval import claims
from ketaguide.retrieval.claims import build_claim_index
from ketaguide.retrieval.embedding import missing_dense_modules
from ketaguide.services.evidence import ask
from ketaguide.settings import load_settings

CASES = yaml.safe_load((Path(__file__).parent / "data" / "clinical_questions.yaml").read_text())
# Questions in other words than the sources', where the lexical retriever misses the claim that answers them.
PARAPHRASES = [
    ("Can too much ketamine kill you?", "c001-overdose-unconsciousness-breathing"),
    ("What happens when someone quits ketamine after heavy use?", "c003-withdrawal-cravings-anxiety-mood"),
]


def needs_dense_extra() -> None:
    # Checked without importing onnxruntime (importing it is where its telemetry would start).
    if missing_dense_modules():
        pytest.skip("the dense extra is not installed")


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    needs_dense_extra()
    with build_runtime(load_settings(retriever="auto", cache_dir=tmp_path_factory.mktemp("cache"))) as runtime:
        assert runtime.index.name == "hybrid" and runtime.retrieval_note.startswith("hybrid retrieval")
        yield runtime


@pytest.fixture(scope="module")
def lexical() -> Iterator[Runtime]:
    with build_runtime(load_settings(retriever="lexical")) as runtime:
        yield runtime


def quotes(answer: AnswerReport) -> list[QuoteCitation]:
    """The answer's references to quotes (an answer may also cite named external references)."""
    return [r for r in answer.references if isinstance(r, QuoteCitation)]


def cited(question: str, runtime: Runtime) -> set[str]:
    return {r.claim_id for r in quotes(ask(runtime, question))}


@pytest.mark.parametrize("case", CASES["answered"], ids=lambda c: c["question"][:50])
def test_hybrid_answers_the_clinical_questions_as_well(
    case: dict[str, Any], hybrid: Runtime, pack: KnowledgePack
) -> None:
    answer = ask(hybrid, case["question"])
    assert not answer.abstained, answer.explanation
    # The same evidence: each expected claim's quote is cited (a sibling claim on the very same span counts,
    # e.g. the review naming "lamotrigine, naltrexone and paliperidone" is one quote under three claims).
    quoted = {(r.source_id, r.start, r.end) for r in quotes(answer)}
    for claim_id in case["expect_claims"]:
        claim = pack.claim(claim_id)
        assert (claim.source_id, claim.start, claim.end) in quoted, claim_id
    text = " ".join([answer.bottom_line or "", *(s.text for sec in answer.sections for s in sec.statements)])
    for phrase in case["expect_text"]:
        assert phrase.lower() in text.lower(), phrase
    assert answer.certainty is not None and answer.certainty.value == case["certainty"]


@pytest.mark.parametrize("question", CASES["abstained"])
def test_hybrid_still_abstains(question: str, hybrid: Runtime) -> None:
    assert ask(hybrid, question).abstained


@pytest.mark.parametrize(("question", "claim_id"), PARAPHRASES)
def test_hybrid_ranks_paraphrases_above_the_lexical_retriever(
    question: str, claim_id: str, hybrid: Runtime, lexical: Runtime
) -> None:
    """The dense leg lifts a claim that shares few words with the question into the first few candidates (the
    answering engine now considers every claim about the question's subject, so both answers may cite it)."""

    def rank(runtime: Runtime) -> int:
        ids = [hit.doc_id for hit in runtime.index.search(question, 40)]
        return ids.index(claim_id) if claim_id in ids else len(ids)

    assert rank(hybrid) < 5 <= rank(lexical)
    assert claim_id in cited(question, hybrid)


def test_second_build_reuses_cached_claim_vectors(pack: KnowledgePack, tmp_path: Path) -> None:
    needs_dense_extra()
    build_claim_index(pack, "hybrid", tmp_path)
    [cache_file] = (tmp_path / "embeddings").glob("*/knowledge-pack-claims.v*.npz")
    written = cache_file.stat().st_mtime_ns
    build_claim_index(pack, "hybrid", tmp_path)
    assert cache_file.stat().st_mtime_ns == written  # read, not recomputed and rewritten


def test_without_the_extra_auto_falls_back_and_says_so(
    pack: KnowledgePack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(claims, "missing_dense_modules", lambda: ["onnxruntime"])
    index, note = build_claim_index(pack, "auto", tmp_path)
    assert index.name == "fts5"
    assert "dense extra is not installed" in note and "ketaguide[dense]" in note
    with pytest.raises(InputError, match=r"hybrid needs the dense extra .*onnxruntime"):
        build_claim_index(pack, "hybrid", tmp_path)


def test_lexical_mode_imports_nothing_heavy(tmp_path: Path) -> None:
    """Cold start: lexical retrieval must not pay for numpy or onnxruntime imports."""
    code = (
        "import sys; from ketaguide.bootstrap import build_runtime; from ketaguide.settings import Settings;"
        f"r = build_runtime(Settings(retriever='lexical', cache_dir={str(tmp_path)!r}));"
        "r.index.search('ketamine bladder', 40);"
        "print(sorted(m for m in ('numpy', 'onnxruntime', 'tokenizers') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_unknown_mode_is_an_input_error(pack: KnowledgePack, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not one of auto, lexical, hybrid"):
        build_claim_index(pack, "semantic", tmp_path)
