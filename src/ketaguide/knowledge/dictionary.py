"""General English vocabulary, to tell ordinary words from specialist terms the knowledge pack has never seen.

A question word unknown to the pack but in a general dictionary ("safe", "teenager") is ordinary language; one in
neither ("semaglutide", a misspelt drug) names something KetaGuide has no evidence on. The word list is GCIDE (the
GNU Collaborative International Dictionary of English) as shipped by the `english-words` package; it is loaded on
first use only, so questions made of known words pay nothing for it.

The package ships the list as a pickled set of 114,000 words, which takes 20-30 ms to import and unpickle: a large
part of a cold `ketaguide ask` whose question has one unknown word (issue #8). Given a cache folder, the list is
kept there once as sorted text, one word a line, and a lookup is a binary search of that text as read (no set is
built); the answers are the set's.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ketaguide.cache_files import Report, ReportOnce, report_to_stderr, write_atomically

_PACKAGE = "english-words"


class EnglishWords:
    """The GCIDE word list, read on the first lookup (under a lock, so threads share one copy).

    `cache_dir`: keep the list there as sorted text, which later processes read in a fraction of the time; a folder
    that cannot be written is reported once and the package's list is used as before.
    """

    def __init__(self, cache_dir: Path | None = None, report: Report = report_to_stderr) -> None:
        self._lock = threading.Lock()
        self._words: str | None = None
        self._cache_dir = cache_dir
        self._report_once = ReportOnce(report)

    def __call__(self, word: str) -> bool:
        """Whether `word` is a general English dictionary word (any case)."""
        word = word.lower()
        return bool(word) and "\n" not in word and contains(self._load(), word)

    def _load(self) -> str:
        with self._lock:
            if self._words is None:
                self._words = self._read() or self._build()
            return self._words

    def _read(self) -> str | None:
        try:
            words = kept_list(self._cache_dir).read_text(encoding="utf-8") if self._cache_dir is not None else ""
        except (OSError, UnicodeDecodeError):
            return None  # not kept yet, or unreadable: built again
        return words if words.endswith("\n") else None  # an empty or cut file is built again

    def _build(self) -> str:
        from english_words import get_english_words_set

        words = "".join(f"{w}\n" for w in sorted(get_english_words_set(["gcide"], lower=True, alpha=True)))
        if self._cache_dir is not None:
            self._keep(words, self._cache_dir)
        return words

    def _keep(self, words: str, cache_dir: Path) -> None:
        try:
            path = kept_list(cache_dir)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, lambda file: file.write(words.encode("utf-8")))
        except OSError as error:
            self._report_once(f"ketaguide: word list cache not written ({error}); continuing without it")


def kept_list(cache_dir: Path) -> Path:
    """The list's file in `cache_dir`, named by the package's version (a new release may add or drop words)."""
    from importlib import metadata  # already imported by pydantic on the way here; not at import time

    return cache_dir / "words" / f"gcide-alpha-lower-{metadata.version(_PACKAGE)}.txt"


def contains(words: str, word: str) -> bool:
    """Whether `word` is a line of `words`: sorted lines, each ending in a newline (a binary search)."""
    low, high = 0, len(words)  # both at the start of a line (or the end)
    while low < high:
        start = words.rfind("\n", low, (low + high) // 2) + 1 or low
        end = words.index("\n", start)
        line = words[start:end]
        if line == word:
            return True
        if line < word:
            low = end + 1
        else:
            high = start
    return False
