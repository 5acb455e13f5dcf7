"""The composition root: builds each backend once from the settings and shares it (CLI, API, MCP, eval)."""

from __future__ import annotations

import threading
from functools import cached_property

import sqlalchemy as sa

from indexer.documents import example_document
from indexer.embedding import Embedder, SentenceTransformerEmbedder
from indexer.example_pool import ExamplePool
from indexer.indexing import IndexSummary, ProgressFactory, embed_documents, index_database
from indexer.schema_docs import Example
from indexer.search import SchemaSearcher
from indexer.vectorstore.qdrant import QdrantStore
from service.catalog import SchemaCatalog
from service.databases import Database, QueryResult, open_database
from service.feedback import FeedbackStore
from service.llm import LLM
from service.llm.factory import build_llm
from service.schema_links import SchemaLinker
from service.settings import Settings
from service.sql_guard import CheckedSQL, check_sql


class Runtime:
    """Each part is built from the settings on first use, unless given: tests and embedders of ragsql inject a
    part (a stand-in model, a shared embedder or store) instead of reaching into the object."""

    def __init__(
        self,
        settings: Settings,
        *,
        llm: LLM | None = None,
        escalation: LLM | None = None,
        embedder: Embedder | None = None,
        store: QdrantStore | None = None,
    ) -> None:
        self.settings = settings
        self._llm, self._embedder, self._store = llm, embedder, store
        self._escalation = escalation
        self._owns_store = store is None  # an injected store belongs to whoever made it
        self._databases: dict[str, Database] = {}
        self._catalogs: dict[str, SchemaCatalog] = {}
        self._samples: dict[tuple[str, str, str], str | None] = {}
        self._lock = threading.RLock()
        self._llm_lock = threading.Lock()  # loading the model takes seconds: it must not hold up the rest

    @property
    def store(self) -> QdrantStore:
        with self._lock:
            if self._store is None:
                s = self.settings
                self._store = QdrantStore(path=s.qdrant_location, url=s.qdrant_url, api_key=s.qdrant_api_key)
            return self._store

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                s = self.settings
                self._embedder = SentenceTransformerEmbedder(
                    s.embedding_model, s.embedding_batch_size, s.embedding_precision)
            return self._embedder

    @property
    def searcher(self) -> SchemaSearcher:
        return SchemaSearcher(self.store, self.embedder)

    @property
    def llm(self) -> LLM:
        with self._llm_lock:
            if self._llm is None:
                self._llm = build_llm(self.settings)
            return self._llm

    @property
    def escalation(self) -> LLM | None:
        """The stronger model hard questions go to (`settings.escalation`), or None."""
        with self._llm_lock:
            if self._escalation is None and self.settings.escalation is not None:
                self._escalation = build_llm(self.settings, self.settings.escalation)
            return self._escalation

    @property
    def llm_loaded(self) -> bool:
        return self._llm is not None

    @cached_property
    def example_pool(self) -> ExamplePool | None:
        """Other databases' question/SQL pairs (`settings.example_pool`), embedded once and cached under home."""
        path = self.settings.example_pool
        return ExamplePool(path, self.embedder, self.settings.home / "cache") if path else None

    @cached_property
    def schema_linker(self) -> SchemaLinker:
        return SchemaLinker(self.embedder.embed)

    @cached_property
    def feedback(self) -> FeedbackStore:
        return FeedbackStore(self.settings.home / "feedback")

    def database(self, db_id: str) -> Database:
        with self._lock:
            if db_id not in self._databases:
                self._databases[db_id] = open_database(db_id, self.settings.database(db_id).url)
            return self._databases[db_id]

    def catalog(self, db_id: str) -> SchemaCatalog:
        self.settings.database(db_id)  # unknown ids fail here, before the store is asked
        with self._lock:
            if db_id not in self._catalogs:
                self._catalogs[db_id] = SchemaCatalog.load(self.store, db_id)
            return self._catalogs[db_id]

    def index(self, db_id: str, progress: ProgressFactory | None = None) -> IndexSummary:
        config = self.settings.database(db_id)
        database = self.database(db_id)
        database.ping()
        summary = index_database(
            db_id, database.engine, database.dialect, config.docs, self.store, self.embedder,
            feedback=self.feedback.examples(db_id), sample_values=self.settings.sample_values,
            progress=progress,
        )
        with self._lock:
            self._catalogs.pop(db_id, None)
            self._samples = {key: value for key, value in self._samples.items() if key[0] != db_id}
        return summary

    def check_sql(self, db_id: str, sql: str, max_rows: int) -> CheckedSQL:
        """Validate SQL against the indexed schema (qualified names only in the indexed schema). The LIMIT
        admits one row beyond `max_rows`, which is how the executor tells that a result was truncated."""
        catalog = self.catalog(db_id)
        return check_sql(sql, catalog.dialect, catalog.column_map(), max_rows + 1,
                         default_schema=self.database(db_id).default_schema(),
                         user_functions=self.settings.database(db_id).allowed_functions)

    def sample_value(self, db_id: str, table: str, column: str) -> str | None:
        """One stored non-null value of a column, as text (how dates are written there), remembered."""
        key = (db_id, table, column)
        if key not in self._samples:
            query = sa.select(sa.column(column)).select_from(sa.table(table)).where(sa.column(column).is_not(None))
            try:
                with self.database(db_id).engine.connect() as conn:
                    value = conn.execute(query.limit(1)).scalar()
            except sa.exc.SQLAlchemyError:  # a hint is not worth a failed answer
                value = None
            self._samples[key] = None if value is None else str(value)
        return self._samples[key]

    def execute(self, db_id: str, checked: CheckedSQL, max_rows: int) -> QueryResult:
        """Read-only execution of validated SQL, within the row, byte and time limits."""
        s = self.settings
        return self.database(db_id).execute(checked.sql, max_rows, s.query_timeout_s,
                                            max_result_bytes=s.max_result_bytes)

    def run_sql(self, db_id: str, sql: str, max_rows: int) -> tuple[CheckedSQL, QueryResult]:
        """Validated, read-only execution of given SQL (REST /v1/sql, MCP run_sql)."""
        checked = self.check_sql(db_id, sql, max_rows)
        return checked, self.execute(db_id, checked, max_rows)

    def add_feedback(self, db_id: str, example: Example) -> None:
        """Store a verified example durably, then make it retrievable at once (no full re-index). Only SQL
        that passes validation is kept."""
        self.check_sql(db_id, example.sql, self.settings.max_rows)
        self.feedback.add(db_id, example)
        self.store.upsert(db_id, embed_documents(db_id, [example_document(example, "feedback")], self.embedder))

    def close(self) -> None:
        if self._owns_store and self._store is not None:
            self._store.close()
