"""The REST API (FastAPI): `create_app` wires the runtime, the start-up loader and the model gate into
`app.state`, includes the routers and maps errors once (`service.api.errors`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.api.deps import ModelGate
from service.api.errors import install_error_handlers
from service.api.routes import ask, feedback, health, schema, sql
from service.runtime import Runtime
from service.settings import Settings
from service.startup import PipelineLoader
from service.web import mount_playground

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """An app over `runtime` (shared, closed by its owner) or over a runtime of its own built from `settings`
    (closed when the app stops)."""
    owns_runtime = runtime is None
    rt = runtime or Runtime(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.loader.start()  # the API answers health checks while the model loads
        yield
        app.state.loader.stop()
        if owns_runtime:
            rt.close()

    app = FastAPI(title="ragsql", version="0.1.0", lifespan=lifespan,
                  description="Ask your database in plain language; answered by a local model, read-only.")
    app.state.runtime = rt
    app.state.loader = PipelineLoader(rt)
    app.state.gate = ModelGate(rt.settings.queue_size)
    for module in (ask, sql, schema, feedback, health):
        app.include_router(module.router)
    mount_playground(app)
    install_error_handlers(app)
    return app
