"""Every setting is documented in the README, and bad values are named errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ketaguide.domain.errors import ConfigurationError
from ketaguide.settings import Settings, load_settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"`KETAGUIDE_{name.upper()}`" in README


def test_environment_sets_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KETAGUIDE_RETRIEVER", "lexical")
    monkeypatch.setenv("KETAGUIDE_CACHE_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.retriever == "lexical" and settings.cache_dir == tmp_path


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KETAGUIDE_RETRIEVER", "bm25")
    with pytest.raises(ConfigurationError, match="KETAGUIDE_RETRIEVER") as raised:
        load_settings()
    assert [p.field for p in raised.value.problems] == ["KETAGUIDE_RETRIEVER"]


def test_empty_means_unset_and_home_is_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KETAGUIDE_CACHE_DIR", "")
    assert load_settings().cache_dir == Path.home() / ".cache" / "ketaguide"
    monkeypatch.setenv("KETAGUIDE_CACHE_DIR", "~/kg-cache")
    assert load_settings().cache_dir == Path.home() / "kg-cache"
