"""Liveness and readiness, open without the API key (for probes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from service.api.deps import LoaderDep, RuntimeDep
from service.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(rt: RuntimeDep, loader: LoaderDep) -> JSONResponse:
    """Ready when the model is loaded and its backend answers, the default database indexed and reachable.
    `backends` says what each model backend reports (a server's state, its speculative acceptance rate);
    `warnings` says when the database user can do more than read (a read-only user is the last wall)."""
    checks, warnings = await run_in_threadpool(_backing_checks, rt)
    backends = await run_in_threadpool(_backend_states, rt) if loader.ready else {}
    checks = {"model": loader.ready and all(b["ok"] for b in backends.values()), **checks}
    ready = all(checks.values())
    body = {"ready": ready, "checks": checks, **({"backends": backends} if backends else {}),
            **({"warnings": warnings} if warnings else {})}
    return JSONResponse(body, status_code=200 if ready else 503)


def _backend_states(rt: Runtime) -> dict[str, dict[str, Any]]:
    states = {"llm": rt.llm.health()}
    if rt.escalation is not None:
        states["escalation"] = rt.escalation.health()
    return states


def _backing_checks(rt: Runtime) -> tuple[dict[str, bool], list[str]]:
    name = rt.settings.default_db
    checks = {"index": False, "database": False}
    warnings: list[str] = []
    try:
        checks["index"] = name in rt.store.indexes()
        database = rt.database(name)
        database.ping()
        checks["database"] = True
        warnings = database.privilege_warnings()
    except Exception:  # readiness reports it; the failing part says why on the request that needs it
        pass
    return checks, warnings
