"""Lexical retrieval with SQLite FTS5 (BM25, porter stemming), embedded in Python's sqlite3.

One index class serves the knowledge pack's claims and BEIR benchmark corpora alike: documents are an id plus
named text fields, each field with its own BM25 weight (a title or a quote can count more than body text).
Large indexes are scored with numpy over postings read from FTS5 (`postings.py`): the same ranking, faster.
"""

from __future__ import annotations

import importlib.util
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ketaguide.domain.evidence.lexicon import Lexicon
from ketaguide.domain.ports import Hit
from ketaguide.retrieval.query import match_expression, query_phrases

if TYPE_CHECKING:
    from ketaguide.retrieval.postings import Fts5Postings, Fts5Stemmer

TOKENIZE = "'porter unicode61 remove_diacritics 2'"
# Below this many documents SQLite answers in well under a millisecond, and importing numpy (~0.1 s of a
# command's cold start) would cost more than array scoring saves.
ARRAY_SCORING_MIN_DOCS = 1000

Scoring = Literal["auto", "sql", "arrays"]


@dataclass(frozen=True)
class IndexedDocument:
    doc_id: str
    fields: Mapping[str, str]


class FtsIndex:
    """An FTS5 table over documents with weighted fields; `search` returns BM25 hits, best first.

    `scoring`: "sql" asks SQLite's bm25() for every query; "arrays" scores with numpy over the FTS5 postings
    (same scores); "auto" uses arrays for large indexes when numpy is installed.

    Once built, `search` may be called from many threads at once (the HTTP adapter's workers share one index):
    the connection is used under a lock, the arrays are read once under another, and array scoring itself
    runs unlocked. `add` is not meant to run alongside searches.
    """

    name = "fts5"

    def __init__(
        self,
        field_weights: Mapping[str, float],
        lexicon: Lexicon | None = None,
        path: str = ":memory:",
        scoring: Scoring = "auto",
    ) -> None:
        self.field_weights = dict(field_weights)
        self.lexicon = lexicon
        self.scoring: Scoring = scoring
        # check_same_thread=False: the HTTP adapter queries from worker threads; `_db_lock` serialises them, as
        # sqlite3 cursors on one connection share its statement cache and error state.
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db_lock = threading.Lock()
        self._prepare_lock = threading.Lock()
        columns = ", ".join(self.field_weights)
        self._db.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(doc_id UNINDEXED, {columns}, tokenize = {TOKENIZE})"
        )
        weights = ", ".join(str(w) for w in self.field_weights.values())
        self._sql = f"SELECT doc_id, bm25(docs, 0.0, {weights}) AS s FROM docs WHERE docs MATCH ? ORDER BY s LIMIT ?"
        self._arrays: tuple[Fts5Postings, Fts5Stemmer, Any] | None = None
        self._prepared = False

    def add(self, documents: Iterable[IndexedDocument]) -> None:
        placeholders = ", ".join("?" for _ in range(len(self.field_weights) + 1))
        rows = ((d.doc_id, *(d.fields.get(f, "") for f in self.field_weights)) for d in documents)
        with self._db_lock, self._db:
            self._db.executemany(f"INSERT INTO docs VALUES ({placeholders})", rows)
        with self._prepare_lock:
            self._close_arrays()
            self._arrays, self._prepared = None, False

    def __len__(self) -> int:
        with self._db_lock:
            return int(self._db.execute("SELECT count(*) FROM docs").fetchone()[0])

    def uses_arrays(self) -> bool:
        """Whether queries are scored with numpy (see `scoring`)."""
        if self.scoring != "auto":
            return self.scoring == "arrays"
        return importlib.util.find_spec("numpy") is not None and len(self) >= ARRAY_SCORING_MIN_DOCS

    def prepare(self) -> None:
        """Read the postings for array scoring now rather than on the first query (so indexing is timed whole).

        Runs once: threads that search a fresh index together wait here for the first to read the postings.
        """
        if self._prepared:
            return
        with self._prepare_lock:
            if self._prepared:
                return
            if self.uses_arrays():
                self._arrays = self._read_arrays()
            # Set last: a thread that sees `_prepared` without the lock also sees `_arrays`.
            self._prepared = True

    def _read_arrays(self) -> tuple[Fts5Postings, Fts5Stemmer, Any]:
        import numpy as np

        from ketaguide.retrieval.postings import Fts5Postings, Fts5Stemmer

        with self._db_lock:
            postings = Fts5Postings(self._db, "docs", self.field_weights)
            by_rowid = dict(self._db.execute("SELECT rowid, doc_id FROM docs").fetchall())
        # An object array so a query's row positions map to ids in one fancy-indexing step.
        doc_ids = np.array([by_rowid[rowid] for rowid in postings.row_ids], dtype=object)
        return postings, Fts5Stemmer(TOKENIZE), doc_ids

    def search(self, query: str, k: int) -> Sequence[Hit]:
        doc_ids, scores = self.ranked(query, k)
        return list(map(Hit._make, zip(doc_ids, scores, strict=True)))

    def ranked(self, query: str, k: int) -> tuple[list[str], list[float]]:
        """The `k` best document ids and their scores (higher is better): `search` without building hits."""
        phrases = query_phrases(query, self.lexicon)
        if not phrases:
            return [], []
        self.prepare()
        if self._arrays is not None:
            return self._ranked_arrays(phrases, k)
        with self._db_lock:
            rows = self._db.execute(self._sql, (match_expression(phrases), k)).fetchall()
        # FTS5's bm25() is lower-is-better; negate so every index ranks higher-is-better.
        return [doc_id for doc_id, _ in rows], [-score for _, score in rows]

    def _ranked_arrays(self, phrases: list[str], k: int) -> tuple[list[str], list[float]]:
        assert self._arrays is not None
        postings, stemmer, doc_ids = self._arrays
        words = [p.split() for p in phrases]
        terms = iter(stemmer.terms([w for phrase in words for w in phrase]))
        positions, scores = postings.search([[next(terms) for _ in phrase] for phrase in words], k)
        return doc_ids[positions].tolist(), scores

    def _close_arrays(self) -> None:
        if self._arrays is not None:
            self._arrays[1].close()

    def close(self) -> None:
        with self._prepare_lock:
            self._close_arrays()
        with self._db_lock:
            self._db.close()
