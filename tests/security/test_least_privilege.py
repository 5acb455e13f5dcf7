"""The read-only users of docs/security.md, created by the fixtures from the documented SQL itself: they can
read the shop, cannot write even with read-only transactions lifted, and ragsql has no warning about them;
the administrators the other tests use get warnings."""

from __future__ import annotations

import pytest
from sqlalchemy.pool import PoolProxiedConnection

from tests.security.conftest import Shop

SERVERS = ["pg_shop", "maria_shop"]
# Lift the session's read-only default: only the privileges may stand in the way then.
READ_WRITE = {"postgres": "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
              "mysql": "SET SESSION TRANSACTION READ WRITE"}
WRITES = [
    "INSERT INTO orders (id, customer_id) VALUES (9999, 1)",
    "UPDATE orders SET total = 0",
    "DELETE FROM orders",
    "CREATE TABLE ragsql_evil_priv (a INT)",
    "DROP TABLE orders",
]


def _try(raw: PoolProxiedConnection, sql: str) -> Exception | None:
    try:
        with raw.driver_connection.cursor() as cursor:
            cursor.execute(sql)
        raw.driver_connection.commit()
    except Exception as exc:  # any refusal will do; what matters is that one came
        raw.driver_connection.rollback()
        return exc
    return None


@pytest.mark.parametrize("fixture", SERVERS)
def test_documented_user_reads_but_cannot_write(request: pytest.FixtureRequest, fixture: str) -> None:
    shop: Shop = request.getfixturevalue(fixture)
    before = shop.state()
    assert shop.reader.execute("SELECT COUNT(*) FROM orders", 1, 5).rows == [[30]]
    raw = shop.reader.engine.raw_connection()
    try:
        assert _try(raw, READ_WRITE[shop.dialect]) is None
        for sql in WRITES:
            error = _try(raw, sql)
            assert error is not None, sql
            assert "read-only" not in str(error) and "READ ONLY" not in str(error), (sql, error)  # privileges
    finally:
        raw.invalidate()  # its session is no longer read-only: never back in the pool
        raw.close()
    assert shop.state() == before


@pytest.mark.parametrize("fixture", SERVERS)
def test_documented_user_draws_no_warning_and_the_administrator_does(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    shop: Shop = request.getfixturevalue(fixture)
    assert shop.reader.privilege_warnings() == []
    assert shop.db.privilege_warnings()
    assert shop.reader.default_schema() == shop.default_schema
