"""A database's schema as the index holds it, kept in memory per process: answering needs no schema round
trip to the database, and the whole-schema prompt and the join graph come from here."""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from indexer.example_pool import words_of_names
from indexer.lexical import terms
from indexer.models import TableInfo
from indexer.vectorstore import VectorStore


@dataclass
class SchemaCatalog:
    dialect: str
    description: str
    glossary: list[dict[str, Any]]
    tables: dict[str, TableInfo]  # in a stable order (by name), which keeps prompt prefixes stable
    _neighbours: dict[str, set[str]] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def load(cls, store: VectorStore, db_id: str) -> SchemaCatalog:
        meta = next(iter(store.payloads(db_id, "database")), {})
        infos = sorted((TableInfo.from_dict(p["info"]) for p in store.payloads(db_id, "table")),
                       key=lambda t: t.name.lower())
        return cls(meta.get("dialect", "sqlite"), meta.get("description", ""), meta.get("glossary", []),
                   {t.name: t for t in infos})

    def __post_init__(self) -> None:
        for table in self.tables.values():
            for fk in table.foreign_keys:
                ref = self.find(fk.ref_table)
                if ref and ref != table.name:
                    self._neighbours.setdefault(table.name, set()).add(ref)
                    self._neighbours.setdefault(ref, set()).add(table.name)

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

    @cached_property
    def groups(self) -> list[list[str]]:
        """Tables asked about together, each group in catalog order: those linked by foreign keys, directly or
        not, or sharing a namespace (a database schema, `schema.table`, or a name prefix, `sales__orders`); a
        table with neither is in none. A schema too large for one prompt gets one stable prompt prefix per group."""
        parent = {name: name for name in self.tables}

        def root(name: str) -> str:
            while parent[name] != name:
                parent[name] = parent[parent[name]]
                name = parent[name]
            return name

        first_in: dict[str, str] = {}
        for name in self.tables:
            for other in self._neighbours.get(name, ()):
                parent[root(other)] = root(name)
            space = namespace(name)
            if space is not None:
                parent[root(first_in.setdefault(space, name))] = root(name)
        grouped: dict[str, list[str]] = {}
        for name in self.tables:
            grouped.setdefault(root(name), []).append(name)
        return [g for g in grouped.values() if len(g) > 1 or namespace(g[0]) is not None]

    @cached_property
    def group_of(self) -> dict[str, int]:
        return {name: i for i, group in enumerate(self.groups) for name in group}

    @cached_property
    def group_words(self) -> list[dict[str, float]]:
        """Each group's words (lexical terms of its tables' names, namespace left out, and columns' names), each
        weighted by its rarity among the groups: a question's rare words that a group holds point to it."""
        def names(table: str) -> str:
            return " ".join([local_name(table), *(c.name for c in self.tables[table].columns)])

        held = [{word for table in group for word in terms(names(table))} for group in self.groups]
        counts = Counter(word for words in held for word in words)
        return [{w: math.log(len(held) / counts[w]) for w in words} for words in held]

    def join_path(self, start: str, goal: str, max_hops: int = 3) -> list[str]:
        """Tables strictly between `start` and `goal` on a shortest foreign-key path ([] when adjacent or
        unconnected within `max_hops`)."""
        previous = self._shortest(start, goal, max_hops)
        path: list[str] = []
        if goal == start:
            return path
        node = goal
        while node in previous and (node := previous[node][0]) != start:
            path.append(node)
        return path[::-1]

    def join_paths(self, start: str, goal: str, max_hops: int = 3) -> list[list[str]]:
        """Every shortest foreign-key path's tables strictly between `start` and `goal` ([] when unconnected)."""
        previous = self._shortest(start, goal, max_hops)

        def ending(node: str) -> list[list[str]]:
            return [[]] if node == start else [[*p, node] for before in previous[node] for p in ending(before)]

        return [p[:-1] for p in ending(goal)] if goal in previous and goal != start else []

    def _shortest(self, start: str, goal: str, max_hops: int) -> dict[str, list[str]]:
        """Breadth-first from `start` until `goal`'s level: each node reached, with every neighbour one step
        nearer to `start` (the first found first)."""
        previous: dict[str, list[str]] = {start: []}
        hops = {start: 0}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if (goal in hops and hops[node] >= hops[goal]) or hops[node] >= max_hops:
                continue
            for nxt in sorted(self._neighbours.get(node, ())):
                if nxt not in hops:
                    hops[nxt] = hops[node] + 1
                    previous[nxt] = [node]
                    queue.append(nxt)
                elif hops[nxt] == hops[node] + 1:
                    previous[nxt].append(node)
        return previous



def local_name(table: str) -> str:
    """The name without its namespace: `orders` of `sales.orders` and of `sales__orders`."""
    return _split_namespace(table)[1]


def namespace(table: str) -> str | None:
    """The schema of `schema.table`, or the prefix of `prefix__table`; None for a plain name."""
    return _split_namespace(table)[0]


def _split_namespace(table: str) -> tuple[str | None, str]:
    if "." in table:
        space, _, name = table.rpartition(".")
        return space, name
    head, _, rest = table.strip("_").partition("__")
    return (head, rest) if rest else (None, table)
