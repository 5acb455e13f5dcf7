"""Deterministic repairs of a model's SQL, for slips whose intent is unambiguous.

Columns, tried before asking the model again (small models make these slips often, and a retry tends to repeat
them word for word):
- a column qualified with the alias of a table that lacks it, when exactly one other table of the same SELECT
  has it (`T2.name` where T2 is `singer_in_concert` and only `singer`, T1, has `name`);
- a column spelled differently from the schema only in case and separators (`pet_type` for `PetType`), when
  exactly one column of the SELECT's tables has that spelling;
- a column that none of the SELECT's tables has but exactly one other table does, linked by a single foreign key
  to exactly one of them (the table it was qualified with first): that table is joined on the key
  (`SELECT T1.Fname FROM Has_Pet AS T1 ...` reads `Student.Fname` through `Has_Pet.StuID`), and the unqualified
  columns both tables then have are qualified with the one they read;
- failing those, an aliased table that lacks a column read through its alias, when exactly one table the query
  lacks has every column read through it: the model named a look-alike table (`Addresses AS T1 JOIN
  Student_Enrolment AS T2 ON T1.address_id = T2.current_address_id ... COUNT(T2.student_id)` means `Students`).

Joins, on every answer (the query runs, so nothing else would catch it):
- a join condition that compares a column with itself (`JOIN car_names AS T2 ON T2.MakeId = T2.MakeId`, a cross
  join in effect) becomes the foreign key that links the joined table to one written before it, when exactly one
  does;
- a join condition on a column that neither compared table has (`car_makers AS T1 JOIN cars_data AS T2 ON
  T1.Id = T2.MakeId`), or on two columns of other names between tables that no key links directly
  (`continents.ContId = car_makers.Country`), becomes their foreign key, or the one shortest path of keys between
  them through tables the query lacks (`car_makers -> model_list -> car_names -> cars_data`);
- a joined table the query reads nothing from, that the question does not name, in a SELECT that neither
  aggregates nor groups, is dropped: its only effect is to repeat or drop rows (`singer JOIN singer_in_concert`
  for "song names by singers above the average age" lists a song once per concert)."""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise
from typing import TypeVar

import sqlglot
from sqlglot import exp

from indexer.example_pool import words_of_names
from indexer.models import TableInfo
from service.catalog import SchemaCatalog
from service.errors import SQLRefused

Checked = TypeVar("Checked")


def repaired(sql: str, catalog: SchemaCatalog, question: str, check: Callable[[str], Checked]) -> tuple[str, Checked]:
    """The SQL to run and `check`'s verdict on it: the joins repaired first (the query runs, so nothing else
    would catch them), then, where `check` refuses an unknown column, the columns and the joins again (a key
    moved to its table may now be compared with itself). Raises the refusal of the SQL as the joins left it
    when no repair passes: the model's own error is the one to correct."""
    sql = _repaired_joins(sql, catalog, question) or sql
    try:
        return sql, check(sql)
    except SQLRefused as refused:
        for repair in (repair_columns, repair_tables) if refused.rule == "unknown_column" else ():
            fixed = repair(sql, catalog)
            if fixed:
                fixed = _repaired_joins(fixed, catalog, question) or fixed
                try:
                    return fixed, check(fixed)
                except SQLRefused:
                    pass
        raise


def _repaired_joins(sql: str, catalog: SchemaCatalog, question: str) -> str | None:
    """Join conditions given their keys, then joins that only repeat or drop rows dropped; None when neither
    changed the query."""
    keyed = repair_joins(sql, catalog)
    pruned = prune_joins(keyed or sql, catalog, question)
    return pruned or keyed


def repair_columns(sql: str, catalog: SchemaCatalog) -> str | None:
    """The query with such columns moved or respelled; None when no column can be repaired that way."""
    return _rewrite(sql, catalog, _repair_columns)


def repair_tables(sql: str, catalog: SchemaCatalog) -> str | None:
    """The query with an aliased table swapped for the one other table that has every column read through its
    alias; None when no table is missing a column that way, or more than one would fit."""
    return _rewrite(sql, catalog, _swap_tables)


def repair_joins(sql: str, catalog: SchemaCatalog) -> str | None:
    """The query with each self-comparing join condition, and each on a missing column or off the keys, replaced
    by the keys between its tables; None when none was."""
    return _rewrite(sql, catalog, _repair_joins)


def prune_joins(sql: str, catalog: SchemaCatalog, question: str) -> str | None:
    """The query without joined tables that only repeat or drop rows and that the question does not name; None
    when there are none."""
    return _rewrite(sql, catalog, lambda select, catalog: _prune_joins(select, catalog, question.lower()))


def _rewrite(sql: str, catalog: SchemaCatalog, repair: Callable[[exp.Select, SchemaCatalog], bool]) -> str | None:
    """`repair` applied to every SELECT of the query (True where it changed one); the new SQL, or None."""
    try:
        tree = sqlglot.parse_one(sql, read=catalog.dialect)
    except sqlglot.errors.SqlglotError:
        return None
    changed = [repair(select, catalog) for select in list(tree.find_all(exp.Select))]
    return tree.sql(dialect=catalog.dialect) if any(changed) else None


def _repair_columns(select: exp.Select, catalog: SchemaCatalog) -> bool:
    sources: dict[str, tuple[str, TableInfo]] = {}  # lowered alias -> (alias as written, table)
    for table in _own(select, exp.Table):
        name = catalog.find(table.name)
        if name:
            sources[table.alias_or_name.lower()] = (table.alias_or_name, catalog.tables[name])
    aliases = {a.alias.lower() for a in _own(select, exp.Alias)}
    repaired = False
    for column in _own(select, exp.Column):
        if not column.table and (column.this.quoted or column.name.lower() in aliases):
            continue  # a string in double quotes (SQLite reads it as text) or the query's own alias
        owner = _owner(column, sources) or _join_owner(select, column, sources, catalog)
        if owner is not None:
            alias, name = owner
            column.set("this", exp.to_identifier(name, quoted=column.this.quoted))
            if column.table:
                column.set("table", exp.to_identifier(alias))
            repaired = True
    return repaired


def _swap_tables(select: exp.Select, catalog: SchemaCatalog) -> bool:
    tables = [(t, catalog.find(t.name)) for t in _own(select, exp.Table)]
    present = {name.lower() for _, name in tables if name}
    swapped = False
    for node, name in tables:
        alias = node.alias.lower()
        if not name or not alias or alias == name.lower():
            continue  # unaliased: its qualifiers are its name, which a swap would have to rewrite too
        read = {c.name for c in _own(select, exp.Column) if c.table.lower() == alias}
        if not read or all(catalog.tables[name].column(c) for c in read):
            continue
        fits = [t.name for t in catalog.tables.values()
                if t.name.lower() not in present and all(t.column(c) for c in read)]
        if len(fits) == 1:
            node.set("this", exp.to_identifier(fits[0]))
            present.add(fits[0].lower())
            swapped = True
    return swapped


def _join_owner(select: exp.Select, column: exp.Column, sources: dict[str, tuple[str, TableInfo]],
                catalog: SchemaCatalog) -> tuple[str, str] | None:
    """(alias, column name) on a table joined to the SELECT for it, when the column is on no table of the SELECT
    and exactly one other table, one foreign key away, has it; the join is added to `select` and `sources`."""
    qualifier = column.table.lower()
    if (qualifier and qualifier not in sources) or not select.args.get("from_") or column.find_ancestor(exp.Join):
        return None  # in a join condition the model's join itself is wrong; a new join would come after it
    near = [sources[qualifier]] if qualifier else []
    present = {table.name.lower() for _, table in sources.values()}
    for key in (str.lower, _spelling):
        wanted = key(column.name)
        if any(key(c.name) == wanted for _, table in sources.values() for c in table.columns):
            return None  # on a table of the SELECT: `_owner`'s to repair, or ambiguous
        found = [(table, c.name) for table in catalog.tables.values() if table.name.lower() not in present
                 for c in table.columns if key(c.name) == wanted]
        if found:
            break
    for tables in (near, list(sources.values())):  # the qualifier's table first, then any (a slip of alias)
        links = [(table, name, alias, link) for table, name in found
                 for alias in [_new_alias(table.name, sources)] for link in _links((alias, table), tables)]
        if links:
            break
    if len(links) != 1:
        return None
    table, name, alias, link = links[0]
    _qualify_shared(select, column, sources, table)
    select.set("joins", [*_joins(select), exp.Join(this=_aliased(table.name, alias), on=_equality(link))])
    sources[alias.lower()] = (alias, table)
    return alias, name


def _qualify_shared(select: exp.Select, repaired: exp.Column, sources: dict[str, tuple[str, TableInfo]],
                    joining: TableInfo) -> None:
    """Unqualified columns that the table about to be joined also has, qualified with the one table of the
    SELECT they read: unqualified they would become ambiguous (`SELECT Document_ID ... ORDER BY
    COUNT(Paragraph_ID)` joined to Paragraphs)."""
    for column in _own(select, exp.Column):
        if column is repaired or column.table or column.this.quoted or not joining.column(column.name):
            continue
        owners = [alias for alias, table in sources.values() if table.column(column.name)]
        if len(owners) == 1:
            column.set("table", exp.to_identifier(owners[0]))


def _new_alias(name: str, sources: dict[str, tuple[str, TableInfo]]) -> str:
    """`T<n>` after the query's own `T1`, `T2`... when it aliases its tables; the table's name when it does not."""
    if all(alias.lower() == table.name.lower() for alias, table in sources.values()):
        return name
    n = len(sources) + 1
    while f"t{n}" in sources:
        n += 1
    return f"T{n}"


def _aliased(name: str, alias: str) -> exp.Table:
    table = exp.Table(this=exp.to_identifier(name))
    if alias != name:
        table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    return table


def _owner(column: exp.Column, sources: dict[str, tuple[str, TableInfo]]) -> tuple[str, str] | None:
    """(alias, column name) the column should read, when it is wrong and exactly one repair fits."""
    qualifier = column.table.lower()
    if qualifier and qualifier not in sources:
        return None  # a derived table or an outer query's alias: not ours to judge
    everywhere = list(sources.values())
    own = [sources[qualifier]] if qualifier else everywhere
    if any(table.column(column.name) for _, table in own):
        return None
    # The same name on another table first (the common slip), then another spelling: on the table the query
    # wrote before the others. More than one fit at a step is ambiguous: left to the model.
    for key, candidates in ((str.lower, everywhere), (_spelling, own), (_spelling, everywhere)):
        wanted = key(column.name)
        found = [(alias, c.name) for alias, table in candidates for c in table.columns if key(c.name) == wanted]
        if found:
            return found[0] if len(found) == 1 else None
    return None


def _spelling(name: str) -> str:
    return re.sub(r"[\W_]+", "", name).lower()


def _own(select: exp.Select, kind: type[exp.Expression]) -> list:
    """Nodes of `kind` that belong to this SELECT, not to a subquery inside it."""
    return [node for node in select.find_all(kind) if node.find_ancestor(exp.Select) is select]



def _repair_joins(select: exp.Select, catalog: SchemaCatalog) -> bool:
    repaired = False
    earlier: list[tuple[str, TableInfo]] = []  # (alias as written, table) in the order the query names them
    source = select.args.get("from_")
    tables = [source.this if source else None, *(j.this for j in _joins(select))]
    if not all(isinstance(t, exp.Table) and catalog.find(t.name) for t in tables):
        return False  # a derived table: its columns are not the catalog's
    sources = {t.alias_or_name.lower(): (t.alias_or_name, catalog.tables[catalog.find(t.name) or ""]) for t in tables}
    for table in tables:
        alias, info = sources[table.alias_or_name.lower()]
        join = table.parent if isinstance(table.parent, exp.Join) else None
        condition = join.args.get("on") if join else None
        if _compares_itself(condition) and earlier:
            link = _link((alias, info), earlier, condition.this.name)
            if link:
                condition.replace(link)
                repaired = True
        elif join is not None and (other := _misjoined(condition, alias, info, sources)):
            repaired = _rejoin(select, join, (alias, info), other, sources, catalog) or repaired
        earlier.append((alias, info))
    return repaired


def _misjoined(condition: exp.Expression | None, alias: str, info: TableInfo,
               sources: dict[str, tuple[str, TableInfo]]) -> tuple[str, TableInfo] | None:
    """The table the joined one is compared with, when the condition is an equality of one column of each and
    either is not on its table (`car_makers AS T1 JOIN cars_data AS T2 ON T1.Id = T2.MakeId`), or no key links
    the two tables and the columns have other names."""
    if not isinstance(condition, exp.EQ):
        return None
    columns = [condition.this, condition.expression]
    if not all(isinstance(c, exp.Column) and c.table.lower() in sources for c in columns):
        return None
    qualifiers = [c.table.lower() for c in columns]
    if alias.lower() not in qualifiers or len(set(qualifiers)) != 2:
        return None
    other = sources[next(q for q in qualifiers if q != alias.lower())]
    missing = [c.name.lower() for c in columns if not sources[c.table.lower()][1].column(c.name)]
    if not missing:
        # both there: wrong only when no key links the two tables while a path of keys does, and the columns
        # are not namesakes (`T1.Country = T2.Country` may well be meant)
        unkeyed = not _links((alias, info), [other]) and columns[0].name.lower() != columns[1].name.lower()
        return other if unkeyed else None
    third = [table for key, (_, table) in sources.items() if key not in qualifiers]
    if any(c.name.lower() in missing for table in third for c in table.columns):
        return None  # a slip of alias for a third table's column: the column repair's to move
    return other


def _rejoin(select: exp.Select, join: exp.Join, joined: tuple[str, TableInfo], other: tuple[str, TableInfo],
            sources: dict[str, tuple[str, TableInfo]], catalog: SchemaCatalog) -> bool:
    """Give `join` the foreign key between the two tables, or (when none links them directly) the one shortest
    path of keys between them through tables the query does not have yet; False when neither is unambiguous."""
    paths = catalog.join_paths(other[1].name, joined[1].name)
    present = {table.name for _, table in sources.values()}
    if len(paths) != 1 or present & set(paths[0]):
        return False
    named = dict(sources)
    chain = [other]
    for name in paths[0]:
        alias = _new_alias(name, named)
        named[alias.lower()] = (alias, catalog.tables[name])
        chain.append(named[alias.lower()])
    chain.append(joined)
    links = [_links(b, [a]) for a, b in pairwise(chain)]
    if any(len(found) != 1 for found in links):
        return False
    sources.update(named)
    bridges = [exp.Join(this=_aliased(bridge.name, alias), on=_equality(link[0]))
               for (alias, bridge), link in zip(chain[1:-1], links[:-1], strict=True)]
    joins = _joins(select)
    at = next(i for i, j in enumerate(joins) if j is join)
    select.set("joins", [*joins[:at], *bridges, *joins[at:]])
    join.args["on"].replace(_equality(links[-1][0]))
    return True


def _joins(select: exp.Select) -> list[exp.Join]:
    return list(select.args.get("joins") or [])


def _compares_itself(condition: exp.Expression | None) -> bool:
    if not isinstance(condition, exp.EQ):
        return False
    left, right = condition.this, condition.expression
    return (isinstance(left, exp.Column) and isinstance(right, exp.Column)
            and left.table.lower() == right.table.lower() and left.name.lower() == right.name.lower())


def _links(joined: tuple[str, TableInfo], others: list[tuple[str, TableInfo]]) -> list[tuple[str, str, str, str]]:
    """(alias, column, alias, column), the foreign key's side first, of every single-column foreign key between
    `joined` and one of `others`."""
    alias, table = joined
    links = []
    for other_alias, other in others:
        for source, target, source_alias, target_alias in ((table, other, alias, other_alias),
                                                          (other, table, other_alias, alias)):
            for fk in source.foreign_keys:
                if len(fk.columns) == 1 and fk.ref_table.lower() == target.name.lower():
                    links.append((source_alias, fk.columns[0], target_alias, fk.ref_columns[0]))
    return links


def _equality(link: tuple[str, str, str, str]) -> exp.EQ:
    a_alias, a_column, b_alias, b_column = link
    return exp.EQ(this=exp.column(a_column, a_alias), expression=exp.column(b_column, b_alias))


def _link(joined: tuple[str, TableInfo], earlier: list[tuple[str, TableInfo]], written: str) -> exp.EQ | None:
    """The equality of the one single-column foreign key between `joined` and an earlier table (the one on the
    column the model wrote, when several are)."""
    links = _links(joined, earlier)
    if len(links) > 1:
        links = [link for link in links if written.lower() in (link[1].lower(), link[3].lower())]
    return _equality(links[0]) if len(links) == 1 else None


def _prune_joins(select: exp.Select, catalog: SchemaCatalog, question: str) -> bool:
    if select.args.get("group") or select.args.get("having") or _own(select, exp.AggFunc) or _own(select, exp.Star):
        return False  # what is counted or grouped depends on the join
    pruned = False
    for join in reversed(_joins(select)):  # the last first: a chain of unneeded joins goes from its end
        columns = _own(select, exp.Column)
        table, condition = join.this, join.args.get("on")
        name = catalog.find(table.name) if isinstance(table, exp.Table) else None
        if not name or condition is None or join.side or join.args.get("kind") not in (None, "", "INNER"):
            continue
        info, alias = catalog.tables[name], table.alias_or_name.lower()
        in_condition = {id(c) for c in condition.find_all(exp.Column)}
        read = [c for c in columns if id(c) not in in_condition
                and (c.table.lower() == alias or (not c.table and info.column(c.name)))]
        linked = {c.table.lower() for c in condition.find_all(exp.Column)} - {alias}
        elsewhere = [j for j in _joins(select) if j is not join and j.args.get("on") is not None
                     and any(c.table.lower() == alias for c in j.args["on"].find_all(exp.Column))]
        if read or elsewhere or len(linked) != 1 or "" in linked or _named(question, select, table, condition, info):
            continue
        join.pop()
        pruned = True
    return pruned


def _named(question: str, select: exp.Select, table: exp.Table, condition: exp.Expression, info: TableInfo) -> bool:
    """Does the question use a word of the table's name, synonyms or join columns that the query's other tables
    and the columns it is joined to do not have (`flights` joined on DestAirport: "destination")?"""
    others = {t.name for t in _own(select, exp.Table) if t is not table}
    own_columns = [c.name for c in condition.find_all(exp.Column) if c.table.lower() == table.alias_or_name.lower()]
    other_columns = [c.name for c in condition.find_all(exp.Column) if c.table.lower() != table.alias_or_name.lower()]
    stems = {_stem(w) for w in words_of_names([info.name, *info.synonyms, *own_columns])}
    stems -= {_stem(w) for w in words_of_names([*others, *other_columns])}  # `Templates` beside `Template_Types`
    return any(stem in question for stem in stems if len(stem) > 2)


def _stem(word: str) -> str:
    return word.rstrip("s")[:5]
