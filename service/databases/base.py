"""Run one statement on a user's database, read-only, with row and byte caps and a time limit.

Each implementation makes the connection itself read-only, as a second wall behind service.sql_guard: a
statement that slipped past the validator must still be unable to write. It pins the session settings the
guard assumes, and hands every connection back to the pool clean (no locks, variables or session changes
left behind by a query).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.pool import PoolProxiedConnection

from service.errors import DatabaseError, DatabaseUnavailable, first_line

CONNECT_TIMEOUT_S = 5
MAX_RESULT_BYTES = 16 * 2**20  # default cap on a result's size (about its JSON size), beside the row cap
_FETCH_BATCH = 256

# Column names, rows as the driver returns them, whether the byte cap stopped the fetch.
Fetched = tuple[list[str], list[Sequence[Any]], bool]


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]  # JSON-safe values
    row_count: int
    truncated: bool  # more rows existed than were returned (max_rows or max_result_bytes reached)
    byte_limited: bool = False  # the rows stopped at max_result_bytes


class Database(ABC):
    dialect: ClassVar[str]  # sqlglot dialect name
    ping_sql: ClassVar[str] = "SELECT 1"

    def __init__(self, db_id: str, url: str) -> None:
        self.id = db_id
        self.url = url
        self.engine: sa.Engine = self._create_engine(url)

    @abstractmethod
    def _create_engine(self, url: str) -> sa.Engine:
        """An engine whose connections are read-only where the driver allows."""

    @abstractmethod
    def _run(self, raw: PoolProxiedConnection, sql: str, fetch: int, timeout_s: float, max_bytes: int) -> Fetched:
        """Run `sql` read-only within `timeout_s`; return the column names and at most `fetch` rows of at
        most `max_bytes` in all (`fetch_rows`), and leave the connection clean."""

    @abstractmethod
    def _translate(self, exc: Exception) -> DatabaseError | None:
        """The DatabaseError for a driver exception, None if it is not one."""

    def default_schema(self) -> str | None:
        """The schema (PostgreSQL) or database (MySQL) the indexed tables live in, as queries may qualify
        them: pass it to service.sql_guard.check_sql. None when the database has none to name."""
        return None

    def privilege_warnings(self) -> list[str]:
        """What the configured user may do beyond reading (write, administer), one sentence each; [] when it
        is read-only. ragsql never writes, but a read-only user is the wall that holds when all else fails."""
        return []

    def execute(
        self, sql: str, max_rows: int, timeout_s: float, *, max_result_bytes: int = MAX_RESULT_BYTES
    ) -> QueryResult:
        raw = self._checkout()
        try:
            # one more row tells truncation
            columns, rows, byte_limited = self._run(raw, sql, max_rows + 1, timeout_s, max_result_bytes)
        except Exception as exc:
            error = self._translate(exc)
            if error is None:
                raise
            if isinstance(error, DatabaseUnavailable):
                raw.invalidate()
            raise error from exc
        finally:
            raw.close()
        kept = [[json_safe(v) for v in row] for row in rows[:max_rows]]
        return QueryResult(columns, kept, len(kept), len(rows) > max_rows or byte_limited, byte_limited)

    def ping(self) -> None:
        raw = self._checkout()
        try:
            cursor = raw.cursor()
            cursor.execute(self.ping_sql)
            cursor.fetchall()
            cursor.close()
        except Exception as exc:
            raw.invalidate()
            raise DatabaseUnavailable(f"database '{self.id}' does not answer: {first_line(exc)}") from exc
        finally:
            raw.close()

    def close(self) -> None:
        self.engine.dispose()

    def _checkout(self) -> PoolProxiedConnection:
        try:
            return self.engine.raw_connection()
        except Exception as exc:
            # SQLAlchemy wraps driver errors, except those raised by a custom `creator`
            cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
            if cause is exc and self._translate(exc) is None:
                raise
            raise DatabaseUnavailable(f"cannot connect to database '{self.id}': {first_line(cause)}") from exc

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r}, {self.engine.url.render_as_string(hide_password=True)!r})"


def columns_of(description: Sequence[Sequence[Any]] | None) -> list[str]:
    return [str(d[0]) for d in description or []]


def fetch_rows(cursor: Any, fetch: int, max_bytes: int) -> tuple[list[Sequence[Any]], bool]:
    """At most `fetch` rows from a DB-API cursor, read in batches and stopped before `max_bytes`; whether the
    byte cap stopped it."""
    rows: list[Sequence[Any]] = []
    size = 0
    while len(rows) < fetch:
        batch = cursor.fetchmany(min(_FETCH_BATCH, fetch - len(rows)))
        if not batch:
            break
        for row in batch:
            size += sum(_value_bytes(v) for v in row)
            if size > max_bytes:
                return rows, True
            rows.append(row)
    return rows, False


def _value_bytes(value: Any) -> int:
    # About the value's size in the JSON answer (bytes are shown as hex).
    if value is None:
        return 4
    if isinstance(value, bytes | bytearray | memoryview):
        return 2 * len(value)
    return len(value) if isinstance(value, str) else len(str(value))


def json_safe(value: Any) -> Any:
    """A value the JSON encoder takes as is, keeping its meaning."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return _bytes_text(bytes(value))
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return str(value)  # network addresses, ranges, enums...


def _bytes_text(data: bytes) -> str:
    # Text stored as bytes reads best as text; anything binary is shown as hex.
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data.hex()
    return text if all(c.isprintable() or c in "\t\n\r" for c in text) else data.hex()
