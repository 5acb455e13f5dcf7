"""How well a big schema's questions are routed to their groups, offline (retrieval only, no model): for each
question of a set whose records name their `source_db` (bigschema), is the best retrieved table's group the
source database's, does the route (`service.prompt.route`) cover it, and is it among the two best groups.

    .venv/bin/python bench/route_bench.py --set bigschema [--dump routes.jsonl]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from prompt_dump import eval_runtime  # bench/ is the script folder: sys.path[0]

from eval.sets import DEFAULT_DATA
from service.catalog import namespace
from service.pipeline import AskPipeline
from service.prompt import route


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default="bigschema")
    parser.add_argument("--dump", type=Path, help="one line a question: its source database and routed groups")
    args = parser.parse_args()
    records = json.loads((DEFAULT_DATA.resolve() / args.set / "dev.json").read_text())
    db_ids = sorted({r["db_id"] for r in records})
    runtime = eval_runtime(args.set, db_ids)
    pipeline = AskPipeline(runtime)
    counts: Counter[str] = Counter()
    misrouted: Counter[str] = Counter()
    lines = []
    for r in records:
        catalog = runtime.catalog(r["db_id"])
        context = pipeline.context(r["question"], r["db_id"])
        names = [namespace(catalog.groups[g][0]) for g, _ in route(catalog, context, r["question"])]
        ranked = list(dict.fromkeys(namespace(t.table) for t in sorted(context.tables, key=lambda t: -t.score)
                                    if t.reason == "retrieved"))
        counts["best"] += bool(names) and names[0] == r["source_db"]
        counts["covered"] += r["source_db"] in names
        counts["top two"] += r["source_db"] in ranked[:2]
        counts["two groups"] += len(names) == 2
        if r["source_db"] not in names:
            misrouted[r["source_db"]] += 1
        lines.append(json.dumps({"id": r["id"], "source_db": r["source_db"], "route": names, "ranked": ranked}))
    total = len(records)
    print(", ".join(f"{k} {v}/{total}" for k, v in counts.items()))
    print("misrouted by source database:", ", ".join(f"{k} {v}" for k, v in misrouted.most_common(10)))
    if args.dump:
        args.dump.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
