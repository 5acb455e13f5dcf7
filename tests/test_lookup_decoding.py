"""Prompt-lookup decoding: drafts found in the text so far, verified in one batched pass of the real model,
giving the greedy answer with fewer passes."""

from __future__ import annotations

import pytest

from service.llm.lookup_decoding import draft
from service.prompt import PREFILL, STOP
from service.settings import Settings

SYSTEM = """You write SQLite queries for the database described below.
Answer with exactly one SQLite SELECT statement in a ```sql block and nothing else.

CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, country TEXT, song_name TEXT, age INTEGER);
CREATE TABLE concert (concert_id INTEGER PRIMARY KEY, concert_name TEXT, stadium_id INTEGER, year TEXT);
CREATE TABLE singer_in_concert (concert_id INTEGER, singer_id TEXT,
  FOREIGN KEY (concert_id) REFERENCES concert(concert_id), FOREIGN KEY (singer_id) REFERENCES singer(singer_id));"""
QUESTIONS = ["What are the names and countries of singers older than 30, ordered by age?",
             "How many concerts took place in 2014 or 2015?",
             "Show the names of singers who performed in a concert in 2014."]


def test_draft_copies_what_followed_the_latest_match() -> None:
    history = [5, 6, 7, 8, 9, 1, 5, 6, 7, 2, 3, 5, 6]
    assert draft(history, 3) == [7, 2, 3]  # "5 6" last seen before "7 2 3"
    assert draft(history, 1) == [7]
    assert draft([1, 2, 3], 4) == []  # nothing repeats


@pytest.mark.slow
def test_lookup_decoding_gives_the_greedy_answer_in_fewer_passes() -> None:
    from service.llm.llamacpp import LlamaCppLLM
    from service.llm.model_files import packaged_model_file

    config = Settings().llm
    path = packaged_model_file(config.model, config.model_cache)
    plain = LlamaCppLLM(path, 2048, speculative=False)
    lookup = LlamaCppLLM(path, 2048, speculative=True)
    drafted_per_answer = 0
    for question in QUESTIONS:
        user = f"Question: {question}"
        expected = plain.complete(SYSTEM, user, PREFILL, STOP, 96)
        streamed: list[str] = []
        got = lookup.complete(SYSTEM, user, PREFILL, STOP, 96, on_token=streamed.append)
        assert got.text.strip() == expected.text.strip()
        assert "".join(streamed) == got.text and "`" not in got.text  # the stop string is never streamed
        assert got.logprob_mean is not None and got.logprob_mean <= 0
        assert 0 <= got.accepted <= got.drafted and expected.drafted == 0
        drafted_per_answer += got.drafted
    accepted, drafted = lookup.acceptance
    assert drafted > 0 and accepted > 0 and drafted == drafted_per_answer
    print(f"\nprompt-lookup: {accepted}/{drafted} drafted tokens accepted")
