"""The deterministic repair of a column qualified with the wrong table alias, on Spider's concert_singer tables
(hand-built catalog: the rule needs only names)."""

from __future__ import annotations

import pytest

from indexer.models import ColumnInfo, TableInfo
from service.catalog import SchemaCatalog
from service.repair import requalify_columns


def table(name: str, *columns: str) -> TableInfo:
    return TableInfo(name, [ColumnInfo(c, "TEXT") for c in columns])


CATALOG = SchemaCatalog("sqlite", "", [], {
    t.name: t for t in (
        table("singer", "Singer_ID", "Name", "Song_Name", "Song_release_year", "Age"),
        table("singer_in_concert", "concert_ID", "Singer_ID"),
        table("concert", "concert_ID", "concert_Name", "Stadium_ID", "Year"),
        table("stadium", "Stadium_ID", "Name", "Capacity"),
    )
})


@pytest.mark.parametrize(
    ("sql", "repaired"),
    [
        # Spider dev 6 as the 1.5B model wrote it: the song columns belong to singer (T1), not T2
        ("SELECT T2.Name, T2.Song_release_year FROM singer AS T1 JOIN singer_in_concert AS T2 "
         "ON T1.Singer_ID = T2.Singer_ID ORDER BY T1.Age LIMIT 1",
         "SELECT T1.Name, T1.Song_release_year FROM singer AS T1 JOIN singer_in_concert AS T2 "
         "ON T1.Singer_ID = T2.Singer_ID ORDER BY T1.Age LIMIT 1"),
        # a table named without an alias is its own qualifier; case follows the query
        ("SELECT concert.Capacity FROM concert JOIN stadium ON concert.Stadium_ID = stadium.Stadium_ID",
         "SELECT stadium.Capacity FROM concert JOIN stadium ON concert.Stadium_ID = stadium.Stadium_ID"),
        # inside a subquery only that subquery's tables count
        ("SELECT Name FROM singer WHERE Singer_ID IN (SELECT T.Age FROM singer_in_concert AS T "
         "JOIN singer AS S ON T.Singer_ID = S.Singer_ID)",
         "SELECT Name FROM singer WHERE Singer_ID IN (SELECT S.Age FROM singer_in_concert AS T "
         "JOIN singer AS S ON T.Singer_ID = S.Singer_ID)"),
    ],
)
def test_column_moves_to_the_one_table_that_has_it(sql: str, repaired: str) -> None:
    assert requalify_columns(sql, CATALOG) == repaired


@pytest.mark.parametrize(
    "sql",
    [
        # two tables of the SELECT have Name: ambiguous, left to the model
        "SELECT T3.Name FROM singer AS T1 JOIN stadium AS T2 ON 1 = 1 JOIN concert AS T3 ON 1 = 1",
        # no table of the SELECT has Stadium_ID (concert would have to be joined): not this repair's job
        "SELECT T2.Stadium_ID FROM singer AS T1 JOIN singer_in_concert AS T2 ON T1.Singer_ID = T2.Singer_ID",
        # nothing wrong
        "SELECT T1.Name FROM singer AS T1",
        "SELECT nonsense FROM",
    ],
)
def test_nothing_is_moved_without_exactly_one_owner(sql: str) -> None:
    assert requalify_columns(sql, CATALOG) is None
