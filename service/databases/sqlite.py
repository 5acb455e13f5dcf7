"""SQLite, opened read-only through a URI: the file cannot be written, nor created when missing. An
authorizer allows only reading, and a length limit keeps any one value (randomblob, printf, replace...) under
the result's byte cap, so that no single function call can run long or build gigabytes."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.pool import PoolProxiedConnection

from service.databases.base import CONNECT_TIMEOUT_S, Database, Fetched, columns_of, fetch_rows
from service.errors import (
    DatabaseError,
    DatabaseMisconfigured,
    DatabaseUnavailable,
    QueryFailed,
    QueryTimeout,
    first_line,
)

# What a query may do while it runs (sqlite3 authorizer); anything else (writes, ATTACH, PRAGMA...) is denied.
_ALLOWED_ACTIONS = frozenset({
    sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE,
})
_DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"})
# Preparing a statement that uses an eponymous virtual table (json_each, json_tree) asks to update these
# columns of sqlite_master; nothing is written (the file is read-only), but a refusal fails the query.
_VTAB_SCHEMA_COLUMNS = frozenset({"type", "name", "tbl_name", "rootpage", "sql"})
_PROGRESS_STEPS = 1000  # virtual-machine steps between two looks at the clock
_MIN_LENGTH_LIMIT = 2**20  # the length limit covers the statement's text too: never below this


class SQLiteDatabase(Database):
    dialect = "sqlite"
    ping_sql = "SELECT COUNT(*) FROM sqlite_master"  # reads the file: a non-database fails here

    def _create_engine(self, url: str) -> sa.Engine:
        database = sa.make_url(url).database
        if not database or database == ":memory:":
            raise DatabaseMisconfigured(f"database '{self.id}': a SQLite URL needs a file path, e.g. sqlite:///shop.db")
        self.path = Path(database).expanduser().absolute()
        return sa.create_engine(f"sqlite:///{self.path}", creator=self._connect, pool_pre_ping=True)

    def _connect(self) -> sqlite3.Connection:
        if not self.path.is_file():  # mode=ro would fail too; this says why
            raise sqlite3.OperationalError(f"no such SQLite file: {self.path}")
        uri = f"file:{quote(str(self.path))}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=CONNECT_TIMEOUT_S, check_same_thread=False)
        conn.text_factory = lambda b: b.decode(errors="replace")  # bad bytes in TEXT must not fail a query
        conn.execute("PRAGMA query_only = ON")
        return conn

    def default_schema(self) -> str:
        return "main"

    def _run(self, raw: PoolProxiedConnection, sql: str, fetch: int, timeout_s: float, max_bytes: int) -> Fetched:
        conn: sqlite3.Connection = raw.driver_connection
        deadline = time.monotonic() + timeout_s
        conn.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)  # true -> interrupt
        conn.set_authorizer(_authorize)
        length = conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max(max_bytes, _MIN_LENGTH_LIMIT))
        try:
            cursor = conn.execute(sql)
            try:
                return columns_of(cursor.description), *fetch_rows(cursor, fetch, max_bytes)
            finally:
                cursor.close()
        finally:
            conn.set_progress_handler(None, 0)
            conn.set_authorizer(None)
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, length)
            conn.rollback()

    def _translate(self, exc: Exception) -> DatabaseError | None:
        if not isinstance(exc, sqlite3.Error | sqlite3.Warning):
            return None
        message = first_line(exc)
        if message == "interrupted":
            return QueryTimeout(f"query on '{self.id}' cancelled: it ran past its time limit")
        if "unable to open" in message or "not a database" in message or "no such SQLite file" in message:
            return DatabaseUnavailable(f"database '{self.id}': {message}")
        return QueryFailed(message)


def _authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master" and arg2 in _VTAB_SCHEMA_COLUMNS:
        return sqlite3.SQLITE_OK
    if action not in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK
