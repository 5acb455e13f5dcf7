"""Ask: question -> SQL -> rows, as one answer or as a stream of server-sent events.

The contract, the same on every surface: a request that cannot be served (unknown database, not indexed,
model loading or down, bad input, busy) is an HTTP error; an answer the model could not produce (no SQL,
refused or failing SQL after its self-corrections, a query that timed out) is still a 200 `AskResult` whose
`error` and `error_kind` say why, with every attempt. The stream ends in a `result` event in that case too."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from service.api.deps import GateDep, LoaderDep, RuntimeDep, authorize
from service.errors import error_body
from service.operations import database_id
from service.results import AskResult
from service.schemas import AskRequest

router = APIRouter(prefix="/v1", tags=["ask"], dependencies=[Depends(authorize)])


@router.post("/ask", response_model=AskResult)
async def ask(body: AskRequest, rt: RuntimeDep, loader: LoaderDep, gate: GateDep) -> AskResult:
    """Question -> SQL -> rows, with the retrieved context, every attempt, timings and token counts."""
    name = database_id(rt, body.db)
    pipeline = loader.pipeline()
    pipeline.check_question(body.question)
    async with gate.slot():
        return await run_in_threadpool(pipeline.ask, body.question, name, body.execute, body.max_rows)


@router.post("/ask/stream")
async def ask_stream(body: AskRequest, rt: RuntimeDep, loader: LoaderDep, gate: GateDep) -> StreamingResponse:
    """The same as /v1/ask as server-sent events: `stage` events, `token` events, then `result` (or `error`
    when the request itself failed once the stream had started, e.g. the model busy)."""
    name = database_id(rt, body.db)
    pipeline = loader.pipeline()
    pipeline.check_question(body.question)
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def emit(kind: str, data: Any) -> None:
        loop.call_soon_threadsafe(events.put_nowait, (kind, data))

    async def produce() -> None:
        try:
            async with gate.slot():
                result = await run_in_threadpool(
                    pipeline.ask, body.question, name, body.execute, body.max_rows, emit)
            emit("result", result.model_dump())
        except Exception as exc:
            emit("error", error_body(exc))
        emit("end", None)

    async def stream() -> AsyncIterator[str]:
        task = asyncio.create_task(produce())
        while (item := await events.get())[0] != "end":
            kind, data = item
            yield f"event: {kind}\ndata: {json.dumps(data, default=str)}\n\n"
        await task

    return StreamingResponse(stream(), media_type="text/event-stream")
