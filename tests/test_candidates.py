"""Candidates voted by their rows and the recheck of doubtful answers (service/candidates.py, the pipeline): the
policy on its own, the pipeline with a scripted stand-in model (named as such: what it writes is set by the
test), and the real model's candidates decoded together in one llama.cpp context."""

from __future__ import annotations

import pytest

from service.candidates import AttemptFailed, Outcome, choose, doubt, unsure
from service.databases import QueryResult
from service.pipeline import AskPipeline
from service.prompt import PREFILL, STOP
from service.results import Attempt
from service.runtime import Runtime
from service.settings import Settings
from tests.stand_in import Scripted, StandInLLM

QUESTION = "How many subnetworks are there?"
COUNT = "SELECT COUNT(*) FROM subnetwork"
NOTHING = "SELECT * FROM subnetwork WHERE 1 = 0"


def ran(*rows: tuple) -> Outcome:
    return Outcome(Attempt(sql="SELECT ..."), rows=QueryResult(["a"], [list(r) for r in rows], len(rows), False))


def failed() -> Outcome:
    return Outcome(Attempt(sql="SELECT nope"), failure=AttemptFailed("runtime", "no such column"))


def test_the_largest_group_of_equal_rows_wins_and_a_tie_goes_to_the_first() -> None:
    first, other, same_as_other = ran((1,)), ran((2,), (3,)), ran((3,), (2,))  # rows compared as a multiset
    assert choose([first, other, same_as_other]) == (other, 2)
    assert choose([first, failed(), other]) == (first, 1)
    assert choose([ran((1.0000000001,)), ran((1.0,)), failed()])[1] == 2  # numbers within rounding
    lost = failed()
    assert choose([lost, failed()]) == (lost, 0)


def test_what_makes_an_answer_doubtful() -> None:
    assert doubt(ran(), 1, 1).startswith("it ran but returned no rows")
    assert doubt(ran((None,), (None,)), 1, 1).startswith("it ran but returned only NULL")
    assert doubt(ran((4,)), 2, 5).startswith("other plausible queries")  # 2 of 5 agree
    assert doubt(ran((4,)), 3, 5) is None and doubt(ran((4,)), 1, 1) is None


def pipeline(demo_runtime: Runtime, llm: StandInLLM, **settings) -> AskPipeline:
    return AskPipeline(Runtime(demo_runtime.settings.model_copy(update=settings), llm=llm,
                               embedder=demo_runtime.embedder, store=demo_runtime.store))


def test_the_candidates_most_of_which_return_the_same_rows_win(demo_runtime: Runtime) -> None:
    llm = Scripted([f"{COUNT} + 1", COUNT, f"{COUNT} AS n", "SELECT nothing FROM nowhere"])
    result = pipeline(demo_runtime, llm, candidates=4).ask(QUESTION, "demo")
    assert result.candidates_agreeing == 2 and result.error is None
    assert "+ 1" not in (result.sql or "") and result.rows[0][0] > 0
    assert len(result.attempts) == 1  # the chosen candidate is the attempt


def test_all_candidates_failing_is_corrected_like_a_failed_answer(demo_runtime: Runtime) -> None:
    llm = Scripted(["SELECT a FROM nowhere", "SELECT b FROM nowhere"], COUNT)
    result = pipeline(demo_runtime, llm, candidates=2).ask(QUESTION, "demo")
    assert result.candidates_agreeing == 0 and result.error is None and len(result.attempts) == 2
    assert "nowhere" in llm.prompts[1]  # the retry names the failed query


def test_an_empty_answer_is_rechecked_and_kept_when_the_recheck_does_no_better(demo_runtime: Runtime) -> None:
    llm = Scripted(NOTHING, COUNT)
    result = pipeline(demo_runtime, llm, recheck_doubtful=True).ask(QUESTION, "demo")
    assert result.row_count == 1 and result.attempts[0].doubt.startswith("it ran but returned no rows")
    assert "returned no rows" in llm.prompts[1]

    for recheck in (NOTHING, "SELECT broken FROM nowhere"):  # empty again, or failing: the first answer stands
        llm = Scripted(NOTHING, recheck)
        result = pipeline(demo_runtime, llm, recheck_doubtful=True).ask(QUESTION, "demo")
        assert result.error is None and result.executed and result.row_count == 0
        assert result.sql is not None and "1 = 0" in result.sql and len(result.attempts) == 2

    llm = Scripted(NOTHING)  # off by default: an empty answer is an answer
    assert pipeline(demo_runtime, llm).ask(QUESTION, "demo").attempts[0].doubt is None


@pytest.mark.slow
def test_real_candidates_decoded_together_start_with_the_greedy_answer() -> None:
    from service.llm.llamacpp import LlamaCppLLM
    from service.llm.model_files import packaged_model_file

    config = Settings().llm
    path = packaged_model_file(config.model, config.model_cache)
    plain, together = LlamaCppLLM(path, 2048), LlamaCppLLM(path, 2048, sequences=4)
    system = ("You write SQLite queries.\nCREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, "
              "country TEXT, age INTEGER);\nCREATE TABLE concert (concert_id INTEGER PRIMARY KEY, singer_id INTEGER, "
              "year INTEGER, stadium TEXT);")
    user = "Question: Which singers performed most often, and where?"  # open enough for samples to differ
    greedy = plain.complete(system, user, PREFILL, STOP, 64)
    streamed: list[str] = []
    answers = together.complete_many(system, user, 4, PREFILL, STOP, 64, temperature=1.0, on_token=streamed.append)
    assert len(answers) == 4 and answers[0].text.strip() == greedy.text.strip()
    assert "".join(streamed) == answers[0].text and all("`" not in a.text for a in answers)
    assert all(a.logprob_mean is not None and a.logprob_mean <= 0 for a in answers)
    assert len({a.text for a in answers}) > 1  # sampled ones differ at temperature 1
    again = together.complete_many(system, user, 4, PREFILL, STOP, 64, temperature=1.0)
    assert again[0].text == answers[0].text  # greedy again (samples may differ: the cache changes the rounding)
    assert again[0].cached_tokens > 0  # the prompt stayed in the cache, the candidates did not
    assert together.complete(system, user, PREFILL, STOP, 64).text.strip() == greedy.text.strip()


def test_gated_candidates_are_drafted_only_for_a_doubtful_greedy_answer(demo_runtime: Runtime) -> None:
    gate = {"candidates": 3, "candidates_below_logprob": -0.5}
    llm = Scripted(COUNT)  # a sure answer with rows: no candidates (a second call would find no script)
    result = pipeline(demo_runtime, llm, **gate).ask(QUESTION, "demo")
    assert result.candidates_agreeing is None and len(llm.prompts) == 1 and result.row_count == 1

    llm = Scripted(NOTHING, [NOTHING, COUNT, COUNT])  # no rows: three drafted, the greedy one again among them
    result = pipeline(demo_runtime, llm, **gate).ask(QUESTION, "demo")
    assert result.candidates_agreeing == 2 and result.row_count == 1 and len(result.attempts) == 1


def test_unsure_means_failed_empty_or_under_the_threshold() -> None:
    sure, doubtful = ran((1,)), ran((1,))
    sure.attempt.logprob_mean, doubtful.attempt.logprob_mean = -0.05, -0.4
    assert not unsure(sure, -0.12) and unsure(doubtful, -0.12) and not unsure(doubtful, None)
    assert unsure(ran(), None) and unsure(failed(), None)
