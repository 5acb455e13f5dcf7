"""The user's schema docs (docs/schema-docs.md): load, validate against the real schema, report file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlglot
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from indexer.errors import SchemaDocsError
from indexer.models import DatabaseSchema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ColumnDoc(_Strict):
    description: str = ""
    synonyms: list[str] = Field(default_factory=list)
    unit: str = ""


class TableDoc(_Strict):
    description: str = ""
    synonyms: list[str] = Field(default_factory=list)
    columns: dict[str, ColumnDoc] = Field(default_factory=dict)


class GlossaryTerm(_Strict):
    term: str
    meaning: str = ""
    synonyms: list[str] = Field(default_factory=list)
    refs: list[str] = Field(default_factory=list)


class Example(_Strict):
    question: str
    sql: str


class SchemaDocs(_Strict):
    description: str = ""
    abbreviations: dict[str, str] = Field(default_factory=dict)
    glossary: list[GlossaryTerm] = Field(default_factory=list)
    tables: dict[str, TableDoc] = Field(default_factory=dict)
    examples: list[Example] = Field(default_factory=list)

    def merge(self, other: SchemaDocs) -> SchemaDocs:
        tables = dict(self.tables)
        for name, doc in other.tables.items():
            old = tables.get(name)
            tables[name] = (
                doc
                if old is None
                else TableDoc(
                    description=doc.description or old.description,
                    synonyms=old.synonyms + doc.synonyms,
                    columns={**old.columns, **doc.columns},
                )
            )
        return SchemaDocs(
            description=" ".join(d for d in (self.description, other.description) if d),
            abbreviations={**self.abbreviations, **other.abbreviations},
            glossary=self.glossary + other.glossary,
            tables=tables,
            examples=self.examples + other.examples,
        )

    def table(self, name: str) -> TableDoc | None:
        lowered = name.lower()
        return next((d for n, d in self.tables.items() if n.lower() == lowered), None)

    def column(self, table: str, column: str) -> ColumnDoc | None:
        doc = self.table(table)
        lowered = column.lower()
        return next((d for n, d in doc.columns.items() if n.lower() == lowered), None) if doc else None


def load_schema_docs(paths: list[Path], schema: DatabaseSchema) -> SchemaDocs:
    """Load and merge the files; every name must exist in `schema` and every example must parse."""
    docs = SchemaDocs()
    for path in paths:
        docs = docs.merge(_load_file(Path(path), schema))
    return docs


def _load_file(path: Path, schema: DatabaseSchema) -> SchemaDocs:
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SchemaDocsError(path, None, f"cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise SchemaDocsError(path, mark.line + 1 if mark else None, f"malformed YAML: {problem}") from None
    if node is None:
        return SchemaDocs()
    data, lines = _to_python(node)
    try:
        docs = SchemaDocs.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise SchemaDocsError(path, _line_of(lines, error["loc"]), f"{where}: {error['msg']}") from None
    _check_names(docs, schema, path, lines)
    return docs


def _to_python(node: yaml.Node, loc: tuple[Any, ...] = ()) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Build plain data from a composed YAML node, remembering the line of every key and list item."""
    lines = {loc: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            out[key], sub = _to_python(value_node, (*loc, key))
            lines.update(sub)
            lines[(*loc, key)] = key_node.start_mark.line + 1
        return out, lines
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item_node in enumerate(node.value):
            item, sub = _to_python(item_node, (*loc, i))
            items.append(item)
            lines.update(sub)
        return items, lines
    return yaml.safe_load(yaml.serialize(node)), lines


def _line_of(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for end in range(len(loc), -1, -1):
        if tuple(loc[:end]) in lines:
            return lines[tuple(loc[:end])]
    return None


def _check_names(docs: SchemaDocs, schema: DatabaseSchema, path: Path, lines: dict) -> None:
    def fail(loc: tuple[Any, ...], message: str) -> None:
        raise SchemaDocsError(path, _line_of(lines, loc), message)

    for table_name, table_doc in docs.tables.items():
        table = schema.table(table_name)
        if table is None:
            fail(("tables", table_name), f"unknown table '{table_name}'")
        for column_name in table_doc.columns:
            if table.column(column_name) is None:
                fail(
                    ("tables", table_name, "columns", column_name),
                    f"unknown column '{table_name}.{column_name}'",
                )
    for i, term in enumerate(docs.glossary):
        for ref in term.refs:
            table_name, _, column_name = ref.partition(".")
            table = schema.table(table_name)
            if table is None or (column_name and table.column(column_name) is None):
                fail(("glossary", i, "refs"), f"glossary term '{term.term}' refers to unknown '{ref}'")
    for i, example in enumerate(docs.examples):
        try:
            sqlglot.parse_one(example.sql, read=schema.dialect)
        except sqlglot.errors.ParseError as exc:
            fail(("examples", i, "sql"), f"example SQL does not parse: {str(exc).splitlines()[0]}")
