"""Replay the deterministic repairs on a finished eval run, without the model.

    .venv/bin/python bench/replay_repair.py runs/spider-default [--joins | --prune] [--data DATABASES]

For every question whose first attempt failed on an unknown column, applies `repair_columns` to that SQL; when
the result passes the validator it is scored by execution match (as the pipeline would now answer), otherwise the
run's own outcome stands (the model's retry, as before). With `--joins`, instead: every answer that ran is given
`repair_joins` (a join condition comparing a column with itself becomes the foreign key), and scored again where
that changed it. With `--prune`: every answer that ran is given `prune_joins` (joined tables that only repeat or
drop rows and that the question does not name are dropped). Prints the accuracy before and after and the flips.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import sqlalchemy as sa

from eval.match import execution_match
from indexer.introspect import introspect
from service.catalog import SchemaCatalog
from service.errors import SQLRefused
from service.repair import prune_joins, repair_columns, repair_joins
from service.sql_guard import check_sql

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--joins", action="store_true", help="replay the join repair on the answers that ran")
    what.add_argument("--prune", action="store_true", help="replay dropping unneeded joins on the answers that ran")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "spider" / "database")
    args = parser.parse_args()
    records = [json.loads(line) for line in (args.run / "predictions.jsonl").open()]
    catalogs: dict[str, SchemaCatalog] = {}
    before = after = repaired_valid = considered = 0
    flips = []
    for r in records:
        before += r["match"]
        first = r["attempts"][0]
        outcome = r["match"]
        path = args.data / r["db_id"] / f"{r['db_id']}.sqlite"
        if r["db_id"] not in catalogs:
            schema = introspect(sa.create_engine(f"sqlite:///{path}"), "sqlite", sample_values=0)
            catalogs[r["db_id"]] = SchemaCatalog("sqlite", "", [], {t.name: t for t in schema.tables})
        catalog = catalogs[r["db_id"]]
        ran = r.get("executed_sql") and next((a.get("repaired_sql") or a["sql"] for a in reversed(r["attempts"])
                                              if not a["error_kind"]), None)
        if (args.joins or args.prune) and ran:
            repaired = repair_joins(ran, catalog) if args.joins else prune_joins(ran, catalog, r["question"])
            if repaired:
                considered += 1
                repaired_valid += 1
                outcome = execution_match(repaired, r["gold"], path)
                if outcome != r["match"]:
                    flips.append((r["id"], r["match"], outcome))
        elif not (args.joins or args.prune) and first["error_kind"] == "unknown_identifier" and first["sql"]:
            considered += 1
            repaired = repair_columns(first["sql"], catalog)
            try:
                if repaired:
                    check_sql(repaired, "sqlite", catalog.column_map(), 1000)
                    repaired_valid += 1
                    outcome = execution_match(repaired, r["gold"], path)
            except SQLRefused:
                pass
            if outcome != r["match"]:
                flips.append((r["id"], r["match"], outcome))
        after += outcome
    what = ("answers with a self-comparing join" if args.joins else "answers with a join dropped" if args.prune
            else "first attempts with an unknown column")
    print(f"considered: {considered} ({what}); repaired into valid SQL: {repaired_valid}")
    print(f"accuracy {before}/{len(records)} = {before / len(records):.1%} -> {after}/{len(records)} = "
          f"{after / len(records):.1%}; flips (id, before, after): {flips}")


if __name__ == "__main__":
    main()
