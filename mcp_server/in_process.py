"""The in-process backend: the ask pipeline, the index and the databases in this process (the default mode).
It answers through `service.operations` and starts up through `service.startup`, as the REST API does."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread

from indexer.models import TableInfo
from mcp_server.backend import BackendError, StageCallback
from service import operations
from service.results import AskResult
from service.runtime import Runtime
from service.schemas import (
    AskRequest,
    DatabaseSummary,
    FeedbackRequest,
    FeedbackResponse,
    SchemaMatches,
    SchemaOverview,
    SqlRequest,
    SqlResponse,
)
from service.settings import Settings
from service.startup import PipelineLoader

T = TypeVar("T")
log = logging.getLogger("ragsql.mcp")


class InProcessBackend:
    def __init__(self, settings: Settings, runtime: Runtime | None = None) -> None:
        self.rt = runtime or Runtime(settings)
        self._owns_runtime = runtime is None
        # An editor's server may be the first thing a user runs: it indexes the default database when needed.
        self.loader = PipelineLoader(self.rt, index_if_missing=True)

    async def start(self) -> None:
        self.loader.start()  # the server answers the editor's handshake at once

    async def close(self) -> None:
        if self._owns_runtime:
            await anyio.to_thread.run_sync(self.rt.close)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work off the event loop, once the start-up indexing is done, with API-style errors."""
        try:
            await anyio.to_thread.run_sync(self.loader.indexed.wait)
            return await anyio.to_thread.run_sync(partial(fn, *args))
        except Exception as exc:
            if not isinstance(exc, BackendError) and BackendError.of(exc).kind == "internal":
                log.error("unexpected error", exc_info=exc)
            raise BackendError.of(exc) from exc

    async def ask(self, request: AskRequest, on_stage: StageCallback) -> AskResult:
        name = await self._call(operations.database_id, self.rt, request.db)  # fails before the model is awaited
        if not self.loader.loaded.is_set():
            await on_stage("load model")
        pipeline = await self._call(self.loader.wait)

        def on_event(kind: str, data: dict[str, Any]) -> None:
            if kind == "stage":  # from the pipeline's worker thread back onto the event loop
                anyio.from_thread.run(on_stage, data["stage"])

        return await self._call(pipeline.ask, request.question, name, request.execute, request.max_rows, on_event)

    async def run_sql(self, request: SqlRequest) -> SqlResponse:
        return await self._call(operations.run_sql, self.rt, request)

    async def search_schema(self, query: str, db: str | None, top: int) -> SchemaMatches:
        return await self._call(operations.search_schema, self.rt, query, db, top)

    async def schema_overview(self, db: str | None) -> SchemaOverview:
        return await self._call(operations.schema_overview, self.rt, db)

    async def describe_table(self, db: str | None, table: str) -> TableInfo:
        return await self._call(operations.describe_table, self.rt, db, table)

    async def list_databases(self) -> list[DatabaseSummary]:
        return await self._call(operations.list_databases, self.rt)

    async def give_feedback(self, request: FeedbackRequest) -> FeedbackResponse:
        return await self._call(operations.give_feedback, self.rt, request)
