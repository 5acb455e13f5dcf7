"""Property-based fuzzing of the guard: whatever the text, it returns checked SQL or refuses, never crashes;
what it returns passes it again unchanged."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.errors import SQLRefused
from service.sql_guard import CheckedSQL, check_sql
from tests.security.cases import COMMON, HOSTILE, SPECIFIC
from tests.security.conftest import SHOP

DIALECTS = ["sqlite", "postgres", "mysql"]
DEFAULT = {"sqlite": None, "postgres": "shop", "mysql": "shop"}
SEEDS = [*COMMON, *(sql for sqls in SPECIFIC.values() for sql in sqls), *(c.sql for c in HOSTILE[:150])]
# Pieces of SQL, hostile and not, for the grammar-less strategy to glue together.
TOKENS = [
    "SELECT", "FROM", "WHERE", "GROUP BY", "ORDER BY", "HAVING", "LIMIT", "UNION", "WITH", "AS", "JOIN", "ON",
    "(", ")", ",", ";", "*", "=", "'", '"', "`", "--", "/*", "*/", "\\", "$$", "::", "@", "@@", "?", "$1",
    "orders", "customers", "o", "c", "id", "total", "note", "secret.orders", "pg_catalog.pg_authid", "mysql.user",
    "pg_sleep(1)", "SLEEP(1)", "COUNT(*)", "json_each(note)", "1", "0.5", "'x'", "NULL", "\x00", "\u202e",
    "INTO OUTFILE '/tmp/x'", "FOR UPDATE", "DELETE", "OVER (PARTITION BY id)", "CASE WHEN", "END", "REGEXP",
]
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def checked_or_refused(sql: str, dialect: str) -> None:
    try:
        checked = check_sql(sql, dialect, SHOP, 100, default_schema=DEFAULT[dialect])
    except SQLRefused as refused:
        assert refused.rule and refused.reason and "\n" not in refused.reason
        return
    assert isinstance(checked, CheckedSQL) and checked.limit <= 100
    again = check_sql(checked.sql, dialect, SHOP, 100, default_schema=DEFAULT[dialect])
    assert again.sql == checked.sql  # a fixed point: what runs would be accepted as is


@SETTINGS
@given(st.sampled_from(DIALECTS), st.lists(st.sampled_from(TOKENS), max_size=30))
def test_token_soup(dialect: str, tokens: list[str]) -> None:
    checked_or_refused(" ".join(tokens), dialect)


@SETTINGS
@given(st.sampled_from(DIALECTS), st.sampled_from(SEEDS), st.data())
def test_mutated_statements(dialect: str, seed: str, data: st.DataObject) -> None:
    sql = seed
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(sql)))
        cut = data.draw(st.integers(0, 5))
        insert = data.draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)))
        sql = sql[:at] + insert + sql[at + cut:]
    checked_or_refused(sql, dialect)


NESTING = {"(": ")", "(SELECT ": ")", "-(": ")", "NOT ": "", "CASE WHEN 1 = 1 THEN ": " END"}


@settings(SETTINGS, max_examples=100)
@given(st.sampled_from(DIALECTS), st.integers(1, 200), st.sampled_from(sorted(NESTING)))
def test_deep_nesting(dialect: str, depth: int, opener: str) -> None:
    checked_or_refused("SELECT " + opener * depth + "1" + NESTING[opener] * depth, dialect)
