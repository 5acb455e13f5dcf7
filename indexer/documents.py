"""The searchable documents of a database: one per table, one per column, one per verified example."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from indexer import lexical
from indexer.models import ColumnInfo, DatabaseSchema, TableInfo
from indexer.schema_docs import Example, GlossaryTerm, SchemaDocs
from indexer.synonyms import Enricher

Kind = Literal["database", "table", "column", "example"]
_NAMESPACE = uuid.UUID("6f1d2c1e-8a55-4b7e-9a43-0c1f5b0a7d11")


@dataclass
class Document:
    kind: Kind
    key: str  # stable within a database: table name, table.column, or the example's question
    text: str  # what is embedded and matched lexically
    payload: dict[str, Any] = field(default_factory=dict)

    def point_id(self, db_id: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{db_id}\x00{self.kind}\x00{self.key}"))

    def content_hash(self, model: str) -> str:
        blob = json.dumps([model, lexical.VERSION, self.text, self.payload], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


def build_documents(
    schema: DatabaseSchema, docs: SchemaDocs, feedback: list[Example] | None = None
) -> list[Document]:
    glossary = _glossary_by_ref(docs.glossary)
    enricher = Enricher(docs.abbreviations, known_words=_glossary_words(docs.glossary))
    out: list[Document] = []
    for table in schema.tables:
        out.append(_table_document(table, docs, glossary, enricher))
        out.extend(_column_document(table, column, docs, glossary, enricher) for column in table.columns)
    for source, examples in (("docs", docs.examples), ("feedback", feedback or [])):
        out.extend(example_document(e, source) for e in examples)
    return out


def example_document(example: Example, source: str) -> Document:
    return Document(
        kind="example",
        key=example.question.strip().lower(),
        text=example.question,
        payload={"question": example.question, "sql": example.sql, "source": source},
    )


def _table_document(
    table: TableInfo, docs: SchemaDocs, glossary: dict[str, list[GlossaryTerm]], enricher: Enricher
) -> Document:
    doc = docs.table(table.name)
    description = (doc.description if doc else "") or table.comment or ""
    synonyms = (doc.synonyms if doc else []) + _glossary_phrases(glossary.get(table.name.lower(), []))
    column_words = ", ".join(enricher.phrase(c.name) for c in table.columns)
    text = _join(
        f"{'view' if table.is_view else 'table'} {table.name}: {enricher.phrase(table.name)}",
        description,
        "also called " + "; ".join(synonyms) if synonyms else "",
        f"columns: {column_words}",
    )
    documented = replace(
        table,
        description=description,
        synonyms=synonyms,
        columns=[
            replace(c, description=(d.description if d else "") or c.comment or "", unit=d.unit if d else "")
            for c, d in ((c, docs.column(table.name, c.name)) for c in table.columns)
        ],
    )
    return Document("table", table.name, text, {"table": table.name, "info": documented.to_dict()})


def _column_document(
    table: TableInfo,
    column: ColumnInfo,
    docs: SchemaDocs,
    glossary: dict[str, list[GlossaryTerm]],
    enricher: Enricher,
) -> Document:
    doc = docs.column(table.name, column.name)
    description = (doc.description if doc else "") or column.comment or ""
    synonyms = (doc.synonyms if doc else []) + _glossary_phrases(
        glossary.get(f"{table.name}.{column.name}".lower(), [])
    )
    text = _join(
        f"{table.name}.{column.name}: {enricher.phrase(column.name)} of {enricher.phrase(table.name)}",
        f"type {column.type}" if column.type else "",
        description,
        "also called " + "; ".join(synonyms) if synonyms else "",
        "values: " + ", ".join(column.values) if column.values else "",
    )
    payload = {"table": table.name, "column": column.name, "type": column.type, "description": description}
    return Document("column", f"{table.name}.{column.name}", text, payload)


def _glossary_by_ref(glossary: list[GlossaryTerm]) -> dict[str, list[GlossaryTerm]]:
    by_ref: dict[str, list[GlossaryTerm]] = {}
    for term in glossary:
        for ref in term.refs:
            by_ref.setdefault(ref.lower(), []).append(term)
    return by_ref


def _glossary_phrases(terms: list[GlossaryTerm]) -> list[str]:
    return [p for t in terms for p in (t.term, *t.synonyms, t.meaning) if p]


def _glossary_words(glossary: list[GlossaryTerm]) -> set[str]:
    return {w.lower() for t in glossary for w in (t.term, *t.synonyms) if w.isalnum()}


def _join(*parts: str) -> str:
    return ". ".join(p.strip().rstrip(".") for p in parts if p and p.strip())
