"""MySQL and MariaDB through PyMySQL: read-only sessions and transactions, a statement time limit.

Each connection pins what the guard assumes: an sql_mode in which '...' reads as the guard renders it (no
ANSI_QUOTES, NO_BACKSLASH_ESCAPES or PIPES_AS_CONCAT). After every query the connection is reset
(COM_RESET_CONNECTION: user variables, GET_LOCK locks, session variables and temporary tables go) and pinned
again, or dropped.
"""

from __future__ import annotations

import re

import pymysql
import sqlalchemy as sa
from pymysql.cursors import SSCursor
from sqlalchemy import event
from sqlalchemy.pool import PoolProxiedConnection

from service.databases.base import CONNECT_TIMEOUT_S, Database, Fetched, columns_of, fetch_rows
from service.errors import DatabaseError, DatabaseUnavailable, QueryFailed, QueryTimeout, first_line

# Error codes: time limit reached (MariaDB 1969, MySQL 3024, interrupted 1317); server out of reach or login
# refused (too many connections, access denied, unknown database, client-side connection errors 2xxx).
_TIMEOUT_CODES = frozenset({1969, 3024, 1317})
_UNAVAILABLE_CODES = frozenset({1040, 1044, 1045, 1049, 1129, 1130, 1927, 2002, 2003, 2005, 2006, 2013, 2055})

SQL_MODE = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
_COM_RESET_CONNECTION = 0x1F  # not among PyMySQL's command constants
# Privileges that only read; any other in SHOW GRANTS is worth a warning.
_READ_PRIVILEGES = frozenset({"SELECT", "SHOW VIEW", "USAGE", "SHOW DATABASES"})
_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<target>\S+) TO ", re.IGNORECASE)
_ROLE_GRANT = re.compile(r"^GRANT (?P<roles>`[^`]+`(?:,\s*`[^`]+`)*) TO ", re.IGNORECASE)


class MySQLDatabase(Database):
    dialect = "mysql"

    def _create_engine(self, url: str) -> sa.Engine:
        parsed = sa.make_url(url)
        driver = "mariadb+pymysql" if parsed.get_backend_name() == "mariadb" else "mysql+pymysql"
        self._database = parsed.database
        engine = sa.create_engine(
            parsed.set(drivername=driver), pool_pre_ping=True,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        )
        event.listen(engine, "connect", lambda conn, _record: _pin_session(conn))
        return engine

    def default_schema(self) -> str | None:
        return self._database

    def privilege_warnings(self) -> list[str]:
        raw = self._checkout()
        try:
            with raw.driver_connection.cursor() as cursor:
                cursor.execute("SELECT CURRENT_USER()")
                user = cursor.fetchone()[0]
                grants = _grants(cursor, "SHOW GRANTS")
        except pymysql.err.Error as exc:
            raw.invalidate()
            raise DatabaseUnavailable(f"database '{self.id}': cannot read privileges: {first_line(exc)}") from exc
        finally:
            raw.close()
        return [f"database '{self.id}': user {user} has {privileges} on {target}{via}"
                for privileges, target, via in grants]

    def _run(self, raw: PoolProxiedConnection, sql: str, fetch: int, timeout_s: float, max_bytes: int) -> Fetched:
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
            rows, byte_limited = fetch_rows(cursor, fetch, max_bytes)
            columns = columns_of(cursor.description)
            if len(rows) == fetch or byte_limited:  # more rows may follow: do not read them
                _abandon(cursor, raw)
                dropped = True
            else:
                cursor.close()
            return columns, rows, byte_limited
        finally:
            if not dropped:
                _clean(raw)

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


def _grants(cursor: pymysql.cursors.Cursor, statement: str, via: str = "") -> list[tuple[str, str, str]]:
    """(privileges beyond reading, on what, through which role) in SHOW GRANTS output, following granted
    roles one level down."""
    cursor.execute(statement)
    found: list[tuple[str, str, str]] = []
    for (line,) in cursor.fetchall():
        grant, role_grant = _GRANT.match(line), _ROLE_GRANT.match(line)
        if grant:
            privileges = [p.strip() for p in re.sub(r"\([^)]*\)", "", grant["privileges"]).split(",")]
            beyond = [p for p in privileges if p.upper() not in _READ_PRIVILEGES]
            if " WITH GRANT OPTION" in line.upper():
                beyond.append("GRANT OPTION")
            if beyond:
                found.append((", ".join(beyond), grant["target"], via))
        elif role_grant and not via:
            for role in re.findall(r"`([^`]+)`", role_grant["roles"]):
                found += _grants(cursor, f"SHOW GRANTS FOR `{role}`", f" (through role {role})")
    return found


def _abandon(cursor: SSCursor, raw: PoolProxiedConnection) -> None:
    # PyMySQL reads an unbuffered result to its end when the cursor is closed (even when garbage-collected):
    # mark the result finished and drop the connection instead; the server stops the query when it goes.
    result = getattr(cursor, "_result", None)
    if result is not None:
        result.unbuffered_active = False
    cursor.connection = None
    raw.invalidate()


def _clean(raw: PoolProxiedConnection) -> None:
    # The time limit, user variables and GET_LOCK locks must not stay on a pooled connection (the indexer
    # uses them too): reset the session to its state after login, then pin it again.
    conn: pymysql.Connection = raw.driver_connection
    try:
        conn.rollback()
        conn._execute_command(_COM_RESET_CONNECTION, b"")  # PyMySQL has no public call for it
        conn._read_ok_packet()
        _pin_session(conn)
    except pymysql.err.Error:
        raw.invalidate()


def _pin_session(conn: pymysql.Connection) -> None:
    # Every transaction of this connection defaults to read-only, the indexer's introspection included.
    with conn.cursor() as cursor:
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
        cursor.execute(f"SET SESSION sql_mode = '{SQL_MODE}'")
