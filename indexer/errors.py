"""The root of ragsql's error model: every failure a user can act on is a `RagsqlError` that carries its
machine-readable `kind` and its HTTP `status`. It lives in the lowest layer so the indexer's own errors belong
to it; `service.errors` holds the rest and the one mapping each surface (REST, CLI, MCP, eval) uses."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar


class RagsqlError(Exception):
    """A failure reported to the user as `kind: message` (one line), never as a stack trace."""

    kind: ClassVar[str] = "error"
    status: ClassVar[int] = 500
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class SchemaDocsError(RagsqlError):
    """A schema-docs file is broken; the message is `file:line: message`."""

    kind, status = "schema_docs", 422

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")
        self.path, self.line = path, line


class EmptyDatabase(RagsqlError):
    """The database has no tables or views: nothing to index."""

    kind, status = "empty_database", 422


class IndexMissing(RagsqlError):
    """The database has not been indexed (yet)."""

    kind, status = "not_indexed", 409

    def __init__(self, index: str) -> None:
        super().__init__(f"database '{index}' is not indexed yet: run `ragsql index --db {index}`")


class StoreLocked(RagsqlError):
    """Another process holds the embedded Qdrant folder."""

    kind, status = "store_locked", 503


class EmbeddingModelMissing(RagsqlError):
    """The sentence-transformers model is neither a folder nor an installed package."""

    kind, status = "embedding_model_missing", 503
