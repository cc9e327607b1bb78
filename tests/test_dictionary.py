"""General English words are told apart from specialist terms the pack has never seen."""

from __future__ import annotations

from pathlib import Path

import pytest

from ketaguide.knowledge.dictionary import EnglishWords, contains, kept_list

is_dictionary_word = EnglishWords()


@pytest.mark.parametrize("word", ["safe", "teenager", "reversible", "Go"])
def test_ordinary_words(word: str) -> None:
    assert is_dictionary_word(word)


@pytest.mark.parametrize("word", ["semaglutide", "zolpidem", "tirzepatide"])
def test_specialist_terms(word: str) -> None:
    assert not is_dictionary_word(word)


def test_the_list_kept_in_the_cache_folder_gives_the_same_answers(tmp_path: Path) -> None:
    from english_words import get_english_words_set

    listed = sorted(get_english_words_set(["gcide"], lower=True, alpha=True))[::499]  # from "a" on, every 499th
    words = [*listed, *(w + "q" for w in listed), "semaglutide", "zzz", "", "safe\nteenager", "Go"]
    first = EnglishWords(tmp_path)
    assert [first(w) for w in words] == [is_dictionary_word(w) for w in words]
    assert kept_list(tmp_path).is_file()
    again = EnglishWords(tmp_path)  # reads the kept list
    assert [again(w) for w in words] == [is_dictionary_word(w) for w in words]


def test_an_unwritable_cache_folder_is_reported_once_and_the_list_still_answers(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    notices: list[str] = []
    words = EnglishWords(blocked, report=notices.append)
    assert words("safe") and not words("semaglutide")
    assert len(notices) == 1 and "word list cache not written" in notices[0]


@pytest.mark.parametrize("word", ["apple", "banana", "cherry", "a", "zebra", "b", "applf", "", "zz", "ba"])
def test_contains_is_membership_of_the_sorted_lines(word: str) -> None:
    lines = sorted(["apple", "banana", "cherry", "a", "zebra"])
    assert contains("".join(f"{w}\n" for w in lines), word) == (word in lines)
