"""The REST API (FastAPI): ask, stream, run SQL, search the schema, index, feedback, health."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, field_validator

from indexer.models import TableInfo
from indexer.schema_docs import Example
from service.catalog import SchemaCatalog
from service.errors import RagsqlError, error_body
from service.pipeline import AskPipeline
from service.results import AskResult
from service.runtime import Runtime
from service.settings import Settings, get_settings
from service.web import mount_playground

T = TypeVar("T")
log = logging.getLogger("ragsql.api")


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.headers = status, kind, message, headers


class ModelGate:
    """Requests that need the model take turns; beyond `queue_size` waiting, the API answers 503 at once
    instead of letting a queue grow without bound."""

    def __init__(self, queue_size: int) -> None:
        self.capacity = queue_size + 1  # the one being answered plus those waiting
        self.active = 0
        self._lock = threading.Lock()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        with self._lock:
            if self.active >= self.capacity:
                raise ApiError(503, "busy", "the model is busy; retry shortly", {"Retry-After": "5"})
            self.active += 1
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1


# --- request and response bodies -------------------------------------------------------------------------

class AskRequest(BaseModel):
    question: str = Field(min_length=1, examples=["How many NR cells are locked?"])
    db: str | None = Field(None, description="Database id; the configured default when absent", examples=["demo"])
    execute: bool = True
    max_rows: int | None = Field(None, ge=1, le=100_000)

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question is empty")
        limit = get_settings().max_question_chars
        if len(value) > limit:
            raise ValueError(f"question is longer than {limit} characters")
        return value.strip()


class SqlRequest(BaseModel):
    sql: str = Field(min_length=1, examples=["SELECT COUNT(*) FROM nrcelldu"])
    db: str | None = Field(None, examples=["demo"])
    max_rows: int | None = Field(None, ge=1, le=100_000)


class SqlResponse(BaseModel):
    sql: str
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    seconds: float

    @classmethod
    def run(cls, rt: Runtime, db_id: str, sql: str, max_rows: int | None) -> SqlResponse:
        started = time.perf_counter()
        checked, rows = rt.run_sql(db_id, sql, max_rows or rt.settings.max_rows)
        return cls(sql=checked.sql, columns=rows.columns, rows=rows.rows, row_count=rows.row_count,
                   truncated=rows.truncated, seconds=round(time.perf_counter() - started, 4))


class IndexRequest(BaseModel):
    db: str | None = Field(None, examples=["demo"])


class FeedbackRequest(BaseModel):
    question: str = Field(min_length=1, examples=["How many NR cells are locked?"])
    sql: str = Field(min_length=1, examples=["SELECT COUNT(*) FROM nrcelldu WHERE administrativestate = 'LOCKED'"])
    correct: bool = True
    corrected_sql: str | None = None
    db: str | None = Field(None, examples=["demo"])


class FeedbackResponse(BaseModel):
    stored: bool
    question: str
    sql: str | None


# --- schema browsing: shapes shared by the REST API and the MCP server (schema resources, describe_table) -----

class TableSummary(BaseModel):
    name: str
    description: str
    columns: list[str]
    is_view: bool
    synonyms: list[str]


class SchemaOverview(BaseModel):
    db: str
    dialect: str
    description: str
    tables: list[TableSummary]
    joins: list[str] = Field(description="Foreign keys as 'table.column -> table.column'")
    glossary: list[dict[str, Any]] = Field(description="Business terms from the schema docs")


def schema_overview(db_id: str, catalog: SchemaCatalog, fallback_description: str = "") -> SchemaOverview:
    tables = catalog.tables.values()
    return SchemaOverview(
        db=db_id, dialect=catalog.dialect, description=catalog.description or fallback_description,
        tables=[TableSummary(name=t.name, description=t.description, columns=[c.name for c in t.columns],
                             is_view=t.is_view, synonyms=t.synonyms) for t in tables],
        joins=[f"{t.name}.{col} -> {fk.ref_table}.{ref}"
               for t in tables for fk in t.foreign_keys for col, ref in zip(fk.columns, fk.ref_columns, strict=False)],
        glossary=catalog.glossary,
    )


def find_table(catalog: SchemaCatalog, db_id: str, name: str) -> TableInfo:
    """A table by name, case-insensitively; a 404 listing the existing tables when there is none."""
    found = catalog.find(name)
    if found is None:
        raise ApiError(404, "unknown_table", f"no table '{name}' in '{db_id}'; tables: {', '.join(catalog.tables)}")
    return catalog.tables[found]


# --- the app -------------------------------------------------------------------------------------------

def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    owns_runtime = runtime is None
    rt = runtime or Runtime(settings or get_settings())
    gate = ModelGate(rt.settings.queue_size)
    pipeline: dict[str, AskPipeline] = {}

    def load_model() -> None:
        try:
            runner = AskPipeline(rt)
            if rt.settings.warm_up:
                try:
                    runner.warm_up(rt.settings.default_db)
                except Exception:  # e.g. not indexed yet: the first question is simply answered cold
                    log.warning("warm-up of '%s' skipped", rt.settings.default_db, exc_info=True)
            pipeline["ask"] = runner
        except Exception as exc:  # readyz reports it; /v1/ask answers 503 with the reason
            pipeline["error"] = exc  # type: ignore[assignment]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loader = threading.Thread(target=load_model, name="model-loader", daemon=True)
        loader.start()  # the API answers health checks while the model loads
        yield
        if owns_runtime:
            rt.close()

    app = FastAPI(title="ragsql", version="0.1.0", lifespan=lifespan,
                  description="Ask your database in plain language; answered by a local model, read-only.")

    def authorize(authorization: Annotated[str | None, Header()] = None) -> None:
        key = rt.settings.api_key
        if key and authorization != f"Bearer {key}":
            raise ApiError(401, "unauthorized", "missing or wrong API key (Authorization: Bearer <key>)")

    def db_id(requested: str | None) -> str:
        name = requested or rt.settings.default_db
        rt.settings.database(name)
        return name

    def ask_pipeline() -> AskPipeline:
        if "ask" in pipeline:
            return pipeline["ask"]
        if "error" in pipeline:
            raise ApiError(503, "model_unavailable", f"the model could not be loaded: {pipeline['error']}")
        raise ApiError(503, "model_loading", "the model is still loading", {"Retry-After": "10"})

    async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await run_in_threadpool(partial(fn, *args, **kwargs))

    v1 = [Depends(authorize)]

    @app.post("/v1/ask", response_model=AskResult, dependencies=v1, tags=["ask"])
    async def ask(body: AskRequest) -> AskResult:
        """Question -> SQL -> rows, with the retrieved context, every attempt, timings and token counts."""
        name = db_id(body.db)
        runner = ask_pipeline()
        async with gate.slot():
            result = await off_loop(runner.ask, body.question, name, body.execute, body.max_rows)
        if result.error_kind == "timeout":
            raise ApiError(504, "timeout", result.error or "query timed out")
        return result

    @app.post("/v1/ask/stream", dependencies=v1, tags=["ask"])
    async def ask_stream(body: AskRequest) -> StreamingResponse:
        """The same as /v1/ask as server-sent events: `stage` events, `token` events, then `result`."""
        name = db_id(body.db)
        runner = ask_pipeline()
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def emit(kind: str, data: Any) -> None:
            loop.call_soon_threadsafe(events.put_nowait, (kind, data))

        async def produce() -> None:
            try:
                async with gate.slot():
                    result = await off_loop(runner.ask, body.question, name, body.execute, body.max_rows, emit)
                emit("result", result.model_dump())
            except ApiError as exc:
                emit("error", {"type": exc.kind, "message": exc.message})
            except Exception as exc:
                emit("error", error_body(exc))
            emit("end", None)

        async def stream() -> AsyncIterator[str]:
            task = asyncio.create_task(produce())
            while (item := await events.get())[0] != "end":
                kind, data = item
                yield f"event: {kind}\ndata: {json.dumps(data, default=str)}\n\n"
            await task

        return StreamingResponse(stream(), media_type="text/event-stream")

    @app.post("/v1/sql", response_model=SqlResponse, dependencies=v1, tags=["sql"])
    async def run_sql(body: SqlRequest) -> SqlResponse:
        """Validate SQL (read-only, one statement, known tables and columns) and run it read-only."""
        return await off_loop(SqlResponse.run, rt, db_id(body.db), body.sql, body.max_rows)

    @app.get("/v1/schema/search", dependencies=v1, tags=["schema"])
    async def schema_search(
        q: Annotated[str, Query(min_length=1, max_length=2000)],
        db: str | None = None,
        top: Annotated[int, Query(ge=1, le=50)] = 5,
    ) -> dict[str, Any]:
        """Tables, columns and examples retrieved for a question, with their scores."""
        name = db_id(db)
        found = await off_loop(rt.searcher.search, name, q, top, top * 3, 3)
        return {
            "db": name,
            "tables": [{"table": t.name, "score": t.score, "description": t.info.description} for t in found.tables],
            "columns": [{"table": c.table, "column": c.column, "score": c.score} for c in found.columns],
            "examples": [{"question": e.question, "sql": e.sql, "score": e.score} for e in found.examples],
        }

    @app.get("/v1/databases", dependencies=v1, tags=["schema"])
    async def databases() -> list[dict[str, Any]]:
        indexed = set(await off_loop(rt.store.indexes))
        return [{"id": name, "description": cfg.description, "indexed": name in indexed}
                for name, cfg in sorted(rt.settings.databases.items())]

    @app.post("/v1/index", dependencies=v1, tags=["schema"])
    async def index(body: IndexRequest) -> dict[str, Any]:
        """(Re)index a database in this process, so the embedded store's lock is never contended."""
        summary = await off_loop(rt.index, db_id(body.db))
        return summary.__dict__

    @app.post("/v1/feedback", response_model=FeedbackResponse, dependencies=v1, tags=["feedback"])
    async def feedback(body: FeedbackRequest) -> FeedbackResponse:
        """Store a verified question/SQL pair; the next similar question gets it as an example."""
        name = db_id(body.db)
        sql = body.sql if body.correct else body.corrected_sql
        if not sql:
            return FeedbackResponse(stored=False, question=body.question, sql=None)
        await off_loop(rt.add_feedback, name, Example(question=body.question.strip(), sql=sql.strip()))
        return FeedbackResponse(stored=True, question=body.question, sql=sql)

    # --- schema browsing (the MCP server's --api-url mode reads its schema resources here) ---

    @app.get("/v1/schema", response_model=SchemaOverview, dependencies=v1, tags=["schema"])
    async def schema_of_database(db: str | None = None) -> SchemaOverview:
        """Tables (with their columns, descriptions and synonyms), foreign-key joins and the glossary."""
        name = db_id(db)
        return schema_overview(name, await off_loop(rt.catalog, name), rt.settings.database(name).description)

    @app.get("/v1/schema/tables/{table}", dependencies=v1, tags=["schema"])
    async def schema_of_table(table: str, db: str | None = None) -> dict[str, Any]:
        """One table: columns (type, keys, description, unit, sample values), foreign keys, synonyms."""
        name = db_id(db)
        return find_table(await off_loop(rt.catalog, name), name, table).to_dict()

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        name = rt.settings.default_db
        checks = {"model": "ask" in pipeline}
        try:
            checks["index"] = name in await off_loop(rt.store.indexes)
            await off_loop(rt.database(name).ping)
            checks["database"] = True
        except Exception:
            checks.setdefault("index", False)
            checks["database"] = False
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    mount_playground(app)
    _install_error_handlers(app)
    return app


# --- errors: a clear JSON message and a proper status, never a stack trace ----------------------------------

def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": {"type": exc.kind, "message": exc.message}}, exc.status, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p != "body")
        message = f"{where}: {first['msg']}" if where else first["msg"]
        return JSONResponse({"error": {"type": "invalid_request", "message": message}}, 422)

    @app.exception_handler(RagsqlError)
    async def known(request: Request, exc: RagsqlError) -> JSONResponse:
        return JSONResponse({"error": error_body(exc)}, exc.status, exc.headers or None)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": error_body(exc)}, 500)
