"""The pool of other databases' examples (indexer/example_pool.py): masking, the SQL pattern, search with the
real embedding model, its cache, and the pool's examples in the prompt of an ask."""

from __future__ import annotations

import json
from pathlib import Path

from indexer.example_pool import ExamplePool, masked, skeleton, sql_words, words_of_names
from service.pipeline import AskPipeline
from service.runtime import Runtime
from tests.stand_in import StandInLLM

POOL = [
    {"question": "How many heads of the departments are older than 56?",
     "query": "SELECT count(*) FROM head WHERE age > 56"},
    {"question": "How many students are older than 20?", "query": "SELECT count(*) FROM student WHERE age > 20"},
    {"question": "Which countries have no airports?",
     "query": "SELECT name FROM country EXCEPT SELECT T1.name FROM country AS T1 JOIN airport AS T2 "
              "ON T1.id = T2.country_id"},
    {"question": "List the title of the most expensive book.",
     "query": "SELECT title FROM book ORDER BY price DESC LIMIT 1"},
]


def test_masking_hides_schema_words_and_numbers() -> None:
    words = sql_words("SELECT count(*) FROM head WHERE age > 56 AND name = 'Smith'")
    assert words == {"head", "age", "name", "smith"}
    assert masked("How many heads older than 56 are called Smith?", words) == "How many _ older than _ are called _ ?"
    assert words_of_names(["StudentCourse", "student_course_id"]) == {"student", "course", "id"}
    assert skeleton("SELECT a FROM t WHERE b = 'x' LIMIT 1") == skeleton("select c from u where d = 'y' limit 2")
    assert skeleton("SELECT a FROM t") != skeleton("SELECT a FROM t ORDER BY a")


def test_the_pool_finds_the_same_pattern_under_other_names(tmp_path: Path, embedder) -> None:
    pool_file = tmp_path / "pool.json"
    pool_file.write_text(json.dumps(POOL))
    pool = ExamplePool(pool_file, embedder, tmp_path / "cache")
    found = pool.similar("Which singers have no concerts?", {"singer", "concert"}, 2)
    assert found[0].sql.startswith("SELECT name FROM country EXCEPT") and found[0].source == "pool"
    counts = pool.similar("How many pets are older than 3?", {"pet", "age"}, 2)
    assert "count(*)" in counts[0].sql and "count(*)" not in counts[1].sql  # one example per SQL pattern

    class Counting:
        name, calls = embedder.name, 0

        def embed(self, texts):
            Counting.calls += len(texts)
            return embedder.embed(texts)

    again = ExamplePool(pool_file, Counting(), tmp_path / "cache")  # type: ignore[arg-type]
    assert Counting.calls == 0  # the pool's vectors came from the cache
    assert again.similar("Which singers have no concerts?", {"singer"}, 1)[0].sql == found[0].sql


def test_pool_examples_reach_the_prompt(tmp_path: Path, demo_runtime: Runtime) -> None:
    pool_file = tmp_path / "pool.json"
    pool_file.write_text(json.dumps(POOL))
    prompts: list[str] = []

    class Recording(StandInLLM):
        def complete(self, system, user, *args, **kwargs):
            prompts.append(user)
            return super().complete(system, user, *args, **kwargs)

    settings = demo_runtime.settings.model_copy(update={"example_pool": pool_file, "pool_examples": 2})
    rt = Runtime(settings, llm=Recording(), embedder=demo_runtime.embedder, store=demo_runtime.store)
    result = AskPipeline(rt).ask("How many subnetworks are there?", "demo")
    assert len(result.context.patterns) == 2
    assert "Examples from other databases" in prompts[-1] and result.context.patterns[0].sql in prompts[-1]
    rt_without = Runtime(demo_runtime.settings, llm=Recording(), embedder=demo_runtime.embedder,
                         store=demo_runtime.store)
    assert AskPipeline(rt_without).ask("How many subnetworks are there?", "demo").context.patterns == []
