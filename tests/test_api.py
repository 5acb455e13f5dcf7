"""The REST API's contract (statuses, errors, auth, validation, queueing, streaming) over a stand-in for the
model (tests/stand_in.py) with everything else real: the demo database, the index, the guard. One end-to-end
test per surface asks the real model: in-process, over the stream, and as a real uvicorn process."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from indexer.schema_docs import Example
from service.api import create_app
from service.feedback import FeedbackStore
from service.runtime import Runtime
from service.settings import DatabaseConfig, Settings
from tests.conftest import REPO, serving
from tests.stand_in import StandInLLM

SLOW_SQL = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
            "SELECT COUNT(*) FROM c")


@pytest.fixture(scope="module")
def stand_in_runtime(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Runtime]:
    llm = StandInLLM({"forever": SLOW_SQL, "nothing": "SELECT nothing FROM nowhere"})
    rt = Runtime(Settings(home=tmp_path_factory.mktemp("api-home")), llm=llm, embedder=embedder)
    rt.index("demo")
    yield rt
    rt.close()


def ready(c: TestClient) -> TestClient:
    deadline = time.time() + 120
    while c.get("/readyz").status_code != 200:
        assert time.time() < deadline, c.get("/readyz").json()
        time.sleep(0.1)
    return c


@pytest.fixture(scope="module")
def client(stand_in_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=stand_in_runtime)) as c:
        yield ready(c)


def error(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["ready"] is True and ready["checks"] == {"model": True, "index": True, "database": True}
    assert ready["backends"] == {"llm": {"ok": True, "backend": "StandInLLM", "model": "stand-in"}}


def test_ask_returns_sql_rows_context_timings_and_tokens(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": "How many subnetworks are there?", "db": "demo"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rows"] == [[4]] and body["executed"] and body["error"] is None
    assert {"retrieve", "prompt", "generate", "validate", "execute"} <= set(body["timings"])
    assert body["context"]["tables"][0]["table"] == "subnetwork"
    assert len(body["attempts"]) == 1


def test_ask_without_execution(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "How many subnetworks are there?", "execute": False}).json()
    assert body["sql"] and not body["executed"] and body["rows"] == []


def test_an_answer_the_model_could_not_produce_is_a_200_with_its_error_kind(client: TestClient, monkeypatch,
                                                                            stand_in_runtime: Runtime) -> None:
    """The documented contract (service/api/routes/ask.py): the request was served, the answer failed."""
    wrong = client.post("/v1/ask", json={"question": "Show nothing at all"})
    assert wrong.status_code == 200
    body = wrong.json()
    assert body["error_kind"] == "unknown_identifier" and body["sql"] is None
    assert len(body["attempts"]) == stand_in_runtime.settings.max_attempts
    monkeypatch.setattr(stand_in_runtime.settings, "query_timeout_s", 0.3)
    slow = client.post("/v1/ask", json={"question": "Count forever"})
    assert slow.status_code == 200 and slow.json()["error_kind"] == "timeout"


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"question": ""}, "question"),
        ({"question": "   "}, "question"),
        ({"question": "x" * 5000}, "question"),
        ({}, "question"),
        ({"question": "How many cells?", "max_rows": 0}, "max_rows"),
    ],
)
def test_bad_questions_are_422(client: TestClient, payload: dict, where: str) -> None:
    response = client.post("/v1/ask", json=payload)
    assert response.status_code == 422
    assert error(response)["type"] == "invalid_request" and where in error(response)["message"]


def test_unknown_database_is_404(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": "How many cells?", "db": "nope"})
    assert response.status_code == 404 and "unknown database 'nope'" in error(response)["message"]


def test_sql_endpoint_runs_valid_sql_and_caps_rows(client: TestClient) -> None:
    response = client.post("/v1/sql", json={"sql": "SELECT name FROM subnetwork ORDER BY name", "max_rows": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rows"] == [["RAN_EAST"], ["RAN_NORTH"]] and body["truncated"] and body["row_count"] == 2


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("DROP TABLE nrcelldu", "read_only"),
        ("SELECT 1; DELETE FROM nrcelldu", "single_statement"),
        ("SELECT bogus FROM nrcelldu", "unknown_column"),
        ("SELECT load_extension('x')", "function_not_allowed"),
    ],
)
def test_refused_sql_is_422_with_the_rule(client: TestClient, sql: str, rule: str) -> None:
    response = client.post("/v1/sql", json={"sql": sql})
    assert response.status_code == 422
    assert error(response)["type"] == "sql_refused" and error(response)["rule"] == rule


def test_slow_query_is_504(client: TestClient, stand_in_runtime: Runtime, monkeypatch) -> None:
    monkeypatch.setattr(stand_in_runtime.settings, "query_timeout_s", 0.5)
    response = client.post("/v1/sql", json={"sql": SLOW_SQL})
    assert response.status_code == 504 and error(response)["type"] == "timeout"


def test_database_down_is_503(client: TestClient, stand_in_runtime, monkeypatch) -> None:
    down = DatabaseConfig(url="postgresql://postgres@127.0.0.1:1/test")
    monkeypatch.setitem(stand_in_runtime.settings.databases, "down", down)
    response = client.post("/v1/index", json={"db": "down"})
    assert response.status_code == 503 and error(response)["type"] == "database_unavailable"
    assert client.get("/healthz").status_code == 200  # the service itself stays up


def test_api_key_is_required_when_set(client: TestClient, stand_in_runtime, monkeypatch) -> None:
    monkeypatch.setattr(stand_in_runtime.settings, "api_key", "s3cret")
    assert client.get("/v1/databases").status_code == 401
    assert client.get("/v1/databases", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/v1/databases", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and ok.json()[0]["id"] == "demo" and ok.json()[0]["indexed"]
    assert client.get("/healthz").status_code == 200  # health stays open for probes


def test_schema_search(client: TestClient) -> None:
    body = client.get("/v1/schema/search", params={"q": "alarm severity", "top": 3}).json()
    assert body["tables"][0]["table"] == "alarmlog"
    assert any(c["column"] == "perceivedseverity" for c in body["columns"])


def test_feedback_is_stored_durably_and_used_as_an_example(client: TestClient, stand_in_runtime) -> None:
    question = "Which managed elements run software version X9?"
    sql = "SELECT name FROM managedelement WHERE swversion = 'X9'"
    response = client.post("/v1/feedback", json={"question": question, "sql": sql, "correct": True})
    assert response.status_code == 200 and response.json()["stored"]
    # durable: a fresh store over the same folder (as after a restart) reads it back
    assert Example(question=question, sql=sql) in FeedbackStore(stand_in_runtime.settings.home / "feedback").examples(
        "demo")
    found = client.get("/v1/schema/search", params={"q": "Which managed elements run software version X9?"}).json()
    assert found["examples"][0]["sql"] == sql
    # and a re-index (as after a restart) keeps it
    assert stand_in_runtime.index("demo").examples == 43
    refused = client.post("/v1/feedback", json={"question": "q", "sql": "DELETE FROM alarmlog", "correct": True})
    assert refused.status_code == 422


def test_stream_sends_stages_tokens_then_the_result(client: TestClient) -> None:
    events = stream_events(client, {"question": "How many subnetworks are there?"})
    kinds = [k for k, _ in events]
    assert kinds[0] == "stage" and "token" in kinds and kinds[-1] == "result"
    stages = [d["stage"] for k, d in events if k == "stage"]
    assert stages == ["retrieve", "prompt", "generate", "validate", "execute"]
    assert events[-1][1]["rows"] == [[4]]


def test_stream_refuses_bad_requests_before_streaming(client: TestClient) -> None:
    response = client.post("/v1/ask/stream", json={"question": "x" * 5000})
    assert response.status_code == 422 and error(response)["type"] == "invalid_request"
    assert client.post("/v1/ask/stream", json={"question": "q", "db": "nope"}).status_code == 404


def stream_events(client: TestClient, body: dict) -> list[tuple[str, dict]]:
    events = []
    with client.stream("POST", "/v1/ask/stream", json=body) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    return events


def test_a_full_queue_answers_503_with_retry_after(stand_in_runtime: Runtime, embedder) -> None:
    slow_model = Runtime(stand_in_runtime.settings.model_copy(update={"queue_size": 0}),  # one answered, none waiting
                         llm=StandInLLM(seconds=1.5), embedder=embedder, store=stand_in_runtime.store)
    with TestClient(create_app(runtime=slow_model)) as c:
        ready(c)
        statuses: list[httpx.Response] = []
        ask = {"question": "How many NR cells are there per vendor and band?", "execute": False}
        threads = [threading.Thread(target=lambda: statuses.append(c.post("/v1/ask", json=ask))) for _ in range(2)]
        for t in threads:
            t.start()
            time.sleep(0.5)
        for t in threads:
            t.join()
    codes = sorted(r.status_code for r in statuses)
    assert codes == [200, 503]
    busy = next(r for r in statuses if r.status_code == 503)
    assert busy.headers["retry-after"] and error(busy)["type"] == "busy"


class SlowToLoad(StandInLLM):
    def warm_up(self, system: str, user: str, prefill: str = "") -> bool:
        time.sleep(3)
        return False


def test_asking_while_the_model_loads_is_503_with_retry_after(stand_in_runtime: Runtime, embedder) -> None:
    loading = Runtime(stand_in_runtime.settings, llm=SlowToLoad(), embedder=embedder, store=stand_in_runtime.store)
    with TestClient(create_app(runtime=loading)) as c:
        response = c.post("/v1/ask", json={"question": "How many subnetworks are there?"})
        assert response.status_code == 503 and error(response)["type"] == "model_loading"
        assert response.headers["retry-after"]
        assert c.get("/readyz").json()["checks"]["model"] is False
        assert ready(c).post("/v1/ask", json={"question": "How many subnetworks are there?"}).status_code == 200


def test_an_index_locked_by_another_process_is_503_saying_what_to_do(tmp_path: Path, embedder) -> None:
    # the stand-in model: a real one would go on loading in the app's start-up thread after this test
    runtime = Runtime(Settings(home=tmp_path, warm_up=False), llm=StandInLLM(), embedder=embedder)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from indexer.vectorstore.qdrant import QdrantStore; "
         "store = QdrantStore(path=__import__('pathlib').Path(sys.argv[1])); print('held', flush=True); time.sleep(60)",
         str(tmp_path / "qdrant")], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with TestClient(create_app(runtime=runtime)) as c:
            response = c.get("/v1/databases")
            holder.kill()
            holder.wait()
            recovered = c.get("/v1/databases")  # the same app, once the other process has let go
    finally:
        holder.kill()
        holder.wait()
        runtime.close()
    assert response.status_code == 503
    body = error(response)
    assert body["type"] == "store_locked" and "in use by another ragsql process" in body["message"]
    assert recovered.status_code == 200 and recovered.json()[0]["id"] == "demo"


def test_unknown_paths_are_json_errors(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404 and error(response)["type"] == "not_found"


def test_openapi_documents_the_endpoints_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/ask", "/v1/ask/stream", "/v1/sql", "/v1/schema/search", "/v1/databases", "/v1/index",
            "/v1/feedback", "/healthz", "/readyz"} <= set(spec["paths"])
    assert "examples" in json.dumps(spec["components"]["schemas"]["AskRequest"])


# --- the real model, end to end -------------------------------------------------------------------------


@pytest.mark.slow
def test_real_model_answers_in_process_and_over_the_stream(demo_runtime, demo_pipeline) -> None:
    with TestClient(create_app(runtime=demo_runtime)) as c:
        ready(c)
        body = c.post("/v1/ask", json={"question": "How many subnetworks are there?"}).json()
        assert body["rows"] == [[4]] and "subnetwork" in body["sql"].lower()
        assert body["tokens"]["cached"] > 0 and body["tokens"]["generated"] > 0
        events = stream_events(c, {"question": "How many managed elements are there?"})
    assert [k for k, _ in events][-1] == "result" and events[-1][1]["rows"] == [[21]]
    assert "".join(d["text"] for k, d in events if k == "token").strip()


@pytest.mark.slow
def test_real_uvicorn_process(tmp_path: Path) -> None:
    with serving("service.cli serve", tmp_path / "home", RAGSQL_WARM_UP="false") as base:
        rows = httpx.post(f"{base}/v1/sql", json={"sql": "SELECT COUNT(*) FROM nrcelldu"}, timeout=30).json()
        assert rows["rows"] == [[39]]
        missing = httpx.post(f"{base}/v1/ask", json={"question": "?", "db": "nope"}, timeout=30)
        assert missing.status_code == 404 and "unknown database" in missing.json()["error"]["message"]
