"""Prepare a partial re-run: copy a finished eval run, keeping only the questions that today's code would answer
exactly as that run did, so that resuming the copy re-asks just the others.

    .venv/bin/python bench/rerun_changed.py runs/BEFORE runs/AFTER [--data DATABASES] [--set SET]
    .venv/bin/ragsql eval run --set SET --out runs/AFTER       # the same options as BEFORE: resumes it

A question is kept when its schema links (`service.schema_links`, over the tables the run retrieved) are the ones
the run recorded, and every attempt's SQL goes through `service.repair.repaired` to the SQL the run validated (or
is refused again): the same prompt and the same validation give the same greedy answer. With `--set` (a run of
the default settings), the pipeline's retrieval and prompt are built again over that set's eval index too, and a
question whose retrieved tables or columns, or whose prompt's tables, differ is re-asked; with `--prompts` too, a
dump of BEFORE's prompts (`bench/prompt_dump.py`, run in a worktree at BEFORE's commit), a question is re-asked
exactly when its whole first prompt differs (retrieval scores may move without changing a prompt). Changes to
anything else (decoding) need a full run.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import sqlalchemy as sa
from prompt_dump import eval_runtime, prompt_hash  # bench/ is the script folder: sys.path[0]

from indexer.embedding import SentenceTransformerEmbedder
from indexer.introspect import introspect
from service.catalog import SchemaCatalog
from service.errors import SQLRefused
from service.pipeline import AskPipeline
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
    parser.add_argument("--set", help="run retrieval again over this eval set's index (BEFORE used the defaults)")
    parser.add_argument("--prompts", type=Path, help="with --set: BEFORE's prompts (bench/prompt_dump.py --out)")
    args = parser.parse_args()
    lines = (args.before / "predictions.jsonl").read_text().splitlines(keepends=True)
    runtime = eval_runtime(args.set, sorted({json.loads(line)["db_id"] for line in lines})) if args.set else None
    pipeline = AskPipeline(runtime) if runtime else None
    linker = SchemaLinker(runtime.embedder.embed if runtime else SentenceTransformerEmbedder(
        Settings().embedding_model).embed)
    catalogs: dict[str, SchemaCatalog] = {}
    prompts = {d["id"]: d["prompt"] for d in map(json.loads, args.prompts.read_text().splitlines())
               } if args.prompts else {}
    kept, retrieved, linked, repaired_now = [], 0, 0, 0
    for line in lines:
        r = json.loads(line)
        if r["db_id"] not in catalogs:
            catalogs[r["db_id"]] = runtime.catalog(r["db_id"]) if runtime else _introspected(args.data, r["db_id"])
        catalog = catalogs[r["db_id"]]
        tables = [t["table"] for t in r["context"]["tables"]]
        if pipeline and (prompts.get(r["id"]) != prompt_hash(pipeline, r["question"], r["db_id"]) if prompts
                         else _prompted_otherwise(pipeline, catalog, r)):
            retrieved += 1
        elif linker.link(r["question"], r["db_id"], catalog, tables) != r["context"].get("links", []):
            linked += 1
        elif any(_validated(a, catalog, r["question"]) != _validated_then(a) for a in r["attempts"] if a["sql"]):
            repaired_now += 1
        else:
            kept.append(line)
    shutil.copytree(args.before, args.after)
    (args.after / "predictions.jsonl").write_text("".join(kept))
    for name in _RESULTS:
        (args.after / name).unlink(missing_ok=True)
    print(f"re-ask: {retrieved} retrieved or prompted otherwise, {linked} with other schema links, "
          f"{repaired_now} validated otherwise; kept {len(kept)}")


def _introspected(data: Path, db_id: str) -> SchemaCatalog:
    schema = introspect(sa.create_engine(f"sqlite:///{data / db_id / f'{db_id}.sqlite'}"), "sqlite")  # values too
    return SchemaCatalog("sqlite", "", [], {t.name: t for t in schema.tables})


def _prompted_otherwise(pipeline: AskPipeline, catalog: SchemaCatalog, record: dict) -> bool:
    now = pipeline.context(record["question"], record["db_id"])
    then = record["context"]
    prompt = pipeline.prompts.build(catalog, now, record["question"])
    return ([(t.table, t.reason) for t in now.tables] != [(t["table"], t["reason"]) for t in then["tables"]]
            or [(c.table, c.column) for c in now.columns] != [(c["table"], c["column"]) for c in then["columns"]]
            or prompt.tables != then["prompt_tables"])


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
