"""The execution-match rules on hand-made results, then `execution_match` end to end on a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from eval import execution_match
from eval.match import order_matters, results_match
from service.databases import QueryResult
from service.errors import DatabaseError


def result(*rows: tuple[Any, ...], truncated: bool = False) -> QueryResult:
    return QueryResult([f"c{i}" for i in range(len(rows[0]))] if rows else [], [list(r) for r in rows], len(rows),
                       truncated)


def same(gold: QueryResult, predicted: QueryResult, ordered: bool = False) -> bool:
    return results_match(gold, predicted, ordered)


def test_row_order_counts_only_when_ordered() -> None:
    gold, shuffled = result((1, "a"), (2, "b")), result((2, "b"), (1, "a"))
    assert same(gold, shuffled)
    assert not same(gold, shuffled, ordered=True)
    assert same(gold, result((1, "a"), (2, "b")), ordered=True)


def test_rows_are_a_multiset() -> None:
    gold = result((1,), (1,), (2,))
    assert not same(gold, result((1,), (2,), (2,)))  # same set, other counts
    assert not same(gold, result((1,), (2,)))  # a duplicate missing
    assert same(gold, result((2,), (1,), (1,)))


def test_columns_match_under_permutation() -> None:
    gold = result(("Ann", 30, 1.5), ("Bob", 40, 2.5))
    assert same(gold, result((30, 1.5, "Ann"), (40, 2.5, "Bob")))
    assert same(gold, result((30, 1.5, "Ann"), (40, 2.5, "Bob")), ordered=True)  # order is of rows, not columns
    assert not same(gold, result(("Ann", 30), ("Bob", 40)))  # a column missing
    assert not same(result(("Ann",), ("Bob",)), result(("Ann", 30), ("Bob", 40)))  # a column too many
    # each column alone matches, but the rows pair the values differently
    assert not same(result((1, "x"), (2, "y")), result((1, "y"), (2, "x")))


def test_permuted_columns_holding_the_same_values() -> None:
    gold = result((1, 2), (2, 1), (3, 3))
    assert same(gold, result((2, 1), (1, 2), (3, 3)))
    assert not same(result((1, 2), (1, 3)), result((2, 1), (1, 1)))


def test_numbers_within_tolerance() -> None:
    assert same(result((3,),), result((3.0,),))
    assert same(result((2.0 / 3,),), result((0.6666667,),))  # rounding noise (1e-7 relative)
    assert same(result((1e12,), (5.0,)), result((5.0000000001,), (1e12 + 1,)))
    assert not same(result((0.667,),), result((0.666,),))
    assert not same(result((100.0,),), result((100.01,),))


def test_text_is_not_a_number() -> None:
    assert not same(result(("3",),), result((3,),))
    assert not same(result(("a",),), result(("A",),))


def test_null_equals_null_only() -> None:
    assert same(result((None, 1), (2, None)), result((2, None), (None, 1)))
    assert not same(result((None,),), result((0,),))
    assert not same(result((None,),), result(("",),))


def test_empty_results() -> None:
    empty = QueryResult(["a"], [], 0, False)
    assert same(empty, QueryResult(["x", "y"], [], 0, False))  # empty equals empty, whatever the columns
    assert not same(empty, result((1,)))
    assert not same(result((1,)), QueryResult(["a"], [], 0, False))


def test_a_cut_result_matches_only_a_cut_one() -> None:
    assert not same(result((1,), truncated=True), result((1,)))


def test_order_matters_follows_the_gold_query() -> None:
    assert order_matters("SELECT name FROM t ORDER BY age DESC")
    assert order_matters("select name from t order\n  by age")
    assert not order_matters("SELECT name FROM t GROUP BY name")
    assert not order_matters("SELECT border FROM t")


@pytest.fixture(scope="module")
def db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("match") / "people.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, score REAL)")
        conn.executemany("INSERT INTO people VALUES (?, ?, ?, ?)",
                         [(1, "Ann", 30, 1.5), (2, "Bob", 40, None), (3, "Cy", 30, 2.25)])
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES (CAST(X'4361666580' AS TEXT))")  # 'Cafe' + an invalid UTF-8 byte
    conn.close()
    return path


def test_execution_match_on_sqlite(db_file: Path) -> None:
    gold = "SELECT name, age FROM people WHERE age = 30"
    assert execution_match("SELECT age, name FROM people WHERE age < 35", gold, db_file) == 1
    assert execution_match("SELECT name FROM people WHERE age = 30", gold, db_file) == 0
    assert execution_match("SELECT AVG(age) FROM people", "SELECT SUM(age) * 1.0 / COUNT(*) FROM people",
                           str(db_file)) == 1
    ordered = "SELECT name FROM people ORDER BY age DESC, name"
    assert execution_match("SELECT name FROM people ORDER BY age DESC, name", ordered, db_file) == 1
    assert execution_match("SELECT name FROM people ORDER BY name", ordered, db_file) == 0
    assert execution_match("SELECT score FROM people", "SELECT score FROM people ORDER BY id DESC", db_file) == 0


def test_failures_score_zero(db_file: Path) -> None:
    gold = "SELECT COUNT(*) FROM people"
    assert execution_match(None, gold, db_file) == 0
    assert execution_match("  ", gold, db_file) == 0
    assert execution_match("SELECT nope FROM people", gold, db_file) == 0
    assert execution_match("DELETE FROM people", gold, db_file) == 0  # read-only: refused, not run
    assert execution_match(gold, gold, db_file) == 1  # the rows are all still there
    with pytest.raises(DatabaseError):
        execution_match(gold, "SELECT nope FROM people", db_file)  # a broken gold query is not a wrong answer


def test_runaway_query_times_out(db_file: Path) -> None:
    endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT COUNT(*) FROM n"
    assert execution_match(endless, "SELECT COUNT(*) FROM people", db_file, timeout_s=0.2) == 0


def test_undecodable_text_is_read_with_replacement(db_file: Path) -> None:
    assert execution_match("SELECT body FROM notes", "SELECT * FROM notes", db_file) == 1
    assert execution_match("SELECT 'Cafe' || char(65533)", "SELECT body FROM notes", db_file) == 1
