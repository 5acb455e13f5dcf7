"""One indexing run: introspect -> read docs -> enrich -> embed what changed -> store -> switch versions."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from indexer.documents import Document, build_documents
from indexer.embedding import Embedder
from indexer.introspect import introspect
from indexer.lexical import encode_document
from indexer.schema_docs import Example, load_schema_docs
from indexer.vectorstore import StoredPoint, VectorStore

ProgressFactory = Callable[[int], Callable[[int], None]]  # total -> advance(n)


class IndexSummary(BaseModel):
    db: str
    tables: int
    columns: int
    examples: int
    embedded: int = Field(description="Documents embedded this time (new or changed)")
    skipped: int = Field(description="Documents unchanged since the last index")
    removed: int
    seconds: float


def index_database(
    db_id: str,
    engine: Engine,
    dialect: str,
    doc_paths: list[Path],
    store: VectorStore,
    embedder: Embedder,
    feedback: list[Example] | None = None,
    sample_values: int = 8,
    progress: ProgressFactory | None = None,
) -> IndexSummary:
    started = time.perf_counter()
    schema = introspect(engine, dialect, sample_values)
    docs = load_schema_docs(doc_paths, schema)  # raises before anything is written
    documents = build_documents(schema, docs, feedback)
    documents.append(
        Document(
            "database",
            "",
            docs.description,
            {
                "description": docs.description,
                "dialect": dialect,
                "glossary": [t.model_dump() for t in docs.glossary],
            },
        )
    )
    hashes = {d.point_id(db_id): d.content_hash(embedder.name) for d in documents}
    live = store.live_hashes(db_id)
    changed = [d for d in documents if live.get(d.point_id(db_id)) != hashes[d.point_id(db_id)]]
    removed = len(set(live) - set(hashes))

    if changed or removed or not live:
        version = store.create_version(db_id, embedder.dimension)
        try:
            store.copy_points(db_id, version, [pid for pid, h in hashes.items() if live.get(pid) == h])
            store.upsert(version, embed_documents(db_id, changed, embedder, hashes, progress))
            store.publish(db_id, version)
        except BaseException:
            store.discard(version)  # the previous version keeps answering
            raise

    def count(kind: str) -> int:
        return sum(d.kind == kind for d in documents)

    return IndexSummary(
        db=db_id,
        tables=count("table"),
        columns=count("column"),
        examples=count("example"),
        embedded=len(changed),
        skipped=len(documents) - len(changed),
        removed=removed,
        seconds=round(time.perf_counter() - started, 2),
    )


def embed_documents(
    db_id: str,
    documents: list[Document],
    embedder: Embedder,
    hashes: dict[str, str] | None = None,
    progress: ProgressFactory | None = None,
) -> list[StoredPoint]:
    advance = progress(len(documents)) if progress and documents else None
    vectors = embedder.embed([d.text for d in documents], progress=advance)
    return [
        StoredPoint(
            id=d.point_id(db_id),
            dense=vector,
            sparse=encode_document(d.text),
            payload={
                **d.payload,
                "kind": d.kind,
                "key": d.key,
                "text": d.text,
                "hash": (hashes or {}).get(d.point_id(db_id)) or d.content_hash(embedder.name),
            },
        )
        for d, vector in zip(documents, vectors, strict=True)
    ]
