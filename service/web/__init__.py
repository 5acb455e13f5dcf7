"""The playground: a web page served by the API at `/` (issue 14 fills it in)."""

from __future__ import annotations

from fastapi import FastAPI


def mount_playground(app: FastAPI) -> None:
    """Serve the playground's static files on `app` (nothing yet)."""
