"""What a gold query needs: its tables and columns, read with sqlglot (retrieval recall, retrieval tests)."""

from __future__ import annotations

import sqlglot
from sqlglot import exp


def gold_tables(sql: str) -> set[str]:
    """The tables a query reads, lower-cased; CTE names are not tables."""
    tree = sqlglot.parse_one(sql, read="sqlite")
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    return {t.name.lower() for t in tree.find_all(exp.Table)} - ctes


def gold_columns(sql: str) -> set[str]:
    """The column names a query uses, lower-cased, without the aliases it defines itself. Spider's gold SQL
    writes strings in double quotes (`WHERE city = "Aberdeen"`), which SQLite reads as text when no column
    has that name and sqlglot as a quoted column: quoted names without a table are strings here (the
    benchmarks never quote a column name)."""
    tree = sqlglot.parse_one(sql, read="sqlite")
    aliases = {a.alias.lower() for a in tree.find_all(exp.Alias)}
    return {
        c.name.lower() for c in tree.find_all(exp.Column)
        if c.name and c.name.lower() not in aliases and not (c.this.quoted and not c.table)
    }
