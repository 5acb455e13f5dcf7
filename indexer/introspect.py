"""Read a database schema via the SQLAlchemy inspector: tables, views, columns, keys, comments, values."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from indexer.models import ColumnInfo, DatabaseSchema, ForeignKey, TableInfo

_MAX_VALUE_CHARS = 60
_SCAN_ROWS = 10_000  # sample values from a bounded prefix so a huge table costs no full scan


class EmptyDatabase(ValueError):
    """The database has no tables or views: nothing to index."""


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
                for column in table.columns:
                    column.values = _low_cardinality_values(conn, name, column, sample_values, schema)
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


def _low_cardinality_values(
    conn: sa.Connection, table: str, column: ColumnInfo, limit: int, schema: str | None
) -> list[str]:
    """Distinct values of a text column when it has at most `limit` of them (codes, states, vendors)."""
    type_name = column.type.upper()
    if type_name and not any(t in type_name for t in ("CHAR", "TEXT", "ENUM", "STRING", "CLOB")):
        return []
    prefix = sa.select(sa.column(column.name)).select_from(sa.table(table, schema=schema))
    prefix = prefix.limit(_SCAN_ROWS).subquery()
    query = sa.select(prefix.c[0]).where(prefix.c[0].is_not(None)).distinct().limit(limit + 1)
    try:
        values = [row[0] for row in conn.execute(query)]
    except sa.exc.SQLAlchemyError:  # an unreadable view or exotic type must not stop indexing
        conn.rollback()
        return []
    if len(values) > limit:
        return []
    return sorted(str(v)[:_MAX_VALUE_CHARS] for v in values if str(v).strip())
