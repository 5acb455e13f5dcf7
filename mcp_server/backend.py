"""What the MCP tools need from ragsql, whether answered in this process or by a running REST API.

Requests and results are the shared models of `service.schemas`, so both backends (and the API) share one
shape and one set of validation rules; errors carry the API's error type and message whichever backend raised
them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from mcp.server.mcpserver.exceptions import ToolError

from indexer.models import TableInfo
from service.errors import error_body
from service.results import AskResult
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

StageCallback = Callable[[str], Awaitable[None]]  # called with each pipeline stage as it starts


class BackendError(ToolError):
    """A failure the caller can act on (unknown database, refused SQL, model down), as `type: message`.
    A ToolError: the SDK hands it to the client as a tool error with this message, and keeps serving."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind, self.message = kind, message

    @classmethod
    def of(cls, exc: Exception) -> BackendError:
        """The error type and message the REST API gives for `exc`, so both modes report failures alike."""
        if isinstance(exc, BackendError):
            return exc
        error = error_body(exc)
        return cls(error["type"], error["message"])


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

    async def give_feedback(self, request: FeedbackRequest) -> FeedbackResponse: ...
