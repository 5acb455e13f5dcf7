"""The shipped demo database (indexer/demo): reproducible, and its schema docs and questions match it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "indexer" / "demo"
SQLITE = DEMO / "telecom.sqlite"
DOCS = yaml.safe_load((DEMO / "telecom.yaml").read_text(encoding="utf-8"))
QUESTIONS = json.loads((ROOT / "tests" / "data" / "demo_questions.json").read_text(encoding="utf-8"))


def _connect(path: Path) -> closing[sqlite3.Connection]:
    # read-only, so that a test can never change the shipped file
    return closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True))


def _tables(con: sqlite3.Connection) -> list[str]:
    return [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]


def _row_counts(path: Path) -> dict[str, int]:
    with _connect(path) as con:
        return {t: con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in _tables(con)}


def _contents(path: Path) -> dict[str, list[tuple]]:
    with _connect(path) as con:
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in _tables(con)}


def _schema(path: Path) -> dict[str, set[str]]:
    """Lower-cased table name -> lower-cased column names."""
    with _connect(path) as con:
        return {t.lower(): {row[1].lower() for row in con.execute(f'PRAGMA table_info("{t}")')}
                for t in _tables(con)}


def test_build_is_deterministic(tmp_path: Path) -> None:
    out = tmp_path / "telecom.sqlite"
    subprocess.run([sys.executable, "-m", "indexer.demo.build_demo", "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    assert _row_counts(out) == _row_counts(SQLITE)
    assert _contents(out) == _contents(SQLITE), "the shipped telecom.sqlite is stale: rerun build_demo"


def test_docs_use_only_the_expected_top_level_keys() -> None:
    assert set(DOCS) <= {"description", "abbreviations", "glossary", "tables", "examples"}


def test_every_documented_name_exists() -> None:
    schema = _schema(SQLITE)
    missing = []
    for table, doc in DOCS["tables"].items():
        if table.lower() not in schema:
            missing.append(table)
            continue
        columns = doc.get("columns") or {}
        missing += [f"{table}.{c}" for c in columns if c.lower() not in schema[table.lower()]]
    for term in DOCS["glossary"]:
        for ref in term.get("refs", []):
            table, _, column = ref.lower().partition(".")
            if table not in schema or (column and column not in schema[table]):
                missing.append(f"{term['term']}: {ref}")
    assert not missing, f"documented but not in the database: {missing}"


@pytest.mark.parametrize("example", DOCS["examples"], ids=lambda e: e["question"])
def test_doc_example_returns_rows(example: dict[str, str]) -> None:
    with _connect(SQLITE) as con:
        assert con.execute(example["sql"]).fetchall()


@pytest.mark.parametrize("item", QUESTIONS, ids=lambda q: q["question"])
def test_held_out_question_returns_rows(item: dict[str, str]) -> None:
    with _connect(SQLITE) as con:
        assert con.execute(item["sql"]).fetchall()


def test_held_out_questions_are_not_doc_examples() -> None:
    examples = {e["question"].strip().lower() for e in DOCS["examples"]}
    assert len(QUESTIONS) == 30
    assert not [q["question"] for q in QUESTIONS if q["question"].strip().lower() in examples]
