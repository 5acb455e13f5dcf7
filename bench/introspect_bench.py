"""How long the indexer's introspection of a database takes today and at an earlier commit, and whether the
low-cardinality values it keeps (what CREATE TABLE prompts show) are the same.

    .venv/bin/python bench/introspect_bench.py --against 21f5278 \
        --url sqlite:///../shared/data/bigschema/database/bigschema/bigschema.sqlite
"""

from __future__ import annotations

import argparse
import time
import warnings

import sqlalchemy as sa
from at_commit import module_at  # bench/ is the script folder: sys.path[0]

from indexer.introspect import introspect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of the database")
    parser.add_argument("--against", required=True, help="the commit whose indexer/introspect.py to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # SQLite's reflected types: not what is measured
    versions = {"then": module_at(args.against, "indexer/introspect.py").introspect, "now": introspect}
    values = {}
    for label, read in versions.items():
        times = []
        for _ in range(args.repeat):
            engine = sa.create_engine(args.url)
            started = time.perf_counter()
            schema = read(engine, engine.dialect.name)
            times.append(time.perf_counter() - started)
            engine.dispose()
        values[label] = {(t.name, c.name): c.values for t in schema.tables for c in t.columns}
        print(f"{label}: {len(schema.tables)} tables, best of {args.repeat}: {min(times):.2f} s")
    differ = sum(values["then"].get(key) != kept for key, kept in values["now"].items())
    print(f"columns whose kept values differ: {differ} of {len(values['now'])}")


if __name__ == "__main__":
    main()
