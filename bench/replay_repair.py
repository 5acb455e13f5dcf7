"""Replay today's deterministic repairs on a finished eval run, without the model.

    .venv/bin/python bench/replay_repair.py runs/spider-default [--data DATABASES]

For every question, the first attempt's SQL goes through `service.repair.repaired` (the pipeline's validate step)
with the guard as the check. Where that gives other SQL than the run validated, the new SQL is scored by execution
match; where it is refused or fails when run, the run's own outcome stands (the model's retry, as before). So a
run made before a repair changed shows what the change does to its answers. Prints the accuracy before and after
and the flips.

(Before this commit's change the script took `--joins` and `--prune` to replay one rule at a time.)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import sqlalchemy as sa

from eval.match import execution_match
from indexer.introspect import introspect
from service.catalog import SchemaCatalog
from service.databases import open_database
from service.errors import DatabaseError, SQLRefused
from service.repair import repaired
from service.sql_guard import check_sql

REPO = Path(__file__).resolve().parent.parent
_REFUSED = {"parse", "unknown_identifier", "refused"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "spider" / "database")
    args = parser.parse_args()
    records = [json.loads(line) for line in (args.run / "predictions.jsonl").open()]
    catalogs: dict[str, SchemaCatalog] = {}
    before = after = changed = 0
    flips = []
    for r in records:
        before += r["match"]
        outcome = r["match"]
        first = r["attempts"][0]
        path = args.data / r["db_id"] / f"{r['db_id']}.sqlite"
        if r["db_id"] not in catalogs:
            schema = introspect(sa.create_engine(f"sqlite:///{path}"), "sqlite", sample_values=0)
            catalogs[r["db_id"]] = SchemaCatalog("sqlite", "", [], {t.name: t for t in schema.tables})
        catalog = catalogs[r["db_id"]]
        validated = None if first["error_kind"] in _REFUSED else first.get("repaired_sql") or first["sql"]
        try:
            sql, _ = repaired(first["sql"] or "", catalog, r["question"],
                              lambda sql, catalog=catalog: check_sql(sql, "sqlite", catalog.column_map(), 1000))
        except SQLRefused:
            sql = validated  # refused now as then: the retry's outcome stands
        if sql and sql != validated and _runs(sql, path):
            changed += 1
            outcome = execution_match(sql, r["gold"], path)
            if outcome != r["match"]:
                flips.append((r["id"], r["match"], outcome, sql))
        after += outcome
    print(f"first attempts given other SQL than the run validated: {changed}")
    print(f"accuracy {before}/{len(records)} = {before / len(records):.1%} -> {after}/{len(records)} = "
          f"{after / len(records):.1%}")
    for flip in flips:
        print("flip (id, before, after, sql):", *flip)


def _runs(sql: str, path: Path) -> bool:
    try:
        open_database(path.stem, f"sqlite:///{path}").execute(sql, 1000, 30.0)
    except DatabaseError:
        return False
    return True


if __name__ == "__main__":
    main()
