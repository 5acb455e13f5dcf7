"""What the route handlers take through `Depends`: the runtime, the ask pipeline, the model gate, the API key
check. Each reads `app.state`, which `create_app` fills."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Header, Request

from service.errors import Busy, Unauthorized
from service.runtime import Runtime
from service.startup import PipelineLoader


class ModelGate:
    """Requests that need the model take turns; beyond `queue_size` waiting, the API answers 503 at once
    instead of letting a queue grow without bound."""

    def __init__(self, queue_size: int) -> None:
        self.capacity = queue_size + 1  # the one being answered plus those waiting
        self.active = 0
        self._lock = threading.Lock()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        with self._lock:
            if self.active >= self.capacity:
                raise Busy("the model is busy; retry shortly")
            self.active += 1
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_loader(request: Request) -> PipelineLoader:
    return request.app.state.loader


def get_gate(request: Request) -> ModelGate:
    return request.app.state.gate


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
LoaderDep = Annotated[PipelineLoader, Depends(get_loader)]
GateDep = Annotated[ModelGate, Depends(get_gate)]


def authorize(rt: RuntimeDep, authorization: Annotated[str | None, Header()] = None) -> None:
    key = rt.settings.api_key
    if key and authorization != f"Bearer {key}":
        raise Unauthorized("missing or wrong API key (Authorization: Bearer <key>)")
