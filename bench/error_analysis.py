"""What still fails: a fixed sample of a run's misses, each put in the first category its SQL shows against the
gold SQL, and the same questions in later runs (fixed by the change, or failing otherwise).

    .venv/bin/python bench/error_analysis.py runs/BEFORE [runs/AFTER ...] [--sample 50] [--list]

The sample is the BEFORE run's misses ordered by a hash of their ids (fixed, spread over databases and hardness),
so every run is judged on the same questions. Categories, first match wins:
  invalid        the pipeline's final SQL failed (unknown table or column, parse, runtime)
  wrong_table    a table the gold query reads is missing, or one it does not read is used
  columns        more or fewer result columns than the gold query's
  aggregation    aggregate functions or GROUP BY/HAVING differ
  nesting        set operations (UNION/INTERSECT/EXCEPT) or subqueries differ
  value          the literals compared with differ (a guessed value, a wrong format)
  ordering       ORDER BY or LIMIT differ
  other          the same shape, different logic (join condition, operator, DISTINCT, ties)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

CATEGORIES = ("invalid", "wrong_table", "columns", "aggregation", "nesting", "value", "ordering", "other")


def category(record: dict[str, Any]) -> str:
    if record["match"]:
        return "correct"
    # as run: after the column repair, with the harness's row cap (MAX_COMPARED_ROWS + 1), which is not the model's
    predicted = re.sub(r"\s+LIMIT 100001\b", "", record.get("executed_sql") or "")
    if record["category"] != "wrong_rows" or not predicted:
        return "invalid"
    try:
        gold, pred = sqlglot.parse_one(record["gold"], read="sqlite"), sqlglot.parse_one(predicted, read="sqlite")
    except sqlglot.errors.SqlglotError:
        return "invalid"
    if _tables(gold) != _tables(pred):
        return "wrong_table"
    if len(gold.selects) != len(pred.selects):
        return "columns"
    if _aggregation(gold) != _aggregation(pred):
        return "aggregation"
    if _nesting(gold) != _nesting(pred):
        return "nesting"
    if _literals(gold) != _literals(pred):
        return "value"
    if _ordering(gold) != _ordering(pred):
        return "ordering"
    return "other"


def _tables(tree: exp.Expression) -> set[str]:
    return {t.name.lower() for t in tree.find_all(exp.Table)}


def _aggregation(tree: exp.Expression) -> tuple[Any, ...]:
    functions = sorted(type(f).__name__ for f in tree.find_all(exp.AggFunc))
    return tuple(functions), bool(tree.find(exp.Group)), bool(tree.find(exp.Having))


def _nesting(tree: exp.Expression) -> tuple[Any, ...]:
    operations = sorted(type(s).__name__ for s in tree.find_all(exp.Union, exp.Intersect, exp.Except))
    return tuple(operations), len(list(tree.find_all(exp.Subquery))) + len(list(tree.find_all(exp.In)))


def _literals(tree: exp.Expression) -> set[str]:
    return {str(lit.this).lower() for lit in tree.find_all(exp.Literal) if not _in_limit(lit)}


def _in_limit(node: exp.Expression) -> bool:
    return node.find_ancestor(exp.Limit) is not None


def _ordering(tree: exp.Expression) -> tuple[Any, ...]:
    order = tree.find(exp.Order)
    limit = tree.find(exp.Limit)
    keys = tuple(sorted(o.sql().lower() for o in order.expressions)) if order else ()
    return bool(order), keys, limit.sql() if limit else None


def read(run: Path) -> dict[str, dict[str, Any]]:
    records = (json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines() if line.strip())
    return {r["id"]: r for r in records}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--list", action="store_true", help="print each sampled question's category per run")
    args = parser.parse_args()
    runs = [read(run) for run in args.runs]
    misses = [i for i, r in runs[0].items() if not r["match"] and r["category"] != "gold_error"]
    sample = sorted(misses, key=lambda i: hashlib.sha256(i.encode()).hexdigest())[: args.sample]
    print(f"sample: {len(sample)} of {len(misses)} misses of {args.runs[0]}\n")
    header = ["category", *(run.name for run in args.runs)]
    counts = [Counter(category(records[i]) for i in sample if i in records) for records in runs]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for name in ("correct", *CATEGORIES):
        print(f"| {name} | " + " | ".join(str(c.get(name, 0)) for c in counts) + " |")
    if args.list:
        for i in sample:
            first = runs[0][i]
            print(f"\n{i} [{first['hardness']}] {first['question']}\n  gold: {first['gold']}")
            for run, records in zip(args.runs, runs, strict=True):
                r = records.get(i)
                if r:
                    print(f"  {run.name}: {category(r)}: {r.get('executed_sql') or r.get('predicted')}")


if __name__ == "__main__":
    main()
