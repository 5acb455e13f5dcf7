"""Retrieval over an index: the tables, columns and examples most relevant to a question."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from indexer.documents import Document
from indexer.embedding import Embedder
from indexer.lexical import encode_query
from indexer.models import TableInfo
from indexer.vectorstore import VectorStore

# A table is relevant when its own document matches or when several of its columns do.
_COLUMN_WEIGHT = 0.5
_COLUMNS_PER_TABLE = 3


@dataclass
class ScoredTable:
    name: str
    score: float
    info: TableInfo


class ScoredColumn(BaseModel):
    """A column retrieved for a question: the same shape in the search, an answer's context and the APIs."""

    table: str
    column: str
    score: float
    reason: str = Field("retrieved", description="retrieved, or join (a key joining two retrieved tables)")


class ScoredExample(BaseModel):
    question: str
    sql: str
    score: float
    source: str = Field(description="docs (the schema docs' examples), feedback (verified by a user) or pool "
                        "(another database's, for its SQL pattern)")


@dataclass
class SearchResult:
    tables: list[ScoredTable]
    columns: list[ScoredColumn]
    examples: list[ScoredExample] = field(default_factory=list)


class SchemaSearcher:
    def __init__(self, store: VectorStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def search(
        self,
        db_id: str,
        question: str,
        top_tables: int = 5,
        top_columns: int = 20,
        top_examples: int = 3,
        example_min_score: float = 0.0,
    ) -> SearchResult:
        """Examples are matched by meaning alone and kept only when close enough: a near-paraphrase helps the
        model, a loosely related one mostly costs prompt tokens."""
        dense = self.embedder.embed([question])[0]
        sparse = encode_query(question)
        names = ["table", "column"]  # full table payloads are fetched for the winners only
        table_hits = self.store.search(db_id, dense, sparse, "table", max(top_tables * 4, 20), names)
        column_hits = self.store.search(db_id, dense, sparse, "column", max(top_columns * 2, 40), names)
        example_hits = (
            self.store.nearest(db_id, dense, "example", top_examples, example_min_score) if top_examples else []
        )

        scores = {h.payload["table"]: h.score for h in table_hits}
        per_table: dict[str, list[float]] = {}
        for hit in column_hits:
            per_table.setdefault(hit.payload["table"], []).append(hit.score)
        for table, column_scores in per_table.items():
            bonus = _COLUMN_WEIGHT * sum(sorted(column_scores, reverse=True)[:_COLUMNS_PER_TABLE])
            scores[table] = scores.get(table, 0.0) + bonus
        ranked = sorted(scores, key=lambda t: -scores[t])[:top_tables]
        ids = [Document("table", t, "").point_id(db_id) for t in ranked]
        payloads = {p["table"]: p for p in self.store.retrieve(db_id, "table", ids)}
        tables = [
            ScoredTable(t, round(scores[t], 4), TableInfo.from_dict(payloads[t]["info"]))
            for t in ranked
            if t in payloads
        ]
        columns = [
            ScoredColumn(table=h.payload["table"], column=h.payload["column"], score=round(h.score, 4))
            for h in column_hits[:top_columns]
        ]
        return SearchResult(
            tables=tables,
            columns=columns + _join_keys(tables, {(c.table, c.column) for c in columns}),
            examples=[
                ScoredExample(question=h.payload["question"], sql=h.payload["sql"], score=round(h.score, 4),
                              source=h.payload["source"])
                for h in example_hits
            ],
        )


def _join_keys(tables: list[ScoredTable], have: set[tuple[str, str]]) -> list[ScoredColumn]:
    """The foreign-key columns that join the retrieved tables to each other, both ends. A question rarely
    names them (`student_id`, `address_id`), so they seldom match it, yet the SQL needs them to join."""
    names = {t.name.lower(): t.name for t in tables}
    out: list[ScoredColumn] = []
    for table in tables:
        for fk in table.info.foreign_keys:
            ref_table = names.get(fk.ref_table.lower())
            if ref_table is None:
                continue
            for column, ref_column in zip(fk.columns, fk.ref_columns, strict=False):
                for key in ((table.name, column), (ref_table, ref_column)):
                    if key[1] and key not in have:
                        have.add(key)
                        out.append(ScoredColumn(table=key[0], column=key[1], score=0.0, reason="join"))
    return out
