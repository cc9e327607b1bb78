"""The composition root: one runtime per caller, content from any folder, a lazy index, a clock that is handed in."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

import ketaguide.retrieval.claims
from ketaguide import KetaGuide
from ketaguide.bootstrap import build_runtime
from ketaguide.domain.errors import ConfigurationError, InputError, KnowledgePackError
from ketaguide.knowledge.loader import content_root
from ketaguide.services.evidence import ask
from ketaguide.services.knowledge import check_pack
from ketaguide.settings import load_settings

BUNDLED = Path(str(content_root()))


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "content"
    shutil.copytree(BUNDLED, copy, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    return copy


def test_a_copy_of_the_content_has_the_same_hash_and_answers(content_copy: Path) -> None:
    copy_settings = load_settings(retriever="lexical", content_dir=content_copy)
    with build_runtime(load_settings(retriever="lexical")) as bundled, build_runtime(copy_settings) as copied:
        assert copied.knowledge.content_hash == bundled.knowledge.content_hash
        assert copied.knowledge.origin == str(content_copy.resolve())
        question = "Does lamotrigine help with ketamine craving?"
        assert ask(copied, question).bottom_line == ask(bundled, question).bottom_line


def test_edited_content_is_what_the_runtime_serves(content_copy: Path) -> None:
    sources = content_copy / "sources.yaml"
    sources.write_text(sources.read_text(encoding="utf-8").replace("version:", "version: edited-", 1), "utf-8")
    with build_runtime(load_settings(retriever="lexical", content_dir=content_copy)) as runtime:
        answer = ask(runtime, "Does lamotrigine help with ketamine craving?")
    assert answer.provenance.content_version.startswith("edited-")
    with build_runtime(load_settings(retriever="lexical")) as bundled:
        assert answer.provenance.content_hash != bundled.knowledge.content_hash


def test_broken_content_is_refused_listing_every_problem(content_copy: Path) -> None:
    claims = next((content_copy / "claims").glob("000_*.yaml"))
    text = claims.read_text(encoding="utf-8")
    claims.write_text(text.replace("start: ", "start: 1", 2), encoding="utf-8")
    problems = check_pack(content_copy)
    assert len(problems) == 2 and all("end - start" in p for p in problems)
    with pytest.raises(KnowledgePackError):
        build_runtime(load_settings(content_dir=content_copy))


def test_broken_clinical_content_stops_an_eager_runtime_at_start(content_copy: Path) -> None:
    dosing = content_copy / "dosing.yaml"
    dosing.write_text(dosing.read_text(encoding="utf-8") + "\nunexpected_key: 1\n", encoding="utf-8")
    with pytest.raises(KnowledgePackError, match=r"dosing\.yaml: unexpected_key"):
        build_runtime(load_settings(retriever="lexical", content_dir=content_copy), eager=True)
    with build_runtime(load_settings(retriever="lexical", content_dir=content_copy)) as lazy:
        assert not ask(lazy, "Is ketamine addictive?").abstained  # a question never reads the care content
        with pytest.raises(KnowledgePackError):
            _ = lazy.knowledge.clinical


def test_a_missing_content_folder_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="KETAGUIDE_CONTENT_DIR"):
        build_runtime(load_settings(content_dir=tmp_path / "absent"))


def test_the_index_is_built_once_on_first_search_and_closed_with_the_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    built = []
    real = ketaguide.retrieval.claims.build_claim_index

    def counting(*args: object, **kwargs: object) -> object:
        built.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ketaguide.retrieval.claims, "build_claim_index", counting)
    with build_runtime(load_settings(retriever="lexical")) as runtime:
        with pytest.raises(InputError, match="question: is empty"):
            ask(runtime, "   ")
        assert built == []  # a bad question is refused before any index (or model) is built
        ask(runtime, "Is ketamine addictive?")
        ask(runtime, "What are the signs of ketamine bladder?")
        assert built == [1]
        index = runtime.index
    with pytest.raises(Exception, match="closed"):
        index.search("ketamine", 5)


def test_provenance_comes_from_the_clock_and_the_content() -> None:
    with build_runtime(load_settings(retriever="lexical"), clock=FixedClock()) as runtime:
        provenance = ask(runtime, "Is ketamine addictive?").provenance
    assert provenance.generated_at == FixedClock().now()
    assert provenance.retriever == "lexical"
    assert provenance.policy_version == runtime.answer_policy.version
    assert provenance.content_hash.startswith("sha256:") and len(provenance.content_hash) == 71


def test_each_runtime_loads_its_own_snapshot() -> None:
    with build_runtime(load_settings(retriever="lexical")) as a, build_runtime(load_settings(retriever="lexical")) as b:
        assert a.knowledge.pack is not b.knowledge.pack
        assert a.knowledge.content_hash == b.knowledge.content_hash


def test_the_facade_answers_and_assesses() -> None:
    with KetaGuide.from_settings(retriever="lexical") as guide:
        answer = guide.ask("Does lamotrigine help with ketamine craving?")
        plan = guide.assess({"age": 30, "sex": "male", "criteria": ["craving", "tolerance"]})
    assert answer.references and not answer.abstained
    assert plan.diagnosis.severity == "mild" and plan.provenance.retriever is None
