"""Lexical retrieval with SQLite FTS5 (BM25, porter stemming), embedded in Python's sqlite3.

One index class serves the knowledge pack's claims and BEIR benchmark corpora alike: documents are an id plus
named text fields, each field with its own BM25 weight (a title or a quote can count more than body text).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ketaguide.domain.lexicon import Lexicon
from ketaguide.domain.ports import Hit
from ketaguide.retrieval.query import fts_query


@dataclass(frozen=True)
class IndexedDocument:
    doc_id: str
    fields: Mapping[str, str]


class FtsIndex:
    """An FTS5 table over documents with weighted fields; `search` returns BM25 hits, best first."""

    name = "fts5"

    def __init__(
        self,
        field_weights: Mapping[str, float],
        lexicon: Lexicon | None = None,
        path: str = ":memory:",
    ) -> None:
        self.field_weights = dict(field_weights)
        self.lexicon = lexicon
        # check_same_thread=False: read-only after build; the HTTP adapter may query from a worker thread.
        self._db = sqlite3.connect(path, check_same_thread=False)
        columns = ", ".join(self.field_weights)
        self._db.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(doc_id UNINDEXED, {columns}, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        weights = ", ".join(str(w) for w in self.field_weights.values())
        self._sql = f"SELECT doc_id, bm25(docs, 0.0, {weights}) AS s FROM docs WHERE docs MATCH ? ORDER BY s LIMIT ?"

    def add(self, documents: Iterable[IndexedDocument]) -> None:
        placeholders = ", ".join("?" for _ in range(len(self.field_weights) + 1))
        rows = ((d.doc_id, *(d.fields.get(f, "") for f in self.field_weights)) for d in documents)
        with self._db:
            self._db.executemany(f"INSERT INTO docs VALUES ({placeholders})", rows)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM docs").fetchone()[0])

    def search(self, query: str, k: int) -> Sequence[Hit]:
        expression = fts_query(query, self.lexicon)
        if not expression:
            return []
        rows = self._db.execute(self._sql, (expression, k)).fetchall()
        # FTS5's bm25() is lower-is-better; negate so every index ranks higher-is-better.
        return [Hit(doc_id=doc_id, score=-score) for doc_id, score in rows]

    def close(self) -> None:
        self._db.close()
