"""The schema: search it, browse it, list the databases, (re)index one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from indexer.indexing import IndexSummary
from service import operations
from service.api.deps import RuntimeDep, authorize
from service.schemas import DatabaseSummary, IndexRequest, SchemaMatches, SchemaOverview

router = APIRouter(prefix="/v1", tags=["schema"], dependencies=[Depends(authorize)])


@router.get("/schema/search", response_model=SchemaMatches)
async def schema_search(
    rt: RuntimeDep,
    q: Annotated[str, Query(min_length=1, max_length=2000)],
    db: str | None = None,
    top: Annotated[int, Query(ge=1, le=50)] = 5,
) -> SchemaMatches:
    """Tables, columns and examples retrieved for a question, with their scores."""
    return await run_in_threadpool(operations.search_schema, rt, q, db, top)


@router.get("/databases", response_model=list[DatabaseSummary])
async def databases(rt: RuntimeDep) -> list[DatabaseSummary]:
    return await run_in_threadpool(operations.list_databases, rt)


@router.post("/index", response_model=IndexSummary)
async def index(body: IndexRequest, rt: RuntimeDep) -> IndexSummary:
    """(Re)index a database in this process, so the embedded store's lock is never contended."""
    return await run_in_threadpool(operations.index, rt, body.db)


@router.get("/schema", response_model=SchemaOverview)
async def schema_of_database(rt: RuntimeDep, db: str | None = None) -> SchemaOverview:
    """Tables (with their columns, descriptions and synonyms), foreign-key joins and the glossary."""
    return await run_in_threadpool(operations.schema_overview, rt, db)


@router.get("/schema/tables/{table}")
async def schema_of_table(table: str, rt: RuntimeDep, db: str | None = None) -> dict[str, Any]:
    """One table: columns (type, keys, description, unit, sample values), foreign keys, synonyms."""
    return (await run_in_threadpool(operations.describe_table, rt, db, table)).to_dict()
