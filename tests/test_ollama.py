"""The Ollama backend. No Ollama server can be installed here: against a real one only when OLLAMA_HOST names it
(skipped otherwise, saying so); else against a STAND-IN, named as such (`OllamaStandIn`, a few lines of HTTP that
record what the client sent and answer canned SQL): what is under test with it is the shape of ragsql's
requests (a raw templated prompt with the prefilled fence, temperature 0, the seed, num_ctx set from the
prompt's token count, keep-alive), streaming into the SSE stream, the 503 when the server is down and the
recovery, and `ragsql model ollama-import` (blob upload, template, Modelfile)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.api import create_app
from service.cli import app
from service.errors import BadRequest, LLMUnavailable
from service.llm.model_files import packaged_model_file
from service.llm.ollama import CTX_STEP, OllamaLLM
from service.pipeline import AskPipeline
from service.runtime import Runtime
from service.settings import MODEL_CACHE, OllamaConfig
from tests.conftest import free_port
from tests.readiness import wait_ready
from tests.stand_in import COUNT_SUBNETWORKS

TOKENIZER = "qwen2.5-coder-0.5b"  # the family's vocabulary, as small as it comes
PREFILL = "```sql\n"


class OllamaStandIn:
    """A stand-in for an Ollama server (not Ollama): records each request body and answers /api/generate with
    `answer`, streamed in three pieces as Ollama's NDJSON, with its counters and log-probabilities."""

    def __init__(self, port: int | None = None, answer: str = COUNT_SUBNETWORKS + "\n") -> None:
        self.requests: list[tuple[str, Any]] = []
        self.blobs: dict[str, str] = {}  # digest claimed in the URL -> sha256 of the bytes received
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._send({"version": "stand-in"} if self.path == "/api/version" else {"models": []})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                if self.path.startswith("/api/blobs/"):
                    digest, remaining = hashlib.sha256(), length
                    while remaining:
                        chunk = self.rfile.read(min(remaining, 1 << 24))
                        digest.update(chunk)
                        remaining -= len(chunk)
                    stand_in.blobs[self.path.rsplit("/", 1)[1]] = f"sha256:{digest.hexdigest()}"
                    self.send_response(201)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                body = json.loads(self.rfile.read(length) or b"{}")
                stand_in.requests.append((self.path, body))
                if self.path == "/api/generate":
                    third = len(answer) // 3
                    pieces = [answer[:third], answer[third:2 * third], answer[2 * third:]]
                    lines = [{"response": p, "done": False, "logprobs": [{"token": p, "logprob": -0.1}]}
                             for p in pieces]
                    lines.append({"response": "", "done": True, "prompt_eval_count": 10, "eval_count": 3})
                    self._send("".join(json.dumps(x) + "\n" for x in lines), "application/x-ndjson")
                else:
                    self._send({"status": "success"})

            def _send(self, body: Any, kind: str = "application/json") -> None:
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(200)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.host = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def generated(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path == "/api/generate"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in() -> Iterator[OllamaStandIn]:
    server = OllamaStandIn()
    yield server
    server.close()


def backend(host: str, **options: Any) -> OllamaLLM:
    return OllamaLLM(OllamaConfig(kind="ollama", host=host, tokenizer=TOKENIZER, retries=1, **options))


def test_requests_are_raw_templated_greedy_seeded_and_sized_to_the_prompt(stand_in: OllamaStandIn) -> None:
    llm = backend(stand_in.host)
    streamed: list[str] = []
    answer = llm.complete("You write SQLite.", "Question: how many subnetworks?", PREFILL, ["```"], 64,
                          on_token=streamed.append)
    assert answer.text == COUNT_SUBNETWORKS + "\n" and "".join(streamed) == answer.text
    (request,) = stand_in.generated()
    prompt = request["prompt"]
    assert request["raw"] is True and request["stream"] is True and request["keep_alive"] == "30m"
    assert prompt.startswith("<|im_start|>system\nYou write SQLite.<|im_end|>")
    assert prompt.endswith("<|im_start|>assistant\n" + PREFILL)  # the fence prefilled in ragsql's own template
    options = request["options"]
    assert options["temperature"] == 0 and options["seed"] == 1234 and options["num_predict"] == 64
    assert "```" in options["stop"] and "<|im_end|>" in options["stop"]
    # num_ctx covers this prompt's tokens, counted with the model's own vocabulary, and the answer
    assert answer.prompt_tokens == llm.count_tokens(prompt) and options["num_ctx"] == CTX_STEP
    assert answer.cached_tokens == answer.prompt_tokens - 10 and answer.logprob_mean == pytest.approx(-0.1)


def test_num_ctx_grows_with_the_prompt_and_a_prompt_beyond_the_window_is_refused(stand_in: OllamaStandIn) -> None:
    """Ollama cuts a prompt longer than num_ctx without an error: ragsql sets num_ctx from the count instead."""
    llm = backend(stand_in.host, n_ctx=4096)
    schema = "\n".join(f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name TEXT, value REAL);" for i in range(120))
    tokens = llm.count_tokens(llm.template.render(schema, "Question: q", PREFILL))
    assert 2 * CTX_STEP < tokens + 256 <= 3 * CTX_STEP  # the schema needs a 3,072-token window
    llm.complete(schema, "Question: q", PREFILL, ["```"], 256)
    assert stand_in.generated()[-1]["options"]["num_ctx"] == 3 * CTX_STEP  # not Ollama's default 2,048 (or 4,096)
    with pytest.raises(BadRequest, match="exceed the model's window"):
        llm.complete(schema * 2, "Question: q", PREFILL, ["```"], 256)


def test_tokens_stream_into_the_api_stream(stand_in: OllamaStandIn, demo_runtime: Runtime) -> None:
    rt = Runtime(demo_runtime.settings, llm=backend(stand_in.host), embedder=demo_runtime.embedder,
                 store=demo_runtime.store)
    with TestClient(create_app(runtime=rt)) as client:
        wait_ready(client)
        with client.stream("POST", "/v1/ask/stream", json={"question": "How many subnetworks are there?"}) as response:
            events = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]
    tokens = [e["text"] for e in events if "text" in e]
    assert len(tokens) == 3 and "".join(tokens) == COUNT_SUBNETWORKS + "\n"
    assert events[-1]["model"] == "ragsql-qwen2.5-coder-1.5b" and events[-1]["error"] is None


def test_a_server_that_is_down_is_a_503_naming_it_and_is_used_again_when_back() -> None:
    port = free_port()
    llm = backend(f"http://127.0.0.1:{port}")
    with pytest.raises(LLMUnavailable, match=f"Ollama at http://127.0.0.1:{port} is unreachable") as down:
        llm.complete("s", "Question: q", PREFILL, ["```"], 8)
    assert down.value.status == 503 and llm.health()["ok"] is False
    server = OllamaStandIn(port)  # the server is back: the same backend object answers, no restart
    try:
        assert llm.complete("s", "Question: q", PREFILL, ["```"], 8).text and llm.health()["ok"] is True
    finally:
        server.close()


def test_ollama_import_uploads_the_gguf_with_the_qwen_template(stand_in: OllamaStandIn) -> None:
    result = CliRunner().invoke(app, ["model", "ollama-import", "--host", stand_in.host, "--model", TOKENIZER,
                                      "--name", "ragsql-small"])
    assert result.exit_code == 0, result.output
    gguf = packaged_model_file(TOKENIZER, MODEL_CACHE)
    ((claimed, received),) = stand_in.blobs.items()
    assert claimed == received  # the bytes uploaded are the GGUF the digest names
    (create,) = [body for path, body in stand_in.requests if path == "/api/create"]
    assert create["model"] == "ragsql-small" and create["files"] == {gguf.name: claimed}
    assert "<|im_start|>assistant" in create["template"] and "<|im_end|>" in create["parameters"]["stop"]
    written = gguf.with_suffix(".Modelfile").read_text()
    assert written.startswith(f"FROM {gguf}\nTEMPLATE \"\"\"") and 'PARAMETER stop "<|im_end|>"' in written


def test_ollama_import_does_nothing_when_another_backend_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.settings import get_settings

    monkeypatch.setenv("RAGSQL_LLM__KIND", "openai")
    get_settings.cache_clear()
    try:  # a host nothing listens on: the job must not try it
        result = CliRunner().invoke(app, ["model", "ollama-import", "--host", "http://127.0.0.1:9", "--if-configured"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0 and "nothing to import" in result.output


@pytest.mark.slow
def test_a_real_ollama_server_answers_a_demo_question(demo_runtime: Runtime) -> None:
    host = os.environ.get("OLLAMA_HOST")
    if not host:
        pytest.skip("no Ollama server here (OLLAMA_HOST unset): the stand-in tests above checked the requests")
    host = host if host.startswith("http") else f"http://{host}"
    CliRunner().invoke(app, ["model", "ollama-import", "--host", host], catch_exceptions=False)
    rt = Runtime(demo_runtime.settings, llm=OllamaLLM(OllamaConfig(kind="ollama", host=host)),
                 embedder=demo_runtime.embedder, store=demo_runtime.store)
    result = AskPipeline(rt).ask("How many subnetworks are there?", "demo")
    assert result.error is None and result.rows == rt.database("demo").execute(COUNT_SUBNETWORKS, 1, 10).rows
