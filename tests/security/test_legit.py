"""Legitimate analytics (joins, windows, CTEs, JSON, dates, regular expressions) pass the guard and run on the
real servers as the read-only user of docs/security.md."""

from __future__ import annotations

import pytest

from service.sql_guard import check_sql
from tests.security.cases import LEGIT
from tests.security.conftest import Shop
from tests.security.test_hostile import fill

FIXTURES = {"sqlite": "sqlite_shop", "postgres": "pg_shop", "mysql": "maria_shop"}


def test_there_are_enough_cases() -> None:
    assert len(LEGIT) >= 150
    assert len(set(LEGIT)) == len(LEGIT), "duplicate cases"


@pytest.mark.parametrize(("dialect", "sql"), LEGIT, ids=lambda v: v if v in FIXTURES else repr(v[:60]))
def test_passes_and_runs(request: pytest.FixtureRequest, dialect: str, sql: str) -> None:
    shop: Shop = request.getfixturevalue(FIXTURES[dialect])
    checked = check_sql(fill(sql, shop.default_schema, shop.secret), dialect, shop.schema, 50,
                        default_schema=shop.default_schema)
    result = shop.reader.execute(checked.sql, 50, timeout_s=5)
    assert result.columns and result.row_count > 0, checked.sql
