"""PostgreSQL through psycopg 3: read-only sessions and transactions, a statement timeout, streamed rows."""

from __future__ import annotations

import psycopg
import sqlalchemy as sa
from psycopg import errors
from sqlalchemy import event
from sqlalchemy.pool import PoolProxiedConnection

from service.databases.base import CONNECT_TIMEOUT_S, Database, Fetched, columns_of
from service.errors import DatabaseError, DatabaseUnavailable, QueryFailed, QueryTimeout, first_line

# SQLSTATE classes that mean the server is out of reach: connection, resources, shutdown, authorization.
_UNAVAILABLE_STATES = ("08", "53", "57P", "28", "3D000")


class PostgresDatabase(Database):
    dialect = "postgres"

    def _create_engine(self, url: str) -> sa.Engine:
        engine = sa.create_engine(
            sa.make_url(url).set(drivername="postgresql+psycopg"),
            pool_pre_ping=True,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        )
        event.listen(engine, "connect", _read_only_session)
        return engine

    def _run(self, raw: PoolProxiedConnection, sql: str, fetch: int, timeout_s: float) -> Fetched:
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
                return columns_of(cursor.description), cursor.fetchmany(fetch)
        finally:
            if not conn.closed:
                conn.rollback()

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


def _read_only_session(dbapi_conn: psycopg.Connection, _record: object) -> None:
    # Every transaction of this connection defaults to read-only, the indexer's introspection included.
    with dbapi_conn.cursor() as cursor:
        cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    dbapi_conn.commit()
