"""Step 1: the relevant tables, columns and verified examples, plus the tables that join them."""

from __future__ import annotations

from itertools import combinations

from indexer.search import SchemaSearcher
from service.catalog import SchemaCatalog
from service.results import RetrievedContext, RetrievedTable

_JOIN_CANDIDATES = 4  # bridge tables are looked for between the best few tables only


def retrieve(
    searcher: SchemaSearcher,
    catalog: SchemaCatalog,
    db_id: str,
    question: str,
    top_tables: int,
    top_columns: int,
    top_examples: int,
    example_min_score: float = 0.0,
) -> RetrievedContext:
    found = searcher.search(db_id, question, top_tables, top_columns, top_examples, example_min_score)
    tables = [RetrievedTable(table=t.name, score=t.score) for t in found.tables]
    names = {t.table for t in tables}
    for a, b in combinations([t.table for t in tables[:_JOIN_CANDIDATES]], 2):
        for bridge in catalog.join_path(a, b):
            if bridge not in names:
                names.add(bridge)
                tables.append(RetrievedTable(table=bridge, score=0.0, reason="join"))
    return RetrievedContext(tables=tables, columns=found.columns, examples=found.examples)
