"""The error model: every failure a user can act on, with its `kind` and HTTP `status`, and the one mapping
each surface uses (`error_body`: REST, the stream, MCP and the CLIs all say the same `kind: message`).

Errors of the indexer layer (schema docs, empty database, not indexed, store locked, embedding model) are
defined in `indexer.errors` under the same root and re-exported here."""

from __future__ import annotations

from typing import Any, ClassVar

from indexer.errors import (
    EmbeddingModelMissing,
    EmptyDatabase,
    IndexMissing,
    RagsqlError,
    SchemaDocsError,
    StoreLocked,
)

__all__ = [
    "BadRequest",
    "Busy",
    "DatabaseError",
    "DatabaseMisconfigured",
    "DatabaseUnavailable",
    "EmbeddingModelMissing",
    "EmptyDatabase",
    "IndexMissing",
    "LLMUnavailable",
    "ModelLoading",
    "NotFound",
    "QueryFailed",
    "QueryTimeout",
    "RagsqlError",
    "SQLRefused",
    "SchemaDocsError",
    "StoreLocked",
    "Unauthorized",
    "UnknownDatabase",
    "error_body",
    "first_line",
]


class BadRequest(RagsqlError):
    kind, status = "invalid_request", 422


class Unauthorized(RagsqlError):
    kind, status = "unauthorized", 401


class NotFound(RagsqlError):
    """A named thing (a table, an indexed column) that does not exist; `kind` says which."""

    status = 404

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # type: ignore[misc]  # per instance: unknown_table, unknown_column...


class UnknownDatabase(NotFound):
    def __init__(self, db_id: str, known: list[str]) -> None:
        super().__init__("unknown_database", f"unknown database '{db_id}'; configured: {', '.join(known) or 'none'}")
        self.db_id = db_id


class Busy(RagsqlError):
    kind, status = "busy", 503
    headers: ClassVar[dict[str, str]] = {"Retry-After": "5"}


class ModelLoading(RagsqlError):
    kind, status = "model_loading", 503
    headers: ClassVar[dict[str, str]] = {"Retry-After": "10"}


class LLMUnavailable(RagsqlError):
    """The model cannot answer now: its server is down, or its file is missing."""

    kind, status = "model_unavailable", 503


class DatabaseError(RagsqlError):
    """Base of the errors a user's database reports."""

    kind, status = "database_error", 503


class DatabaseMisconfigured(DatabaseError):
    """The configured URL is not one ragsql can open."""

    kind = "database_config"


class DatabaseUnavailable(DatabaseError):
    """Cannot connect: server down, wrong address or credentials, missing file."""

    kind = "database_unavailable"


class QueryTimeout(DatabaseError):
    """The statement ran past its time limit and was cancelled."""

    kind, status = "timeout", 504


class QueryFailed(DatabaseError):
    """The database rejected the statement (syntax, unknown name, write refused...)."""

    kind, status = "query_failed", 422


class SQLRefused(RagsqlError):
    """The guard refused a statement; `rule` is machine-readable, `reason` one sentence for humans."""

    kind, status = "sql_refused", 422

    def __init__(self, rule: str, reason: str, identifier: str | None = None) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason
        self.identifier = identifier  # the unknown column's bare name, for a correction hint


def error_body(exc: BaseException) -> dict[str, Any]:
    """`{"type", "message"}` (and `rule` for a refusal) for a RagsqlError; anything else is internal and
    says only that, its details staying in the server log."""
    if not isinstance(exc, RagsqlError):
        return {"type": "internal", "message": "internal error; see the server log"}
    body: dict[str, Any] = {"type": exc.kind, "message": exc.message}
    if isinstance(exc, SQLRefused):
        body["rule"] = exc.rule
    return body


def first_line(exc: BaseException) -> str:
    """An exception's first non-blank line (drivers and parsers print several)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
