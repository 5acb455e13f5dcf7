"""What every surface offers besides asking (run SQL, search and browse the schema, list databases, index,
store feedback), built once over the runtime: the REST routers, the in-process MCP backend and the CLI call
these, so each answer has one shape and one set of rules."""

from __future__ import annotations

import time

from indexer.indexing import IndexSummary, ProgressFactory
from indexer.models import TableInfo
from indexer.schema_docs import Example
from service.errors import BadRequest, NotFound
from service.runtime import Runtime
from service.schemas import (
    DatabaseSummary,
    FeedbackRequest,
    FeedbackResponse,
    MatchedTable,
    SchemaMatches,
    SchemaOverview,
    SqlRequest,
    SqlResponse,
    TableSummary,
)


def database_id(rt: Runtime, requested: str | None) -> str:
    """The database a request names, or the default one; an unknown id fails here (404)."""
    name = requested or rt.settings.default_db
    rt.settings.database(name)
    return name


def run_sql(rt: Runtime, request: SqlRequest) -> SqlResponse:
    started = time.perf_counter()
    checked, rows = rt.run_sql(database_id(rt, request.db), request.sql, request.max_rows or rt.settings.max_rows)
    return SqlResponse(sql=checked.sql, columns=rows.columns, rows=rows.rows, row_count=rows.row_count,
                       truncated=rows.truncated, seconds=round(time.perf_counter() - started, 4))


def search_schema(rt: Runtime, query: str, db: str | None, top: int) -> SchemaMatches:
    name = database_id(rt, db)
    found = rt.searcher.search(name, query, top_tables=top, top_columns=top * 3, top_examples=3)
    return SchemaMatches(
        db=name,
        tables=[MatchedTable(table=t.name, score=t.score, description=t.info.description) for t in found.tables],
        columns=found.columns,
        examples=found.examples,
    )


def schema_overview(rt: Runtime, db: str | None) -> SchemaOverview:
    name = database_id(rt, db)
    catalog = rt.catalog(name)
    tables = catalog.tables.values()
    return SchemaOverview(
        db=name, dialect=catalog.dialect, description=catalog.description or rt.settings.database(name).description,
        tables=[TableSummary(name=t.name, description=t.description, columns=[c.name for c in t.columns],
                             is_view=t.is_view, synonyms=t.synonyms) for t in tables],
        joins=[f"{t.name}.{col} -> {fk.ref_table}.{ref}"
               for t in tables for fk in t.foreign_keys for col, ref in zip(fk.columns, fk.ref_columns, strict=False)],
        glossary=catalog.glossary,
    )


def describe_table(rt: Runtime, db: str | None, table: str) -> TableInfo:
    """A table by name, case-insensitively; a 404 listing the existing tables when there is none."""
    name = database_id(rt, db)
    catalog = rt.catalog(name)
    found = catalog.find(table)
    if found is None:
        raise NotFound("unknown_table", f"no table '{table}' in '{name}'; tables: {', '.join(catalog.tables)}")
    return catalog.tables[found]


def list_databases(rt: Runtime) -> list[DatabaseSummary]:
    indexed = set(rt.store.indexes())
    return [DatabaseSummary(id=name, description=config.description, indexed=name in indexed)
            for name, config in sorted(rt.settings.databases.items())]


def index(rt: Runtime, db: str | None, progress: ProgressFactory | None = None) -> IndexSummary:
    return rt.index(database_id(rt, db), progress)


def give_feedback(rt: Runtime, request: FeedbackRequest) -> FeedbackResponse:
    """Store a verified question/SQL pair (a correction when the answer was wrong); nothing is stored for a
    'wrong' without the right SQL."""
    name = database_id(rt, request.db)
    sql = request.sql if request.correct else request.corrected_sql
    if not sql or not sql.strip():
        if request.correct:
            raise BadRequest("sql: the SQL to store is empty")
        return FeedbackResponse(stored=False, question=request.question, sql=None)
    rt.add_feedback(name, Example(question=request.question.strip(), sql=sql.strip()))
    return FeedbackResponse(stored=True, question=request.question, sql=sql.strip())
