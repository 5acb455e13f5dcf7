"""How well a big schema's questions are routed to their groups, offline (retrieval only, no model): for each
question of a set whose records name their `source_db` (bigschema), is the best retrieved table's group the
source database's, does the route (`service.prompt.route`) cover it, and is it among the two best groups.

    .venv/bin/python bench/route_bench.py --set bigschema [--dump routes.jsonl] [--runs BEFORE AFTER]

With `--runs`, two eval runs of the set: the questions routed to two groups, by the second group's score relative
to the first's (the bands of docs/benchmarks.md), with how many each run answers right and what changed.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from itertools import pairwise
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
    parser.add_argument("--runs", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="two runs to compare by band")
    args = parser.parse_args()
    records = json.loads((DEFAULT_DATA.resolve() / args.set / "dev.json").read_text())
    db_ids = sorted({r["db_id"] for r in records})
    runtime = eval_runtime(args.set, db_ids)
    pipeline = AskPipeline(runtime)
    counts: Counter[str] = Counter()
    misrouted: Counter[str] = Counter()
    lines = []
    sisters: dict[str, float] = {}  # question id -> the second group's score relative to the first's
    for r in records:
        catalog = runtime.catalog(r["db_id"])
        context = pipeline.context(r["question"], r["db_id"])
        routed = route(catalog, context, r["question"])
        names = [namespace(catalog.groups[g][0]) for g, _ in routed]
        if len(routed) == 2:
            sisters[r["id"]] = routed[1][1]
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
    if args.runs:
        by_band(sisters, *args.runs)


_BANDS = (0.7, 0.74, 0.82, 1.0)


def by_band(sisters: dict[str, float], before: Path, after: Path) -> None:
    right = [{r["id"]: r["match"] for r in map(json.loads, (run / "predictions.jsonl").open())}
             for run in (before, after)]
    print("| sister's score / best's | questions | right before | right after | gained | lost |")
    print("|---|---|---|---|---|---|")
    for low, high in pairwise(_BANDS):
        ids = [i for i, ratio in sisters.items() if low <= ratio < high or ratio == high == _BANDS[-1]]
        pairs = [(right[0][i], right[1][i]) for i in ids]
        print(f"| {low:.2f}-{high:.2f} | {len(ids)} | {sum(a for a, _ in pairs)} | {sum(b for _, b in pairs)} | "
              f"{sum(b > a for a, b in pairs)} | {sum(a > b for a, b in pairs)} |")


if __name__ == "__main__":
    main()
