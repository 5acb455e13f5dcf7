"""MySQL and MariaDB through PyMySQL: read-only sessions and transactions, a statement time limit."""

from __future__ import annotations

import pymysql
import sqlalchemy as sa
from pymysql.cursors import SSCursor
from sqlalchemy import event
from sqlalchemy.pool import PoolProxiedConnection

from service.databases.base import CONNECT_TIMEOUT_S, Database, Fetched, columns_of
from service.errors import DatabaseError, DatabaseUnavailable, QueryFailed, QueryTimeout

# Error codes: time limit reached (MariaDB 1969, MySQL 3024, interrupted 1317); server out of reach or login
# refused (too many connections, access denied, unknown database, client-side connection errors 2xxx).
_TIMEOUT_CODES = frozenset({1969, 3024, 1317})
_UNAVAILABLE_CODES = frozenset({1040, 1044, 1045, 1049, 1129, 1130, 1927, 2002, 2003, 2005, 2006, 2013, 2055})


class MySQLDatabase(Database):
    dialect = "mysql"

    def _create_engine(self, url: str) -> sa.Engine:
        parsed = sa.make_url(url)
        driver = "mariadb+pymysql" if parsed.get_backend_name() == "mariadb" else "mysql+pymysql"
        engine = sa.create_engine(
            parsed.set(drivername=driver), pool_pre_ping=True,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        )
        event.listen(engine, "connect", _read_only_session)
        return engine

    def _run(self, raw: PoolProxiedConnection, sql: str, fetch: int, timeout_s: float) -> Fetched:
        conn: pymysql.Connection = raw.driver_connection
        conn.rollback()
        # MariaDB limits a statement in seconds, MySQL (SELECT only) in milliseconds.
        if "mariadb" in conn.get_server_info().lower():
            variable, value = "max_statement_time", f"{max(timeout_s, 0.001):.3f}"
        else:
            variable, value = "max_execution_time", str(max(1, round(timeout_s * 1000)))
        dropped = False
        try:
            with conn.cursor() as setup:
                setup.execute(f"SET SESSION {variable} = {value}")
                setup.execute("START TRANSACTION READ ONLY")
            cursor = conn.cursor(SSCursor)  # unbuffered: rows are read as they are fetched
            cursor.execute(sql)
            rows = list(cursor.fetchmany(fetch))
            columns = columns_of(cursor.description)
            if len(rows) == fetch:  # more rows may follow: do not read them
                _abandon(cursor, raw)
                dropped = True
            else:
                cursor.close()
            return columns, rows
        finally:
            if not dropped:
                _reset(raw, variable)

    def _translate(self, exc: Exception) -> DatabaseError | None:
        if not isinstance(exc, pymysql.err.Error):
            return None
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        message = str(exc.args[1]) if len(exc.args) > 1 else str(exc) or type(exc).__name__
        if code in _TIMEOUT_CODES:
            return QueryTimeout(f"query on '{self.id}' cancelled: it ran past its time limit")
        if code in _UNAVAILABLE_CODES or isinstance(exc, pymysql.err.InterfaceError):
            return DatabaseUnavailable(f"database '{self.id}': {message}")
        return QueryFailed(message.splitlines()[0] if message else type(exc).__name__)


def _abandon(cursor: SSCursor, raw: PoolProxiedConnection) -> None:
    # PyMySQL reads an unbuffered result to its end when the cursor is closed (even when garbage-collected):
    # mark the result finished and drop the connection instead; the server stops the query when it goes.
    result = getattr(cursor, "_result", None)
    if result is not None:
        result.unbuffered_active = False
    cursor.connection = None
    raw.invalidate()


def _reset(raw: PoolProxiedConnection, variable: str) -> None:
    # The time limit must not stay on a pooled connection (the indexer uses them too).
    try:
        with raw.driver_connection.cursor() as cursor:
            cursor.execute("ROLLBACK")
            cursor.execute(f"SET SESSION {variable} = DEFAULT")
    except pymysql.err.Error:
        raw.invalidate()


def _read_only_session(dbapi_conn: pymysql.Connection, _record: object) -> None:
    # Every transaction of this connection defaults to read-only, the indexer's introspection included.
    with dbapi_conn.cursor() as cursor:
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
