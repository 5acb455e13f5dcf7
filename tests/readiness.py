"""Waiting for an app under test to say it is ready (its model loaded and warmed up off the request path)."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient


def wait_ready(client: TestClient, timeout_s: float = 600) -> dict[str, Any]:
    """The /readyz body once it is 200 (the model is loaded and its backend answers)."""
    deadline = time.time() + timeout_s
    while (response := client.get("/readyz")).status_code != 200:
        assert time.time() < deadline, response.json()
        time.sleep(0.5)
    return response.json()
