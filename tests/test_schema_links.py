"""Schema linking with the real embedding model: Spider-Syn's words for concert_singer's and flight_2's tables
and columns (hand-built catalogs: linking needs only names); where the links go in the prompt."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from indexer.models import ColumnInfo, TableInfo
from service.catalog import SchemaCatalog
from service.prompt import PromptBuilder
from service.results import RetrievedContext
from service.schema_links import SchemaLinker


def table(name: str, *columns: str) -> TableInfo:
    return TableInfo(name, [ColumnInfo(c, "TEXT") for c in columns])


CONCERTS = SchemaCatalog("sqlite", "", [], {t.name: t for t in (
    table("singer", "Singer_ID", "Name", "Country", "Song_Name", "Age", "Is_male"),
    table("stadium", "Stadium_ID", "Location", "Name", "Capacity"),
    table("concert", "concert_ID", "concert_Name", "Stadium_ID", "Year"),
)})
PETS = SchemaCatalog("sqlite", "", [], {t.name: t for t in (
    TableInfo("Student", [ColumnInfo("StuID", "INTEGER"), ColumnInfo("Fname", "TEXT"),
                          ColumnInfo("Sex", "TEXT", values=["F", "M"])]),
    TableInfo("Pets", [ColumnInfo("PetID", "INTEGER"), ColumnInfo("PetType", "TEXT", values=["cat", "dog"]),
                       ColumnInfo("pet_age", "INTEGER")]),
)})
SINGERS = SchemaCatalog("sqlite", "", [], {"singer": TableInfo("singer", [
    ColumnInfo("Name", "TEXT"), ColumnInfo("Country", "TEXT", values=["France", "Netherlands", "United States"])])})
AIRPORTS = SchemaCatalog("sqlite", "", [], {t.name: t for t in (
    table("airlines", "uid", "Airline", "Abbreviation", "Country"),
    table("airports", "City", "AirportCode", "AirportName", "Country"),
    table("flights", "Airline", "FlightNo", "SourceAirport", "DestAirport"),
)})


@pytest.fixture(scope="module")
def linker(embedder) -> SchemaLinker:
    return SchemaLinker(embedder.embed)


@pytest.mark.parametrize(
    ("catalog", "question", "link"),
    [
        (CONCERTS, "How many vocalists do we have?", '"vocalists" means singer'),
        (AIRPORTS, "Give the code of the aerodrome with the least flights.", '"aerodrome" means airports'),
        (AIRPORTS, "Give the town and country for the Alton airport.", '"town" means airports.City'),
    ],
)
def test_a_word_for_a_table_or_column_is_linked_to_its_name(linker: SchemaLinker, catalog: SchemaCatalog,
                                                             question: str, link: str) -> None:
    assert link in linker.link(question, "db", catalog, list(catalog.tables))


@pytest.mark.parametrize(
    "question",
    [
        "How many singers do we have?",  # the schema's own word
        "What is the average, minimum, and maximum age of all singers from France?",  # and how it is asked
        "Show the name of the concert held in 'Glasgow' by Alton",  # values are the value linker's
    ],
)
def test_words_the_schema_uses_and_values_are_not_linked(linker: SchemaLinker, question: str) -> None:
    assert linker.link(question, "db", CONCERTS, list(CONCERTS.tables)) == []


@pytest.mark.parametrize(
    ("catalog", "question", "link"),
    [
        (PETS, "How many puppies are raised by female students?", '"puppies" means Pets.PetType = \'dog\''),
        (PETS, "Find the family name of the student who has a kitten that is age 3.",
         '"kitten" means Pets.PetType = \'cat\''),
        (SINGERS, "What is the average age of all French musicians?", '"french" means singer.Country = \'France\''),
    ],
)
def test_a_word_for_a_stored_value_is_linked_to_the_filter_it_means(linker: SchemaLinker, catalog: SchemaCatalog,
                                                                    question: str, link: str) -> None:
    assert link in linker.link(question, "db", catalog, list(catalog.tables))


def test_a_value_the_question_writes_as_stored_is_left_to_the_value_linker(linker: SchemaLinker) -> None:
    links = linker.link("How many students have a cat or a dog?", "db", PETS, list(PETS.tables))
    assert not any("PetType" in link for link in links)
    # nor is a word linked to a value of a column the question only names ("country": not 'France')
    assert linker.link("Show the names and countries of all singers.", "db", SINGERS, ["singer"]) == []


SHOPS = SchemaCatalog("sqlite", "", [], {
    "shop": TableInfo("shop", [ColumnInfo("Name", "TEXT"), ColumnInfo("Products", "INTEGER")]),
    "employee": TableInfo("employee", [ColumnInfo("City", "TEXT", values=["Bristol", "Leeds", "Sale"])]),
})
MAKERS = SchemaCatalog("sqlite", "", [], {
    "car_makers": TableInfo("car_makers", [ColumnInfo("FullName", "TEXT"), ColumnInfo("Country", "TEXT")]),
    "continents": TableInfo("continents", [ColumnInfo("Continent", "TEXT", values=["america", "asia", "europe"])]),
})


@pytest.mark.parametrize(
    ("catalog", "question"),
    [
        (PETS, "What type of pet is the youngest animal, and how much does it weigh?"),  # 'cat' nearly as near
        (SHOPS, "Which shop sells the most products?"),  # 'Sale' is a city: a name needs a word written as one
        (MAKERS, "How many models did the maker American Motor Company produce?"),  # a name: matched as written
    ],
)
def test_no_value_link_where_the_word_does_not_single_out_one(linker: SchemaLinker, catalog: SchemaCatalog,
                                                               question: str) -> None:
    assert not any(" = " in link for link in linker.link(question, "db", catalog, list(catalog.tables)))


def test_a_proper_adjective_links_to_its_value(linker: SchemaLinker) -> None:
    links = linker.link("Which countries are European?", "db", MAKERS, list(MAKERS.tables))
    assert '"european" means continents.Continent = \'europe\'' in links


def test_a_name_said_in_two_words_is_not_linked_whatever_the_hash_seed(linker: SchemaLinker) -> None:
    # the words were once joined in a set's order, which changes with each process's hash seed: "high schoolers"
    # was said (no link) in some processes and linked in others
    students = SchemaCatalog("sqlite", "", [], {"Highschooler": table("Highschooler", "ID", "name", "grade")})
    question = "Show all the grades of the high schoolers who have some friends."
    assert linker.link(question, "db", students, ["Highschooler"]) == []


def test_a_word_as_close_to_two_tables_is_not_linked(linker: SchemaLinker) -> None:
    # "airways": airlines.Airline and flights.Airline alike; a wrong guess cost three Spider-Syn answers
    assert linker.link("Which airways have at least 10 flights?", "db", AIRPORTS, list(AIRPORTS.tables)) == []


def test_only_the_given_tables_are_linked_and_each_is_embedded_once(embedder) -> None:
    embedded: list[str] = []

    def counting(texts: Sequence[str]) -> np.ndarray:
        embedded.extend(texts)
        return embedder.embed(texts)

    linker = SchemaLinker(counting)
    assert linker.link("How many vocalists do we have?", "db", CONCERTS, ["stadium"]) == []
    linker.link("Which vocalists come from France?", "db", CONCERTS, ["stadium", "singer"])
    linker.link("List the vocalists.", "db", CONCERTS, ["singer", "stadium"])
    assert embedded.count("stadium") == 1 and embedded.count("singer") == 1 and "concert" not in embedded


def test_the_links_go_with_the_question_not_into_the_cached_prefix() -> None:
    context = RetrievedContext(links=['"vocalists" means singer'])
    plain = PromptBuilder(lambda text: len(text.split()), 3400, 6000).build(CONCERTS, RetrievedContext(), "Q?")
    linked = PromptBuilder(lambda text: len(text.split()), 3400, 6000).build(CONCERTS, context, "Q?")
    assert linked.system == plain.system
    assert linked.user.endswith('Schema names the question means in other words:\n- "vocalists" means singer'
                                "\n\nQuestion: Q?")
