"""Escalation (service/escalation.py): the policy on its own, the pipeline with stand-in models (named as such:
what they write is set by the test), and for real, in-process: the packaged Qwen2.5-Coder-0.5B first and the
1.5B for what it gets wrong, on the demo's held-out questions."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

import pytest

from service.escalation import answer_of, escalation_reason, keep_better
from service.llm.factory import build_llm
from service.pipeline import AskPipeline
from service.results import AskResult, Attempt
from service.runtime import Runtime
from service.settings import LlamaCppConfig
from tests.conftest import DEMO, REPO
from tests.stand_in import StandInLLM

QUESTION = "How many subnetworks are there?"


class Unsure(StandInLLM):
    """A stand-in that reports how sure it was of its answer (a backend with log-probabilities)."""

    def __init__(self, logprob: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.name, self.logprob = f"unsure{logprob}", logprob

    def complete(self, *args, **kwargs):
        answer = super().complete(*args, **kwargs)
        answer.logprob_mean = self.logprob
        return answer


def runtime(demo_runtime: Runtime, first, stronger, **settings) -> Runtime:
    return Runtime(demo_runtime.settings.model_copy(update=settings), llm=first, escalation=stronger,
                   embedder=demo_runtime.embedder, store=demo_runtime.store)


def test_the_policy() -> None:
    answered = AskResult(question="q", db="d", executed=True, row_count=3, attempts=[Attempt(sql="SELECT 1")])
    assert escalation_reason(answered, None) is None
    assert escalation_reason(answered.model_copy(update={"row_count": 0}), None) == "empty_result"
    assert escalation_reason(answered.model_copy(update={"error_kind": "runtime"}), None) == "failed: runtime"
    unsure = answered.model_copy(update={"attempts": [Attempt(sql="SELECT 1", logprob_mean=-0.9)]})
    assert escalation_reason(unsure, -0.5) == "low_confidence: -0.900" and escalation_reason(unsure, None) is None
    failed = answered.model_copy(update={"error": "boom", "error_kind": "runtime", "sql": "SELECT 2"})
    keep_better(failed, answer_of(answered))  # the stronger model failed: the first one's answer stays
    assert failed.error is None and failed.sql is None and failed.row_count == 3


def test_a_failed_answer_goes_to_the_stronger_model(demo_runtime: Runtime) -> None:
    first = StandInLLM({"subnetworks": "SELECT COUNT(*) FROM no_such_table"})
    stronger = StandInLLM()
    stronger.name = "stronger"
    events: list[tuple[str, dict]] = []
    result = AskPipeline(runtime(demo_runtime, first, stronger)).ask(
        QUESTION, "demo", on_event=lambda kind, data: events.append((kind, data)))
    assert result.escalated == "failed: unknown_identifier" and result.model == "stronger" and result.error is None
    assert [a.model for a in result.attempts] == ["stand-in", "stand-in", "stronger"]
    assert ("stage", {"stage": "escalate", "reason": "failed: unknown_identifier", "model": "stronger"}) in events


def test_an_empty_or_unsure_answer_is_escalated_and_a_good_one_is_not(demo_runtime: Runtime) -> None:
    empty = StandInLLM({"subnetworks": "SELECT * FROM subnetwork WHERE 1 = 0"})
    result = AskPipeline(runtime(demo_runtime, empty, StandInLLM())).ask(QUESTION, "demo")
    assert result.escalated == "empty_result" and result.row_count == 1
    threshold = {"escalate_below_logprob": -0.5}
    unsure = AskPipeline(runtime(demo_runtime, Unsure(-1.2), StandInLLM(), **threshold)).ask(QUESTION, "demo")
    sure = AskPipeline(runtime(demo_runtime, Unsure(-0.1), StandInLLM(), **threshold)).ask(QUESTION, "demo")
    assert unsure.escalated == "low_confidence: -1.200" and unsure.model == "stand-in"
    assert sure.escalated is None and sure.model == "unsure-0.1" and len(sure.attempts) == 1


@pytest.mark.slow
def test_real_small_model_escalates_what_it_gets_wrong_to_the_larger_one(demo_runtime: Runtime) -> None:
    """The 0.5B model answers the demo's held-out questions; each one it fails (an error, or no rows) goes to the
    1.5B model, whose answer is then the result."""
    small = build_llm(demo_runtime.settings, LlamaCppConfig(model="qwen2.5-coder-0.5b"))
    pipeline = AskPipeline(runtime(demo_runtime, small, demo_runtime.llm))
    items = json.loads((REPO / "tests" / "data" / "demo_questions.json").read_text())[:10]
    results = [pipeline.ask(item["question"], "demo") for item in items]
    escalated = [r for r in results if r.escalated]
    assert escalated, "the 0.5B model answered every question: none to escalate"
    for r in results:
        first = [a for a in r.attempts if a.model == small.name]
        assert first and r.attempts[0].model == small.name and first[0].logprob_mean is not None
        if r.escalated:
            assert r.attempts[-1].model == demo_runtime.llm.name
        else:
            assert r.model == small.name and r.row_count > 0 and len(first) == len(r.attempts)
    correct = sum(Counter(map(tuple, r.rows)) == gold(item["sql"]) for r, item in zip(results, items, strict=True))
    assert correct >= len(items) // 2


def gold(sql: str) -> Counter:
    with sqlite3.connect(DEMO / "telecom.sqlite") as db:
        return Counter(map(tuple, db.execute(sql).fetchall()))
