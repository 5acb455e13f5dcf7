"""The deterministic column repairs (wrong table alias, other spelling), on Spider's concert_singer tables
(hand-built catalog: the rules need only names)."""

from __future__ import annotations

import pytest

from indexer.models import ColumnInfo, TableInfo
from service.catalog import SchemaCatalog
from service.repair import repair_columns


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
        # Spider-Syn, as the model wrote it: the schema's spelling differs in case and separators only
        ("SELECT song_releaseyear, COUNT(*) FROM singer GROUP BY song_releaseyear",
         "SELECT Song_release_year, COUNT(*) FROM singer GROUP BY Song_release_year"),
        # respelled and moved: only singer (T1) has a column spelled songname
        ("SELECT T2.songname FROM singer AS T1 JOIN singer_in_concert AS T2 ON T1.Singer_ID = T2.Singer_ID",
         "SELECT T1.Song_Name FROM singer AS T1 JOIN singer_in_concert AS T2 ON T1.Singer_ID = T2.Singer_ID"),
    ],
)
def test_column_moves_or_is_respelled_to_the_one_that_fits(sql: str, repaired: str) -> None:
    assert repair_columns(sql, CATALOG) == repaired


@pytest.mark.parametrize(
    "sql",
    [
        # two tables of the SELECT have Name: ambiguous, left to the model
        "SELECT T3.Name FROM singer AS T1 JOIN stadium AS T2 ON 1 = 1 JOIN concert AS T3 ON 1 = 1",
        # no table of the SELECT has Stadium_ID (concert would have to be joined): not this repair's job
        "SELECT T2.Stadium_ID FROM singer AS T1 JOIN singer_in_concert AS T2 ON T1.Singer_ID = T2.Singer_ID",
        # two tables have a column spelled stadiumid
        "SELECT stadiumid FROM concert JOIN stadium ON concert.Stadium_ID = stadium.Stadium_ID",
        # the query's own alias and a string in double quotes are not columns to respell
        "SELECT COUNT(*) AS concertname FROM concert ORDER BY concertname",
        'SELECT Name FROM stadium WHERE Name = "stadiumid"',
        # nothing wrong
        "SELECT T1.Name FROM singer AS T1",
        "SELECT nonsense FROM",
    ],
)
def test_nothing_is_repaired_without_exactly_one_fit(sql: str) -> None:
    assert repair_columns(sql, CATALOG) is None
