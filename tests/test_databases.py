"""service.databases on real servers: SQLite files, the local PostgreSQL and MariaDB.

Each backend gets its own uniquely named schema/database (PostgreSQL schema, MariaDB database, SQLite file),
filled through a separate writable connection and dropped afterwards. Server URLs can be overridden with
RAGSQL_TEST_PG_URL / RAGSQL_TEST_MYSQL_URL.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.databases import (
    Database,
    MySQLDatabase,
    PostgresDatabase,
    SQLiteDatabase,
    json_safe,
    open_database,
)
from service.databases.mysql import SQL_MODE as MYSQL_SQL_MODE
from service.errors import DatabaseError, DatabaseUnavailable, QueryFailed, QueryTimeout
from service.sql_guard import check_sql
from tests.conftest import MYSQL_URL, PG_URL, mysql_admin, pg_admin

SCHEMA = {"sites": ["id", "name", "vendor"], "cells": ["id", "site_id", "name", "day", "amount", "payload"]}
SITES = [(1, "alpha", "Ericsson"), (2, "beta", "Nokia")]
CELLS = [
    (1, 1, "alpha", dt.date(2024, 3, 1), Decimal("12.50"), b"\xff\x00"),
    (2, 1, "a2", dt.date(2024, 3, 15), Decimal("3.00"), b"hi"),
    (3, 2, "b1", dt.date(2024, 4, 2), Decimal("7.25"), None),
]
# Executed directly, bypassing the validator: the connection itself must refuse every one of them.
WRITES = [
    "INSERT INTO cells (id, site_id, name) VALUES (99, 1, 'x')",
    "UPDATE cells SET name = 'x'",
    "DELETE FROM cells",
    "CREATE TABLE evil (a INT)",
    "DROP TABLE cells",
]


@dataclass
class Backend:
    name: str
    db: Database
    sleep_sql: str  # runs for ~5 s
    count: Callable[[], int]  # rows in `cells`, read through a separate writable connection


def unique(prefix: str = "ragsql_test") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


# --- fixtures: one scratch schema per backend ---------------------------------------------------------------


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Iterator[Backend]:
    path = tmp_path / "cells.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE sites (id INTEGER PRIMARY KEY, name TEXT, vendor TEXT)")
        conn.execute("CREATE TABLE cells (id INTEGER PRIMARY KEY, site_id INTEGER, name TEXT, day DATE, "
                     "amount REAL, payload BLOB)")
        conn.executemany("INSERT INTO sites VALUES (?, ?, ?)", SITES)
        conn.executemany("INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?)",
                         [(i, s, n, d.isoformat(), float(a), p) for i, s, n, d, a, p in CELLS])
    conn.close()

    def count() -> int:
        with sqlite3.connect(path) as c:
            return c.execute("SELECT COUNT(*) FROM cells").fetchone()[0]

    db = open_database("lite", f"sqlite:///{path}")
    yield Backend("sqlite", db, "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c "
                  "WHERE n < 1000000000) SELECT COUNT(*) FROM c", count)
    db.close()


@pytest.fixture
def pg_backend() -> Iterator[Backend]:
    schema = unique()
    admin = pg_admin()
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        admin.execute(f"SET search_path = {schema}")
        admin.execute("CREATE TABLE sites (id INT PRIMARY KEY, name TEXT, vendor TEXT)")
        admin.execute("CREATE TABLE cells (id INT PRIMARY KEY, site_id INT, name TEXT, day DATE, "
                      "amount NUMERIC(8, 2), payload BYTEA)")
        admin.execute("CREATE TABLE kinds (u UUID, ts TIMESTAMP, span INTERVAL, doc JSONB, tags TEXT[])")
        admin.execute("INSERT INTO kinds VALUES ('12345678-1234-5678-1234-567812345678', "
                      "'2024-03-01 10:30:00', '90 minutes', '{\"k\": [1, 2.5]}', ARRAY['a', 'b'])")
        admin.execute("CREATE SEQUENCE seq")
        admin.execute("CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql AS "
                      "$$ INSERT INTO cells (id, site_id, name) VALUES (100, 1, 'sneaky') RETURNING id $$")
        with admin.cursor() as cur:
            cur.executemany("INSERT INTO sites VALUES (%s, %s, %s)", SITES)
            cur.executemany("INSERT INTO cells VALUES (%s, %s, %s, %s, %s, %s)", CELLS)

        def count() -> int:
            return admin.execute(f"SELECT COUNT(*) FROM {schema}.cells").fetchone()[0]

        # search_path through the URL, so that the queries use bare table names as the model writes them
        db = open_database("pg", f"{PG_URL}?options=-csearch_path%3D{schema}")
        yield Backend("postgres", db, "SELECT pg_sleep(5)", count)
        db.close()
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.fixture
def mysql_backend() -> Iterator[Backend]:
    url = sa.make_url(MYSQL_URL)
    database = unique()
    admin = mysql_admin()
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {database}")
    try:
        with admin.cursor() as cur:
            cur.execute(f"USE {database}")
            cur.execute("CREATE TABLE sites (id INT PRIMARY KEY, name VARCHAR(20), vendor VARCHAR(20))")
            cur.execute("CREATE TABLE cells (id INT PRIMARY KEY, site_id INT, name VARCHAR(20), day DATE, "
                        "amount DECIMAL(8, 2), payload VARBINARY(16))")
            cur.execute("CREATE TABLE kinds (t TIME, ts DATETIME, big DECIMAL(30, 0))")
            cur.execute("INSERT INTO kinds VALUES ('01:30:00', '2024-03-01 10:30:00', "
                        "123456789012345678901234)")
            cur.executemany("INSERT INTO sites VALUES (%s, %s, %s)", SITES)
            cur.executemany("INSERT INTO cells VALUES (%s, %s, %s, %s, %s, %s)", CELLS)

        def count() -> int:
            with admin.cursor() as c:
                c.execute(f"SELECT COUNT(*) FROM {database}.cells")
                return c.fetchone()[0]

        db = open_database("maria", url.set(database=database).render_as_string(hide_password=False))
        yield Backend("mysql", db, "SELECT SLEEP(5)", count)
        db.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE {database}")
        admin.close()


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.getfixturevalue(f"{'pg' if request.param == 'postgres' else request.param}_backend")


# --- every backend ---------------------------------------------------------------------------------------


def test_rows_and_columns(backend: Backend) -> None:
    result = backend.db.execute("SELECT id, name FROM cells ORDER BY id", max_rows=10, timeout_s=5)
    assert result.columns == ["id", "name"]
    assert result.rows == [[1, "alpha"], [2, "a2"], [3, "b1"]]
    assert (result.row_count, result.truncated) == (3, False)
    assert backend.db.dialect == backend.name


def test_values_are_json_safe(backend: Backend) -> None:
    result = backend.db.execute("SELECT day, amount, payload FROM cells ORDER BY id", 10, 5)
    assert result.rows == [["2024-03-01", 12.5, "ff00"], ["2024-03-15", 3, "hi"], ["2024-04-02", 7.25, None]]
    json.dumps(result.rows)


def test_truncation_flag(backend: Backend) -> None:
    result = backend.db.execute("SELECT id FROM cells ORDER BY id", max_rows=2, timeout_s=5)
    assert (result.rows, result.row_count, result.truncated) == ([[1], [2]], 2, True)
    assert not backend.db.execute("SELECT id FROM cells", max_rows=3, timeout_s=5).truncated
    # the connection is still good afterwards (MariaDB drops it rather than read the rest)
    assert backend.db.execute("SELECT COUNT(*) FROM cells", 1, 5).rows == [[3]]


def test_long_query_times_out(backend: Backend) -> None:
    start = time.monotonic()
    with pytest.raises(QueryTimeout):
        backend.db.execute(backend.sleep_sql, max_rows=10, timeout_s=1)
    assert time.monotonic() - start < 4
    assert backend.db.execute("SELECT COUNT(*) FROM cells", 1, 5).rows == [[3]]


@pytest.mark.parametrize("sql", WRITES)
def test_writes_bypassing_the_validator_are_refused_by_the_database(backend: Backend, sql: str) -> None:
    with pytest.raises(QueryFailed) as info:
        backend.db.execute(sql, max_rows=10, timeout_s=5)
    assert "\n" not in str(info.value)
    assert backend.count() == 3
    assert backend.db.execute("SELECT COUNT(*) FROM cells", 1, 5).rows == [[3]]


def test_engine_is_read_only_too(backend: Backend) -> None:
    # the indexer introspects through `engine`: its sessions are read-only as well
    with backend.db.engine.connect() as conn, pytest.raises(sa.exc.DBAPIError):
        conn.exec_driver_sql("DELETE FROM cells")
        conn.commit()
    assert backend.count() == 3
    assert "cells" in sa.inspect(backend.db.engine).get_table_names()


def test_database_errors_are_one_line(backend: Backend) -> None:
    with pytest.raises(QueryFailed) as info:
        backend.db.execute("SELECT no_such_column FROM cells", 10, 5)
    assert "no_such_column" in str(info.value) and "\n" not in str(info.value)
    backend.db.ping()


# --- the validator's output runs on the real engines -----------------------------------------------------

GUARDED = [
    "SELECT COUNT(*) FROM cells",
    "SELECT c.name, s.name FROM cells c JOIN sites s ON s.id = c.site_id ORDER BY c.id",
    "WITH per_site AS (SELECT site_id, SUM(amount) AS total FROM cells GROUP BY site_id) "
    "SELECT s.name, p.total FROM per_site p JOIN sites s ON s.id = p.site_id ORDER BY p.total DESC",
    "SELECT name, RANK() OVER (PARTITION BY site_id ORDER BY amount DESC) AS rnk FROM cells",
    "SELECT name FROM cells WHERE site_id IN (SELECT id FROM sites WHERE vendor = 'Ericsson')",
    "SELECT name FROM cells c WHERE amount > (SELECT AVG(amount) FROM cells d WHERE d.site_id = c.site_id)",
    "SELECT name FROM sites s WHERE EXISTS (SELECT 1 FROM cells WHERE site_id = s.id)",
    "SELECT name FROM cells UNION SELECT name FROM sites ORDER BY name",
    "SELECT name FROM cells INTERSECT SELECT name FROM sites",
    "SELECT name FROM cells EXCEPT SELECT name FROM sites",
    "SELECT site_id, COUNT(*) AS n FROM cells GROUP BY 1 ORDER BY n DESC",
    "SELECT name, amount * 2 AS twice FROM cells ORDER BY twice DESC LIMIT 100000",
    "SELECT CASE WHEN amount > 10 THEN 'high' ELSE 'low' END AS level, CAST(amount AS INTEGER) FROM cells",
    "SELECT * FROM cells WHERE name LIKE 'a%' AND id BETWEEN 1 AND 3",
    "SELECT cells.*, sites.vendor FROM cells JOIN sites ON sites.id = cells.site_id",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT n FROM r",
    "SELECT Name FROM cells WHERE ID = 1; -- column names are case-insensitive (PG: folded)",
]
DATES = {
    "sqlite": "SELECT strftime('%Y-%m', day) AS m, COUNT(*) FROM cells GROUP BY m ORDER BY m",
    "postgres": "SELECT to_char(date_trunc('month', day), 'YYYY-MM') AS m, COUNT(*) FROM cells GROUP BY m "
                "ORDER BY m",
    "mysql": "SELECT DATE_FORMAT(day, '%Y-%m') AS m, COUNT(*) FROM cells GROUP BY m ORDER BY m",
}


def test_validated_queries_run(backend: Backend) -> None:
    for sql in [*GUARDED, DATES[backend.name]]:
        checked = check_sql(sql, backend.db.dialect, SCHEMA, max_rows=2)
        result = backend.db.execute(checked.sql, max_rows=2, timeout_s=5)
        assert 0 < result.row_count <= 2, sql
    checked = check_sql(DATES[backend.name], backend.db.dialect, SCHEMA, max_rows=10)
    assert backend.db.execute(checked.sql, 10, 5).rows == [["2024-03", 2], ["2024-04", 1]]


# --- SQLite specifics ---------------------------------------------------------------------------------------


def test_sqlite_file_is_never_written(sqlite_backend: Backend, tmp_path: Path) -> None:
    path = tmp_path / "cells.sqlite"
    before = path.read_bytes()
    db = sqlite_backend.db
    for sql in ["PRAGMA query_only = 0", "PRAGMA user_version = 7", "SELECT load_extension('/nonexistent')",
                f"ATTACH DATABASE '{tmp_path}/new.db' AS x", "VACUUM"]:
        with pytest.raises(QueryFailed):
            db.execute(sql, 10, 5)
    with db.engine.connect() as conn, pytest.raises(sa.exc.OperationalError, match="readonly"):
        conn.exec_driver_sql("INSERT INTO sites VALUES (3, 'c', 'x')")
    assert path.read_bytes() == before
    assert not (tmp_path / "new.db").exists()


def test_sqlite_stacked_statements_are_refused(sqlite_backend: Backend) -> None:
    with pytest.raises(QueryFailed):
        sqlite_backend.db.execute("SELECT 1; DELETE FROM cells", 10, 5)
    assert sqlite_backend.count() == 3


def test_sqlite_undecodable_text_is_replaced(sqlite_backend: Backend) -> None:
    result = sqlite_backend.db.execute("SELECT CAST(x'41ff42' AS TEXT)", 1, 5)
    assert result.rows == [["A\ufffdB"]]


def test_sqlite_missing_file_is_unavailable_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "missing.sqlite"
    db = open_database("gone", f"sqlite:///{path}")
    with pytest.raises(DatabaseUnavailable, match=r"missing\.sqlite"):
        db.ping()
    with pytest.raises(DatabaseUnavailable):
        db.execute("SELECT 1", 1, 1)
    assert not path.exists()


def test_sqlite_non_database_file_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_text("not a database, just notes " * 100)
    with pytest.raises(DatabaseUnavailable):
        open_database("junk", f"sqlite:///{path}").ping()


# --- PostgreSQL specifics -----------------------------------------------------------------------------------


def test_pg_read_only_transaction_stops_side_effects(pg_backend: Backend) -> None:
    # These are SELECTs: only the read-only transaction stands in their way.
    for sql in ["SELECT nextval('seq')", "SELECT sneaky()"]:
        with pytest.raises(QueryFailed, match="read-only transaction"):
            pg_backend.db.execute(sql, 10, 5)
    assert pg_backend.count() == 3


def test_pg_stacked_statements_are_refused(pg_backend: Backend) -> None:
    for sql in ["SELECT 1; DELETE FROM cells",
                "SELECT 1; COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; DELETE FROM cells"]:
        with pytest.raises(QueryFailed):
            pg_backend.db.execute(sql, 10, 5)
    assert pg_backend.count() == 3


def test_pg_more_types(pg_backend: Backend) -> None:
    result = pg_backend.db.execute("SELECT u, ts, span, doc, tags FROM kinds", 10, 5)
    assert result.rows == [
        ["12345678-1234-5678-1234-567812345678", "2024-03-01T10:30:00", 5400.0, {"k": [1, 2.5]}, ["a", "b"]]
    ]
    json.dumps(result.rows)


def test_pg_percent_signs_are_not_placeholders(pg_backend: Backend) -> None:
    result = pg_backend.db.execute("SELECT name, '100%' FROM cells WHERE name LIKE 'a%' ORDER BY id", 10, 5)
    assert result.rows == [["alpha", "100%"], ["a2", "100%"]]


def test_pg_unavailable() -> None:
    url = sa.make_url(PG_URL)
    for bad in [url.set(username="no_such_role"), url.set(port=1), url.set(database="no_such_database")]:
        db = open_database("bad", bad.render_as_string(hide_password=False))
        with pytest.raises(DatabaseUnavailable):
            db.execute("SELECT 1", 1, 1)
        with pytest.raises(DatabaseUnavailable):
            db.ping()


# --- MariaDB specifics --------------------------------------------------------------------------------------


def test_mysql_stacked_statements_are_refused(mysql_backend: Backend) -> None:
    with pytest.raises(QueryFailed):
        mysql_backend.db.execute("SELECT 1; DELETE FROM cells", 10, 5)
    assert mysql_backend.count() == 3


def test_mysql_time_limit_does_not_stay_on_the_connection(mysql_backend: Backend) -> None:
    mysql_backend.db.execute("SELECT 1", 1, timeout_s=1)
    with mysql_backend.db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT @@max_statement_time").scalar() == 0


def test_mysql_more_types(mysql_backend: Backend) -> None:
    result = mysql_backend.db.execute("SELECT t, ts, big FROM kinds", 10, 5)
    assert result.rows == [[5400.0, "2024-03-01T10:30:00", 123456789012345678901234]]


def test_mysql_unavailable() -> None:
    url = sa.make_url(MYSQL_URL)
    for bad in [url.set(password="definitely-wrong"), url.set(port=1)]:
        db = open_database("bad", bad.render_as_string(hide_password=False))
        with pytest.raises(DatabaseUnavailable):
            db.execute("SELECT 1", 1, 1)
        with pytest.raises(DatabaseUnavailable):
            db.ping()


# --- no server needed -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "kind", "driver"), [
    ("sqlite:///x.db", SQLiteDatabase, "pysqlite"),
    ("postgresql://u@h/db", PostgresDatabase, "psycopg"),
    ("postgresql+psycopg://u@h/db", PostgresDatabase, "psycopg"),
    ("mysql://u@h/db", MySQLDatabase, "pymysql"),
    ("mysql+pymysql://u@h/db", MySQLDatabase, "pymysql"),
    ("mariadb://u@h/db", MySQLDatabase, "pymysql"),
    ("mariadb+pymysql://u@h/db", MySQLDatabase, "pymysql"),
])
def test_open_database_picks_by_scheme(url: str, kind: type[Database], driver: str) -> None:
    db = open_database("x", url)
    assert type(db) is kind and db.engine.driver == driver
    assert (db.id, db.url) == ("x", url)


@pytest.mark.parametrize("url", ["oracle://u@h/db", "not a url", "sqlite://", "sqlite:///:memory:"])
def test_open_database_rejects(url: str) -> None:
    with pytest.raises(DatabaseError):
        open_database("x", url)


def test_json_safe() -> None:
    values = [
        dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), dt.date(2024, 1, 2), dt.time(3, 4), Decimal("2.50"),
        Decimal("7"), Decimal("1E+2"), Decimal("NaN"), float("inf"), b"text", b"\x00\xff", bytearray(b"ab"),
        uuid.UUID(int=1), dt.timedelta(minutes=2), (1, Decimal("1.5")), {"a": dt.date(2024, 1, 2)}, True,
        None,
    ]
    assert [json_safe(v) for v in values] == [
        "2024-01-02T03:04:05+00:00", "2024-01-02", "03:04:00", 2.5, 7, 100, None, None, "text", "00ff", "ab",
        "00000000-0000-0000-0000-000000000001", 120.0, [1, 1.5], {"a": "2024-01-02"}, True, None,
    ]


# --- the second wall: caps, pinned settings, clean connections ---------------------------------------------


def test_results_are_capped_in_bytes(backend: Backend) -> None:
    result = backend.db.execute("SELECT id, name FROM cells ORDER BY id", 10, 5, max_result_bytes=8)
    assert result.rows == [[1, "alpha"]]  # "1" + "alpha" fit in 8 bytes, "2" + "a2" more do not
    assert result.truncated and result.byte_limited
    whole = backend.db.execute("SELECT id, name FROM cells ORDER BY id", 10, 5)
    assert (whole.row_count, whole.truncated, whole.byte_limited) == (3, False, False)
    assert backend.db.execute("SELECT COUNT(*) FROM cells", 1, 5).rows == [[3]]  # the connection still works


def test_privilege_warnings_name_an_administrator(backend: Backend) -> None:
    warnings = backend.db.privilege_warnings()
    if backend.name == "sqlite":  # opened read-only: no user to check
        assert warnings == []
    else:  # the test servers' postgres / root
        assert warnings and all(backend.db.id in w for w in warnings)
        assert any("superuser" in w or "ALL PRIVILEGES" in w for w in warnings), warnings


def test_sqlite_json_table_functions_run(sqlite_backend: Backend) -> None:
    checked = check_sql("SELECT c.id, j.value FROM cells c, json_each('[1, 2]') AS j ORDER BY c.id, j.value",
                        "sqlite", SCHEMA, 10)
    assert sqlite_backend.db.execute(checked.sql, 10, 5).rows[:2] == [[1, 1], [1, 2]]
    checked = check_sql("SELECT t.fullkey FROM json_tree('{\"a\": [1]}') AS t", "sqlite", SCHEMA, 10)
    assert sqlite_backend.db.execute(checked.sql, 10, 5).rows == [["$"], ["$.a"], ["$.a[0]"]]


@pytest.mark.parametrize("sql", ["SELECT randomblob(1000000000)", "SELECT zeroblob(1000000000)",
                                 "SELECT hex(randomblob(600000))", "SELECT length(randomblob(20000000))"])
def test_sqlite_no_value_outgrows_the_byte_cap(sqlite_backend: Backend, sql: str) -> None:
    # One function call is one step of SQLite's machine, which the time limit cannot interrupt: the length
    # limit makes it fail at once instead of building a gigabyte.
    start = time.monotonic()
    with pytest.raises(QueryFailed, match="too big"):
        sqlite_backend.db.execute(sql, 1, timeout_s=1, max_result_bytes=2**20)
    assert time.monotonic() - start < 1
    assert sqlite_backend.db.execute("SELECT length(randomblob(1000))", 1, 5).rows == [[1000]]


def test_pg_session_is_pinned_and_cleaned(pg_backend: Backend) -> None:
    db = pg_backend.db
    schema = db.default_schema()
    assert schema and schema.startswith("ragsql_test_")
    settings = "SELECT current_setting('standard_conforming_strings'), current_setting('search_path')"
    assert db.execute(settings, 1, 5).rows == [["on", f"{schema}, pg_temp"]]
    db.execute("SELECT pg_advisory_lock(4242), set_config('search_path', 'public', false)", 1, 5)
    locks = "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242"
    assert db.execute(locks, 1, 5).rows == [[0]]
    assert db.execute(settings, 1, 5).rows == [["on", f"{schema}, pg_temp"]]


def test_mysql_session_is_pinned_and_cleaned(mysql_backend: Backend) -> None:
    db = mysql_backend.db
    assert db.default_schema() == sa.make_url(db.url).database
    db.execute("SELECT GET_LOCK('ragsql_test_lock', 0), @leftover := 42", 1, 5)
    assert db.execute("SELECT IS_USED_LOCK('ragsql_test_lock'), @leftover", 1, 5).rows == [[None, None]]
    db.execute("SET SESSION sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES'", 1, 5)  # bypassing the guard
    assert db.execute("SELECT @@sql_mode, @@tx_read_only", 1, 5).rows == [[MYSQL_SQL_MODE, 1]]
    assert db.execute("SELECT 'caf\u00e9'", 1, 5).rows == [["caf\u00e9"]]  # the character set survives the reset
