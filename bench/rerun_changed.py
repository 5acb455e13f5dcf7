"""Prepare a partial re-run: copy a finished eval run, keeping only the questions that today's code would answer
exactly as that run did, so that resuming the copy re-asks just the others.

    .venv/bin/python bench/rerun_changed.py runs/BEFORE runs/AFTER [--data DATABASES]
    .venv/bin/ragsql eval run --set SET --out runs/AFTER       # the same options as BEFORE: resumes it

A question is kept when its schema links (`service.schema_links`, over the tables the run retrieved) are the ones
the run recorded, and every attempt's SQL goes through `service.repair.repaired` to the SQL the run validated (or
is refused again): the same prompt and the same validation give the same greedy answer. Changes to anything else
(retrieval, prompts, decoding) need a full run.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import sqlalchemy as sa

from indexer.embedding import SentenceTransformerEmbedder
from indexer.introspect import introspect
from service.catalog import SchemaCatalog
from service.errors import SQLRefused
from service.repair import repaired
from service.schema_links import SchemaLinker
from service.settings import Settings
from service.sql_guard import check_sql

REPO = Path(__file__).resolve().parent.parent
_REFUSED = {"parse", "unknown_identifier", "refused"}
_RESULTS = ("metrics.json", "report.md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "spider" / "database")
    args = parser.parse_args()
    linker = SchemaLinker(SentenceTransformerEmbedder(Settings().embedding_model).embed)
    catalogs: dict[str, SchemaCatalog] = {}
    kept, linked, repaired_now = [], 0, 0
    for line in (args.before / "predictions.jsonl").open():
        r = json.loads(line)
        if r["db_id"] not in catalogs:
            path = args.data / r["db_id"] / f"{r['db_id']}.sqlite"
            schema = introspect(sa.create_engine(f"sqlite:///{path}"), "sqlite")  # values, as indexed
            catalogs[r["db_id"]] = SchemaCatalog("sqlite", "", [], {t.name: t for t in schema.tables})
        catalog = catalogs[r["db_id"]]
        links = linker.link(r["question"], r["db_id"], catalog, [t["table"] for t in r["context"]["tables"]])
        if links != r["context"].get("links", []):
            linked += 1
        elif any(_validated(a, catalog, r["question"]) != _validated_then(a) for a in r["attempts"] if a["sql"]):
            repaired_now += 1
        else:
            kept.append(line)
    shutil.copytree(args.before, args.after)
    (args.after / "predictions.jsonl").write_text("".join(kept))
    for name in _RESULTS:
        (args.after / name).unlink(missing_ok=True)
    print(f"re-ask: {linked} with other schema links, {repaired_now} validated otherwise; kept {len(kept)}")


def _validated(attempt: dict, catalog: SchemaCatalog, question: str) -> str | None:
    try:
        return repaired(attempt["sql"], catalog, question,
                        lambda sql: check_sql(sql, "sqlite", catalog.column_map(), 1000))[0]
    except SQLRefused:
        return None


def _validated_then(attempt: dict) -> str | None:
    return None if attempt["error_kind"] in _REFUSED else attempt.get("repaired_sql") or attempt["sql"]


if __name__ == "__main__":
    main()
