"""Value linking, A/B, on the questions where it changes the prompt: every other question gets the same prompt
either way (and, decoding greedily, the same answer), so the difference on these is the whole set's.

    .venv/bin/python bench/values_ab.py [--set spider] [--limit N] [--home DIR]

Asks each question whose prompt gains value hints twice through the service's pipeline (value linking off, then
on), scores both by execution match as `ragsql eval run` does, and lists the flips.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eval.config import load_config
from eval.runner import build_settings, evaluate_question
from eval.sets import DEFAULT_DATA, load_set
from service.pipeline import AskPipeline
from service.retrieve import retrieve
from service.runtime import Runtime
from service.values import link_values


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="spider")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--home", type=Path, help="A state folder of its own (the eval index may be in use)")
    args = parser.parse_args()
    bench = load_set(DEFAULT_DATA, args.set)
    questions = bench.select(None, args.limit)
    db_ids = list(dict.fromkeys(q.db_id for q in questions))
    config = load_config([], None)
    if args.home:
        config.settings["home"] = args.home
    on = Runtime(build_settings(bench, db_ids, config))
    for db in db_ids:
        on.index(db)
    s = on.settings
    hinted = []
    for q in questions:
        catalog = on.catalog(q.db_id)
        context = retrieve(on.searcher, catalog, q.db_id, q.question, s.top_tables, s.top_columns, s.top_examples,
                           s.example_min_score)
        if link_values(q.question, catalog, [t.table for t in context.tables],
                       lambda table, column, db=q.db_id: on.sample_value(db, table, column)):
            hinted.append(q)
    print(f"{len(hinted)} of {len(questions)} questions get value hints")
    off = Runtime(s.model_copy(update={"link_values": False}), llm=on.llm, embedder=on.embedder, store=on.store)
    scores = {"off": 0, "on": 0}
    pipeline_off, pipeline_on = AskPipeline(off), AskPipeline(on)
    for q in hinted:
        a = evaluate_question(pipeline_off, off, q, config)
        b = evaluate_question(pipeline_on, on, q, config)
        scores["off"] += a["match"]
        scores["on"] += b["match"]
        if a["match"] != b["match"]:
            print(f"{'+' if b['match'] else '-'} {q.id} {q.question!r}: {b['context']['values']}\n"
                  f"    off: {a['executed_sql'] or a['predicted']}\n    on:  {b['executed_sql'] or b['predicted']}")
    print(f"correct on the hinted questions: off {scores['off']}, on {scores['on']} (of {len(hinted)})")


if __name__ == "__main__":
    main()
