"""Saved prompt prefixes with the real llama.cpp model (Qwen2.5-Coder-1.5B): each model instance here stands for
a new process that finds the states an earlier one saved."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.llm.llamacpp import LlamaCppLLM
from service.llm.model_files import packaged_model_file
from service.settings import MODEL_CACHE

pytestmark = pytest.mark.slow


def new_process_model(state_dir: Path, n_ctx: int = 1024) -> LlamaCppLLM:
    return LlamaCppLLM(packaged_model_file("qwen2.5-coder-1.5b", MODEL_CACHE), n_ctx, state_dir=state_dir)


def schema_prompt(subject: str) -> tuple[str, str]:
    """A system prompt of ~400 tokens, like a small database's schema, and the user turn a warm-up sends."""
    tables = "\n".join(f"CREATE TABLE {subject}_{i} (id INTEGER PRIMARY KEY, name TEXT, {subject}_{i}_id INTEGER);"
                       for i in range(16))
    return f"You write SQLite queries for a database of {subject}.\n{tables}", "Question: "


def test_a_damaged_saved_prefix_is_evaluated_and_saved_again(tmp_path: Path) -> None:
    prompt = ("You write SQLite queries.", "Question: ")
    assert new_process_model(tmp_path).warm_up(*prompt) is False  # evaluated, then saved
    [saved] = tmp_path.glob("*.npz")
    assert new_process_model(tmp_path).warm_up(*prompt) is True
    saved.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])  # half a file
    assert new_process_model(tmp_path).warm_up(*prompt) is False
    llm = new_process_model(tmp_path)
    assert llm.warm_up(*prompt) is True  # saved anew
    assert llm.complete(*prompt, prefill="```sql\n", max_tokens=8).cached_tokens > 0


def test_a_switch_back_to_another_database_loads_its_saved_prefix(tmp_path: Path) -> None:
    concerts, pets = schema_prompt("concerts"), schema_prompt("pets")
    llm = new_process_model(tmp_path)
    llm.warm_up(*concerts)
    llm.warm_up(*pets)  # both saved; the cache now holds the pets prefix
    prefix = llm.count_tokens(concerts[0])
    answer = llm.complete(concerts[0], "Question: How many concerts are there?", "```sql\n", ["```"], 24)
    assert answer.cached_tokens > prefix  # the concerts prefix came from disk, not from evaluating it
    assert "concerts_" in answer.text
    unsaved = llm.complete(schema_prompt("singers")[0], "Question: How many singers?", "```sql\n", ["```"], 8)
    assert unsaved.cached_tokens < 64  # nothing saved shares it: evaluated
