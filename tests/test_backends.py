"""The OpenAI-compatible backend against a real vLLM server on this CPU (bench/vllm_server.py: the packaged
Qwen2.5-Coder-0.5B, n-gram speculative decoding, automatic prefix caching): a demo question answered with
structured output, prefill and exact token counts, concurrent requests, the draft acceptance rate read from
/metrics, escalation to it, and the server stopped mid-run (503 naming the backend) then back (answers again,
no restart of ragsql). The first run on a machine builds vLLM's environment (~10 min); later runs start it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from bench.vllm_server import HOME, MODEL, VLLMServer
from service.api import create_app
from service.llm.model_files import packaged_model_file
from service.llm.openai_compat import OpenAILLM
from service.llm.template import vocabulary
from service.pipeline import AskPipeline
from service.runtime import Runtime
from service.settings import MODEL_CACHE, OpenAIConfig
from tests.conftest import server_missing
from tests.readiness import wait_ready
from tests.stand_in import StandInLLM

pytestmark = [pytest.mark.slow, pytest.mark.vllm]
COLD_START_S = 1800  # building the environment and converting the model on 2 shared cores, then starting
QUESTION = "How many subnetworks are there?"
SYSTEM = ("You write SQLite queries. Answer with one SELECT in a ```sql block.\n"
          "CREATE TABLE singer (id INTEGER, name TEXT, country TEXT, age INTEGER);")


@pytest.fixture(scope="module")
def vllm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VLLMServer]:
    HOME.mkdir(parents=True, exist_ok=True)
    server = VLLMServer(tmp_path_factory.mktemp("vllm") / "server.log")
    try:
        seconds = server.start(COLD_START_S)
    except (OSError, RuntimeError, TimeoutError) as exc:
        server_missing("vLLM", exc)  # a skip, but a failure on CI
    print(f"vLLM ready in {seconds:.0f} s (log {server.log})")
    yield server
    server.stop()


def backend(server: VLLMServer, **options) -> OpenAILLM:
    return OpenAILLM(OpenAIConfig(kind="openai", base_url=server.base_url, timeout_s=300, **options))


def vllm_runtime(demo_runtime: Runtime, llm, escalation=None) -> Runtime:
    return Runtime(demo_runtime.settings, llm=llm, escalation=escalation, embedder=demo_runtime.embedder,
                   store=demo_runtime.store)


def test_token_counts_are_the_servers_own_and_match_the_local_vocabulary(vllm: VLLMServer) -> None:
    local = vocabulary(packaged_model_file(MODEL, MODEL_CACHE))
    text = "SELECT nrcelldu_id, administrativestate FROM nrcelldu WHERE cellstate = 'ACTIVE'"
    assert backend(vllm).count_tokens(text) == len(local.tokens(text))


def test_prefill_continues_the_answer_and_the_shared_prefix_is_cached(vllm: VLLMServer) -> None:
    llm = backend(vllm)
    assert llm.capabilities.prefill and llm.capabilities.prefix_reuse and llm.capabilities.parallel_candidates
    streamed: list[str] = []
    first = llm.complete(SYSTEM, "Question: How many singers are from France?", "```sql\n", ["```"], 48,
                         on_token=streamed.append)
    assert first.text.lstrip().upper().startswith("SELECT") and "singer" in first.text  # the fence was prefilled
    assert "".join(streamed) == first.text and first.logprob_mean is not None and first.logprob_mean <= 0
    # a prefix spanning whole KV blocks (vLLM caches by block, 128 tokens on CPU)
    schema = SYSTEM + "".join(f"\nCREATE TABLE t{i} (id INTEGER PRIMARY KEY, label TEXT);" for i in range(40))
    llm.complete(schema, "Question: How many singers are older than 40?", "```sql\n", ["```"], 8)
    again = llm.complete(schema, "Question: How many singers are older than 50?", "```sql\n", ["```"], 8)
    assert again.cached_tokens >= 128  # automatic prefix caching: the shared prefix's blocks were reused


def test_a_demo_question_through_vllm_with_structured_output(vllm: VLLMServer, demo_runtime: Runtime) -> None:
    llm = backend(vllm, structured_output=True)
    assert not llm.capabilities.prefill  # the answer is JSON: the pipeline prefills nothing
    result = AskPipeline(vllm_runtime(demo_runtime, llm)).ask(QUESTION, "demo")
    assert result.error is None, result.attempts
    assert result.model == "ragsql" and result.rows == [[demo_count("subnetwork", demo_runtime)]]
    assert result.attempts[0].raw.lstrip().upper().startswith("SELECT")  # the SQL out of {"sql": ...}


def test_concurrent_requests_are_all_answered(vllm: VLLMServer) -> None:
    llm = backend(vllm)
    questions = [f"Question: How many singers are older than {age}?" for age in (20, 30, 40, 50)]
    with ThreadPoolExecutor(len(questions)) as pool:
        answers = list(pool.map(lambda q: llm.complete(SYSTEM, q, "```sql\n", ["```"], 48), questions))
    for answer, age in zip(answers, (20, 30, 40, 50), strict=True):
        assert "singer" in answer.text and str(age) in answer.text


def test_candidates_are_the_greedy_answer_then_sampled_ones_in_one_request(vllm: VLLMServer) -> None:
    llm = backend(vllm)
    question = "Question: List the singers' names."
    candidates = llm.complete_many(SYSTEM, question, 3, "```sql\n", ["```"], 48, temperature=0.8)
    assert len(candidates) == 3 and all(c.text for c in candidates)
    assert candidates[0].text == llm.complete(SYSTEM, question, "```sql\n", ["```"], 48).text
    assert candidates[1].prompt_tokens == 0  # the sampled ones' prompt is counted once, on the greedy answer


def test_the_draft_acceptance_rate_is_read_and_reported(vllm: VLLMServer, demo_runtime: Runtime) -> None:
    llm = backend(vllm)
    before = llm.acceptance()
    assert before is not None
    # the second copies more of the prompt (n-gram drafts need a match: a short answer may have none)
    answers = [llm.complete(SYSTEM, f"Question: {q}", "```sql\n", ["```"], 48) for q in (
        "List the names and ages of singers from France.",
        "List the names and countries of singers older than 30, by age.")]
    acceptance = llm.acceptance()
    assert acceptance is not None and acceptance["drafted"] > 0 and 0 <= acceptance["rate"] <= 1
    assert all(0 <= a.accepted <= a.drafted for a in answers)  # each answer's share, in its tokens
    assert sum(a.drafted for a in answers) == acceptance["drafted"] - before["drafted"] > 0
    with TestClient(create_app(runtime=vllm_runtime(demo_runtime, llm))) as client:
        state = wait_ready(client)
    reported = state["backends"]["llm"]["speculative_acceptance"]
    assert reported["drafted"] >= acceptance["drafted"] and state["backends"]["llm"]["backend"] == "openai"


def test_escalation_to_a_vllm_model(vllm: VLLMServer, demo_runtime: Runtime) -> None:
    """The first model (a stand-in whose SQL names a table that does not exist) fails; vLLM answers."""
    first = StandInLLM({"subnetworks": "SELECT COUNT(*) FROM subnetworks_table"})
    result = AskPipeline(vllm_runtime(demo_runtime, first, escalation=backend(vllm))).ask(QUESTION, "demo")
    assert result.escalated == "failed: unknown_identifier" and result.model == "ragsql"
    assert [a.model for a in result.attempts][:2] == ["stand-in", "stand-in"] and result.attempts[-1].model == "ragsql"
    assert result.error is None and result.rows == [[demo_count("subnetwork", demo_runtime)]]


def test_a_stopped_server_is_a_503_naming_it_then_answers_again_when_back(
    vllm: VLLMServer, demo_runtime: Runtime
) -> None:
    """Last in this file: it stops the module's server and starts it again on the same port."""
    llm = backend(vllm)
    with TestClient(create_app(runtime=vllm_runtime(demo_runtime, llm))) as client:
        wait_ready(client)
        vllm.stop()
        down = client.post("/v1/ask", json={"question": QUESTION})
        assert down.status_code == 503, down.text
        error = down.json()["error"]
        assert error["type"] == "model_unavailable" and vllm.base_url in error["message"], error
        readiness = client.get("/readyz")
        assert readiness.status_code == 503 and readiness.json()["checks"]["model"] is False
        vllm.start(600)  # warm: the environment and the model are cached
        back = client.post("/v1/ask", json={"question": QUESTION})
        assert back.status_code == 200 and back.json()["error"] is None, back.text
        assert client.get("/readyz").status_code == 200


def demo_count(table: str, rt: Runtime) -> int:
    return rt.database("demo").execute(f"SELECT COUNT(*) FROM {table}", 1, 10).rows[0][0]
