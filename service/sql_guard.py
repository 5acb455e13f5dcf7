"""Validate model-written SQL before it reaches a database.

The model is not trusted: a statement is accepted only if it is one read-only query (SELECT, WITH ... SELECT
or a set operation), calls no function with side effects or file/system access, names only tables and
columns that exist, and returns at most `max_rows` rows. The database connection is read-only as well
(service/databases); this module is the first wall and the one that explains refusals.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.tokens import Token, TokenType

from service.errors import SQLRefused

# Functions refused anywhere in the tree (compared lower-case): side effects, sleeping, locks, sequences,
# files, the OS, other servers, configuration. The prefixes cover whole families (dblink_exec, lo_unlink...).
FORBIDDEN_FUNCTIONS: frozenset[str] = frozenset({
    # PostgreSQL
    "pg_sleep", "pg_sleep_for", "pg_sleep_until", "pg_stat_file", "pg_terminate_backend", "pg_cancel_backend",
    "pg_reload_conf", "pg_rotate_logfile", "pg_switch_wal", "pg_promote", "pg_notify", "set_config",
    "nextval", "setval", "currval", "lastval",
    # MySQL / MariaDB
    "load_file", "sleep", "benchmark", "get_lock", "release_lock", "release_all_locks", "is_free_lock",
    "is_used_lock", "master_pos_wait", "source_pos_wait", "sys_exec", "sys_eval",
    # SQLite (and its shell's extension functions)
    "load_extension", "readfile", "writefile", "edit", "fsdir", "fts3_tokenizer",
})
FORBIDDEN_FUNCTION_PREFIXES: tuple[str, ...] = (
    "dblink", "lo_", "pg_read_", "pg_ls_", "pg_file_", "pg_advisory", "pg_try_advisory", "txid_",
    "pg_create_", "pg_drop_", "pg_replication_", "pg_logical_",
    "query_to_xml", "cursor_to_xml", "database_to_xml",  # run SQL given as a string, unseen by the guard
)

# Nodes that write, change the session or lock rows, wherever they appear (e.g. a DELETE inside a WITH).
_WRITE_NODES: tuple[type, ...] = (
    exp.DML, exp.DDL, exp.Drop, exp.Alter, exp.TruncateTable, exp.Command, exp.Pragma, exp.Set, exp.Grant,
    exp.Attach, exp.Detach, exp.Analyze, exp.Transaction, exp.Commit, exp.Rollback, exp.Use, exp.Lock,
)

# Columns every table has without declaring them.
_IMPLICIT_COLUMNS: dict[str, frozenset[str]] = {
    "sqlite": frozenset({"rowid", "oid", "_rowid_"}),
    "postgres": frozenset({"ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"}),
    "mysql": frozenset({"_rowid"}),
}
_CASE_INSENSITIVE = {"sqlite", "mysql"}

Schema = Mapping[str, Collection[str]]  # table name -> column names, as stored in the database
Columns = frozenset[str] | None  # the column names a source exposes; None: unknown, accept any


@dataclass(frozen=True)
class CheckedSQL:
    sql: str
    tables: tuple[str, ...]
    limit: int


def check_sql(sql: str, dialect: str, schema: Schema, max_rows: int) -> CheckedSQL:
    """Return the statement to run, or raise SQLRefused saying which rule it broke."""
    tree = _parse_single(sql, dialect)
    _check_read_only(tree)
    _check_functions(tree)
    tables = _check_names(tree, dialect, schema)
    limit = _apply_limit(tree, max_rows)
    # Comments are dropped: they are useless to the database and the only place left to hide anything.
    return CheckedSQL(tree.sql(dialect=dialect, comments=False), tables, limit)


# --- one statement -----------------------------------------------------------------------------------------


def _parse_single(sql: str, dialect: str) -> exp.Expression:
    if not sql.strip():
        raise SQLRefused("empty", "the SQL statement is empty")
    try:
        tokens = sqlglot.tokenize(sql, read=dialect)
        if not any(t.token_type != TokenType.SEMICOLON for t in tokens):
            raise SQLRefused("empty", "the SQL statement is empty")
        _check_into_file(tokens)
        statements = [
            s for s in sqlglot.parse(sql, read=dialect) if s is not None and not isinstance(s, exp.Semicolon)
        ]
    except (SqlglotError, RecursionError) as exc:
        raise SQLRefused("parse", f"cannot parse the SQL: {_first_line(exc)}") from None
    if not statements:
        raise SQLRefused("empty", "the SQL statement is empty")
    if len(statements) > 1:
        raise SQLRefused("single_statement", f"expected one statement, got {len(statements)}")
    tree = statements[0]
    while isinstance(tree, exp.Subquery) and not tree.alias:  # "(SELECT ...)" at the top
        tree = tree.this
    if any(not select.expressions for select in tree.find_all(exp.Select)):
        raise SQLRefused("parse", "cannot parse the SQL: a SELECT has no columns")
    return tree


def _check_into_file(tokens: list[Token]) -> None:
    # sqlglot cannot parse MySQL's INTO OUTFILE/DUMPFILE: catch it on the tokens, or it is only a parse error.
    for token, after in itertools.pairwise(tokens):
        if token.token_type == TokenType.INTO and after.text.upper() in ("OUTFILE", "DUMPFILE"):
            raise SQLRefused("select_into", f"SELECT ... INTO {after.text.upper()} writes a file")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    # sqlglot prints whole token objects: keep their text only ("SENTINEL" is the end of the input).
    line = re.sub(r"<Token token_type: [\w.]+, text: (.*?), line: .*?>", r"'\1'", lines[0])
    return line.replace("'SENTINEL'", "the end of the input")[:200]


# --- read-only -------------------------------------------------------------------------------------------


def _check_read_only(tree: exp.Expression) -> None:
    if not isinstance(tree, exp.Select | exp.SetOperation):
        raise SQLRefused("read_only", f"only SELECT queries are allowed, not {_statement_name(tree)}")
    for node in tree.walk():
        if isinstance(node, exp.Into):
            raise SQLRefused("select_into", "SELECT ... INTO writes a table or variables")
        if isinstance(node, exp.Lock):
            raise SQLRefused("read_only", "SELECT ... FOR UPDATE/SHARE locks rows")
        if isinstance(node, _WRITE_NODES):
            raise SQLRefused("read_only", f"only SELECT queries are allowed, {_statement_name(node)} found")


def _statement_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Command):  # unparsed statement: its first keyword
        return str(node.this).upper()
    return node.key.upper()


def _check_functions(tree: exp.Expression) -> None:
    for func in tree.find_all(exp.Func):
        names = [func.name] if isinstance(func, exp.Anonymous) else type(func).sql_names()
        for name in (n.lower() for n in names):
            if name in FORBIDDEN_FUNCTIONS or name.startswith(FORBIDDEN_FUNCTION_PREFIXES):
                raise SQLRefused("forbidden_function", f"function {name}() is not allowed")


# --- tables and columns ------------------------------------------------------------------------------------


class _Names:
    """Table and column lookup with the dialect's case rules, on a tree whose identifiers were folded."""

    def __init__(self, dialect: str, schema: Schema) -> None:
        self.dialect = dialect
        self.implicit = _IMPLICIT_COLUMNS.get(dialect, frozenset())
        self.tables: dict[str, tuple[str, frozenset[str]]] = {}
        for name, columns in schema.items():
            entry = (name, frozenset(self.fold_schema(c) for c in columns))
            self.tables[self.fold_schema(name)] = entry
            if "." in name:  # a schema-qualified key also answers to its bare name
                self.tables.setdefault(self.fold_schema(name.rsplit(".", 1)[1]), entry)

    def fold_schema(self, name: str) -> str:
        # Schema names are as stored; Postgres compares them exactly with the folded query identifiers.
        return name.lower() if self.dialect in _CASE_INSENSITIVE else name

    def fold_tree(self, tree: exp.Expression) -> exp.Expression:
        tree = tree.copy()
        for ident in tree.find_all(exp.Identifier):
            if self.dialect in _CASE_INSENSITIVE or not ident.quoted:
                ident.set("this", ident.this.lower())
        return tree

    def table(self, table: exp.Table) -> tuple[str, frozenset[str]]:
        keys = [f"{table.db}.{table.name}"] if table.db else []
        for key in [*keys, table.name]:
            if key in self.tables:
                return self.tables[key]
        raise SQLRefused("unknown_table", f"unknown table '{_dotted(table.db, table.name)}'")


def _check_names(tree: exp.Expression, dialect: str, schema: Schema) -> tuple[str, ...]:
    names = _Names(dialect, schema)
    folded = names.fold_tree(tree)
    real_tables: dict[int, str] = {}  # id of a FROM/JOIN table node -> its real name (CTE names excluded)
    try:
        scopes = traverse_scope(folded)
    except SqlglotError as exc:
        raise SQLRefused("parse", f"cannot resolve the names in the SQL: {_first_line(exc)}") from None
    for scope in scopes:
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
                real_tables[id(source)] = names.table(source)[0]
        for column in scope.find_all(exp.Column):
            _check_column(column, scope, names)
    tables = [t for t in folded.find_all(exp.Table) if id(t) in real_tables]
    tables.sort(key=lambda t: t.this.meta.get("start", 0))  # order of appearance in the text
    return tuple(dict.fromkeys(real_tables[id(t)] for t in tables))


def _check_column(column: exp.Column, scope: Scope, names: _Names) -> None:
    name = column.name
    if column.table:
        found = _find_source(scope, column.table)
        if found is None:
            raise SQLRefused(
                "unknown_table", f"unknown table or alias '{column.table}' in '{column.table}.{name}'"
            )
        if isinstance(column.this, exp.Star):
            return
        columns = _source_columns(found, names)
        if columns is not None and name not in columns and name not in names.implicit:
            real = names.table(found)[0] if isinstance(found, exp.Table) else column.table
            where = f" (table '{real}')" if real != column.table else ""
            raise SQLRefused("unknown_column", f"unknown column '{column.table}.{name}'{where}", name)
        return
    if isinstance(column.this, exp.Star):
        return
    looked: list[str] = []
    for outer in _scope_chain(scope):  # inner scope first, then the enclosing ones (correlated subqueries)
        if name in _select_aliases(outer.expression):  # aliases in ORDER BY/GROUP BY/HAVING (WHERE in SQLite)
            return
        if isinstance(outer.expression, exp.SetOperation) and name in (_outputs(outer, names) or {name}):
            return  # ORDER BY on a UNION names its output columns
        if name in outer.sources:  # a whole-row reference, e.g. Postgres' json_agg(t)
            return
        for alias, source in outer.sources.items():
            columns = _source_columns(source, names)
            if columns is None or name in columns:
                return
            if isinstance(source, exp.Table):
                if name in names.implicit:
                    return
                looked.append(source.name)
            else:
                looked.append(alias)
    # SQLite reads a double-quoted name that matches no column as a string literal.
    if names.dialect == "sqlite" and column.this.args.get("quoted"):
        return
    where = f" (looked in {', '.join(dict.fromkeys(looked))})" if looked else " (no table in scope)"
    raise SQLRefused("unknown_column", f"unknown column '{name}'{where}", name)


def _scope_chain(scope: Scope) -> Iterator[Scope]:
    current: Scope | None = scope
    while current is not None:
        yield current
        current = current.parent


def _find_source(scope: Scope, alias: str) -> exp.Table | Scope | None:
    for outer in _scope_chain(scope):
        if alias in outer.sources:
            return outer.sources[alias]
    return None


def _select_aliases(query: exp.Expression) -> set[str]:
    if not isinstance(query, exp.Select):
        return set()
    return {p.alias for p in query.selects if isinstance(p, exp.Alias)}


def _source_columns(source: exp.Table | Scope, names: _Names, seen: frozenset[int] = frozenset()) -> Columns:
    """Column names a FROM source exposes, or None when unknown (table functions, SELECT expressions)."""
    if isinstance(source, Scope):
        return _outputs(source, names, seen)
    renamed = _alias_columns(source)  # FROM t AS x(a, b)
    if renamed:
        return renamed
    if not isinstance(source.this, exp.Identifier):  # table function: columns unknown
        return None
    return names.table(source)[1]


def _outputs(scope: Scope, names: _Names, seen: frozenset[int] = frozenset()) -> Columns:
    """Output column names of a subquery/CTE scope, expanding stars; None when they cannot be known."""
    if id(scope) in seen:  # a recursive CTE reading itself
        return None
    seen |= {id(scope)}
    query = scope.expression
    renamed = _alias_columns(query) or _alias_columns(query.parent)
    if renamed:
        return renamed
    if isinstance(query, exp.SetOperation):
        branches = getattr(scope, "set_operation_scopes", None) or getattr(scope, "union_scopes", [])
        return _outputs(branches[0], names, seen) if branches else None
    if not isinstance(query, exp.Select):
        return None
    result: set[str] = set()
    for projection in query.selects:
        if isinstance(projection, exp.Alias):
            result.add(projection.alias)
        elif isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
            source = scope.sources.get(projection.table)
            columns = _source_columns(source, names, seen) if source is not None else None
            if columns is None:
                return None
            result |= columns
        elif isinstance(projection, exp.Star):
            for source in scope.sources.values():
                columns = _source_columns(source, names, seen)
                if columns is None:
                    return None
                result |= columns
        elif isinstance(projection, exp.Column):
            result.add(projection.name)
        else:  # an unnamed expression: its output name depends on the database
            return None
    return frozenset(result)


def _alias_columns(node: exp.Expression | None) -> Columns:
    if not isinstance(node, exp.Table | exp.Subquery | exp.CTE | exp.Values):
        return None
    alias = node.args.get("alias")
    if isinstance(alias, exp.TableAlias) and alias.columns:
        return frozenset(c.name for c in alias.columns)
    return None


def _dotted(*parts: str) -> str:
    return ".".join(p for p in parts if p)


# --- row limit -------------------------------------------------------------------------------------------


def _apply_limit(tree: exp.Expression, max_rows: int) -> int:
    """Cap the outer query at max_rows; on a set operation the LIMIT applies to the whole result."""
    node = tree.args.get("limit")
    count = node.args.get("count") if isinstance(node, exp.Fetch) else node and node.expression
    if isinstance(count, exp.Literal) and count.is_int and int(count.this) <= max_rows:
        return int(count.this)
    if isinstance(node, exp.Limit):  # keep MySQL's "LIMIT offset, n" offset
        node.set("expression", exp.Literal.number(max_rows))
    else:
        tree.set("limit", exp.Limit(expression=exp.Literal.number(max_rows)))
    return max_rows
