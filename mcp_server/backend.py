"""What the MCP tools need from ragsql, whether answered in this process or by a running REST API.

Requests and results are the REST API's own models, so both backends (and the API) share one shape and one
set of validation rules; errors carry the API's error type and message whichever backend raised them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

from indexer.models import TableInfo
from service.api import (
    AskRequest,
    FeedbackResponse,
    SchemaOverview,
    SqlRequest,
    SqlResponse,
)
from service.results import AskResult

StageCallback = Callable[[str], Awaitable[None]]  # called with each pipeline stage as it starts


class BackendError(ToolError):
    """A failure the caller can act on (unknown database, refused SQL, model down), as `type: message`.
    A ToolError: the SDK hands it to the client as a tool error with this message, and keeps serving."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind, self.message = kind, message


class DatabaseSummary(BaseModel):
    id: str
    description: str
    indexed: bool


class MatchedTable(BaseModel):
    table: str
    score: float
    description: str


class MatchedColumn(BaseModel):
    table: str
    column: str
    score: float


class MatchedExample(BaseModel):
    question: str
    sql: str
    score: float


class SchemaMatches(BaseModel):
    """The tables, columns and verified examples retrieved for a question (GET /v1/schema/search)."""

    db: str
    tables: list[MatchedTable]
    columns: list[MatchedColumn]
    examples: list[MatchedExample]


class Backend(Protocol):
    """`db=None` everywhere means the backend's default database."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ask(self, request: AskRequest, on_stage: StageCallback) -> AskResult: ...

    async def run_sql(self, request: SqlRequest) -> SqlResponse: ...

    async def search_schema(self, query: str, db: str | None, top: int) -> SchemaMatches: ...

    async def schema_overview(self, db: str | None) -> SchemaOverview: ...

    async def describe_table(self, db: str | None, table: str) -> TableInfo: ...

    async def list_databases(self) -> list[DatabaseSummary]: ...

    async def give_feedback(self, question: str, sql: str, db: str | None) -> FeedbackResponse: ...
