"""The MCP server with real clients: the SDK's client against `ragsql mcp` as a subprocess, over stdio
(in-process: its own index and the real model) and over streamable HTTP with a bearer token (forwarding to
the REST API, served here from the session's model), and the MCP Inspector CLI from npm."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from mcp_server.editor_config import ragsql_executable
from service.api import create_app
from service.runtime import Runtime
from service.settings import Settings
from tests.conftest import free_port
from tests.stand_in import StandInLLM

RAGSQL = ragsql_executable()
INSPECTOR = "@modelcontextprotocol/inspector@0.15.0"  # the last version that runs on Node 20
TOOLS = {"ask", "generate_sql", "run_sql", "search_schema", "describe_table", "list_databases", "give_feedback"}
QUESTION = "How many managed elements are there?"  # 21 in the demo database
ANSWER_S = 600  # a cold first answer on 2 shared cores: model load, then the whole prompt evaluated


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def server_env(home: Path) -> dict[str, str]:
    """A server of its own: its own state folder (embedded Qdrant allows one process per folder), no config."""
    return {"RAGSQL_HOME": str(home), "RAGSQL_CONFIG": str(home / "absent.toml"), "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_VERBOSITY": "error", "RAGSQL_WARM_UP": "false"}


def wait_until(ready: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready after {seconds} s")


@asynccontextmanager
async def stdio_client(params: StdioServerParameters) -> AsyncIterator[Client]:
    """The SDK client on a server subprocess; anything on its stdout that is not protocol fails the test."""
    stray: list[Exception] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            stray.append(message)

    async with Client(params, message_handler=on_message, read_timeout_seconds=120) as client:
        yield client
    assert not stray, f"non-protocol output on stdout: {stray}"


# --- what every mode and transport must answer alike --------------------------------------------------------

async def check_listings(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for name, tool in tools.items():
        assert tool.description and tool.output_schema, name
        assert tool.annotations and tool.annotations.idempotent_hint, name
        assert tool.annotations.read_only_hint is (name != "give_feedback"), name
    assert "progress" in tools["ask"].description
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert templates == {"schema://{db}", "schema://{db}/{table}"}
    assert {"text_to_sql", "explore_database"} <= {p.name for p in (await client.list_prompts()).prompts}


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return result.structured_content


async def check_schema_tools(client: Client) -> None:
    assert (await call(client, "list_databases"))["result"][0] == {
        "id": "demo", "description": "Telecom network-performance demo database (3GPP-style managed objects)",
        "indexed": True}
    found = await call(client, "search_schema", query="locked NR cells", top=3)
    assert found["db"] == "demo" and found["tables"][0]["table"] == "nrcelldu"
    table = await call(client, "describe_table", table="NRCELLDU")  # names match case-insensitively
    assert table["name"] == "nrcelldu" and {"id", "administrativestate"} <= {c["name"] for c in table["columns"]}
    assert any(fk["ref_table"] == "gnbdufunction" for fk in table["foreign_keys"])
    rows = await call(client, "run_sql", sql="SELECT COUNT(*) FROM managedelement", max_rows=5)
    assert rows["rows"] == [[21]] and rows["truncated"] is False

    overview = json.loads((await client.read_resource("schema://demo")).contents[0].text)
    assert len(overview["tables"]) == 10 and "nrcelldu.gnbdufunction_id -> gnbdufunction.id" in overview["joins"]
    columns = json.loads((await client.read_resource("schema://demo/nrcelldu")).contents[0].text)["columns"]
    assert next(c for c in columns if c["name"] == "administrativestate")["values"]  # sample values
    prompt = await client.get_prompt("text_to_sql", {"question": QUESTION})
    assert QUESTION in prompt.messages[0].content.text and "- managedelement:" in prompt.messages[0].content.text
    explore = await client.get_prompt("explore_database", {"db": "demo"})
    assert "schema://demo" in explore.messages[0].content.text


async def check_errors(client: Client) -> None:
    """Clear tool errors, and the server keeps answering after each."""
    expected = {
        ("run_sql", "unknown_database: unknown database 'nope'; configured: demo"):
            {"sql": "SELECT 1", "db": "nope"},
        ("run_sql", "sql_refused: only SELECT queries are allowed"): {"sql": "DELETE FROM managedelement"},
        ("describe_table", "unknown_table: no table 'nope' in 'demo'"): {"table": "nope"},
        ("ask", "invalid_request: question"): {"question": "   "},
    }
    for (tool, message), arguments in expected.items():
        result = await client.call_tool(tool, arguments)
        assert result.is_error and message in result.content[0].text, result.content
    with pytest.raises(MCPError, match="unknown database 'nope'"):
        await client.read_resource("schema://nope")
    assert (await call(client, "run_sql", sql="SELECT COUNT(*) FROM subnetwork"))["rows"] == [[4]]


async def check_answers(client: Client) -> None:
    progress: list[tuple[float, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, message))

    result = await client.call_tool("ask", {"question": QUESTION}, read_timeout_seconds=ANSWER_S,
                                    progress_callback=on_progress)
    assert not result.is_error, result.content
    answer = result.structured_content
    assert answer["rows"] == [[21]] and answer["executed"] and "managedelement" in answer["sql"].lower()
    stages = [message for _, message in progress]
    assert {"retrieve", "generate", "validate", "execute"} <= set(stages), stages
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)  # progress only rises

    drafted = await client.call_tool("generate_sql", {"question": "How many subnetworks are there?"},
                                     read_timeout_seconds=ANSWER_S)
    assert not drafted.is_error, drafted.content
    assert "subnetwork" in drafted.structured_content["sql"].lower() and not drafted.structured_content["executed"]

    stored = await call(client, "give_feedback", question="Which vendors supply the managed elements?",
                        sql="SELECT DISTINCT vendor FROM managedelement")
    assert stored["stored"] is True
    found = await call(client, "search_schema", query="Which vendors supply the managed elements?")
    assert found["examples"][0]["sql"] == "SELECT DISTINCT vendor FROM managedelement"
    refused = await client.call_tool("give_feedback", {"question": "q", "sql": "SELECT nope FROM managedelement"})
    assert refused.is_error and "sql_refused" in refused.content[0].text


# --- no model ---------------------------------------------------------------------------------------------------

def test_editor_config_launches_this_installation(tmp_path: Path) -> None:
    def config(*args: str) -> dict[str, Any]:
        out = subprocess.run([RAGSQL, "mcp", "config", *args], capture_output=True, text=True, check=True,
                             cwd=tmp_path, env={"RAGSQL_HOME": "state", "PATH": ""})
        return json.loads(out.stdout)

    claude = config("claude")["mcpServers"]["ragsql"]
    assert Path(claude["command"]).is_absolute() and Path(claude["command"]).is_file()
    assert claude["args"] == ["mcp"] and claude["env"] == {"RAGSQL_HOME": str((tmp_path / "state").resolve())}
    vscode = config("vscode", "--api-url", "http://127.0.0.1:8000", "--db", "demo")["servers"]["ragsql"]
    assert vscode["type"] == "stdio" and vscode["args"] == ["mcp", "--api-url", "http://127.0.0.1:8000", "--db", "demo"]


@pytest.mark.slow
@pytest.mark.anyio
async def test_unreachable_api_is_a_tool_error_and_the_server_keeps_running(tmp_path: Path) -> None:
    params = StdioServerParameters(command=RAGSQL, args=["mcp", "--api-url", f"http://127.0.0.1:{free_port()}"],
                                   env=server_env(tmp_path), cwd=tmp_path)
    async with stdio_client(params) as client:
        for _ in range(2):
            result = await client.call_tool("list_databases", {})
            assert result.is_error and "api_unreachable: the ragsql API at" in result.content[0].text
        assert set(t.name for t in (await client.list_tools()).tools) == TOOLS


# --- in-process over stdio: the default, what an editor launches --------------------------------------------

@pytest.mark.slow
@pytest.mark.anyio
async def test_stdio_in_process_server(tmp_path: Path) -> None:
    """One server process: it indexes the demo database on start (a fresh state folder) and loads the model."""
    params = StdioServerParameters(command=RAGSQL, args=["mcp"], env=server_env(tmp_path), cwd=tmp_path)
    async with stdio_client(params) as client:
        await check_listings(client)
        await check_schema_tools(client)
        await check_errors(client)
        await check_answers(client)


# --- forwarding to the REST API over streamable HTTP, and the MCP Inspector -------------------------------------

@pytest.fixture(scope="module")
def rest_api(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[str]:
    """The REST API in a thread of this process on an index of its own, answered by a stand-in for the model:
    what is under test here is forwarding and the MCP clients (the stdio test asks the real model)."""
    stand_in = StandInLLM({"managed elements": "SELECT COUNT(*) FROM managedelement",
                           "nothing": "SELECT nothing FROM nowhere"})
    rt = Runtime(Settings(home=tmp_path_factory.mktemp("mcp-api-home")), embedder=embedder, llm=stand_in)
    rt.index("demo")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime=rt), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{url}/readyz").status_code == 200, 600, "the REST API")  # model warmed up
    yield url
    server.should_exit = True
    thread.join(30)


@pytest.fixture
def http_mcp(rest_api: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [RAGSQL, "mcp", "--http", "--port", str(port), "--api-url", rest_api],
        env={**os.environ, **server_env(tmp_path), "RAGSQL_MCP_TOKEN": "s3cret"}, cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        wait_until(lambda: httpx.post(url, json={}).status_code == 401, 60, "the MCP HTTP server")
        yield url
    finally:
        process.terminate()
        process.wait(30)


@pytest.mark.slow
@pytest.mark.anyio
async def test_streamable_http_forwarding_server_with_bearer_token(http_mcp: str) -> None:
    refused = httpx.post(http_mcp, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                         headers={"Authorization": "Bearer wrong", "Accept": "application/json, text/event-stream"})
    assert refused.status_code == 401
    authorized = httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret"},
                                    timeout=httpx2.Timeout(30, read=ANSWER_S))
    async with authorized, Client(streamable_http_client(http_mcp, http_client=authorized),
                                  read_timeout_seconds=120) as client:
        await check_listings(client)
        await check_schema_tools(client)
        await check_errors(client)
        await check_answers(client)
        unanswered = await client.call_tool("ask", {"question": "Show nothing at all"})
        assert unanswered.is_error and "unknown_identifier: could not answer" in unanswered.content[0].text


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("npx") is None, reason="the MCP Inspector needs Node.js (npx)")
def test_mcp_inspector_cli_lists_tools_and_asks(rest_api: str, tmp_path: Path) -> None:
    """The Inspector launches the server from the entry `ragsql mcp config cursor` prints, as an editor would."""
    entry = subprocess.run([RAGSQL, "mcp", "config", "cursor", "--api-url", rest_api], capture_output=True,
                           text=True, check=True, cwd=tmp_path).stdout
    (tmp_path / "mcp.json").write_text(entry)

    def inspector(*args: str) -> dict[str, Any]:
        command = ["npx", "-y", INSPECTOR, "--cli", "--config", "mcp.json", "--server", "ragsql", *args]
        out = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=ANSWER_S)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    assert {t["name"] for t in inspector("--method", "tools/list")["tools"]} == TOOLS
    answer = inspector("--method", "tools/call", "--tool-name", "ask", "--tool-arg", f"question={QUESTION}")
    assert not answer.get("isError") and answer["structuredContent"]["rows"] == [[21]], answer
