"""Run given SQL: validated by the guard, executed read-only."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from service import operations
from service.api.deps import RuntimeDep, authorize
from service.schemas import SqlRequest, SqlResponse

router = APIRouter(prefix="/v1", tags=["sql"], dependencies=[Depends(authorize)])


@router.post("/sql", response_model=SqlResponse)
async def run_sql(body: SqlRequest, rt: RuntimeDep) -> SqlResponse:
    """Validate SQL (read-only, one statement, known tables and columns) and run it read-only."""
    return await run_in_threadpool(operations.run_sql, rt, body)
