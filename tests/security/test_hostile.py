"""Hostile SQL: the guard refuses every case, and those with effects, run straight against the real servers as
the read-only user, change nothing, leak nothing and leave nothing held."""

from __future__ import annotations

import time

import pytest

from service.errors import DatabaseError, SQLRefused
from service.sql_guard import check_sql
from tests.security.cases import HOSTILE, Hostile
from tests.security.conftest import SECRET_MARK, SHOP, Shop

GUARD_SCHEMA = {"sqlite": SHOP, "postgres": SHOP, "mysql": {**SHOP, "user": ["id", "name"]}}
GUARD_DEFAULT = {"sqlite": None, "postgres": "shop", "mysql": "shop"}


def fill(sql: str, shop: str, secret: str) -> str:
    return sql.replace("{shop}", shop).replace("{secret}", secret)


def test_there_are_enough_cases() -> None:
    assert len(HOSTILE) >= 300
    assert len({(c.dialect, c.sql) for c in HOSTILE}) == len(HOSTILE), "duplicate cases"
    assert all(c.why for c in HOSTILE)


@pytest.mark.parametrize("case", HOSTILE, ids=lambda c: f"{c.dialect}-{c.sql[:60]!r}")
def test_the_guard_refuses(case: Hostile) -> None:
    sql = fill(case.sql, "shop", "secret")
    with pytest.raises(SQLRefused) as info:
        check_sql(sql, case.dialect, GUARD_SCHEMA[case.dialect], 100, default_schema=GUARD_DEFAULT[case.dialect])
    assert info.value.reason and "\n" not in info.value.reason, case.why


def test_the_servers_hold_behind_the_guard(shop: Shop) -> None:
    cases = [c for c in HOSTILE if c.dialect == shop.dialect and c.server]
    assert cases
    before = shop.state()
    started = time.monotonic()
    for case in cases:
        sql = fill(case.sql, shop.default_schema, shop.secret)
        with pytest.raises(SQLRefused):  # the whole path, as the administrator: nothing reaches the server
            check_sql(sql, shop.dialect, shop.schema, 100, default_schema=shop.default_schema)
        try:  # the guard bypassed, as the read-only user: the connection and the privileges alone
            result = shop.reader.execute(sql, 100, timeout_s=1)
        except DatabaseError:
            continue
        assert SECRET_MARK not in repr(result.rows), (case.sql, case.why)
    assert shop.state() == before
    assert time.monotonic() - started < 10 + len(cases) * 0.2  # the time limit held (sleeps are 5 s)
