"""The MCP entries for Cursor, Claude Desktop and VS Code that launch this installation's `ragsql mcp`.

Editors start the server from a directory of their choosing (Claude Desktop from its own), so everything is
absolute: the executable, the state folder, the config file."""

from __future__ import annotations

import os
import shutil
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

from service.settings import Settings


class Editor(StrEnum):
    cursor = "cursor"  # .cursor/mcp.json (project) or ~/.cursor/mcp.json
    claude = "claude"  # claude_desktop_config.json (stdio only)
    vscode = "vscode"  # .vscode/mcp.json


def ragsql_executable() -> str:
    """The `ragsql` script of this installation: beside this interpreter (a virtualenv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / "ragsql"
    if beside.is_file():
        return str(beside.absolute())
    found = shutil.which("ragsql")
    return str(Path(found).absolute()) if found else "ragsql"


def server_entry(settings: Settings, api_url: str | None = None, db: str | None = None) -> dict[str, Any]:
    """One stdio server entry: in-process on this installation's state, or forwarding to `api_url`."""
    args = ["mcp", *(["--api-url", api_url] if api_url else []), *(["--db", db] if db else [])]
    env: dict[str, str] = {}
    if api_url:
        if settings.api_key:  # never print the secret itself
            env["RAGSQL_API_KEY"] = "<the API's key>"
    else:
        env["RAGSQL_HOME"] = str(settings.home.absolute())
    config = Path(os.environ.get("RAGSQL_CONFIG", "ragsql.toml"))
    if config.is_file():
        env["RAGSQL_CONFIG"] = str(config.absolute())
    return {"command": ragsql_executable(), "args": args, "env": env}


def editor_config(
    editor: Editor, settings: Settings, api_url: str | None = None, db: str | None = None
) -> dict[str, Any]:
    entry = server_entry(settings, api_url, db)
    if editor is Editor.vscode:
        return {"servers": {"ragsql": {"type": "stdio", **entry}}}
    return {"mcpServers": {"ragsql": entry}}
