"""The service's commands (index, inspect, search, ask, serve). The `ragsql` entry (`ragsql.py`, at the
top) adds `eval` and `mcp` to these: a lower layer never imports a higher one."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from indexer.documents import Document
from service import operations
from service.errors import NotFound, RagsqlError
from service.runtime import Runtime
from service.settings import get_settings

app = typer.Typer(help="ragsql: ask your database in plain language, answered by a local model.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)

DbOption = Annotated[str | None, typer.Option("--db", help="Database id (default: the configured default)")]


@contextmanager
def user_errors() -> Iterator[None]:
    """A failure a user can fix (every RagsqlError) as one line on stderr and exit status 1, never a trace."""
    try:
        yield
    except RagsqlError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None


@contextmanager
def runtime() -> Iterator[Runtime]:
    with user_errors():
        rt = Runtime(get_settings())
        try:
            yield rt
        finally:
            rt.close()


def _progress(description: str) -> Callable[[int], Callable[[int], None]]:
    def start(total: int) -> Callable[[int], None]:
        bar = tqdm(total=total, desc=description, unit="doc", file=sys.stderr, leave=False)
        return bar.update

    return start


@app.command()
def index(
    db: DbOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Index every configured database")] = False,
    show: Annotated[str | None, typer.Option(help="Then print the enriched text of TABLE or TABLE.COLUMN")] = None,
) -> None:
    """Index a database's schema and docs (only what changed is embedded again)."""
    with runtime() as rt:
        ids = sorted(rt.settings.databases) if all_ else [db or rt.settings.default_db]
        for db_id in ids:
            s = rt.index(db_id, progress=_progress(f"embedding {db_id}"))
            console.print(
                f"[bold]{s.db}[/bold]: {s.tables} tables, {s.columns} columns, {s.examples} examples; "
                f"{s.embedded} documents embedded, {s.skipped} unchanged, {s.removed} removed "
                f"in {s.seconds:.1f} s"
            )
        if show:
            _show(rt, ids[0], show)


def _show(rt: Runtime, db_id: str, name: str) -> None:
    kind = "column" if "." in name else "table"
    payloads = rt.store.retrieve(db_id, kind, [Document(kind, name, "").point_id(db_id)])
    if not payloads:  # keys are stored as written in the database: try a case-insensitive match
        payloads = [p for p in rt.store.payloads(db_id, kind) if p["key"].lower() == name.lower()]
    if not payloads:
        raise NotFound(f"unknown_{kind}", f"no {kind} '{name}' in the index of '{db_id}'")
    console.print(payloads[0]["text"], highlight=False, soft_wrap=True)


@app.command()
def inspect(
    name: Annotated[str, typer.Argument(help="TABLE or TABLE.COLUMN")],
    db: DbOption = None,
) -> None:
    """Print the enriched search text of a table or column, as indexed."""
    with runtime() as rt:
        _show(rt, db or rt.settings.default_db, name)


@app.command()
def search(
    question: str,
    db: DbOption = None,
    top: Annotated[int, typer.Option(help="How many tables")] = 5,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the tables and columns retrieved for a question, with their scores."""
    with runtime() as rt:
        result = operations.search_schema(rt, question, db, top)
        if as_json:  # the shape of GET /v1/schema/search
            console.print_json(result.model_dump_json())
            return
        tables = Table("table", "score", "description", title=f"tables for: {question}")
        for t in result.tables:
            tables.add_row(t.table, f"{t.score:.4f}", t.description[:70])
        console.print(tables)
        columns = Table("column", "score", "reason", title="columns")
        for c in result.columns:
            columns.add_row(f"{c.table}.{c.column}", f"{c.score:.4f}", c.reason)
        console.print(columns)


@app.command()
def ask(
    question: str,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result as JSON")] = False,
    execute: Annotated[bool, typer.Option(help="Run the SQL (read-only)")] = True,
) -> None:
    """Answer a question in-process: SQL and its rows."""
    from service.pipeline import AskPipeline

    with runtime() as rt:
        result = AskPipeline(rt).ask(question, operations.database_id(rt, db), execute=execute)
        if as_json:
            console.print_json(result.model_dump_json())
            return
        console.print(f"[bold]SQL:[/bold] {result.sql or '-'}", highlight=False)
        if result.error:
            err.print(f"[red]error ({result.error_kind}):[/red] {result.error}", highlight=False)
            raise typer.Exit(1)
        if result.executed:
            rows = Table(*result.columns)
            for row in result.rows[:50]:
                rows.add_row(*("" if v is None else str(v) for v in row))
            console.print(rows)
            more = " (truncated)" if result.truncated else ""
            console.print(f"{result.row_count} rows{more}; {sum(result.timings.values()):.2f} s")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: settings.host")] = None,
    port: Annotated[int | None, typer.Option(help="Default: settings.port")] = None,
    index_first: Annotated[bool, typer.Option("--index/--no-index", help="Index the default database first")] = True,
) -> None:
    """Serve the REST API (index the default database first, so a fresh set-up answers at once)."""
    import uvicorn

    from service.api import create_app

    settings = get_settings()
    rt = Runtime(settings)
    try:
        if index_first:
            with user_errors():  # a bad set-up is one line, before the server starts
                s = rt.index(settings.default_db, progress=_progress(f"embedding {settings.default_db}"))
            console.print(f"indexed {s.db}: {s.tables} tables, {s.embedded} embedded, {s.skipped} unchanged")
        uvicorn.run(create_app(runtime=rt), host=host or settings.host, port=port or settings.port)
    finally:
        rt.close()


model_app = typer.Typer(help="The generation model: serve ragsql's own weights through another backend.",
                        no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("ollama-import")
def ollama_import(
    host: Annotated[str, typer.Option(help="The Ollama server")] = "http://127.0.0.1:11434",
    name: Annotated[str | None, typer.Option(help="Model name in Ollama (default: the ollama settings' model)")] = None,
    model: Annotated[str | None, typer.Option(help="Packaged model (default: the llama.cpp settings' model)")] = None,
    modelfile_only: Annotated[bool, typer.Option(help="Only write the Modelfile, for `ollama create -f`")] = False,
    if_configured: Annotated[bool, typer.Option(
        help="Do nothing unless the settings' backend is Ollama (the compose job, under every profile)")] = False,
) -> None:
    """Create an Ollama model from ragsql's GGUF (the same weights as llama.cpp in-process) and write its
    Modelfile beside the GGUF."""
    from service.llm.model_files import packaged_model_file
    from service.llm.ollama import import_model, modelfile
    from service.settings import LlamaCppConfig, OllamaConfig

    settings = get_settings()
    if if_configured and not isinstance(settings.llm, OllamaConfig):
        console.print(f"the configured backend is {settings.llm.kind}, not ollama: nothing to import")
        return
    config = settings.llm if isinstance(settings.llm, LlamaCppConfig) else LlamaCppConfig()
    target = name or (settings.llm.model if isinstance(settings.llm, OllamaConfig) else
                      OllamaConfig.model_fields["model"].default)
    with user_errors():
        gguf = config.model_path or packaged_model_file(model or config.model, config.model_cache)
        path = gguf.with_suffix(".Modelfile")
        path.write_text(modelfile(gguf))
        console.print(f"wrote {path}")
        if not modelfile_only:
            import_model(host, target, gguf)
            console.print(f"created Ollama model '{target}' at {host} from {gguf.name}")


if __name__ == "__main__":
    app()
