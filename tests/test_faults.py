"""Faults: each part going away gives a clear 503/504 at once, and the service recovers by itself when the part
is back. The database: a PostgreSQL of the test's own (pg_ctl, its own port and data folder) stopped in the
middle of a query and started again. The model: its file missing. The index: an indexing process killed
half-way. (The embedded Qdrant held by another process: tests/test_api.py, which also checks the recovery.)

The model is the stand-in (tests/stand_in.py) wherever what it writes is not under test."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.llm.model_files import packaged_model_file
from service.runtime import Runtime
from service.settings import DatabaseConfig, Settings
from tests.conftest import REPO, free_port, server_missing
from tests.stand_in import StandInLLM

pytestmark = pytest.mark.slow

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)
COUNT_FOREVER = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
                 "SELECT COUNT(*) FROM c")
PROMPT_S = 5  # how soon a fault must be reported: no waiting for a time limit or a TCP timeout


class OwnPostgres:
    """A PostgreSQL cluster in a temporary folder on a free port, run as the `postgres` user (initdb refuses
    root), started and stopped with pg_ctl."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, *args: str, check: bool = True) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=check, capture_output=True, timeout=120)

    def init(self) -> None:
        self._pg("initdb", "-D", str(self.folder / "data"), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"), "-o", options, "-w",
                 "start")

    def stop(self, mode: str = "fast", check: bool = True) -> None:
        # fast: the server ends every session at once, the one in the middle of a query included
        self._pg("pg_ctl", "-D", str(self.folder / "data"), "-m", mode, "-w", "stop", check=check)


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    if PG_BIN is None:
        server_missing("PostgreSQL binaries", FileNotFoundError("/usr/lib/postgresql/*/bin"))
    folder = Path(tempfile.mkdtemp(prefix="ragsql-pg-"))  # not under pytest's tmp: postgres must reach it
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    pg = OwnPostgres(folder)
    try:
        pg.init()
        pg.start()
    except (subprocess.SubprocessError, LookupError, PermissionError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        server_missing("a PostgreSQL of the test's own", exc)
    try:
        with psycopg.connect(pg.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE cell (id int PRIMARY KEY, name text NOT NULL, state text NOT NULL)")
            conn.execute("INSERT INTO cell SELECT i, 'cell' || i, CASE WHEN i % 3 = 0 THEN 'LOCKED' ELSE 'UNLOCKED' "
                         "END FROM generate_series(1, 30) i")
        yield pg
    finally:
        pg.stop("immediate", check=False)  # whatever state the test left it in
        shutil.rmtree(folder, ignore_errors=True)


def error_type(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return body["error"]["type"]


def test_the_database_going_away_mid_query_is_a_503_and_its_return_needs_no_restart(
        own_postgres: OwnPostgres, tmp_path: Path, embedder) -> None:
    settings = Settings(home=tmp_path, default_db="pg", databases={"pg": DatabaseConfig(url=own_postgres.url)})
    rt = Runtime(settings, llm=StandInLLM({"locked": "SELECT COUNT(*) FROM cell WHERE state = 'LOCKED'"}),
                 embedder=embedder)
    rt.index("pg")
    count = {"sql": "SELECT COUNT(*) FROM cell"}
    app = create_app(runtime=rt)
    with TestClient(app) as c:
        app.state.loader.wait()
        assert c.post("/v1/sql", json=count).json()["rows"] == [[30]]
        answers: list[httpx.Response] = []
        query = threading.Thread(target=lambda: answers.append(c.post("/v1/sql", json={"sql": COUNT_FOREVER})))
        query.start()
        time.sleep(1)  # the query is running
        own_postgres.stop()
        stopped = time.monotonic()
        query.join(timeout=settings.query_timeout_s + 5)
        assert answers, "the request in flight never returned"
        assert time.monotonic() - stopped < PROMPT_S  # not left to run into its time limit
        assert answers[0].status_code in (503, 504), answers[0].text
        assert error_type(answers[0]) in ("database_unavailable", "timeout")

        started = time.monotonic()
        down = c.post("/v1/sql", json=count)
        asked = c.post("/v1/ask", json={"question": "How many cells are locked?"})
        assert time.monotonic() - started < PROMPT_S
        assert down.status_code == 503 and error_type(down) == "database_unavailable", down.text
        assert asked.status_code == 503 and error_type(asked) == "database_unavailable", asked.text
        assert c.get("/readyz").json()["checks"]["database"] is False
        assert c.get("/healthz").status_code == 200

        own_postgres.start()  # ragsql itself is not restarted
        assert c.post("/v1/sql", json=count).json()["rows"] == [[30]]
        assert c.post("/v1/ask", json={"question": "How many cells are locked?"}).json()["rows"] == [[10]]
        assert c.get("/readyz").json()["checks"]["database"] is True
    rt.close()


def test_a_missing_model_file_is_a_503_on_readiness_and_on_ask_until_it_is_back(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    settings = Settings(home=tmp_path, warm_up=False, llm={"model_path": str(missing)})
    app = create_app(settings)
    app.state.loader.retry_s = 0.5
    with TestClient(app) as c:
        deadline = time.monotonic() + 30
        while (asked := c.post("/v1/ask", json={"question": "How many NR cells are there?"})).status_code == 503 \
                and error_type(asked) == "model_loading" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert asked.status_code == 503 and error_type(asked) == "model_unavailable", asked.text
        assert str(missing) in asked.json()["error"]["message"]
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["model"] is False
        assert c.get("/healthz").status_code == 200

        missing.parent.mkdir()
        missing.symlink_to(packaged_model_file(settings.llm.model, settings.llm.model_cache))  # the file is back
        deadline = time.monotonic() + 120
        while not c.get("/readyz").json()["checks"]["model"]:
            assert time.monotonic() < deadline, "the model was not loaded once its file was back"
            time.sleep(0.5)
        asked = c.post("/v1/ask", json={"question": "How many NR cells are there?"})
        assert error_type(asked) == "not_indexed"  # past the model: this home has no index


def write_schema(path: Path, tables: int, columns: int) -> None:
    """A SQLite database of `tables` tables of `columns` columns each (what the indexer embeds: one document
    per table and per column)."""
    with sqlite3.connect(path) as conn:
        for t in range(tables):
            names = ", ".join(f"measure_{t}_{c} REAL" for c in range(columns))
            conn.execute(f"CREATE TABLE IF NOT EXISTS site_{t} (id INTEGER PRIMARY KEY, {names})")


def test_an_indexer_killed_half_way_leaves_the_previous_index_answering(tmp_path: Path, embedder) -> None:
    db = tmp_path / "big.sqlite"
    write_schema(db, tables=3, columns=4)
    config = tmp_path / "ragsql.toml"
    config.write_text(f'default_db = "big"\n[databases.big]\nurl = "sqlite:///{db}"\n')
    settings = Settings(home=tmp_path / "home", default_db="big",
                        databases={"big": DatabaseConfig(url=f"sqlite:///{db}")})
    rt = Runtime(settings, embedder=embedder)
    rt.index("big")
    rt.close()  # the embedded store's lock is the indexing process's now

    write_schema(db, tables=60, columns=8)  # 600 documents to embed: several seconds on two cores
    stderr = tmp_path / "index.err"
    env = {**os.environ, "RAGSQL_HOME": str(settings.home), "RAGSQL_CONFIG": str(config)}
    with stderr.open("w") as err:
        indexer = subprocess.Popen([sys.executable, "-m", "service.cli", "index", "--db", "big"], cwd=REPO, env=env,
                                   stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 120
        while not re.search(r"embedding big:.* 0/\d+", stderr.read_text()):  # its progress bar has started
            assert indexer.poll() is None, stderr.read_text()
            assert time.monotonic() < deadline, "the indexer never started embedding"
            time.sleep(0.05)
        time.sleep(1)  # the new version is half-built (one chunk of documents takes several seconds)
        indexer.send_signal(signal.SIGKILL)  # no clean-up runs
        assert indexer.wait() == -signal.SIGKILL, "the indexer finished before it was killed"

    rt = Runtime(settings, llm=StandInLLM(), embedder=embedder)
    app = create_app(runtime=rt)
    with TestClient(app) as c:
        app.state.loader.wait()
        found = c.get("/v1/schema/search", params={"q": "site measures"}).json()
        assert {t["table"] for t in found["tables"]} <= {"site_0", "site_1", "site_2"}  # the previous index
        assert c.post("/v1/ask", json={"question": "How many sites?"}).status_code == 200
        summary = c.post("/v1/index", json={"db": "big"})  # the next run completes
        assert summary.status_code == 200 and summary.json()["tables"] == 60, summary.text
        assert len(c.get("/v1/schema").json()["tables"]) == 60
    rt.close()
