"""The MCP server: ragsql's tools, schema resources and prompts over a backend (in-process or forwarding)."""

from __future__ import annotations

import hmac
import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any, TypeVar

from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from indexer.models import TableInfo
from mcp_server.backend import Backend, BackendError, StageCallback
from service.results import AskResult
from service.schemas import (
    AskRequest,
    DatabaseSummary,
    FeedbackRequest,
    FeedbackResponse,
    SchemaMatches,
    SqlRequest,
    SqlResponse,
)

M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])

# An agent reads every row it gets back: a smaller default than the REST API's, raised per call when needed.
DEFAULT_ROWS = 100

INSTRUCTIONS = """ragsql answers questions about SQL databases, read-only, with a local model.
Find tables with `search_schema` or the `schema://{db}` resource, check them with `describe_table`, then
`ask` (question -> SQL -> rows) or `generate_sql` and `run_sql`. When the user confirms an answer's SQL is
right, store it with `give_feedback`: similar questions get it as an example. `db` defaults to the server's
default database; `list_databases` shows the others."""

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
# Adds to ragsql's own example store, never to the database; the same pair twice leaves one example.
STORES_EXAMPLE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                                 open_world_hint=False)

Db = Annotated[str | None, Field(description="Database id (see list_databases); the default database when omitted")]
Question = Annotated[str, Field(description="The question in plain language, e.g. 'How many NR cells are locked?'")]
MaxRows = Annotated[int, Field(description="Return at most this many rows; `truncated` says when there were more")]


class StaticToken(TokenVerifier):
    """The one bearer token of `ragsql mcp --http --token` (or RAGSQL_MCP_TOKEN)."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self.token.encode()):
            return AccessToken(token=token, client_id="ragsql", scopes=[])
        return None


def validated(model: type[M], **fields: Any) -> M:
    """A REST request model, so tools and API accept the same input; its first complaint as a tool error."""
    try:
        return model(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ToolError(f"invalid_request: {where}: {first['msg']}") from None


def answered(result: AskResult) -> AskResult:
    """A question the model could not answer (after its self-corrections) is a tool error, not an empty result."""
    if result.error:
        tried = f" Last SQL tried: {result.attempts[-1].sql}" if result.attempts and result.attempts[-1].sql else ""
        raise ToolError(f"{result.error_kind}: could not answer the question: {result.error}.{tried}")
    return result


def documented(register: Callable[..., Callable[[F], F]], *args: Any, **options: Any) -> Callable[[F], F]:
    """Register a tool, resource or prompt with its docstring dedented as the description (the SDK sends
    `__doc__` as it is, indentation included, before Python 3.13)."""

    def apply(fn: F) -> F:
        return register(*args, description=inspect.cleandoc(fn.__doc__ or ""), **options)(fn)

    return apply


def progress_of(ctx: Context) -> StageCallback:
    """Each pipeline stage as a progress notification (a rising count, the stage as its message)."""
    stages = 0

    async def on_stage(stage: str) -> None:
        nonlocal stages
        stages += 1
        await ctx.report_progress(stages, None, stage)

    return on_stage


@contextmanager
def resource_errors() -> Iterator[None]:
    """Backend errors as resource errors: 'not found' for an unknown database or table."""
    try:
        yield
    except BackendError as exc:
        if exc.kind in ("unknown_database", "unknown_table", "not_indexed"):
            raise ResourceNotFoundError(str(exc)) from None
        raise ResourceError(str(exc)) from None


def build_server(backend: Backend, auth_token: str | None = None, url: str = "http://127.0.0.1") -> MCPServer:
    """`auth_token` (streamable HTTP only) makes every request carry `Authorization: Bearer <token>`."""

    @asynccontextmanager
    async def lifespan(server: MCPServer) -> AsyncIterator[None]:
        await backend.start()
        try:
            yield
        finally:
            await backend.close()

    # A bearer token without an OAuth server: the SDK's token check, nothing to advertise (no resource URL).
    verifier = StaticToken(auth_token) if auth_token else None
    auth = AuthSettings(issuer_url=url, resource_server_url=None) if auth_token else None
    mcp = MCPServer("ragsql", title="ragsql: ask your database", instructions=INSTRUCTIONS, version="0.1.0",
                    lifespan=lifespan, token_verifier=verifier, auth=auth)

    @documented(mcp.tool, annotations=READ_ONLY)
    async def ask(question: Question, ctx: Context, db: Db = None, max_rows: MaxRows = DEFAULT_ROWS) -> AskResult:
        """Answer a question about a database: retrieves the relevant schema, writes SQL with a local model,
        validates it (read-only) and runs it. Returns the SQL, columns and rows, with the retrieved context.
        Reports progress through the stages (retrieve, prompt, generate, validate, execute)."""
        request = validated(AskRequest, question=question, db=db, execute=True, max_rows=max_rows)
        return answered(await backend.ask(request, progress_of(ctx)))

    @documented(mcp.tool, annotations=READ_ONLY)
    async def generate_sql(question: Question, ctx: Context, db: Db = None) -> AskResult:
        """Write (and validate) the SQL for a question without running it; `sql` is the answer."""
        request = validated(AskRequest, question=question, db=db, execute=False)
        return answered(await backend.ask(request, progress_of(ctx)))

    @documented(mcp.tool, annotations=READ_ONLY)
    async def run_sql(
        sql: Annotated[str, Field(description="One SELECT statement over the database's tables")],
        db: Db = None,
        max_rows: MaxRows = DEFAULT_ROWS,
    ) -> SqlResponse:
        """Validate SQL (one read-only statement over known tables and columns) and run it read-only."""
        return await backend.run_sql(validated(SqlRequest, sql=sql, db=db, max_rows=max_rows))

    @documented(mcp.tool, annotations=READ_ONLY)
    async def search_schema(
        query: Annotated[str, Field(min_length=1, description="A question or keywords, e.g. 'dropped calls'")],
        db: Db = None,
        top: Annotated[int, Field(ge=1, le=50, description="How many tables (and 3x as many columns)")] = 5,
    ) -> SchemaMatches:
        """The tables, columns and verified example questions most relevant to a question, with scores."""
        return await backend.search_schema(query, db, top)

    @documented(mcp.tool, annotations=READ_ONLY)
    async def describe_table(
        table: Annotated[str, Field(description="Table name (case-insensitive)")], db: Db = None
    ) -> TableInfo:
        """A table's columns (type, primary key, description, unit, sample values), foreign keys, description
        and synonyms."""
        return await backend.describe_table(db, table)

    @documented(mcp.tool, annotations=READ_ONLY)
    async def list_databases() -> list[DatabaseSummary]:
        """The configured databases: id, description and whether they are indexed (answerable)."""
        return await backend.list_databases()

    @documented(mcp.tool, annotations=STORES_EXAMPLE)
    async def give_feedback(
        question: Question,
        sql: Annotated[str, Field(description="SQL the user confirmed answers the question correctly")],
        db: Db = None,
    ) -> FeedbackResponse:
        """Store a verified question/SQL pair (the SQL is validated first); similar questions later get it as
        an example. A later pair for the same question replaces the earlier one."""
        return await backend.give_feedback(validated(FeedbackRequest, question=question, sql=sql, db=db))

    @documented(mcp.resource, "schema://{db}", mime_type="application/json", title="Database schema overview")
    async def schema_resource(db: str) -> str:
        """Every table with its description, columns and synonyms; foreign-key joins; the glossary."""
        with resource_errors():
            return (await backend.schema_overview(db)).model_dump_json(indent=2)

    @documented(mcp.resource, "schema://{db}/{table}", mime_type="application/json", title="Table schema")
    async def table_resource(db: str, table: str) -> str:
        """One table: columns with types, keys, descriptions, units and sample values; foreign keys;
        synonyms."""
        with resource_errors():
            return json.dumps((await backend.describe_table(db, table)).to_dict(), indent=2)

    @documented(mcp.prompt, title="Question to SQL")
    async def text_to_sql(question: str, db: str | None = None) -> str:
        """Answer a question with SQL, step by step with the ragsql tools."""
        overview = await backend.schema_overview(db)
        tables = "\n".join(f"- {t.name}: {t.description}" for t in overview.tables)
        return f"""Answer this question from the `{overview.db}` database with SQL: {question}

Work step by step with the ragsql tools:
1. `search_schema` with the question, then `describe_table` for the tables it finds: check the columns,
   their units and sample values, and the foreign keys to join on.
2. `generate_sql` to draft the SQL (or `ask` to draft and run it at once); check that it uses the right
   tables, joins and filters.
3. `run_sql` to run the final SQL (read-only); if it fails or the rows look wrong, fix it and run it again.
4. Answer with the SQL and a short summary of the rows. If the user confirms the SQL is right, store it
   with `give_feedback`.

Tables of `{overview.db}`:
{tables}"""

    @documented(mcp.prompt, title="Explore a database")
    async def explore_database(db: str | None = None) -> str:
        """Get to know a database: what it holds, how its tables join, what it can answer."""
        overview = await backend.schema_overview(db)
        return f"""Explore the `{overview.db}` database ({overview.dialect}) for me.

1. Read the resource `schema://{overview.db}` (or call `describe_table`) for its tables, joins and glossary.
2. For the most important tables, `run_sql` a small sample (`SELECT * FROM <table> LIMIT 5`).
3. Then explain: what the database holds, its main entities and how they join, units and codes worth
   knowing, and five questions it can answer, each with the SQL that answers it (check each with `run_sql`).

It has {len(overview.tables)} tables: {", ".join(t.name for t in overview.tables)}."""

    return mcp
