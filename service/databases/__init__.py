"""Read-only access to users' databases; `open_database(id, url)` picks the implementation by URL scheme."""

from __future__ import annotations

import sqlalchemy as sa

from service.databases.base import Database, QueryResult, json_safe
from service.databases.mysql import MySQLDatabase
from service.databases.postgres import PostgresDatabase
from service.databases.sqlite import SQLiteDatabase
from service.errors import DatabaseMisconfigured

__all__ = [
    "Database",
    "MySQLDatabase",
    "PostgresDatabase",
    "QueryResult",
    "SQLiteDatabase",
    "json_safe",
    "open_database",
]

_BY_BACKEND: dict[str, type[Database]] = {
    "sqlite": SQLiteDatabase,
    "postgresql": PostgresDatabase,
    "postgres": PostgresDatabase,
    "mysql": MySQLDatabase,
    "mariadb": MySQLDatabase,
}


def open_database(db_id: str, url: str) -> Database:
    """A Database for `url` (sqlite, postgresql[+psycopg], mysql/mariadb[+pymysql]); connects lazily."""
    try:
        backend = sa.make_url(url).get_backend_name()
    except sa.exc.ArgumentError:
        raise DatabaseMisconfigured(f"database '{db_id}': not a database URL") from None
    if backend not in _BY_BACKEND:
        supported = "sqlite, postgresql, mysql or mariadb"
        raise DatabaseMisconfigured(f"database '{db_id}': unsupported URL scheme '{backend}' (use {supported})")
    return _BY_BACKEND[backend](db_id, url)
