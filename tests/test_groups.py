"""A schema too large for one prompt: its groups of tables (foreign-key neighbours, one namespace), the routing
of a question to its group, the group as a stable prompt prefix, and (with the real model) that prefix
evaluated once per group and reused by the group's next question."""

from __future__ import annotations

import sqlite3

import pytest

from indexer.models import ColumnInfo, ForeignKey, TableInfo
from service.catalog import SchemaCatalog, namespace
from service.pipeline import AskPipeline
from service.prompt import PromptBuilder, Retry, route
from service.results import RetrievedContext, RetrievedTable
from service.runtime import Runtime
from service.settings import DatabaseConfig, Settings
from tests.stand_in import Scripted


def table(name: str, *columns: str, refs: tuple[str, ...] = ()) -> TableInfo:
    keys = [ForeignKey([f"{ref.rsplit('__', 1)[-1]}_id"], ref, ["id"]) for ref in refs]
    return TableInfo(name, [ColumnInfo("id", "INTEGER", primary_key=True), *(ColumnInfo(c, "TEXT") for c in columns),
                            *(ColumnInfo(k.columns[0], "INTEGER") for k in keys)], foreign_keys=keys)


CATALOG = SchemaCatalog("sqlite", "", [], {t.name: t for t in (
    table("customers", "name"),
    table("flights_a__airlines", "name"),
    table("flights_a__flights", "number", refs=("flights_a__airlines",)),
    table("flights_a__pilots", "name"),  # no key: in the group by its namespace
    table("flights_b__airports", "city"),
    table("flights_b__routes", "name"),
    table("invoices", "total", refs=("customers",)),
    table("notes", "text"),
)})


def context(*scored: tuple[str, float]) -> RetrievedContext:
    return RetrievedContext(tables=[RetrievedTable(table=t, score=s) for t, s in scored])


def test_groups_join_key_neighbours_and_namespaces_and_leave_the_rest_alone() -> None:
    assert sorted(map(sorted, CATALOG.groups)) == [  # "notes" has neither key nor namespace: in none
        ["customers", "invoices"],
        ["flights_a__airlines", "flights_a__flights", "flights_a__pilots"],
        ["flights_b__airports", "flights_b__routes"],
    ]
    assert [namespace(n) for n in ("sales.orders", "sales__orders", "__init__", "plain_name")] == [
        "sales", "sales", None, None]


@pytest.mark.parametrize(("scored", "expected"), [
    ([("flights_a__flights", 1.4), ("flights_b__routes", 0.9), ("invoices", 0.5)], [["flights_a__airlines"]]),
    # a sister group nearly as likely goes in too, after the first
    ([("flights_b__routes", 1.0), ("flights_a__pilots", 0.85)], [["flights_b__airports"], ["flights_a__airlines"]]),
    ([("invoices", 0.9), ("customers", 0.8), ("notes", 0.2)], [["customers"]]),  # one group, not two
    ([("notes", 1.0), ("invoices", 0.95)], []),  # a table in no group: the retrieved tables, as before
    ([("invoices", 1.0), ("notes", 0.95)], [["customers"]]),
    ([], []),
])
def test_a_question_goes_to_its_best_tables_group(scored: list[tuple[str, float]], expected: list[list[str]]) -> None:
    assert [CATALOG.groups[g][:1] for g, _ in route(CATALOG, context(*scored), "")] == expected


@pytest.mark.parametrize(("scored", "question", "expected"), [
    # only flights_b holds a city: it goes first, its sister beside it
    ([("flights_a__pilots", 1.0), ("flights_b__airports", 0.9)], "Which city has most airports?",
     [["flights_b__airports"], ["flights_a__airlines"]]),
    # the question's words are flights_a's alone: its sister, close by score, stays out
    ([("flights_a__flights", 1.0), ("flights_b__routes", 0.75)], "Flight numbers?", [["flights_a__airlines"]]),
    ([("flights_a__flights", 1.0), ("flights_b__routes", 0.75)], "",
     [["flights_a__airlines"], ["flights_b__airports"]]),
])
def test_the_question_words_a_group_holds_weigh_in_routing(
        scored: list[tuple[str, float]], question: str, expected: list[list[str]]) -> None:
    assert [CATALOG.groups[g][:1] for g, _ in route(CATALOG, context(*scored), question)] == expected


def test_routing_gives_each_group_its_score_relative_to_the_first() -> None:
    routed = route(CATALOG, context(("flights_b__routes", 1.0), ("flights_a__pilots", 0.75)), "")
    assert [round(score, 2) for _, score in routed] == [1.0, 0.75]
    assert [score for _, score in route(CATALOG, context(("flights_b__routes", 0.0), ("flights_a__pilots", 0.0)), "")
            ] == [0.0, 0.0]  # nothing scored: no division by zero


def test_a_groups_words_leave_its_namespace_out_and_weigh_rare_words_more() -> None:
    words = CATALOG.group_words[CATALOG.group_of["flights_b__airports"]]
    assert "city" in words and "flights_b" not in words and "flight" not in words
    assert words["city"] > words["name"] == 0.0 or "name" not in words  # every group has a name


def words(text: str) -> int:
    return len(text.split())


def test_a_group_is_the_prefix_every_question_routed_there_shares() -> None:
    builder = PromptBuilder(words, budget=400, window=200)  # the whole schema (~180 words) does not fit
    first = builder.build(CATALOG, context(("flights_a__flights", 1.2), ("flights_b__routes", 0.5)), "Flights?")
    second = builder.build(CATALOG, context(("flights_a__pilots", 0.9), ("notes", 0.3)), "Pilots by name?")
    assert first.tables == ["flights_a__airlines", "flights_a__flights", "flights_a__pilots"]
    assert first.group == second.group == "flights_a__airlines" and first.system == second.system
    assert "flights_b__routes" not in first.system and first.user.endswith("Question: Flights?")

    # a sister group scoring 0.7-0.8 of the best: the first attempt has the best group alone, a retry both
    sisters, retry = context(("flights_b__routes", 1.0), ("flights_a__pilots", 0.75)), Retry("SELECT 1", "no rows")
    narrowed = builder.build(CATALOG, sisters, "Names?")
    assert narrowed.tables == ["flights_b__airports", "flights_b__routes"] and narrowed.narrowed
    merged = builder.build(CATALOG, sisters, "Names?", retry=retry)
    assert merged.tables[:2] == ["flights_b__airports", "flights_b__routes"] and len(merged.tables) == 5
    assert not merged.narrowed and not first.narrowed  # one group: nothing left out
    tied = builder.build(CATALOG, context(("flights_b__routes", 1.0), ("flights_a__pilots", 0.9)), "Names?")
    assert tied.tables == merged.tables and not tied.narrowed  # nearly tied: both from the first attempt
    # too large for the budget: the first group alone, then the retrieved tables as before
    tight = PromptBuilder(words, budget=125, window=200)  # the retry adds ~15 words
    assert tight.build(CATALOG, sisters, "Names?", retry=retry).tables == ["flights_b__airports", "flights_b__routes"]
    retrieved = PromptBuilder(words, budget=400, window=200, groups=False).build(
        CATALOG, context(("flights_a__flights", 1.2), ("flights_b__routes", 0.5)), "Flights?")
    assert retrieved.group is None and retrieved.tables == ["flights_a__flights", "flights_b__routes"]


FILLERS = 40  # wide archive tables: with them the schema is larger than the model's window


def add_fillers(db: sqlite3.Connection) -> None:
    columns = ", ".join(f"measurement_{i:02d}_value_reading REAL" for i in range(30))
    for i in range(FILLERS):
        db.execute(f"CREATE TABLE archive__sensor_log_{i:02d} (id INTEGER PRIMARY KEY, {columns})")


def test_a_sister_groups_answer_that_finds_nothing_is_asked_again_with_both(tmp_path, embedder) -> None:
    """Scripted stand-in model (named as such): the test sets what it answers; routing (the sister scores 0.74 of
    the best: not a tie), prompts, validation and the database are real."""
    with sqlite3.connect(tmp_path / "shops.sqlite") as db:
        db.executescript("""
            CREATE TABLE north__customers (id INTEGER PRIMARY KEY, name TEXT, city TEXT);
            CREATE TABLE south__customer_accounts (id INTEGER PRIMARY KEY, name TEXT, city TEXT);
            INSERT INTO north__customers VALUES (1, 'Ada', 'Oslo');
            INSERT INTO south__customer_accounts VALUES (1, 'Bo', 'Lund');
        """)
        add_fillers(db)
    settings = Settings(home=tmp_path / "home", default_db="shops", warm_up=False,
                        databases={"shops": DatabaseConfig(url=f"sqlite:///{tmp_path / 'shops.sqlite'}")})
    llm = Scripted("SELECT name FROM north__customers WHERE city = 'Lund'", "SELECT name FROM south__customer_accounts")
    runtime = Runtime(settings, llm=llm, embedder=embedder)
    runtime.index("shops")
    result = AskPipeline(runtime).ask("Which customers are there by name and city?", "shops")
    first, second = llm.systems
    assert "north__customers" in first and "south__customer_accounts" not in first  # the best group alone
    assert "north__customers" in second and "south__customer_accounts" in second
    assert "returned no rows" in llm.prompts[1] and result.rows == [["Bo"]]
    runtime.close()


@pytest.fixture(scope="module")
def grouped_pipeline(tmp_path_factory: pytest.TempPathFactory, demo_runtime) -> AskPipeline:
    """The real model on a SQLite database of three namespaces whose whole schema does not fit its window."""
    folder = tmp_path_factory.mktemp("grouped")
    with sqlite3.connect(folder / "company.sqlite") as db:
        db.executescript("""
            CREATE TABLE sales__customers (id INTEGER PRIMARY KEY, name TEXT, city TEXT);
            CREATE TABLE sales__orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES sales__customers(id),
                                        amount REAL);
            CREATE TABLE hr__employees (id INTEGER PRIMARY KEY, name TEXT, salary REAL);
            INSERT INTO sales__customers VALUES (1, 'Ada', 'Oslo'), (2, 'Bo', 'Lund'), (3, 'Cy', 'Oslo');
            INSERT INTO sales__orders VALUES (1, 1, 10.0), (2, 1, 5.0), (3, 2, 7.5), (4, 3, 1.0), (5, 3, 2.0);
            INSERT INTO hr__employees VALUES (1, 'Di', 100.0), (2, 'Ed', 120.0);
        """)
        add_fillers(db)
    settings = Settings(home=folder / "home", default_db="company", warm_up=False,
                        databases={"company": DatabaseConfig(url=f"sqlite:///{folder / 'company.sqlite'}")})
    runtime = Runtime(settings, llm=demo_runtime.llm, embedder=demo_runtime.embedder)
    runtime.index("company")
    return AskPipeline(runtime)


@pytest.mark.slow
def test_a_groups_prefix_is_evaluated_by_its_first_question_and_reused_by_the_next(grouped_pipeline) -> None:
    pipeline = grouped_pipeline
    assert pipeline.warm_up("company") is False  # no one prefix for the whole database
    first = pipeline.ask("How many customers are there?", "company")
    second = pipeline.ask("What is the total amount of all orders?", "company")
    other = pipeline.ask("What is the highest employee salary?", "company")
    assert first.context.prompt_tables == second.context.prompt_tables == ["sales__customers", "sales__orders"]
    assert "warm_up" in first.timings and "warm_up" not in second.timings
    assert second.tokens.cached > 0.8 * second.tokens.prompt
    assert first.rows == [[3]] and second.rows == [[25.5]]
    assert other.context.prompt_tables == ["hr__employees"] and "warm_up" in other.timings
    assert other.rows == [[120.0]]
