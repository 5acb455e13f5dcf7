"""PostgreSQL through psycopg 3: read-only sessions and transactions, a statement timeout, streamed rows.

Each connection pins what the guard assumes: standard_conforming_strings (a backslash is not an escape in
'...') and a search_path of the indexed schema alone, with temporary objects searched last. After every query
the transaction is rolled back and session-level advisory locks released: nothing else a SELECT can do in a
read-only transaction outlives it.
"""

from __future__ import annotations

import psycopg
import sqlalchemy as sa
from psycopg import errors
from psycopg import sql as pgsql
from sqlalchemy import event
from sqlalchemy.pool import PoolProxiedConnection

from service.databases.base import CONNECT_TIMEOUT_S, Database, Fetched, columns_of, fetch_rows
from service.errors import DatabaseError, DatabaseUnavailable, QueryFailed, QueryTimeout, first_line

# SQLSTATE classes that mean the server is out of reach: connection, resources, shutdown, authorization.
_UNAVAILABLE_STATES = ("08", "53", "57P", "28", "3D000")

# Predefined roles that reach outside the database (files, programs) or write everything.
_DANGEROUS_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program",
                    "pg_write_all_data", "pg_signal_backend")

_ROLE_SQL = """
SELECT current_user, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls,
       has_database_privilege(current_database(), 'CREATE'),
       has_schema_privilege(current_schema(), 'CREATE'),
       ARRAY(SELECT p.rolname FROM pg_roles p WHERE p.rolname = ANY(%s) AND pg_has_role(current_user, p.oid, 'MEMBER')
             ORDER BY 1)
FROM pg_roles r WHERE r.rolname = current_user
"""
_WRITABLE_SQL = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND (has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE')
       OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE'))
ORDER BY 1
"""


class PostgresDatabase(Database):
    dialect = "postgres"

    def _create_engine(self, url: str) -> sa.Engine:
        self._schema: str | None = None
        engine = sa.create_engine(
            sa.make_url(url).set(drivername="postgresql+psycopg"),
            pool_pre_ping=True,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        )
        event.listen(engine, "connect", self._pin_session)
        return engine

    def default_schema(self) -> str | None:
        if self._schema is None:  # read by the first connection
            self._checkout().close()
        return self._schema

    def privilege_warnings(self) -> list[str]:
        raw = self._checkout()
        try:
            conn: psycopg.Connection = raw.driver_connection
            with conn.cursor() as cursor:
                user, superuser, createrole, createdb, bypassrls, db_create, schema_create, roles = cursor.execute(
                    _ROLE_SQL, (list(_DANGEROUS_ROLES),)
                ).fetchone()
                writable = [r[0] for r in cursor.execute(_WRITABLE_SQL).fetchall()]
            conn.rollback()
        except psycopg.Error as exc:
            raw.invalidate()
            raise DatabaseUnavailable(f"database '{self.id}': cannot read privileges: {first_line(exc)}") from exc
        finally:
            raw.close()
        where = f"database '{self.id}': user '{user}'"
        held = {
            "is a superuser: it can read and change everything": superuser, "can create roles": createrole,
            "can create databases": createdb, "can bypass row-level security": bypassrls,
            "can create schemas in the database": db_create,
            f"can create objects in schema '{self._schema}'": schema_create,
        }
        warnings = [f"{where} {what}" for what, has in held.items() if has]
        warnings += [f"{where} is a member of {role}" for role in roles]
        if writable:
            shown = ", ".join(writable[:5]) + (f" and {len(writable) - 5} more" if len(writable) > 5 else "")
            warnings.append(f"{where} can write to {len(writable)} table(s): {shown}")
        return warnings

    def _run(self, raw: PoolProxiedConnection, sql: str, fetch: int, timeout_s: float, max_bytes: int) -> Fetched:
        conn: psycopg.Connection = raw.driver_connection
        conn.rollback()  # start clean, whatever the pool's ping left open
        try:
            with conn.cursor() as setup:
                setup.execute("SET TRANSACTION READ ONLY")
                setup.execute(f"SET LOCAL statement_timeout = {max(1, round(timeout_s * 1000))}")
            # A server-side cursor streams rows (FETCH n) and runs through DECLARE, which takes exactly one
            # SELECT/VALUES statement over the extended protocol: no stacked statements, no DML.
            with conn.cursor(name="ragsql_query") as cursor:
                cursor.execute(sql)
                return columns_of(cursor.description), *fetch_rows(cursor, fetch, max_bytes)
        finally:
            if not conn.closed:
                _clean(raw)

    def _translate(self, exc: Exception) -> DatabaseError | None:
        if not isinstance(exc, psycopg.Error):
            return None
        message = first_line(exc)
        if isinstance(exc, errors.QueryCanceled):
            return QueryTimeout(f"query on '{self.id}' cancelled: it ran past its time limit")
        state = exc.sqlstate or ""
        if isinstance(exc, psycopg.InterfaceError) or (
            isinstance(exc, psycopg.OperationalError) and (not state or state.startswith(_UNAVAILABLE_STATES))
        ):
            return DatabaseUnavailable(f"database '{self.id}': {message}")
        return QueryFailed(message)

    def _pin_session(self, dbapi_conn: psycopg.Connection, _record: object) -> None:
        # Every transaction of this connection defaults to read-only, the indexer's introspection included.
        with dbapi_conn.cursor() as cursor:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            cursor.execute("SET standard_conforming_strings = on")
            schema = cursor.execute("SELECT current_schema()").fetchone()[0]
            if schema is not None:  # the schema the URL/role selects, which is the one indexed
                cursor.execute(pgsql.SQL("SET search_path = {}, pg_temp").format(pgsql.Identifier(schema)))
                self._schema = schema
        dbapi_conn.commit()


def _clean(raw: PoolProxiedConnection) -> None:
    # Advisory locks taken at session level survive the rollback; release them, or drop the connection.
    conn: psycopg.Connection = raw.driver_connection
    try:
        conn.rollback()
        conn.execute("SELECT pg_advisory_unlock_all()")
        conn.rollback()
    except psycopg.Error:
        raw.invalidate()
