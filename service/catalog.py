"""A database's schema as the index holds it, kept in memory per process: answering needs no schema round
trip to the database, and the whole-schema prompt and the join graph come from here."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from indexer.example_pool import words_of_names
from indexer.models import TableInfo
from indexer.vectorstore import VectorStore


@dataclass
class SchemaCatalog:
    dialect: str
    description: str
    glossary: list[dict[str, Any]]
    tables: dict[str, TableInfo]  # in a stable order (by name), which keeps prompt prefixes stable
    _neighbours: dict[str, set[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, store: VectorStore, db_id: str) -> SchemaCatalog:
        meta = next(iter(store.payloads(db_id, "database")), {})
        infos = sorted((TableInfo.from_dict(p["info"]) for p in store.payloads(db_id, "table")),
                       key=lambda t: t.name.lower())
        catalog = cls(meta.get("dialect", "sqlite"), meta.get("description", ""), meta.get("glossary", []),
                      {t.name: t for t in infos})
        for table in infos:
            for fk in table.foreign_keys:
                ref = catalog.find(fk.ref_table)
                if ref and ref != table.name:
                    catalog._neighbours.setdefault(table.name, set()).add(ref)
                    catalog._neighbours.setdefault(ref, set()).add(table.name)
        return catalog

    def find(self, name: str) -> str | None:
        """The table's name as stored, matched case-insensitively."""
        if name in self.tables:
            return name
        lowered = name.lower()
        return next((t for t in self.tables if t.lower() == lowered), None)

    @cached_property
    def words(self) -> set[str]:
        """The words of its table and column names: what a question's masked form hides."""
        return words_of_names([*self.tables, *(c.name for t in self.tables.values() for c in t.columns)])

    def column_map(self) -> dict[str, list[str]]:
        return {name: [c.name for c in t.columns] for name, t in self.tables.items()}

    def join_path(self, start: str, goal: str, max_hops: int = 3) -> list[str]:
        """Tables strictly between `start` and `goal` on a shortest foreign-key path ([] when adjacent or
        unconnected within `max_hops`)."""
        previous: dict[str, str | None] = {start: None}
        queue = deque([(start, 0)])
        while queue:
            node, hops = queue.popleft()
            if node == goal:
                path = []
                while (node := previous[node]) not in (None, start):
                    path.append(node)
                return path[::-1]
            if hops < max_hops:
                for nxt in sorted(self._neighbours.get(node, ())):
                    if nxt not in previous:
                        previous[nxt] = node
                        queue.append((nxt, hops + 1))
        return []
