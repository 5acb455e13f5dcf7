"""The questions of a set whose schema links differ between today's linker and the one at an earlier commit,
over the tables today's retrieval gives (default settings, the set's eval index): a change to linking alone
alters only these prompts, so only these can change answers.

    .venv/bin/python bench/links_diff.py --set bigschema --against f13cb92
"""

from __future__ import annotations

import argparse

from at_commit import module_at  # bench/ is the script folder: sys.path[0]
from prompt_dump import eval_runtime

from eval.sets import DEFAULT_DATA, load_set
from service.pipeline import AskPipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default="spider")
    parser.add_argument("--against", required=True, help="the commit whose service/schema_links.py to compare with")
    args = parser.parse_args()
    questions = load_set(DEFAULT_DATA.resolve(), args.set).select()
    runtime = eval_runtime(args.set, sorted({q.db_id for q in questions}))
    pipeline = AskPipeline(runtime)
    earlier = module_at(args.against, "service/schema_links.py").SchemaLinker(runtime.embedder.embed)
    changed = 0
    for q in questions:
        context = pipeline.context(q.question, q.db_id)
        now = context.links
        then = earlier.link(q.question, q.db_id, runtime.catalog(q.db_id), [t.table for t in context.tables])
        if now != then:
            changed += 1
            print(f"{q.id}: {q.question}\n  then: {then}\n  now:  {now}")
    print(f"{args.set}: links changed for {changed} of {len(questions)}")


if __name__ == "__main__":
    main()
