"""What the indexer knows about a database: plain data, serialisable into vector-store payloads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ForeignKey:
    columns: list[str]
    ref_table: str
    ref_columns: list[str]


@dataclass
class ColumnInfo:
    name: str
    type: str
    nullable: bool = True
    primary_key: bool = False
    comment: str | None = None
    values: list[str] = field(default_factory=list)  # distinct values of a low-cardinality text column
    examples: list[str] = field(default_factory=list)  # the first few stored values, whatever the column
    description: str = ""  # from the schema docs, else the database comment
    unit: str = ""


@dataclass
class TableInfo:
    name: str
    columns: list[ColumnInfo]
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    comment: str | None = None
    is_view: bool = False
    description: str = ""
    synonyms: list[str] = field(default_factory=list)

    def column(self, name: str) -> ColumnInfo | None:
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableInfo:
        return cls(
            name=data["name"],
            columns=[ColumnInfo(**c) for c in data["columns"]],
            foreign_keys=[ForeignKey(**f) for f in data.get("foreign_keys", [])],
            comment=data.get("comment"),
            is_view=data.get("is_view", False),
            description=data.get("description", ""),
            synonyms=data.get("synonyms", []),
        )


@dataclass
class DatabaseSchema:
    dialect: str  # sqlglot dialect name
    tables: list[TableInfo]

    def table(self, name: str) -> TableInfo | None:
        lowered = name.lower()
        return next((t for t in self.tables if t.name.lower() == lowered), None)

    def column_map(self) -> dict[str, list[str]]:
        return {t.name: [c.name for c in t.columns] for t in self.tables}
