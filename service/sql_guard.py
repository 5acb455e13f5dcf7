"""Validate model-written SQL before it reaches a database.

The model is not trusted, and the guard accepts only what is known to be safe: one read-only query (SELECT,
WITH ... SELECT, a set operation or VALUES) that calls only functions on its dialect's allowlist
(service.sql_allowlist) and reads only indexed tables, named with their schema/database qualifier or without
it, never a system catalog; at most `max_rows` rows. What runs is the guard's own rendering of the checked
tree, and that rendering must parse back to the same tree. The database connection is a second wall
(service.databases); this module is the first one and the one that explains refusals.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import rename_func
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.tokens import Token, TokenType

from service.errors import SQLRefused
from service.sql_allowlist import FUNCTIONS, SYSTEM_SCHEMAS, TABLE_FUNCTIONS

_log = logging.getLogger(__name__)

MAX_SQL_CHARS = 20_000  # checked before anything is parsed
MAX_NESTING = 32  # parentheses deep; the parser recurses per level

# Nodes that write, change the session or lock rows, wherever they appear (e.g. a DELETE inside a WITH).
_WRITE_NODES: tuple[type, ...] = (
    exp.DML, exp.DDL, exp.Drop, exp.Alter, exp.TruncateTable, exp.Command, exp.Pragma, exp.Set, exp.Grant,
    exp.Attach, exp.Detach, exp.Analyze, exp.Transaction, exp.Commit, exp.Rollback, exp.Use,
)
# Other nodes refused anywhere: rule and reason.
_REFUSED_NODES: tuple[tuple[type, str, str], ...] = (
    (exp.Into, "select_into", "SELECT ... INTO writes a table or variables"),
    (exp.Lock, "read_only", "SELECT ... FOR UPDATE/SHARE locks rows"),
    (exp.Hint, "hint", "optimizer hints are not allowed: they can lift the time limit"),
    (exp.SessionParameter, "variable", "server and session variables are not allowed"),
    (exp.Parameter, "variable", "variables and parameters are not allowed"),
    (exp.Placeholder, "variable", "parameters are not allowed: the statement must be complete"),
    (exp.PropertyEQ, "variable", "assignments are not allowed"),
    (exp.Operator, "function_not_allowed", "OPERATOR(...) calls are not allowed"),
    (exp.ObjectIdentifier, "type_not_allowed", "casts to object identifier types (regclass...) read catalogs"),
)

# Columns every table has without declaring them.
_IMPLICIT_COLUMNS: dict[str, frozenset[str]] = {
    "sqlite": frozenset({"rowid", "oid", "_rowid_"}),
    "postgres": frozenset({"ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"}),
    "mysql": frozenset({"_rowid"}),
}
_CASE_INSENSITIVE = {"sqlite", "mysql"}
_FAMILY = {"mariadb": "mysql"}  # dialect names the guard treats as another's

# C0/C1 controls but tab and newlines, line/paragraph separators and bidirectional overrides: a driver may
# cut the text at a NUL, and the others make the statement read differently from what runs.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SYNTAX_FUNCS = (exp.Case, exp.Cast)  # function nodes that are SQL syntax in every dialect
_CALL = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_$]*)\s*(\(|$)")

Schema = Mapping[str, Collection[str]]  # table name (maybe "schema.table") -> column names, as stored
Columns = frozenset[str] | None  # the column names a source exposes; None: unknown, accept any


class MariaDB(MySQL):
    """MySQL as MariaDB reads it too: REGEXP stays an operator (MariaDB has no REGEXP_LIKE function) and
    MEDIAN a function (sqlglot writes PERCENTILE_CONT(x, 0.5), which neither server reads)."""

    class Generator(MySQL.Generator):
        TRANSFORMS = {  # noqa: RUF012  # sqlglot's own pattern for extending a generator
            **MySQL.Generator.TRANSFORMS,
            exp.RegexpLike: lambda self, e: (
                self.function_fallback_sql(e) if e.args.get("flag") else self.binary(e, "REGEXP")
            ),
            exp.Median: rename_func("MEDIAN"),
        }


_WRITE_DIALECT: dict[str, str | type[MySQL]] = {"mysql": MariaDB}


@dataclass(frozen=True)
class CheckedSQL:
    sql: str
    tables: tuple[str, ...]
    limit: int


def check_sql(
    sql: str,
    dialect: str,
    schema: Schema,
    max_rows: int,
    *,
    default_schema: str | None = None,
    user_functions: Collection[str] = (),
    max_chars: int = MAX_SQL_CHARS,
) -> CheckedSQL:
    """Return the statement to run, or raise SQLRefused saying which rule it broke.

    `default_schema` is the schema (PostgreSQL) or database (MySQL) the indexed tables live in, which a query
    may name them with; SQLite's is always `main`. `user_functions` are user-defined functions the
    configuration allows (names as called, e.g. `fiscal_quarter` or `analytics.fiscal_quarter`)."""
    dialect = _FAMILY.get(dialect, dialect)
    _check_text(sql, max_chars)
    try:
        tree = _parse_single(sql, dialect)
        _check_nodes(tree)  # as written: the rendering may turn SELECT ... INTO into CREATE TABLE
        tree = _canonical(tree, dialect)  # then as it will run
        _check_nodes(tree)
        _check_functions(tree, dialect, frozenset(f.lower() for f in user_functions))
        tables = _check_names(tree, _Names(dialect, schema, default_schema))
        limit = _apply_limit(tree, max_rows)
        return CheckedSQL(_render(tree, dialect), tables, limit)
    except SQLRefused:
        raise
    except RecursionError:
        raise SQLRefused("too_complex", "the SQL is nested too deeply to check") from None
    except Exception as exc:  # a statement the checks cannot follow is refused, never run
        _log.warning("guard failed on %r", sql[:500], exc_info=True)
        reason = f"cannot check this SQL ({type(exc).__name__}); write it more plainly"
        raise SQLRefused("unsupported", reason) from None


# --- the text ------------------------------------------------------------------------------------------------


def _check_text(sql: str, max_chars: int) -> None:
    if len(sql) > max_chars:
        raise SQLRefused("too_long", f"the SQL is {len(sql):,} characters long; the limit is {max_chars:,}")
    found = _CONTROL.search(sql)
    if found:
        raise SQLRefused(
            "control_character", f"the SQL contains the control character U+{ord(found.group()):04X}"
        )


# --- one statement -----------------------------------------------------------------------------------------


def _parse_single(sql: str, dialect: str) -> exp.Expression:
    if not sql.strip():
        raise SQLRefused("empty", "the SQL statement is empty")
    try:
        tokens = sqlglot.tokenize(sql, read=dialect)
        if not any(t.token_type != TokenType.SEMICOLON for t in tokens):
            raise SQLRefused("empty", "the SQL statement is empty")
        _check_tokens(tokens)
        statements = [
            s for s in sqlglot.parse(sql, read=dialect) if s is not None and not isinstance(s, exp.Semicolon)
        ]
    except (SQLRefused, RecursionError):
        raise
    except Exception as exc:  # any parser failure, whatever its type, is a refusal
        raise SQLRefused("parse", f"cannot parse the SQL: {_first_line(exc)}") from None
    if not statements:
        raise SQLRefused("empty", "the SQL statement is empty")
    if len(statements) > 1:
        raise SQLRefused("single_statement", f"expected one statement, got {len(statements)}")
    tree = statements[0]
    while isinstance(tree, exp.Subquery) and not tree.alias:  # "(SELECT ...)" at the top
        tree = tree.this
    if isinstance(tree, exp.Values):  # VALUES at the top: as a source, so that it takes a LIMIT
        tree = exp.select("*").from_(exp.Subquery(this=tree, alias=exp.TableAlias(this=exp.to_identifier("v"))))
    if any(not select.expressions for select in tree.find_all(exp.Select)):
        raise SQLRefused("parse", "cannot parse the SQL: a SELECT has no columns")
    return tree


def _check_tokens(tokens: list[Token]) -> None:
    depth = 0
    for i, token in enumerate(tokens):
        # sqlglot cannot parse MySQL's INTO OUTFILE/DUMPFILE: catch it here, or it is only a parse error.
        after = tokens[i + 1].text.upper() if i + 1 < len(tokens) else ""
        if token.token_type == TokenType.INTO and after in ("OUTFILE", "DUMPFILE"):
            raise SQLRefused("select_into", f"SELECT ... INTO {after} writes a file")
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
        if depth > MAX_NESTING:
            raise SQLRefused("too_complex", f"the SQL nests parentheses more than {MAX_NESTING} deep")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    # sqlglot prints whole token objects: keep their text only ("SENTINEL" is the end of the input).
    line = re.sub(r"<Token token_type: [\w.]+, text: (.*?), line: .*?>", r"'\1'", lines[0])
    return line.replace("'SENTINEL'", "the end of the input")[:200]


# --- read-only, no variables or hints ----------------------------------------------------------------------


def _check_nodes(tree: exp.Expression) -> None:
    if not isinstance(tree, exp.Select | exp.SetOperation):
        raise SQLRefused("read_only", f"only SELECT queries are allowed, not {_statement_name(tree)}")
    for node in tree.walk():
        for kind, rule, reason in _REFUSED_NODES:
            if isinstance(node, kind):
                raise SQLRefused(rule, reason)
        if isinstance(node, _WRITE_NODES):
            raise SQLRefused("read_only", f"only SELECT queries are allowed, {_statement_name(node)} found")
        if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.USERDEFINED:
            raise SQLRefused("type_not_allowed", f"casts to the user-defined type {node.sql()} are not allowed")


def _statement_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Command):  # unparsed statement: its first keyword
        return str(node.this).upper()
    return node.key.upper()


# --- functions ---------------------------------------------------------------------------------------------


def _check_functions(tree: exp.Expression, dialect: str, user_functions: frozenset[str]) -> None:
    allowed = FUNCTIONS[dialect] | user_functions
    as_table = TABLE_FUNCTIONS[dialect] | user_functions
    for func in tree.find_all(exp.Func):
        parent = func.parent
        if isinstance(parent, exp.Dot) and parent.expression is func:  # schema.function(...)
            name = f"{parent.this.sql(dialect=dialect)}.{_function_name(func, dialect)}".lower()
            if name not in user_functions:
                raise SQLRefused("function_not_allowed", f"function {name}() is not allowed")
            continue
        name = _function_name(func, dialect)
        if name is None:  # rendered as an operator or keyword syntax, not as a call
            continue
        if isinstance(parent, exp.Table | exp.From | exp.Join | exp.Lateral):
            if name not in as_table:
                raise SQLRefused("function_not_allowed", f"table function {name}() is not allowed")
        elif name not in allowed:
            raise SQLRefused("function_not_allowed", f"function {name}() is not allowed")


def _function_name(func: exp.Func, dialect: str) -> str | None:
    """The name the database will see called: the head of the function's rendering (what runs is that
    rendering), or None when it renders as syntax. A niladic keyword (CURRENT_USER) counts as a call."""
    if isinstance(func, exp.Anonymous):
        return func.name.lower()
    if isinstance(func, _SYNTAX_FUNCS):  # spares rendering every nested CASE's whole subtree
        return None
    found = _CALL.match(func.sql(dialect=_WRITE_DIALECT.get(dialect, dialect), comments=False))
    if found is None or (found.group(2) == "" and any(isinstance(v, exp.Expression) for v in func.args.values())):
        return None
    return found.group(1).lower()


# --- tables and columns ------------------------------------------------------------------------------------


class _Names:
    """Table and column lookup with the dialect's case rules, on a tree whose identifiers were folded."""

    def __init__(self, dialect: str, schema: Schema, default_schema: str | None) -> None:
        self.dialect = dialect
        self.implicit = _IMPLICIT_COLUMNS.get(dialect, frozenset())
        self.system = SYSTEM_SCHEMAS.get(dialect, frozenset())
        self.default_schema = "main" if dialect == "sqlite" else default_schema
        self.tables: dict[str, tuple[str, frozenset[str]]] = {}
        for name, columns in schema.items():
            entry = (name, frozenset(self.fold_schema(c) for c in columns))
            self.tables[self.fold_schema(name)] = entry
            if "." in name:  # a schema-qualified key also answers to its bare name
                self.tables.setdefault(self.fold_schema(name.rsplit(".", 1)[1]), entry)

    def fold_schema(self, name: str) -> str:
        # Schema names are as stored; Postgres compares them exactly with the folded query identifiers.
        return name.lower() if self.dialect in _CASE_INSENSITIVE else name

    def fold_tree(self, tree: exp.Expression) -> None:
        """Fold identifiers in place, keeping their spelling to put back (`restore`)."""
        for ident in tree.find_all(exp.Identifier):
            ident.meta["spelled"] = ident.this
            if self.dialect in _CASE_INSENSITIVE or not ident.quoted:
                ident.set("this", ident.this.lower())

    @staticmethod
    def restore(tree: exp.Expression) -> None:
        for ident in tree.find_all(exp.Identifier):
            spelled = ident.meta.pop("spelled", ident.this)
            canonical = ident.meta.pop("canonical", None)
            ident.set("this", canonical or spelled)
            if canonical and not _PLAIN_NAME.fullmatch(canonical):
                ident.set("quoted", True)

    def table(self, table: exp.Table) -> tuple[str, frozenset[str]]:
        """The indexed table a FROM/JOIN name resolves to, including its qualifier, or a refusal."""
        name, db = table.name, table.db
        shown = _dotted(table.catalog, db, name)
        if table.catalog:
            raise SQLRefused("unknown_table", f"unknown table '{shown}': three-part names are not allowed")
        if db in self.system or (not db and self._is_catalog_name(name)):
            raise SQLRefused("unknown_table", f"'{shown}' is a system catalog, which queries may not read")
        entry = self.tables.get(f"{db}.{name}") if db else self.tables.get(name)
        if entry is None and db and self.default_schema is not None and db == self.fold_schema(self.default_schema):
            entry = self.tables.get(name)
            entry = entry if entry is not None and "." not in entry[0] else None
        if entry is None:
            raise SQLRefused("unknown_table", f"unknown table '{shown}'")
        if self.dialect == "mysql":  # MariaDB compares table and database names as stored (lower_case_table_names)
            table.this.meta["canonical"] = entry[0].rsplit(".", 1)[-1]
            if db and "." not in entry[0] and self.default_schema is not None:
                table.args["db"].meta["canonical"] = self.default_schema
        return entry

    def _is_catalog_name(self, name: str) -> bool:
        # Bare names that may resolve to a catalog: SQLite's sqlite_* tables, PostgreSQL's pg_catalog (searched
        # before the indexed schema).
        return name.startswith({"sqlite": "sqlite_", "postgres": "pg_"}.get(self.dialect, "\0"))


def _check_names(tree: exp.Expression, names: _Names) -> tuple[str, ...]:
    names.fold_tree(tree)
    try:
        scopes = list(traverse_scope(tree))
    except SqlglotError as exc:
        raise SQLRefused("parse", f"cannot resolve the names in the SQL: {_first_line(exc)}") from None
    real_tables: dict[int, str] = {}  # id of a FROM/JOIN table node -> its real name (CTE names excluded)
    seen: set[int] = set()
    for scope in scopes:  # every table first: a correlated subquery's columns may name an outer one
        for table in scope.tables:
            seen.add(id(table))
            if not isinstance(scope.sources.get(table.alias_or_name), Scope) and isinstance(table.this, exp.Identifier):
                real_tables[id(table)] = names.table(table)[0]
    for table in tree.find_all(exp.Table):
        if id(table) not in seen and isinstance(table.this, exp.Identifier):
            raise SQLRefused("unknown_table", f"table '{table.sql()}' cannot be placed in the query")
    for scope in scopes:
        for column in scope.find_all(exp.Column):
            _check_column(column, scope, names)
    tables = [t for t in tree.find_all(exp.Table) if id(t) in real_tables]
    tables.sort(key=lambda t: t.this.meta.get("start", 0))  # order of appearance in the text
    names.restore(tree)
    return tuple(dict.fromkeys(real_tables[id(t)] for t in tables))


def _check_column(column: exp.Column, scope: Scope, names: _Names) -> None:
    name = column.name
    if column.args.get("db"):
        raise SQLRefused("qualified_column", f"write '{column.table}.{name}' without a schema before it")
    if column.table:
        found = _find_source(scope, column.table)
        if found is None:
            raise SQLRefused(
                "unknown_table", f"unknown table or alias '{column.table}' in '{column.table}.{name}'"
            )
        if isinstance(found, exp.Table) and names.dialect == "mysql":  # spelled as its FROM (case-sensitive)
            source_name = found.args["alias"].this if found.alias else found.this
            column.args["table"].meta["canonical"] = source_name.meta.get("canonical") or source_name.meta["spelled"]
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


# --- what runs ---------------------------------------------------------------------------------------------


def _to_sql(tree: exp.Expression, dialect: str) -> str:
    # Comments are dropped: they are useless to the database and the only place left to hide anything.
    return tree.sql(dialect=_WRITE_DIALECT.get(dialect, dialect), comments=False)


def _read_back(sql: str, dialect: str) -> exp.Expression:
    try:
        return sqlglot.parse_one(sql, read=dialect)
    except SqlglotError:
        raise SQLRefused("render", "the SQL does not read back after rendering; rewrite it plainly") from None


def _canonical(tree: exp.Expression, dialect: str) -> exp.Expression:
    """The tree of the guard's rendering: the generator normalizes (e.g. ROUND(x, 2) -> ROUND(CAST(x AS
    DECIMAL), 2) on PostgreSQL), so the checks run on what the database will be sent."""
    return _read_back(_to_sql(tree, dialect), dialect)


def _render(tree: exp.Expression, dialect: str) -> str:
    """The one rendering that runs, checked to parse back to the tree that was validated."""
    sql = _to_sql(tree, dialect)
    again = _read_back(sql, dialect)
    if again != tree or _to_sql(again, dialect) != sql:
        raise SQLRefused("render", "the checked SQL does not read back as the same statement; rewrite it plainly")
    return sql
