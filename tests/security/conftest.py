"""The security suite's databases: one small shop per backend, a secret beside it, and the read-only user of
docs/security.md.

Each backend gets a `shop` that is indexed (what the guard's schema lists) and a `secret` that is not: a
PostgreSQL schema and a MariaDB database holding their own `orders`, a SQLite table. Secret rows carry
SECRET_MARK, which must never come back. The servers are the local ones (RAGSQL_TEST_PG_URL /
RAGSQL_TEST_MYSQL_URL override them); without a server its tests are skipped, unless CI=true, where they fail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from service.databases import Database, open_database
from tests.conftest import MYSQL_URL, PG_URL, mysql_admin, pg_admin

DOCS = Path(__file__).resolve().parents[2] / "docs" / "security.md"
SECRET_MARK = "TOPSECRET-7f3a"

# The indexed shop, as the guard sees it. `CamelStats` keeps its case (MariaDB compares table names as stored).
SHOP: dict[str, list[str]] = {
    "customers": ["id", "name", "city", "email", "signup_date", "tier"],
    "products": ["id", "name", "category", "price", "attrs"],
    "orders": ["id", "customer_id", "ordered_at", "status", "total", "note"],
    "order_items": ["order_id", "product_id", "qty", "unit_price"],
    "events": ["id", "customer_id", "kind", "payload", "created_at"],
    "CamelStats": ["id", "Score"],
}
CITIES = ["Paris", "Lyon", "Berlin", "Madrid", "Oslo"]
CUSTOMERS = [(i, f"customer{i}", CITIES[i % 5], f"c{i}@example.com", dt.date(2023, 1 + i % 12, 1 + i), "gold"
              if i % 3 == 0 else "basic") for i in range(1, 13)]
PRODUCTS = [(i, f"product-{i}", ["tools", "toys", "food"][i % 3], 2.5 * i,
             json.dumps({"color": ["red", "blue"][i % 2], "sizes": [i, i + 1], "dims": {"w": i}}))
            for i in range(1, 9)]
ORDERS = [(i, 1 + i % 12, dt.datetime(2024, 1 + i % 6, 1 + i % 28, i % 24, 30), ["paid", "shipped", "refunded"][i % 3],
           round(10.0 * i + 0.5, 2), f"note {i}: {'urgent' if i % 4 == 0 else 'normal'} ABC-{100 + i}")
          for i in range(1, 31)]
ITEMS = [(1 + i % 30, 1 + i % 8, 1 + i % 4, 2.5 * (1 + i % 8)) for i in range(60)]
EVENTS = [(i, 1 + i % 12, ["login", "view", "buy"][i % 3],
           json.dumps({"page": f"/p/{i}", "ms": 100 + i, "tags": ["a", "b"][: 1 + i % 2]}),
           dt.datetime(2024, 3, 1 + i % 28, 12, i % 60)) for i in range(1, 26)]
CAMEL = [(i, i * 10) for i in range(1, 5)]
ROWS: dict[str, list[tuple[Any, ...]]] = {
    "customers": CUSTOMERS, "products": PRODUCTS, "orders": ORDERS, "order_items": ITEMS, "events": EVENTS,
    "CamelStats": CAMEL,
}


@dataclass
class Shop:
    """One backend's shop: the databases to query, the guard's view of it, and what to compare afterwards."""

    dialect: str
    db: Database  # as the administrator (superuser / root): only the guard stands in the way
    reader: Database  # as the read-only user of docs/security.md: the second and third walls alone
    default_schema: str  # the indexed schema/database
    secret: str  # the one beside it, not indexed
    state: Callable[[], dict[str, Any]]  # table checksums, locks, statistics, files: must not change
    schema: dict[str, list[str]] = field(default_factory=lambda: SHOP)


# Files hostile statements try to write (server side is this machine here).
EVIL_FILES = [Path(f"/tmp/{name}") for name in ("ragsql_evil", "ragsql_evil.db", "ragsql_evil_copy",
                                                 "ragsql_evil_copy.db", "ragsql_security_outfile")]


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def evil_files() -> list[str]:
    return [str(p) for p in EVIL_FILES if p.exists()]


def docs_sql(title: str, replacements: dict[str, str]) -> list[str]:
    """The statements of the first ```sql block under the docs/security.md heading `title`, with names
    replaced (whole words)."""
    text = DOCS.read_text()
    section = text[text.index(f"### {title}"):]
    block = re.search(r"```sql\n(.*?)```", section, re.DOTALL).group(1)
    for old, new in replacements.items():
        block = re.sub(rf"\b{re.escape(old)}\b", new, block)
    return [s.strip() for s in block.split(";") if s.strip()]


def digest(rows: list[Any]) -> str:
    return hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()


# --- SQLite ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    folder = tmp_path_factory.mktemp("sqlite-shop")
    path = folder / "shop.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, city TEXT, email TEXT, signup_date DATE,
                                    tier TEXT);
            CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, category TEXT, price REAL, attrs TEXT);
            CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, ordered_at TIMESTAMP, status TEXT,
                                 total REAL, note TEXT);
            CREATE TABLE order_items (order_id INTEGER, product_id INTEGER, qty INTEGER, unit_price REAL);
            CREATE TABLE events (id INTEGER PRIMARY KEY, customer_id INTEGER, kind TEXT, payload TEXT,
                                 created_at TIMESTAMP);
            CREATE TABLE CamelStats (id INTEGER PRIMARY KEY, Score INTEGER);
            CREATE TABLE secrets (id INTEGER PRIMARY KEY, token TEXT);
        """)
        for table, rows in ROWS.items():
            values = [tuple(str(v) if isinstance(v, dt.date) else v for v in row) for row in rows]
            conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", values)
        conn.execute("INSERT INTO secrets VALUES (1, ?)", (SECRET_MARK,))
    conn.close()
    db = open_database("lite-shop", f"sqlite:///{path}")

    def state() -> dict[str, Any]:
        return {"file": hashlib.sha256(path.read_bytes()).hexdigest(), "files": sorted(os.listdir(folder)),
                "evil_files": evil_files()}

    yield Shop("sqlite", db, db, "main", "secret", state)
    db.close()


# --- PostgreSQL --------------------------------------------------------------------------------------------


PG_TYPES = {
    "customers": "id INT PRIMARY KEY, name TEXT, city TEXT, email TEXT, signup_date DATE, tier TEXT",
    "products": "id INT PRIMARY KEY, name TEXT, category TEXT, price NUMERIC(8, 2), attrs JSONB",
    "orders": "id INT PRIMARY KEY, customer_id INT, ordered_at TIMESTAMP, status TEXT, total NUMERIC(10, 2), "
              "note TEXT",
    "order_items": "order_id INT, product_id INT, qty INT, unit_price NUMERIC(8, 2)",
    "events": "id INT PRIMARY KEY, customer_id INT, kind TEXT, payload JSONB, created_at TIMESTAMP",
    '"CamelStats"': 'id INT PRIMARY KEY, "Score" INT',
}


@pytest.fixture(scope="session")
def pg_shop() -> Iterator[Shop]:
    admin_url = sa.make_url(PG_URL)
    admin = pg_admin()
    role = unique("ragsql_reader")
    shop, secret = role.replace("ragsql_reader", "shop"), role.replace("ragsql_reader", "secret")
    try:
        admin.execute(f"CREATE SCHEMA {shop}")
        admin.execute(f"CREATE SCHEMA {secret}")
        for table, columns in PG_TYPES.items():
            admin.execute(f"CREATE TABLE {shop}.{table} ({columns})")
        for table, rows in ROWS.items():
            name = f'"{table}"' if table != table.lower() else table
            with admin.cursor() as cur:
                cur.executemany(f"INSERT INTO {shop}.{name} VALUES ({', '.join(['%s'] * len(rows[0]))})", rows)
        admin.execute(f"CREATE TABLE {secret}.orders (id INT, token TEXT)")
        admin.execute(f"INSERT INTO {secret}.orders VALUES (1, %s)", (SECRET_MARK,))
        admin.execute(f"CREATE FUNCTION {shop}.my_udf(x INT) RETURNS INT LANGUAGE sql AS $$ SELECT x + 1 $$")
        for statement in docs_sql("PostgreSQL", {"ragsql_reader": role, "shop": admin_url.database,
                                                 "sales": shop, "change-me": "pw"}):
            admin.execute(statement)
        url = f"{PG_URL}?options=-csearch_path%3D{shop}"
        db = open_database("pg-shop", url)
        reader = open_database("pg-reader", admin_url.set(username=role, password="pw").render_as_string(False))

        def state() -> dict[str, Any]:
            tables = {t: admin.execute(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {shop}.{t} t")
                      .fetchone()[0] for t in PG_TYPES}
            tables["secret"] = admin.execute(f"SELECT md5(string_agg(t::text, '|')) FROM {secret}.orders t").fetchone()
            return {
                "tables": tables,
                "advisory_locks": admin.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                                "AND objid IN (7331, 7332)").fetchone(),
                "stats_reset": admin.execute("SELECT stats_reset FROM pg_stat_database "
                                             "WHERE datname = current_database()").fetchone(),
                "created": admin.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'ragsql_evil%'")
                .fetchone(),
                "settings": admin.execute("SELECT count(*) FROM pg_db_role_setting").fetchone(),
                "evil_files": evil_files(),
            }

        yield Shop("postgres", db, reader, shop, secret, state)
        db.close()
        reader.close()
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {shop} CASCADE")
        admin.execute(f"DROP SCHEMA IF EXISTS {secret} CASCADE")
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")
        admin.close()


# --- MariaDB -----------------------------------------------------------------------------------------------


MY_TYPES = {
    "customers": "id INT PRIMARY KEY, name VARCHAR(40), city VARCHAR(40), email VARCHAR(80), signup_date DATE, "
                 "tier VARCHAR(10)",
    "products": "id INT PRIMARY KEY, name VARCHAR(40), category VARCHAR(20), price DECIMAL(8, 2), attrs JSON",
    "orders": "id INT PRIMARY KEY, customer_id INT, ordered_at DATETIME, status VARCHAR(20), total DECIMAL(10, 2), "
              "note VARCHAR(200)",
    "order_items": "order_id INT, product_id INT, qty INT, unit_price DECIMAL(8, 2)",
    "events": "id INT PRIMARY KEY, customer_id INT, kind VARCHAR(20), payload JSON, created_at DATETIME",
    "CamelStats": "id INT PRIMARY KEY, Score INT",
}
# Lock names the hostile cases take: none may be held afterwards.
MY_LOCKS = ("ragsql_lock", "x", "a")


@pytest.fixture(scope="session")
def maria_shop() -> Iterator[Shop]:
    url = sa.make_url(MYSQL_URL)
    admin = mysql_admin()
    user = unique("ragsql_reader")
    shop, secret = user.replace("ragsql_reader", "shop"), user.replace("ragsql_reader", "secret")

    def run(statement: str, args: Any = None) -> list[tuple[Any, ...]]:
        with admin.cursor() as cur:
            cur.execute(statement, args)
            return list(cur.fetchall())

    try:
        run(f"CREATE DATABASE {shop}")
        run(f"CREATE DATABASE {secret}")
        for table, columns in MY_TYPES.items():
            run(f"CREATE TABLE {shop}.{table} ({columns})")
        run(f"CREATE TABLE {shop}.user (id INT, name VARCHAR(20))")  # mysql.user must stay out of reach
        run(f"INSERT INTO {shop}.user VALUES (1, 'shop user')")
        for table, rows in ROWS.items():
            with admin.cursor() as cur:
                cur.executemany(f"INSERT INTO {shop}.{table} VALUES ({', '.join(['%s'] * len(rows[0]))})", rows)
        run(f"CREATE TABLE {secret}.orders (id INT, token VARCHAR(40))")
        run(f"INSERT INTO {secret}.orders VALUES (1, %s)", (SECRET_MARK,))
        run(f"CREATE FUNCTION {shop}.my_udf(x INT) RETURNS INT DETERMINISTIC RETURN x + 1")
        for statement in docs_sql("MariaDB / MySQL", {"ragsql_reader": user, "shop": shop, "change-me": "pw"}):
            run(statement)
        db = open_database("maria-shop", url.set(database=shop).render_as_string(hide_password=False))
        reader = open_database("maria-reader", url.set(username=user, password="pw", database=shop)
                               .render_as_string(hide_password=False))

        def state() -> dict[str, Any]:
            tables = [*MY_TYPES, "user"]
            checksums = run(f"CHECKSUM TABLE {', '.join(f'{shop}.{t}' for t in tables)}, {secret}.orders")
            return {
                "tables": checksums,
                "locks": run(f"SELECT {', '.join(f'IS_USED_LOCK({name!r})' for name in MY_LOCKS)}"),
                "users": run("SELECT COUNT(*) FROM mysql.user WHERE User LIKE 'ragsql_evil%'"),
                "created": run("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME LIKE 'ragsql_evil%'"),
                "evil_files": evil_files(),
            }

        yield Shop("mysql", db, reader, shop, secret, state, {**SHOP, "user": ["id", "name"]})
        db.close()
        reader.close()
    finally:
        run(f"DROP DATABASE IF EXISTS {shop}")
        run(f"DROP DATABASE IF EXISTS {secret}")
        run(f"DROP USER IF EXISTS '{user}'@'%'")
        admin.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres", "mysql"])
def shop(request: pytest.FixtureRequest) -> Shop:
    return request.getfixturevalue({"sqlite": "sqlite_shop", "postgres": "pg_shop", "mysql": "maria_shop"}
                                   [request.param])
