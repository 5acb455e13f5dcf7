"""Request and response bodies shared by every surface: the REST API, the MCP tools and the CLI. Shapes only;
what builds them from the runtime is in `service.operations`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from indexer.search import ScoredColumn, ScoredExample


class AskRequest(BaseModel):
    question: str = Field(min_length=1, examples=["How many NR cells are locked?"])
    db: str | None = Field(None, description="Database id; the configured default when absent", examples=["demo"])
    execute: bool = True
    max_rows: int | None = Field(None, ge=1, le=100_000)

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        # Its length limit is a setting, checked where the question enters the pipeline.
        if not value.strip():
            raise ValueError("question is empty")
        return value.strip()


class SqlRequest(BaseModel):
    sql: str = Field(min_length=1, examples=["SELECT COUNT(*) FROM nrcelldu"])
    db: str | None = Field(None, examples=["demo"])
    max_rows: int | None = Field(None, ge=1, le=100_000)


class SqlResponse(BaseModel):
    sql: str = Field(description="The statement that ran: validated, row limit applied")
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    seconds: float


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


class DatabaseSummary(BaseModel):
    id: str
    description: str
    indexed: bool


class MatchedTable(BaseModel):
    table: str
    score: float
    description: str


class SchemaMatches(BaseModel):
    """The tables, columns and verified examples retrieved for a question."""

    db: str
    tables: list[MatchedTable]
    columns: list[ScoredColumn]
    examples: list[ScoredExample]


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
