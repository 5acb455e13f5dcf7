"""Every question's first prompt as today's code builds it (default settings, over the set's eval index), as one
hash a line; with `--against` an earlier dump (say, from a worktree at the commit before a change), the questions
whose prompt differs. Greedy decoding gives a question with the same prompt the same answer, so a change to
retrieval that alters no prompt leaves the set's accuracy as it was, without a run.

    .venv/bin/python bench/prompt_dump.py --set spider --out /tmp/after.jsonl --against /tmp/before.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from eval.config import load_config
from eval.runner import build_settings
from eval.sets import DEFAULT_DATA, load_set
from service.pipeline import AskPipeline
from service.runtime import Runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default="spider")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--against", type=Path, help="an earlier dump: print the questions whose prompt differs")
    args = parser.parse_args()
    questions = load_set(DEFAULT_DATA.resolve(), args.set).select()
    runtime = eval_runtime(args.set, sorted({q.db_id for q in questions}))
    pipeline = AskPipeline(runtime)
    hashes = {q.id: prompt_hash(pipeline, q.question, q.db_id) for q in questions}
    args.out.write_text("".join(json.dumps({"id": k, "prompt": v}) + "\n" for k, v in hashes.items()))
    if args.against:
        before = {r["id"]: r["prompt"] for r in map(json.loads, args.against.read_text().splitlines())}
        changed = [k for k, v in hashes.items() if before.get(k) != v]
        print(f"{args.set}: prompt changed for {len(changed)} of {len(hashes)}: {' '.join(changed[:30])}")


def eval_runtime(set_name: str, db_ids: list[str]) -> Runtime:
    bench = load_set(DEFAULT_DATA.resolve(), set_name)
    runtime = Runtime(build_settings(bench, db_ids, load_config(["default"], None)))
    for db_id in db_ids:
        runtime.index(db_id)  # unchanged documents are not embedded again
    return runtime


def prompt_hash(pipeline: AskPipeline, question: str, db_id: str) -> str:
    prompt = pipeline.prompts.build(pipeline.rt.catalog(db_id), pipeline.context(question, db_id), question)
    # a narrowed prompt is asked again when its answer finds nothing: a change even where its text is the same
    narrowed = "\x00narrowed" if prompt.narrowed else ""
    return hashlib.sha256(f"{prompt.system}\x00{prompt.user}{narrowed}".encode()).hexdigest()[:16]


if __name__ == "__main__":
    main()
