"""What every server backend shares: a request timeout, retries with backoff when the server cannot be reached
(never on an answer that is an error: the same request would fail again), and one clear `LLMUnavailable` (503,
naming the backend) when it is down. Nothing is kept between calls, so a server that comes back is used at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx

from service.errors import LLMUnavailable

T = TypeVar("T")
BACKOFF_S = 0.5  # then 1 s, 2 s...: a restarting server gets a few seconds before the request gives up


def with_retries(
    backend: str,
    retries: int,
    call: Callable[[], T],
    unreachable: tuple[type[BaseException], ...] = (),
    timed_out: tuple[type[BaseException], ...] = (),
    refused: tuple[type[BaseException], ...] = (),
) -> T:
    """`call()`, retried on `unreachable` (plus httpx's connection errors) errors. Timeouts are checked first:
    some clients' timeout errors are connection errors too, and a server that is slow is not retried; nor is
    one that `refused` the request with an error (a missing model, a request it does not support)."""
    timed_out = (*timed_out, httpx.TimeoutException)
    unreachable = (*unreachable, httpx.TransportError, ConnectionError)
    refused = (*refused, httpx.HTTPStatusError)
    for attempt in range(retries + 1):
        try:
            return call()
        except timed_out as exc:
            raise LLMUnavailable(f"{backend} did not answer in time: {exc or type(exc).__name__}") from exc
        except unreachable as exc:  # before `refused`: a client's connection errors may be API errors too
            if attempt == retries:
                raise LLMUnavailable(f"{backend} is unreachable: {exc or type(exc).__name__}") from exc
            time.sleep(BACKOFF_S * 2**attempt)
        except refused as exc:
            raise LLMUnavailable(f"{backend} refused the request: {str(exc).splitlines()[0]}") from exc
    raise AssertionError("unreachable")  # the loop returns or raises


def probe(backend: str, url: str, timeout_s: float = 3.0) -> dict[str, object]:
    """A server's health for /readyz: reachable and answering 2xx, or why not."""
    try:
        response = httpx.get(url, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return {"ok": False, "error": f"{backend} is unreachable: {exc or type(exc).__name__}"}
    if response.is_success:
        return {"ok": True}
    return {"ok": False, "error": f"{backend} answered {response.status_code} at {url}"}
