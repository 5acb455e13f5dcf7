"""The deterministic repairs: columns (wrong table alias, other spelling), on Spider's concert_singer tables; a
column whose table must be joined, on pets_1's; join conditions comparing a column with itself or on a missing
column, on car_1's; joins that only repeat rows, on concert_singer's and flight_2's; the validate step's sequence
with the real guard (hand-built catalogs: the rules need only names and keys)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from indexer.models import ColumnInfo, ForeignKey, TableInfo
from service.catalog import SchemaCatalog
from service.errors import SQLRefused
from service.repair import prune_joins, repair_columns, repair_joins, repair_tables, repaired
from service.sql_guard import CheckedSQL, check_sql


def table(name: str, *columns: str, keys: tuple[ForeignKey, ...] = ()) -> TableInfo:
    return TableInfo(name, [ColumnInfo(c, "TEXT") for c in columns], list(keys))


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
        # no table of the SELECT has Stadium_ID, and no foreign key (this catalog declares none) links one that has
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


PETS = SchemaCatalog("sqlite", "", [], {
    t.name: t for t in (
        table("Student", "StuID", "LName", "Fname", "Age", "Major"),
        table("Has_Pet", "StuID", "PetID", keys=(ForeignKey(["StuID"], "Student", ["StuID"]),
                                                 ForeignKey(["PetID"], "Pets", ["PetID"]))),
        table("Pets", "PetID", "PetType", "pet_age"),
        table("Dorm", "dormid", "dorm_name"),  # unlinked
        table("Lives_in", "stuid", "dormid", "room_number",
              keys=(ForeignKey(["stuid"], "Student", ["StuID"]), ForeignKey(["dormid"], "Dorm", ["dormid"]))),
    )
})


@pytest.mark.parametrize(
    ("sql", "repaired"),
    [
        # Spider dev 59 as the 1.5B model wrote it: Fname is Student's, one key away from Has_Pet (T1)
        ("SELECT T1.Fname FROM Has_Pet AS T1 JOIN Pets AS T2 ON T1.PetID = T2.PetID WHERE T2.PetType = 'cat'",
         "SELECT T3.Fname FROM Has_Pet AS T1 JOIN Pets AS T2 ON T1.PetID = T2.PetID "
         "JOIN Student AS T3 ON T1.StuID = T3.StuID WHERE T2.PetType = 'cat'"),
        # Spider dev 83: qualified with Pets (T2), which no key links to Student: the table that links it is used
        ("SELECT T2.LName FROM Has_Pet AS T1 JOIN Pets AS T2 ON T1.PetID = T2.PetID WHERE T2.pet_age = 3",
         "SELECT T3.LName FROM Has_Pet AS T1 JOIN Pets AS T2 ON T1.PetID = T2.PetID "
         "JOIN Student AS T3 ON T1.StuID = T3.StuID WHERE T2.pet_age = 3"),
        # unaliased: joined under its own name, once for both of its columns
        ("SELECT Fname, LName FROM Has_Pet WHERE PetID = 3",
         "SELECT Fname, LName FROM Has_Pet JOIN Student ON Has_Pet.StuID = Student.StuID WHERE PetID = 3"),
        # three tables have StuID; Has_Pet is the only one a key links to Pets
        ("SELECT StuID FROM Pets WHERE pet_age > 2",
         "SELECT StuID FROM Pets JOIN Has_Pet ON Has_Pet.PetID = Pets.PetID WHERE pet_age > 2"),
    ],
)
def test_a_column_one_key_away_joins_its_table(sql: str, repaired: str) -> None:
    assert repair_columns(sql, PETS) == repaired


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT COUNT(*) FROM Student WHERE PetType = 'cat'",  # Pets is two keys away
        "SELECT dorm_name FROM Has_Pet",  # Dorm is linked to no table of the SELECT
        "SELECT room_number FROM Pets",  # Lives_in has it, but no key links Lives_in to Pets
        # in a join condition: the join is what is wrong (and a later join cannot be named in it on PostgreSQL)
        "SELECT T1.LName FROM Student AS T1 JOIN Has_Pet AS T2 ON T2.PetType = 'cat'",
        "SELECT Fname FROM Has_Pet AS T1 JOIN Lives_in AS T2 ON 1 = 1",  # both link to Student: two fits
    ],
)
def test_no_table_is_joined_without_exactly_one_keyed_fit(sql: str) -> None:
    assert repair_columns(sql, PETS) is None


CARS = SchemaCatalog("sqlite", "", [], {
    t.name: t for t in (
        table("continents", "ContId", "Continent"),
        table("countries", "CountryId", "CountryName", "Continent",
              keys=(ForeignKey(["Continent"], "continents", ["ContId"]),)),
        table("car_makers", "Id", "Maker", "FullName", "Country",
              keys=(ForeignKey(["Country"], "countries", ["CountryId"]),)),
        table("model_list", "ModelId", "Maker", "Model", keys=(ForeignKey(["Maker"], "car_makers", ["Id"]),)),
        table("car_names", "MakeId", "Model", "Make", keys=(ForeignKey(["Model"], "model_list", ["Model"]),)),
        table("cars_data", "Id", "Weight", "Edispl", keys=(ForeignKey(["Id"], "car_names", ["MakeId"]),)),
    )
})


@pytest.mark.parametrize(
    ("sql", "repaired"),
    [
        # Spider dev 97 as the 1.5B model wrote it: T2 compared with itself, a cross join in effect
        ("SELECT T2.Model FROM cars_data AS T1 INNER JOIN car_names AS T2 ON T2.MakeId = T2.MakeId "
         "WHERE T1.Weight < (SELECT AVG(Weight) FROM cars_data)",
         "SELECT T2.Model FROM cars_data AS T1 INNER JOIN car_names AS T2 ON T1.Id = T2.MakeId "
         "WHERE T1.Weight < (SELECT AVG(Weight) FROM cars_data)"),
        # unaliased, and the key points the other way (the earlier table references the joined one)
        ("SELECT AVG(cars_data.Edispl) FROM cars_data JOIN car_names ON car_names.Model = car_names.Model",
         "SELECT AVG(cars_data.Edispl) FROM cars_data JOIN car_names ON cars_data.Id = car_names.MakeId"),
        # the third table of a chain links to the second
        ("SELECT T3.FullName FROM car_names AS T1 JOIN model_list AS T2 ON T1.Model = T2.Model "
         "JOIN car_makers AS T3 ON T3.Id = T3.Id",
         "SELECT T3.FullName FROM car_names AS T1 JOIN model_list AS T2 ON T1.Model = T2.Model "
         "JOIN car_makers AS T3 ON T2.Maker = T3.Id"),
    ],
)
def test_a_join_comparing_a_column_with_itself_gets_its_foreign_key(sql: str, repaired: str) -> None:
    assert repair_joins(sql, CARS) == repaired


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 FROM cars_data AS T1 JOIN car_names AS T2 ON T1.Id = T2.MakeId",  # a real condition
        "SELECT 1 FROM car_makers AS T1 JOIN cars_data AS T2 ON T2.Id = T2.Id",  # no key links them
        "SELECT 1 FROM (SELECT * FROM cars_data) AS T1 JOIN car_names AS T2 ON T2.MakeId = T2.MakeId",  # derived
        "SELECT 1 FROM cars_data WHERE Id = Id",  # not a join
    ],
)
def test_no_join_is_repaired_without_exactly_one_key(sql: str) -> None:
    assert repair_joins(sql, CARS) is None


@pytest.mark.parametrize(
    ("sql", "repaired"),
    [
        # the model's join between tables two keys apart, on a column cars_data lacks: the path through both
        ("SELECT T1.FullName FROM car_makers AS T1 JOIN cars_data AS T2 ON T1.Id = T2.MakeId WHERE T2.Weight > 3000",
         "SELECT T1.FullName FROM car_makers AS T1 JOIN model_list AS T3 ON T3.Maker = T1.Id "
         "JOIN car_names AS T4 ON T4.Model = T3.Model JOIN cars_data AS T2 ON T2.Id = T4.MakeId "
         "WHERE T2.Weight > 3000"),
        # tables one key apart, on a column neither has: the key; unaliased tables are joined by their names
        ("SELECT car_makers.FullName FROM car_makers JOIN model_list ON car_makers.Id = model_list.MakerId",
         "SELECT car_makers.FullName FROM car_makers JOIN model_list ON model_list.Maker = car_makers.Id"),
        # both columns there, but no key links the tables: Spider dev 106 as the model wrote it
        ("SELECT continents.Continent, COUNT(car_makers.Id) FROM continents JOIN car_makers "
         "ON continents.ContId = car_makers.Country GROUP BY continents.Continent",
         "SELECT continents.Continent, COUNT(car_makers.Id) FROM continents JOIN countries "
         "ON countries.Continent = continents.ContId JOIN car_makers ON car_makers.Country = countries.CountryId "
         "GROUP BY continents.Continent"),
        ("SELECT car_makers.FullName FROM car_makers JOIN car_names ON car_makers.Id = car_names.Maker",
         "SELECT car_makers.FullName FROM car_makers JOIN model_list ON model_list.Maker = car_makers.Id "
         "JOIN car_names ON car_names.Model = model_list.Model"),
    ],
)
def test_a_join_on_a_missing_column_or_off_the_keys_gets_the_key_path(sql: str, repaired: str) -> None:
    assert repair_joins(sql, CARS) == repaired


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 FROM car_makers AS T1 JOIN cars_data AS T2 ON T1.Id = T2.Id",  # namesakes: may be meant
        "SELECT 1 FROM car_makers AS T1 JOIN model_list AS T2 ON T1.FullName = T2.Model",  # a key links them
        # the column is a third table's: a slip of alias, which the column repair moves
        "SELECT 1 FROM car_names AS T1 JOIN model_list AS T2 ON T1.Model = T2.Model "
        "JOIN car_makers AS T3 ON T1.Maker = T3.Id",
        # the path's table is in the query already
        "SELECT 1 FROM car_names AS T1 JOIN car_makers AS T2 ON T1.MakerId = T2.Id JOIN model_list AS T3 "
        "ON T3.Model = T1.Model",
        "SELECT 1 FROM car_makers AS T1 JOIN orphans AS T2 ON T1.Id = T2.MakerId",  # no table of that name
    ],
)
def test_no_key_path_replaces_a_valid_or_unclear_join(sql: str) -> None:
    assert repair_joins(sql, CARS) is None


def test_a_join_path_is_taken_only_when_it_is_the_one_shortest() -> None:
    # two tables link `a` to `b`: which one the model meant is not for a rule to guess
    keys = (ForeignKey(["a_id"], "a", ["id"]), ForeignKey(["b_id"], "b", ["id"]))
    two_ways = SchemaCatalog("sqlite", "", [], {t.name: t for t in (
        table("a", "id"), table("b", "id"), table("ab", "a_id", "b_id", keys=keys),
        table("ab2", "a_id", "b_id", keys=keys))})
    assert two_ways.join_paths("a", "b") == [["ab"], ["ab2"]]
    assert repair_joins("SELECT 1 FROM a JOIN b ON a.id = b.a_id", two_ways) is None
    one_way = SchemaCatalog("sqlite", "", [], {t.name: t for t in (
        table("a", "id"), table("b", "id"), table("ab", "a_id", "b_id", keys=keys))})
    assert repair_joins("SELECT 1 FROM a JOIN b ON a.id = b.a_id", one_way) == (
        "SELECT 1 FROM a JOIN ab ON ab.a_id = a.id JOIN b ON ab.b_id = b.id")


SINGERS = "FROM singer AS T1 JOIN singer_in_concert AS T2 ON T1.Singer_ID = T2.Singer_ID"


def guard(catalog: SchemaCatalog) -> Callable[[str], CheckedSQL]:
    return lambda sql: check_sql(sql, "sqlite", catalog.column_map(), 100)


@pytest.mark.parametrize(
    ("catalog", "question", "sql", "fixed"),
    [
        # Spider dev 96 as the model wrote it: cars_data (T1) has no MakeId, car_names (T2) does: the key
        ("CARS", "", "SELECT T2.Model FROM cars_data AS T1 JOIN car_names AS T2 ON T1.MakeId = T2.MakeId",
         "SELECT T2.Model FROM cars_data AS T1 JOIN car_names AS T2 ON T1.Id = T2.MakeId LIMIT 100"),
        # refused for its column: moved to the table one key away, which is joined
        ("PETS", "", "SELECT T1.Fname FROM Has_Pet AS T1 WHERE T1.PetID = 3",
         "SELECT T2.Fname FROM Has_Pet AS T1 JOIN Student AS T2 ON T1.StuID = T2.StuID WHERE T1.PetID = 3 "
         "LIMIT 100"),
        # a valid query whose join only repeats rows: the check sees the pruned one
        ("CATALOG", "List all song names by singers above the average age.",
         f"SELECT T1.Song_Name {SINGERS} WHERE T1.Age > 30", "SELECT T1.Song_Name FROM singer AS T1 WHERE "
         "T1.Age > 30 LIMIT 100"),
    ],
)
def test_the_validate_step_runs_the_repairs_its_check_needs(catalog: str, question: str, sql: str,
                                                            fixed: str) -> None:
    schema = globals()[catalog]
    ran, checked = repaired(sql, schema, question, guard(schema))
    assert checked.sql == fixed and ran != sql


def test_the_model_s_own_refusal_stands_when_no_repair_passes() -> None:
    with pytest.raises(SQLRefused) as refused:
        repaired("SELECT T1.Nickname FROM Student AS T1", PETS, "", guard(PETS))
    assert refused.value.rule == "unknown_column"
    sql = "SELECT LName FROM Student"
    assert repaired(sql, PETS, "", guard(PETS))[0] == sql


@pytest.mark.parametrize(
    ("question", "sql", "pruned"),
    [
        # Spider dev 12 as the 1.5B model wrote it: each song listed once per concert its singer sang in
        ("List all song names by singers above the average age.",
         f"SELECT T1.Song_Name {SINGERS} WHERE T1.Age > (SELECT AVG(Age) FROM singer)",
         "SELECT T1.Song_Name FROM singer AS T1 WHERE T1.Age > (SELECT AVG(Age) FROM singer)"),
        # the joined table written first does not matter; the question's words for the kept table do not either
        ("What are the names of the singers?",
         "SELECT T2.Name FROM singer_in_concert AS T1 JOIN singer AS T2 ON T1.Singer_ID = T2.Singer_ID "
         "JOIN stadium AS T3 ON T3.Stadium_ID = T2.Singer_ID",
         "SELECT T2.Name FROM singer_in_concert AS T1 JOIN singer AS T2 ON T1.Singer_ID = T2.Singer_ID"),
    ],
)
def test_a_join_that_only_repeats_rows_is_dropped(question: str, sql: str, pruned: str) -> None:
    assert prune_joins(sql, CATALOG, question) == pruned


def test_a_chain_of_joins_nothing_is_read_from_is_dropped_from_its_end() -> None:
    # Spider dev 414's shape after the key path repair: visit, then museum, joined for "visitors"
    museums = SchemaCatalog("sqlite", "", [], {t.name: t for t in (
        table("museum", "Museum_ID", "Name"), table("visitor", "ID", "Name", "Age"),
        table("visit", "Museum_ID", "visitor_ID", keys=(ForeignKey(["Museum_ID"], "museum", ["Museum_ID"]),
                                                        ForeignKey(["visitor_ID"], "visitor", ["ID"]))))})
    sql = ("SELECT T1.Name FROM visitor AS T1 JOIN visit AS T3 ON T3.visitor_ID = T1.ID JOIN museum AS T2 "
           "ON T3.Museum_ID = T2.Museum_ID WHERE T1.Age > 30")
    assert prune_joins(sql, museums, "Find the name of the visitors older than 30.") == (
        "SELECT T1.Name FROM visitor AS T1 WHERE T1.Age > 30")


AIRPORTS = SchemaCatalog("sqlite", "", [], {
    t.name: t for t in (table("airports", "City", "AirportCode"),
                        table("flights", "FlightNo", "SourceAirport", "DestAirport"))
})


@pytest.mark.parametrize(
    ("question", "sql"),
    [
        ("Which singers sang in a concert?", f"SELECT T1.Name {SINGERS}"),  # the question names the table
        ("How many singers are there?", f"SELECT COUNT(*) {SINGERS}"),  # counts what the join gives
        ("Name the singers of each age.", f"SELECT T1.Name {SINGERS} GROUP BY T1.Age"),
        ("Which concerts had a singer?", f"SELECT T2.concert_ID {SINGERS}"),  # reads the joined table
        ("Which ones?", f"SELECT concert_ID {SINGERS}"),  # unqualified, but only the joined table has it
        ("What are the names?", f"SELECT * {SINGERS}"),
        ("What are the names?", "SELECT T1.Name FROM singer AS T1 LEFT JOIN singer_in_concert AS T2 "
                                "ON T1.Singer_ID = T2.Singer_ID"),
        # a bridge: T2 links T1 to T3, which the query reads
        ("Names of singers in 2014?", f"SELECT T1.Name {SINGERS} JOIN concert AS T3 ON T2.concert_ID = "
                                      "T3.concert_ID WHERE T3.Year = 2014"),
    ],
)
def test_a_join_that_the_question_or_query_needs_stays(question: str, sql: str) -> None:
    assert prune_joins(sql, CATALOG, question) is None


def test_a_table_named_only_by_words_its_neighbour_shares_is_not_named() -> None:
    # Spider dev 349 as the model wrote it: "template" names Ref_Template_Types as much as Templates
    templates = SchemaCatalog("sqlite", "", [], {
        t.name: t for t in (table("Ref_Template_Types", "Template_Type_Code", "Template_Type_Description"),
                            table("Templates", "Template_ID", "Template_Type_Code"))
    })
    sql = ("SELECT T1.Template_Type_Description FROM Ref_Template_Types AS T1 JOIN Templates AS T2 "
           "ON T1.Template_Type_Code = T2.Template_Type_Code WHERE T1.Template_Type_Code = 'AD'")
    assert prune_joins(sql, templates, 'What is the template type description for template type code "AD"?') == (
        "SELECT T1.Template_Type_Description FROM Ref_Template_Types AS T1 WHERE T1.Template_Type_Code = 'AD'")


def test_a_join_named_by_its_columns_in_the_question_stays() -> None:
    # Spider dev 222's join, without its count: "destination" names flights through DestAirport
    sql = "SELECT T1.City FROM airports AS T1 JOIN flights AS T2 ON T1.AirportCode = T2.DestAirport"
    assert prune_joins(sql, AIRPORTS, "Which cities are flight destinations?") is None
    assert prune_joins(sql, AIRPORTS, "Which cities are destinations?") is None
    assert prune_joins(sql, AIRPORTS, "Which cities have an airport?") == "SELECT T1.City FROM airports AS T1"


STUDENTS = SchemaCatalog("sqlite", "", [], {t.name: t for t in (
    table("Addresses", "address_id", "line_1", "city"),
    table("Students", "student_id", "current_address_id", "permanent_address_id", "first_name",
          keys=(ForeignKey(["current_address_id"], "Addresses", ["address_id"]),
                ForeignKey(["permanent_address_id"], "Addresses", ["address_id"]))),
    table("Student_Enrolment", "student_enrolment_id", "student_id", "degree_program_id",
          keys=(ForeignKey(["student_id"], "Students", ["student_id"]),)),
    table("Degree_Programs", "degree_program_id", "degree_summary_name"),
)})


def test_a_look_alike_table_missing_a_column_gives_way_to_the_one_that_has_all_read_from_it() -> None:
    # Spider dev 562 as the model wrote it: Student_Enrolment has student_id but not current_address_id;
    # Students has both, and two key paths from Addresses make the join repair leave it alone
    sql = ("SELECT T1.address_id, T1.line_1 FROM Addresses AS T1 JOIN Student_Enrolment AS T2 ON T1.address_id = "
           "T2.current_address_id GROUP BY T1.address_id ORDER BY COUNT(T2.student_id) DESC LIMIT 1")
    assert repaired(sql, STUDENTS, "", guard(STUDENTS))[0] == sql.replace("Student_Enrolment", "Students")


@pytest.mark.parametrize(
    "sql",
    [
        # no table has both first_name and city_id
        "SELECT T2.first_name FROM Addresses AS T1 JOIN Student_Enrolment AS T2 ON T1.address_id = T2.city_id",
        # the one that has the column is in the query already: the column repair's to move
        "SELECT T2.degree_summary_name FROM Degree_Programs AS T1 JOIN Students AS T2 ON T1.degree_program_id = "
        "T2.student_id",
        "SELECT T2.student_id FROM Addresses AS T1, Degree_Programs AS T2",  # two tables have student_id
        "SELECT Student_Enrolment.current_address_id FROM Student_Enrolment",  # unaliased: qualifiers are its name
    ],
)
def test_no_table_is_swapped_without_exactly_one_that_has_every_column_read(sql: str) -> None:
    assert repair_tables(sql, STUDENTS) is None


def test_columns_a_joined_table_shares_are_qualified_with_the_table_they_read() -> None:
    # Spider dev 375 as the model wrote it: Paragraph_ID is Paragraphs', joined on its key; Document_ID, which
    # both tables then have, would be ambiguous unqualified
    documents = SchemaCatalog("sqlite", "", [], {t.name: t for t in (
        table("Documents", "Document_ID", "Document_Name"),
        table("Paragraphs", "Paragraph_ID", "Document_ID",
              keys=(ForeignKey(["Document_ID"], "Documents", ["Document_ID"]),)),
    )})
    sql = ("SELECT Document_ID FROM Documents WHERE Document_ID = (SELECT Document_ID FROM Documents "
           "GROUP BY Document_ID ORDER BY COUNT(Paragraph_ID) ASC LIMIT 1)")
    assert repaired(sql, documents, "", guard(documents))[0] == (
        "SELECT Document_ID FROM Documents WHERE Document_ID = (SELECT Documents.Document_ID FROM Documents JOIN "
        "Paragraphs ON Paragraphs.Document_ID = Documents.Document_ID GROUP BY Documents.Document_ID ORDER BY "
        "COUNT(Paragraph_ID) ASC LIMIT 1)")
