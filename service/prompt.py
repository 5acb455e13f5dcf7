"""Step 2: the prompt, stable part first so the model's prefix cache is reused.

Order: instructions -> this database's description (and glossary) -> table definitions -> examples -> question.
The whole schema goes in whenever it fits the model's context window: evaluated once per database and reused
by every question, its size costs one cold start, not each answer. The whole glossary joins it when that fits
too; else the glossary terms a question uses go with the question. A schema too large for the window gives way
to the group of tables the question is about (foreign-key neighbours, one namespace): again a prefix evaluated
once and shared; failing that, to the retrieved tables within a token budget, in a fixed order. Only examples
and question change per question.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from indexer import lexical
from indexer.models import ColumnInfo, TableInfo
from service.catalog import SchemaCatalog
from service.results import RetrievedContext
from service.settings import SchemaFormat

DIALECT_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL", "mysql": "MySQL/MariaDB"}
PREFILL = "```sql\n"
STOP = ["```"]

_INSTRUCTIONS = """You write {dialect} queries for the database described below.
Answer with exactly one {dialect} SELECT statement in a ```sql block and nothing else.
Rules:
- Use only the tables and columns defined below; join tables on the foreign keys shown.
- Select only the columns the question asks for, in the order it asks for them.
- Use the exact values shown {where} when filtering on codes, states or names."""


@dataclass
class Prompt:
    system: str
    user: str
    tables: list[str]  # tables whose definitions the prompt carries
    prefill: str = PREFILL
    group: str | None = None  # the group of tables (of a schema too large for one prompt) that is its prefix
    narrowed: bool = False  # the first of a question routed to sister groups: the best one alone


@dataclass
class Retry:
    sql: str | None
    error: str


def render_create_table(table: TableInfo, columns: set[str] | None = None) -> str:
    """A CREATE TABLE statement, the form coder models know best, with descriptions and values as comments.
    `columns` keeps only those (plus keys) when a table is too wide for the budget."""
    entries: list[tuple[str, str]] = []  # (definition, comment)
    for c in _kept_columns(table, columns):
        notes = [n for n in (c.description, c.unit and f"unit: {c.unit}") if n]
        if c.values:
            notes.append("values: " + ", ".join(c.values))
        pk = " PRIMARY KEY" if c.primary_key else ""
        entries.append((f"{_quote(c.name)} {c.type or 'TEXT'}{pk}", "; ".join(notes)))
    for fk in table.foreign_keys:
        entries.append((f"FOREIGN KEY ({', '.join(map(_quote, fk.columns))}) REFERENCES "
                        f"{_quote(fk.ref_table)}({', '.join(map(_quote, fk.ref_columns))})", ""))
    lines = [
        f"  {code}{',' if i < len(entries) - 1 else ''}{f' -- {note}' if note else ''}"
        for i, (code, note) in enumerate(entries)
    ]
    comment = f"-- {table.description}\n" if table.description else ""
    return f"{comment}CREATE TABLE {_quote(table.name)} (\n" + "\n".join(lines) + "\n);"


def render_m_schema(table: TableInfo, columns: set[str] | None = None) -> str:
    """A compact listing (XiYan-SQL's M-Schema): each column with its type, key, description and stored values
    (all of a low-cardinality text column's, else the first few, for their format), then the table's foreign
    keys as equalities. `columns` as for `render_create_table`."""
    lines = []
    for c in _kept_columns(table, columns):
        parts = [f"{_quote(c.name)}:{c.type or 'TEXT'}", *(["Primary Key"] if c.primary_key else []),
                 *filter(None, (c.description, c.unit and f"unit: {c.unit}"))]
        if c.values:
            parts.append(f"Values: [{', '.join(c.values)}]")
        elif c.examples:
            parts.append(f"Examples: [{', '.join(c.examples)}]")
        lines.append(f"({', '.join(parts)})")
    head = f"# Table: {_quote(table.name)}" + (f", {table.description}" if table.description else "")
    text = head + "\n[\n" + ",\n".join(lines) + "\n]"
    keys = [f"{_quote(table.name)}.{_quote(a)} = {_quote(fk.ref_table)}.{_quote(b)}"
            for fk in table.foreign_keys for a, b in zip(fk.columns, fk.ref_columns, strict=False)]
    return text + ("\nForeign keys: " + "; ".join(keys) if keys else "")


_RENDERERS: dict[SchemaFormat, tuple[Callable[[TableInfo, set[str] | None], str], str]] = {
    "create_table": (render_create_table, "in column comments"),
    "m_schema": (render_m_schema, "in a column's Values"),
}


def _kept_columns(table: TableInfo, columns: set[str] | None) -> list[ColumnInfo]:
    keys = {c for fk in table.foreign_keys for c in fk.columns}
    return [c for c in table.columns
            if columns is None or c.name in columns or c.primary_key or c.name in keys]


def _quote(name: str) -> str:
    return name if name.replace("_", "").isalnum() and not name[0].isdigit() else f'"{name}"'


_TEMPLATE_TOKENS = 32  # the chat template's role markers and the prefilled answer start


class PromptBuilder:
    def __init__(
        self, count_tokens: Callable[[str], int], budget: int, window: int, groups: bool = True,
        schema_format: SchemaFormat = "create_table",
    ) -> None:
        """`budget`: the most tokens of a prompt carrying retrieved tables; `window`: the most tokens of any
        prompt (the model's context less the room for its answer); `groups`: a schema too large for one prompt
        gives the question its group of tables (a stable prefix) rather than its own selection."""
        self._count = lru_cache(maxsize=8192)(count_tokens)
        self.budget = budget
        self.window = window - _TEMPLATE_TOKENS
        self.groups = groups
        self._render, self._values_where = _RENDERERS[schema_format]

    def build(
        self,
        catalog: SchemaCatalog,
        context: RetrievedContext,
        question: str,
        whole_schema: bool | None = None,
        retry: Retry | None = None,
    ) -> Prompt:
        dialect = DIALECT_NAMES.get(catalog.dialect, catalog.dialect)
        head = _INSTRUCTIONS.format(dialect=dialect, where=self._values_where) + _about(catalog)
        terms = relevant_terms(catalog, context, question)
        if whole_schema is not False:
            schema = "\n\n".join(self._render(t, None) for t in catalog.tables.values())
            glossary = [g for g in catalog.glossary if g.get("meaning")]
            layouts = [(_terms(glossary), []), ("", terms)] if glossary else [("", terms)]
            for in_prefix, with_question in layouts:
                system = "\n\n".join(filter(None, (head, in_prefix, schema)))
                user = _user_message(context, question, retry, with_question)
                if whole_schema or self._count(system) + self._count(user) <= self.window:
                    return Prompt(system, user, list(catalog.tables))
        user = _user_message(context, question, retry, terms)
        room = min(self.budget, self.window) - self._count(head) - self._count(user)
        routed = route(catalog, context, question) if self.groups else []
        # sister groups hold look-alike tables that confuse a small model: unless nearly tied, the first attempt has
        # the best one alone, a retry both
        narrowed = retry is None and len(routed) > 1 and routed[1][1] < _SISTER_BESIDE
        groups = [g for g, _ in routed[:1 if narrowed else 2]]
        while groups:  # the question's group(s) whole, a prefix shared by every question routed there
            names = [name for g in groups for name in catalog.groups[g]]
            schema = "\n\n".join(self._render(catalog.tables[n], None) for n in names)
            if self._count(schema) <= room:
                key = " + ".join(catalog.groups[g][0] for g in groups)
                return Prompt(head + "\n\n" + schema, user, names, group=key, narrowed=narrowed)
            groups = groups[:-1]
        chosen = self._fit(catalog, context, room)
        # a fixed order (the catalog's), not the ranking, keeps prefixes shared between similar questions
        ordered = [name for name in catalog.tables if name in chosen]
        return Prompt(head + "\n\n" + "\n\n".join(chosen[n] for n in ordered), user, ordered)

    def _fit(self, catalog: SchemaCatalog, context: RetrievedContext, room: int) -> dict[str, str]:
        wanted: dict[str, set[str]] = {}
        for column in context.columns:
            wanted.setdefault(column.table, set()).add(column.column)
        chosen: dict[str, str] = {}
        for retrieved in context.tables:
            table = catalog.tables.get(retrieved.table)
            if table is None:
                continue
            for text in (self._render(table, None), self._render(table, wanted.get(table.name, set()))):
                cost = self._count(text)
                if cost <= room:
                    chosen[table.name] = text
                    room -= cost
                    break
        return chosen


# routing (benchmarks.md): the groups of the best retrieved tables weighed; the words the group holds count half
# as much as its best table's score; a second group scoring this near the first's is a sister
_CANDIDATE_GROUPS, _WORDS_WEIGHT, _SECOND_GROUP = 3, 0.5, 0.7
# a sister this near (a coin toss between two databases) goes beside the best group from the first attempt; a
# less near one only on a retry: the best group alone answers better where routing is surer
_SISTER_BESIDE = 0.8


def route(catalog: SchemaCatalog, context: RetrievedContext, question: str) -> list[tuple[int, float]]:
    """The groups (`SchemaCatalog.groups`) a question is about, each with its score relative to the first's.
    Candidates: the groups of its best retrieved tables, each scored by its best table (relative to the best of
    all) plus how much of the question's rare words the group holds (sister schemas: `student_1` has no middle
    name, `student_transcripts_tracking` has). The best candidate goes first, the next too when it scores nearly
    as well. Empty when the best table is in no group: the retrieved tables are the prompt's then."""
    best: dict[int | None, float] = {}
    for table in sorted(context.tables, key=lambda t: -t.score):
        if table.reason == "retrieved":
            best.setdefault(catalog.group_of.get(table.table), table.score)
    ranked = list(best.items())
    if not ranked or ranked[0][0] is None:
        return []
    top = ranked[0][1] if ranked[0][1] > 0 else 1.0
    candidates = [(g, score) for g, score in ranked if g is not None][:_CANDIDATE_GROUPS]
    words = {*lexical.terms(question), *lexical.compounds(question)}
    held = {g: sum(catalog.group_words[g].get(w, 0.0) for w in words) for g, _ in candidates}
    most = max(held.values()) or 1.0
    scored = sorted(((score / top + _WORDS_WEIGHT * held[g] / most, g) for g, score in candidates), reverse=True)
    first = scored[0][0] if scored[0][0] > 0 else 1.0  # every score 0: no ratio to take
    return [(g, score / first) for score, g in scored[:2] if score >= _SECOND_GROUP * scored[0][0]]


def _about(catalog: SchemaCatalog) -> str:
    return f"\nDatabase: {catalog.description}" if catalog.description else ""


def relevant_terms(catalog: SchemaCatalog, context: RetrievedContext, question: str) -> list[dict[str, Any]]:
    """Glossary terms the question uses, or that explain its best columns: what goes with the question when the
    whole glossary is not in the prefix."""
    lowered = question.lower()
    best = {f"{c.table}.{c.column}".lower() for c in context.columns[:3]}
    return [
        g for g in catalog.glossary
        if g.get("meaning") and (
            any(re.search(rf"\b{re.escape(w.lower())}\b", lowered) for w in (g["term"], *g.get("synonyms", [])))
            or best & {r.lower() for r in g.get("refs", [])}
        )
    ]


def _terms(terms: list[dict[str, Any]]) -> str:
    return "Terms:\n" + "\n".join(f"- {g['term']}: {g['meaning']}" for g in terms)


def _user_message(
    context: RetrievedContext, question: str, retry: Retry | None, terms: list[dict[str, Any]]
) -> str:
    parts: list[str] = []
    for title, examples in (("Examples from other databases (their tables are not this database's):",
                             context.patterns), ("Verified examples for this database:", context.examples)):
        if examples:
            parts += [title, *(f"Question: {e.question}\n```sql\n{e.sql}\n```" for e in examples)]
    if terms:
        parts.append(_terms(terms))
    if context.links:
        parts.append("Schema names the question means in other words:\n" + "\n".join(f"- {v}" for v in context.links))
    if context.values:
        parts.append("Values the question mentions:\n" + "\n".join(f"- {v}" for v in context.values))
    parts.append(f"Question: {question}")
    if retry:
        parts.append(
            f"Your previous query was:\n```sql\n{retry.sql or ''}\n```\nIt failed: {retry.error}\n"
            "Write a different, corrected query."
        )
    return "\n\n".join(parts)
