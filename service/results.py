"""What an ask returns: one shape for the pipeline, the REST API, the MCP tools and the eval harness."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from indexer.search import ScoredColumn, ScoredExample


class RetrievedTable(BaseModel):
    table: str
    score: float
    reason: str = Field("retrieved", description="retrieved, join (links two retrieved tables) or whole-schema")


class RetrievedContext(BaseModel):
    tables: list[RetrievedTable] = []
    columns: list[ScoredColumn] = []
    examples: list[ScoredExample] = []
    patterns: list[ScoredExample] = Field([], description="Other databases' examples with a similar question")
    prompt_tables: list[str] = Field([], description="Tables whose definitions the prompt carried")
    values: list[str] = Field([], description="Values the question mentions, linked to the columns holding them")
    links: list[str] = Field([], description="Question words that mean a table or column, with its name")
    terms: list[str] = Field([], description="Glossary terms the question uses or that explain its best columns")


class Attempt(BaseModel):
    sql: str | None
    error: str | None = None
    error_kind: str | None = Field(None, description="no_sql, parse, refused, unknown_identifier, runtime, timeout")
    rule: str | None = Field(None, description="The SQL guard's rule, when it refused the SQL (read_only, ...)")
    raw: str = Field("", description="The model's raw answer")
    model: str = Field("", description="The model that wrote it")
    logprob_mean: float | None = Field(None, description="Mean log-probability of its tokens, where the model gives it")
    doubt: str | None = Field(None, description="Why this answer, which ran, earned one more attempt")
    repaired_sql: str | None = Field(
        None, description="The SQL after a deterministic repair of the model's: a column moved to the one table of "
        "its SELECT that has it or respelled as the schema spells it, a join condition comparing a column with "
        "itself replaced by the foreign key"
    )


class Tokens(BaseModel):
    prompt: int = 0
    cached: int = 0
    generated: int = 0
    drafted: int = Field(0, description="Speculative decoding: tokens drafted (a server's counters move with every "
                         "answer it serves meanwhile)")
    accepted: int = Field(0, description="Of the drafted tokens, those the model confirmed")


class AskResult(BaseModel):
    question: str
    db: str
    sql: str | None = Field(None, description="The final SQL (validated, row limit applied)")
    columns: list[str] = []
    rows: list[list[Any]] = []
    row_count: int = 0
    truncated: bool = False
    executed: bool = False
    error: str | None = None
    error_kind: str | None = None
    model: str | None = Field(None, description="The model whose answer this is")
    escalated: str | None = Field(None, description="Why the question went to the escalation model, if it did")
    attempts: list[Attempt] = []
    candidates_agreeing: int | None = Field(
        None, description="Of the candidate answers drafted (`candidates` > 1), how many returned the chosen rows")
    context: RetrievedContext = RetrievedContext()
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage")
    tokens: Tokens = Tokens()
