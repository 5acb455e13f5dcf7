"""schemathesis against the OpenAPI schema of a real uvicorn process: whatever a client sends, valid for the
schema or not, the API never answers 5xx, and every error is `{"error": {"type", "message"}}`. The server runs
the stand-in model (tests/stand_in_server.py): the inputs, not the model's SQL, are under test here, and each
real answer would cost seconds.

Each operation is driven by its own Hypothesis run, built in the test from the schema the running server
serves (`schemathesis.pytest.from_fixture`, made for that, fails on pytest 9: it sets `Function._nodeid`), with
bounded examples and one time budget for all."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from tests.conftest import serving

pytestmark = pytest.mark.slow

EXAMPLES = 25  # per operation and mode (valid inputs, then invalid ones): 50 per endpoint
FEWER = {"/v1/index": 4}  # each index request naming the demo re-indexes it (seconds)
BUDGET_S = 100  # for everything; past it, the remaining examples are skipped, with a warning


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving("tests.stand_in_server", tmp_path_factory.mktemp("fuzz") / "home", ready_within_s=120) as url:
        yield url


def test_no_input_gets_a_5xx_and_every_error_is_json(server: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    deadline = time.monotonic() + BUDGET_S
    calls: dict[str, int] = {}

    def check(case: schemathesis.Case) -> None:
        if time.monotonic() > deadline:
            return
        response = case.call(base_url=server, timeout=60)
        calls[case.path] = calls.get(case.path, 0) + 1
        where = f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"
        assert response.status_code < 500, f"{where} -> {response.status_code} {response.text}"
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"error"}, f"{where} -> {body}"
            assert all(isinstance(body["error"].get(k), str) for k in ("type", "message")), f"{where} -> {body}"

    operations = [result.ok() for result in schema.get_all_operations()]
    assert {"/v1/ask", "/v1/sql", "/v1/schema/search", "/v1/feedback"} <= {op.path for op in operations}
    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            run = settings(max_examples=FEWER.get(operation.path, EXAMPLES), deadline=None, derandomize=True,
                           database=None, suppress_health_check=list(HealthCheck))(
                given(case=operation.as_strategy(generation_mode=mode))(check))
            try:
                run()
            except Unsatisfiable:  # no invalid input exists (no parameters, or only an optional header)
                assert mode == schemathesis.GenerationMode.NEGATIVE, operation.label
    if time.monotonic() > deadline:  # a busy machine, not a failure of the API: said, not failed
        warnings.warn(f"the fuzzing budget of {BUDGET_S} s ran out; calls made: {calls}", stacklevel=1)
