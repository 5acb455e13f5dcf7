"""The in-process backend: the ask pipeline, the index and the databases in this process (the default mode)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread

from indexer.models import TableInfo
from indexer.schema_docs import Example
from mcp_server.backend import (
    BackendError,
    DatabaseSummary,
    MatchedColumn,
    MatchedExample,
    MatchedTable,
    SchemaMatches,
    StageCallback,
)
from service.api import (
    ApiError,
    AskRequest,
    FeedbackResponse,
    SchemaOverview,
    SqlRequest,
    SqlResponse,
    error_body,
    find_table,
    schema_overview,
)
from service.pipeline import AskPipeline
from service.results import AskResult
from service.runtime import Runtime
from service.settings import Settings

T = TypeVar("T")
log = logging.getLogger("ragsql.mcp")


def backend_error(exc: Exception) -> BackendError:
    """The REST API's error type and message for an exception, so both modes report failures alike."""
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, ApiError):
        return BackendError(exc.kind, exc.message)
    error = error_body(exc)
    if error["type"] == "internal":
        log.error("unexpected error", exc_info=exc)
    return BackendError(error["type"], error["message"])


class InProcessBackend:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rt = Runtime(settings)
        self._indexed: Future[None] = Future()
        self._pipeline: Future[AskPipeline] = Future()

    async def start(self) -> None:
        # The server answers the editor's handshake at once; indexing and the model load happen meanwhile.
        threading.Thread(target=self._prepare, name="ragsql-prepare", daemon=True).start()

    def _prepare(self) -> None:
        """Index the default database when it never was (a fresh set-up answers at once), then load the
        model and evaluate the default database's prompt prefix."""
        db = self.settings.default_db
        try:
            if db not in self.rt.store.indexes():
                log.info("indexing '%s' (not indexed yet)", db)
                self.rt.index(db)
        except Exception as exc:  # the tools report it when asked; the server keeps running
            log.warning("could not index '%s': %s", db, backend_error(exc))
        self._indexed.set_result(None)
        try:
            pipeline = AskPipeline(self.rt)
        except Exception as exc:
            log.error("the model could not be loaded: %s", exc)
            self._pipeline.set_exception(BackendError("model_unavailable", f"the model could not be loaded: {exc}"))
            return
        if self.settings.warm_up:
            try:
                pipeline.warm_up(db)
            except Exception:  # e.g. not indexed: the first question is simply answered cold
                log.warning("warm-up of '%s' skipped", db, exc_info=True)
        self._pipeline.set_result(pipeline)

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self.rt.close)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work off the event loop, once the start-up indexing is done, with API-style errors."""
        try:
            await anyio.to_thread.run_sync(self._indexed.result)
            return await anyio.to_thread.run_sync(partial(fn, *args))
        except Exception as exc:
            raise backend_error(exc) from exc

    def _db(self, db: str | None) -> str:
        name = db or self.settings.default_db
        self.settings.database(name)  # unknown ids fail here
        return name

    async def ask(self, request: AskRequest, on_stage: StageCallback) -> AskResult:
        name = await self._call(self._db, request.db)  # an unknown database fails before the model is awaited
        if not self._pipeline.done():
            await on_stage("load model")
        pipeline = await self._call(self._pipeline.result)

        def on_event(kind: str, data: dict[str, Any]) -> None:
            if kind == "stage":  # from the pipeline's worker thread back onto the event loop
                anyio.from_thread.run(on_stage, data["stage"])

        return await self._call(pipeline.ask, request.question, name, request.execute, request.max_rows, on_event)

    async def run_sql(self, request: SqlRequest) -> SqlResponse:
        def run() -> SqlResponse:
            return SqlResponse.run(self.rt, self._db(request.db), request.sql, request.max_rows)

        return await self._call(run)

    async def search_schema(self, query: str, db: str | None, top: int) -> SchemaMatches:
        def search() -> SchemaMatches:
            name = self._db(db)
            found = self.rt.searcher.search(name, query, top, top * 3, 3)  # as GET /v1/schema/search
            return SchemaMatches(
                db=name,
                tables=[MatchedTable(table=t.name, score=t.score, description=t.info.description)
                        for t in found.tables],
                columns=[MatchedColumn(table=c.table, column=c.column, score=c.score) for c in found.columns],
                examples=[MatchedExample(question=e.question, sql=e.sql, score=e.score) for e in found.examples],
            )

        return await self._call(search)

    async def schema_overview(self, db: str | None) -> SchemaOverview:
        def overview() -> SchemaOverview:
            name = self._db(db)
            return schema_overview(name, self.rt.catalog(name), self.settings.database(name).description)

        return await self._call(overview)

    async def describe_table(self, db: str | None, table: str) -> TableInfo:
        def describe() -> TableInfo:
            name = self._db(db)
            return find_table(self.rt.catalog(name), name, table)

        return await self._call(describe)

    async def list_databases(self) -> list[DatabaseSummary]:
        def listing() -> list[DatabaseSummary]:
            indexed = set(self.rt.store.indexes())
            return [DatabaseSummary(id=name, description=config.description, indexed=name in indexed)
                    for name, config in sorted(self.settings.databases.items())]

        return await self._call(listing)

    async def give_feedback(self, question: str, sql: str, db: str | None) -> FeedbackResponse:
        def store() -> FeedbackResponse:
            name = self._db(db)
            self.rt.add_feedback(name, Example(question=question.strip(), sql=sql.strip()))
            return FeedbackResponse(stored=True, question=question, sql=sql)

        return await self._call(store)
