"""The playground: a web page served by the API at `/` to ask, check and teach, using only the public REST API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def mount_playground(app: FastAPI) -> None:
    """Serve the page at `/` and its assets under `/static/`. Both stay open without the API key: they hold no
    data, and the page asks for the key when a `/v1` call answers 401."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def playground() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})
