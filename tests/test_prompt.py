"""Prompt layout on the real demo index, counted with the real model's tokenizer: what forms the cached prefix
and what goes with each question, at three sizes of context window."""

from __future__ import annotations

import pytest

from indexer.models import ColumnInfo, ForeignKey, TableInfo
from service.prompt import Prompt, PromptBuilder, render_m_schema
from service.retrieve import retrieve

pytestmark = pytest.mark.slow
BUDGET = 3400
QUESTION = "How many LTE cells are locked?"


def build(runtime, window: int, question: str = QUESTION, schema_format: str = "create_table") -> Prompt:
    catalog = runtime.catalog("demo")
    context = retrieve(runtime.searcher, catalog, "demo", question, 6, 20, 2, 0.85)
    builder = PromptBuilder(runtime.llm.count_tokens, BUDGET, window, schema_format=schema_format)
    return builder.build(catalog, context, question)


def test_whole_schema_and_glossary_form_one_prefix_when_they_fit(demo_runtime) -> None:
    prompt = build(demo_runtime, 6144 - 256)
    catalog = demo_runtime.catalog("demo")
    assert prompt.tables == list(catalog.tables)
    assert all(f"- {g['term']}: " in prompt.system for g in catalog.glossary)
    assert "Terms:" not in prompt.user and prompt.user.endswith(f"Question: {QUESTION}")
    # another question shares the whole prefix: only its own part is evaluated once the prefix is cached
    assert build(demo_runtime, 6144 - 256, "How many subnetworks are there?").system == prompt.system


def test_the_terms_a_question_uses_go_with_it_when_the_whole_glossary_does_not_fit(demo_runtime) -> None:
    roomy = build(demo_runtime, 6144 - 256)
    count = demo_runtime.llm.count_tokens
    glossary_tokens = count(roomy.system[roomy.system.index("Terms:"): roomy.system.index("CREATE TABLE")])
    prompt = build(demo_runtime, count(roomy.system) + count(roomy.user) + 64 - glossary_tokens // 2)
    assert prompt.tables == roomy.tables  # still the whole schema
    assert "Terms:" not in prompt.system
    assert "- locked: " in prompt.user and "- vendor: " not in prompt.user


def test_a_schema_too_large_for_the_window_gives_way_to_retrieved_tables_within_the_budget(demo_runtime) -> None:
    prompt = build(demo_runtime, 2000)
    count = demo_runtime.llm.count_tokens
    assert "eutrancellfdd" in prompt.tables
    assert len(prompt.tables) < len(demo_runtime.catalog("demo").tables)
    assert count(prompt.system) + count(prompt.user) <= BUDGET
    assert "- locked: " in prompt.user


def test_m_schema_lists_columns_with_their_values_and_keys() -> None:
    cell = TableInfo("cell", [
        ColumnInfo("id", "INTEGER", primary_key=True, examples=["1", "2", "3"]),
        ColumnInfo("site_id", "INTEGER", examples=["1", "2"]),
        ColumnInfo("state", "TEXT", description="Administrative state", values=["LOCKED", "UNLOCKED"],
                   examples=["LOCKED", "UNLOCKED"]),
        ColumnInfo("label", "TEXT", examples=["Cell A"]),
    ], [ForeignKey(["site_id"], "site", ["id"])], description="Radio cells")
    assert render_m_schema(cell) == """# Table: cell, Radio cells
[
(id:INTEGER, Primary Key, Examples: [1, 2, 3]),
(site_id:INTEGER, Examples: [1, 2]),
(state:TEXT, Administrative state, Values: [LOCKED, UNLOCKED]),
(label:TEXT, Examples: [Cell A])
]
Foreign keys: cell.site_id = site.id"""
    # a table too wide for the budget keeps the wanted columns and its keys
    assert "label" not in render_m_schema(cell, {"state"}) and "site_id" in render_m_schema(cell, {"state"})


def test_the_m_schema_format_renders_the_whole_demo_schema_as_one_prefix(demo_runtime) -> None:
    prompt = build(demo_runtime, 6144 - 256, schema_format="m_schema")
    assert prompt.tables == list(demo_runtime.catalog("demo").tables)
    assert "CREATE TABLE" not in prompt.system and "# Table: nrcelldu" in prompt.system
    assert "Values: [LOCKED, SHUTTINGDOWN, UNLOCKED]" in prompt.system  # the exact values the rules point to
    assert "in a column's Values" in prompt.system
