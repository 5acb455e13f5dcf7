"""`ragsql index / search / inspect` as a user runs them: one-line errors with a non-zero exit for bad input,
and the existing index untouched."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.settings import get_settings
from tests.conftest import DEMO

Invoke = Callable[..., tuple[int, str]]


@pytest.fixture
def ragsql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder) -> Invoke:
    """Runs the CLI in-process with its own home; `databases` sets RAGSQL_DATABASES."""
    monkeypatch.setattr("service.runtime.SentenceTransformerEmbedder", lambda *a: embedder)  # loaded once

    def invoke(*args: str, databases: dict | None = None) -> tuple[int, str]:
        monkeypatch.setenv("RAGSQL_HOME", str(tmp_path / "home"))
        if databases is not None:
            monkeypatch.setenv("RAGSQL_DATABASES", json.dumps(databases))
        get_settings.cache_clear()
        result = CliRunner().invoke(app, list(args))
        get_settings.cache_clear()
        return result.exit_code, result.output

    return invoke


def demo(tmp_path: Path, docs: str | None = None) -> dict:
    db = tmp_path / "telecom.sqlite"
    shutil.copy(DEMO / "telecom.sqlite", db)
    doc_path = tmp_path / "telecom.yaml"
    doc_path.write_text(docs if docs is not None else (DEMO / "telecom.yaml").read_text())
    return {"demo": {"url": f"sqlite:///{db}", "docs": [str(doc_path)]}}


def test_index_search_and_inspect(ragsql: Invoke, tmp_path: Path) -> None:
    code, out = ragsql("index", "--show", "nrcelldu.administrativestate", databases=demo(tmp_path))
    assert code == 0, out
    assert "demo: 10 tables, 71 columns, 42 examples; 124 documents embedded, 0 unchanged" in out
    assert "values: LOCKED, SHUTTINGDOWN, UNLOCKED" in out
    code, out = ragsql("index")
    assert code == 0 and "0 documents embedded, 124 unchanged" in out
    code, out = ragsql("search", "critical alarms per managed element", "--json")
    assert code == 0 and json.loads(out)["tables"][0]["table"] == "alarmlog"
    code, out = ragsql("inspect", "NRCELLDU")
    assert code == 0 and "new radio" in out.lower()


def one_line_error(code: int, out: str, *fragments: str) -> None:
    assert code == 1, out
    assert out.startswith("error: ") and "Traceback" not in out, out
    for fragment in fragments:
        assert fragment in " ".join(out.split()), out


def test_bad_input_gets_a_one_line_error_and_leaves_the_index(ragsql: Invoke, tmp_path: Path) -> None:
    databases = demo(tmp_path)
    assert ragsql("index", databases=databases)[0] == 0

    broken = demo(tmp_path, docs="tables:\n  nrcelldu:\n    columns:\n      nosuch: {description: x}\n")
    one_line_error(*ragsql("index", databases=broken), "telecom.yaml:4:", "unknown column 'nrcelldu.nosuch'")

    code, out = ragsql("search", "locked cells", "--json", databases=databases)
    assert code == 0 and json.loads(out)["tables"], "the previous index still answers"

    unreachable = {"demo": {"url": "postgresql+psycopg://postgres@127.0.0.1:1/test"}}
    one_line_error(*ragsql("index", databases=unreachable))
    wrong_user = {"demo": {"url": "mysql+pymysql://nosuchuser:wrong@127.0.0.1:3306/test"}}
    one_line_error(*ragsql("index", databases=wrong_user))

    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    one_line_error(*ragsql("index", databases={"demo": {"url": f"sqlite:///{empty}"}}), "no tables or views")

    missing = {"demo": {"url": f"sqlite:///{tmp_path / 'missing.sqlite'}"}}
    one_line_error(*ragsql("index", databases=missing))
    assert not (tmp_path / "missing.sqlite").exists()

    one_line_error(*ragsql("index", "--db", "nope", databases=databases), "unknown database 'nope'")
    one_line_error(*ragsql("search", "x", "--db", "other",
                           databases={**databases, "other": databases["demo"]}), "not indexed yet")


def test_ask_without_a_model_file_is_a_one_line_error(ragsql: Invoke, tmp_path: Path, monkeypatch) -> None:
    databases = demo(tmp_path)
    assert ragsql("index", databases=databases)[0] == 0
    monkeypatch.setenv("RAGSQL_LLM__MODEL_PATH", str(tmp_path / "absent.gguf"))
    one_line_error(*ragsql("ask", "How many NR cells are there?", databases=databases), "model file not found")
