"""`ragsql mcp`: serve the MCP server over stdio (editors) or streamable HTTP; `ragsql mcp config EDITOR`."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Annotated

import typer

from mcp_server.editor_config import Editor, editor_config
from service.settings import get_settings

if TYPE_CHECKING:
    from mcp_server.backend import Backend

app = typer.Typer(help="Serve ragsql to editors and agents over MCP (stdio by default).",
                  pretty_exceptions_enable=False)

ApiUrl = Annotated[str | None, typer.Option(
    "--api-url", help="Forward every call to this running ragsql REST API (e.g. http://127.0.0.1:8000) instead "
                      "of answering in this process; use it while `ragsql serve` holds the index")]
DbOption = Annotated[str | None, typer.Option("--db", help="Default database id (default: the configured one)")]


@app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    http: Annotated[bool, typer.Option("--http", help="Streamable HTTP at http://HOST:PORT/mcp, not stdio")] = False,
    host: Annotated[str, typer.Option(help="HTTP only")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP only")] = 8765,
    token: Annotated[str | None, typer.Option(
        envvar="RAGSQL_MCP_TOKEN", help="HTTP only: require `Authorization: Bearer TOKEN`")] = None,
    api_url: ApiUrl = None,
    db: DbOption = None,
) -> None:
    """Serve the MCP server: stdio by default (what editors launch); logs go to stderr, never stdout."""
    if ctx.invoked_subcommand is not None:
        return
    from mcp_server.server import build_server  # the SDK and the service load only when serving

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")  # stderr
    if not http:  # stdio: the editor that launched this process is the only client
        build_server(_backend(api_url, db)).run("stdio")
        return
    if not token and host not in ("127.0.0.1", "localhost", "::1"):
        logging.getLogger("ragsql.mcp").warning("serving on %s without a token (--token, RAGSQL_MCP_TOKEN)", host)
    build_server(_backend(api_url, db), auth_token=token, url=f"http://{host}:{port}").run(
        "streamable-http", host=host, port=port)


def _backend(api_url: str | None, db: str | None) -> Backend:
    settings = get_settings()
    if api_url:
        from mcp_server.forwarding import ForwardingBackend

        return ForwardingBackend(api_url, settings.api_key, default_db=db)
    from mcp_server.in_process import InProcessBackend

    return InProcessBackend(settings.model_copy(update={"default_db": db}) if db else settings)


@app.command()
def config(
    editor: Annotated[Editor, typer.Argument(help="cursor (.cursor/mcp.json), claude (claude_desktop_config.json) "
                                                  "or vscode (.vscode/mcp.json)")],
    api_url: ApiUrl = None,
    db: DbOption = None,
) -> None:
    """Print the MCP server entry for EDITOR that launches this installation (absolute paths)."""
    typer.echo(json.dumps(editor_config(editor, get_settings(), api_url, db), indent=2))
