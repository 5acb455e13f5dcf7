"""Errors on the REST API, mapped once: `{"error": {"type", "message"}}` with the error's own status, never
a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from service.errors import RagsqlError, error_body

log = logging.getLogger("ragsql.api")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RagsqlError)
    async def known(request: Request, exc: RagsqlError) -> JSONResponse:
        return JSONResponse({"error": error_body(exc)}, exc.status, exc.headers or None)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p != "body")
        message = f"{where}: {first['msg']}" if where else first["msg"]
        return JSONResponse({"error": {"type": "invalid_request", "message": message}}, 422)

    @app.exception_handler(HTTPException)
    async def http(request: Request, exc: HTTPException) -> JSONResponse:  # unknown paths, wrong methods
        kind = "not_found" if exc.status_code == 404 else "http_error"
        return JSONResponse({"error": {"type": kind, "message": str(exc.detail)}}, exc.status_code, exc.headers)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": error_body(exc)}, 500)
