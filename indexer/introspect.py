"""Read a database schema via the SQLAlchemy inspector: tables, views, columns, keys, comments, values."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from indexer.errors import EmptyDatabase
from indexer.models import ColumnInfo, DatabaseSchema, ForeignKey, TableInfo

_MAX_VALUE_CHARS = 60
_MAX_EXAMPLE_CHARS = 40
_EXAMPLES = 3  # stored values of any column, to show the model their format
_SCAN_ROWS = 2_000  # sample values from a bounded prefix so a huge table costs no full scan


def introspect(
    engine: Engine, dialect: str, sample_values: int = 8, schema: str | None = None
) -> DatabaseSchema:
    inspector = sa.inspect(engine)
    names = [(n, False) for n in inspector.get_table_names(schema=schema)]
    names += [(n, True) for n in inspector.get_view_names(schema=schema)]
    if not names:
        raise EmptyDatabase(f"no tables or views found in {engine.url.render_as_string(hide_password=True)}")
    tables = []
    with engine.connect() as conn:
        for name, is_view in sorted(names):
            table = _read_table(inspector, name, is_view, schema)
            if sample_values:
                _add_values(conn, table, sample_values, schema)
            tables.append(table)
    return DatabaseSchema(dialect=dialect, tables=tables)


def _read_table(inspector: sa.Inspector, name: str, is_view: bool, schema: str | None) -> TableInfo:
    pk = set(inspector.get_pk_constraint(name, schema=schema).get("constrained_columns") or [])
    columns = [
        ColumnInfo(
            name=c["name"],
            type=str(c["type"]) if not isinstance(c["type"], sa.types.NullType) else "",
            nullable=bool(c.get("nullable", True)),
            primary_key=c["name"] in pk,
            comment=c.get("comment"),
        )
        for c in inspector.get_columns(name, schema=schema)
    ]
    foreign_keys = [
        ForeignKey(fk["constrained_columns"], fk["referred_table"], fk["referred_columns"])
        for fk in inspector.get_foreign_keys(name, schema=schema)
        if fk.get("referred_table")
    ]
    try:
        comment = inspector.get_table_comment(name, schema=schema).get("text")
    except NotImplementedError:  # SQLite has no comments
        comment = None
    return TableInfo(name=name, columns=columns, foreign_keys=foreign_keys, comment=comment, is_view=is_view)


def _add_values(conn: sa.Connection, table: TableInfo, limit: int, schema: str | None) -> None:
    """Distinct values of the text columns that have at most `limit` of them (codes, states, vendors), and the
    first few values of every column (their format), read from one bounded prefix of the table: one query per
    table, not one per column (20,000 columns cost 20,000 round trips), and the read stops as soon as every
    column has shown too many values and its examples."""
    query = sa.select(*(sa.column(c.name) for c in table.columns)).select_from(sa.table(table.name, schema=schema))
    text = [_is_text(c.type) for c in table.columns]
    seen: list[set[str] | None] = [set() if t else None for t in text]  # None: too many distinct values, or not text
    examples: list[list[str]] = [[] for _ in table.columns]
    try:
        for row in conn.execute(query.limit(_SCAN_ROWS)):
            for i, value in enumerate(row):
                if value is None or isinstance(value, bytes | memoryview) or not str(value).strip():
                    continue  # nothing to show: NULL, blank or binary
                if len(examples[i]) < _EXAMPLES and (shown := str(value)[:_MAX_EXAMPLE_CHARS]) not in examples[i]:
                    examples[i].append(shown)
                values = seen[i]
                if values is not None:
                    values.add(str(value)[:_MAX_VALUE_CHARS])
                    if len(values) > limit:
                        seen[i] = None
            if all(v is None for v in seen) and all(len(e) == _EXAMPLES for e in examples):
                break
    except sa.exc.SQLAlchemyError:  # an unreadable view or exotic type must not stop indexing
        conn.rollback()
        return
    for column, values, shown in zip(table.columns, seen, examples, strict=True):
        column.values = sorted(values) if values else []
        column.examples = shown


def _is_text(type_name: str) -> bool:
    upper = type_name.upper()
    return not upper or any(t in upper for t in ("CHAR", "TEXT", "ENUM", "STRING", "CLOB"))
