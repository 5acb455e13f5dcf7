"""A deterministic repair tried before asking the model again: a column qualified with the alias of a table that
lacks it, when exactly one other table of the same SELECT has it (`T2.name` where T2 is `singer_in_concert`
and only `singer`, T1, has `name`). Small models make this slip often (86 of 567 Spider dev answers failed
with an unknown column) and a retry tends to repeat it word for word; the model's intent is unambiguous."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from indexer.models import TableInfo
from service.catalog import SchemaCatalog


def requalify_columns(sql: str, catalog: SchemaCatalog) -> str | None:
    """The query with such columns moved to the one table of their SELECT that has them; None when no column
    can be moved that way."""
    try:
        tree = sqlglot.parse_one(sql, read=catalog.dialect)
    except sqlglot.errors.SqlglotError:
        return None
    moved = False
    for select in tree.find_all(exp.Select):
        sources: dict[str, tuple[str, TableInfo]] = {}  # lowered alias -> (alias as written, table)
        for table in _own(select, exp.Table):
            name = catalog.find(table.name)
            if name:
                sources[table.alias_or_name.lower()] = (table.alias_or_name, catalog.tables[name])
        for column in _own(select, exp.Column):
            source = sources.get(column.table.lower())
            if source is None or source[1].column(column.name):
                continue
            owners = [alias for alias, table in sources.values() if table.column(column.name)]
            if len(owners) == 1:
                column.set("table", exp.to_identifier(owners[0]))
                moved = True
    return tree.sql(dialect=catalog.dialect) if moved else None


def _own(select: exp.Select, kind: type[exp.Expression]) -> list:
    """Nodes of `kind` that belong to this SELECT, not to a subquery inside it."""
    return [node for node in select.find_all(kind) if node.find_ancestor(exp.Select) is select]
