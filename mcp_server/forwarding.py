"""The forwarding backend: every call goes to a running ragsql REST API (`--api-url`).

Only the API process opens the embedded Qdrant folder and loads the model, so an editor-launched MCP server
never contends for the index's lock, and several editors share one warm model."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx

from indexer.models import TableInfo
from mcp_server.backend import BackendError, StageCallback
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

log = logging.getLogger("ragsql.mcp")


class ForwardingBackend:
    def __init__(
        self, api_url: str, api_key: str | None = None, default_db: str | None = None, timeout_s: float = 600.0
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.default_db = default_db  # None: the API's own default
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # Answers can wait for the model behind other requests: a long read timeout, a short connect one.
        self._http = httpx.AsyncClient(base_url=self.api_url, headers=headers,
                                       timeout=httpx.Timeout(timeout_s, connect=5.0))

    async def start(self) -> None:
        try:
            await self._get("/healthz")
        except BackendError as exc:  # not fatal: the API may be started after the editor
            log.warning("%s", exc)

    async def close(self) -> None:
        await self._http.aclose()

    @contextmanager
    def _reaching_api(self) -> Iterator[None]:
        try:
            yield
        except httpx.TransportError as exc:
            raise BackendError(
                "api_unreachable",
                f"the ragsql API at {self.api_url} is not reachable ({exc.__class__.__name__}); start it with "
                "`ragsql serve` or drop --api-url to answer in-process",
            ) from None

    def _fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Query parameters or a JSON body: this server's default database where none is named, no nulls."""
        if "db" in fields and not fields["db"]:
            fields = {**fields, "db": self.default_db}
        return {key: value for key, value in fields.items() if value is not None}

    async def _get(self, path: str, **params: Any) -> Any:
        with self._reaching_api():
            response = await self._http.get(path, params=self._fields(params))
        return _json_or_error(response)

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        with self._reaching_api():
            response = await self._http.post(path, json=self._fields(body))
        return _json_or_error(response)

    async def ask(self, request: AskRequest, on_stage: StageCallback) -> AskResult:
        """POST /v1/ask/stream: its `stage` events become progress, its `result` the answer."""
        with self._reaching_api():
            async with self._http.stream("POST", "/v1/ask/stream", json=self._fields(request.model_dump())) as r:
                if r.is_error:
                    await r.aread()
                    _json_or_error(r)
                async for kind, data in _server_sent_events(r):
                    if kind == "stage":
                        await on_stage(data["stage"])
                    elif kind == "result":
                        return AskResult.model_validate(data)
                    elif kind == "error":
                        raise BackendError(data.get("type", "error"), data.get("message", ""))
        raise BackendError("api_error", "the API ended the answer stream without a result")

    async def run_sql(self, request: SqlRequest) -> SqlResponse:
        return SqlResponse.model_validate(await self._post("/v1/sql", request.model_dump()))

    async def search_schema(self, query: str, db: str | None, top: int) -> SchemaMatches:
        return SchemaMatches.model_validate(await self._get("/v1/schema/search", q=query, db=db, top=top))

    async def schema_overview(self, db: str | None) -> SchemaOverview:
        return SchemaOverview.model_validate(await self._get("/v1/schema", db=db))

    async def describe_table(self, db: str | None, table: str) -> TableInfo:
        return TableInfo.from_dict(await self._get(f"/v1/schema/tables/{quote(table, safe='')}", db=db))

    async def list_databases(self) -> list[DatabaseSummary]:
        return [DatabaseSummary.model_validate(d) for d in await self._get("/v1/databases")]

    async def give_feedback(self, request: FeedbackRequest) -> FeedbackResponse:
        return FeedbackResponse.model_validate(await self._post("/v1/feedback", request.model_dump()))


def _json_or_error(response: httpx.Response) -> Any:
    """The body of a success; the API's `{"error": {"type", "message"}}` as a BackendError otherwise."""
    if not response.is_error:
        return response.json()
    try:
        error = response.json()["error"]
        raise BackendError(error["type"], error["message"])
    except (ValueError, KeyError, TypeError):
        raise BackendError("api_error", f"HTTP {response.status_code}: {response.text[:200]}") from None


async def _server_sent_events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    kind, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif not line and data:
            yield kind, json.loads(data)
            kind, data = "message", ""
