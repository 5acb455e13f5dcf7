"""End-to-end latency of the ask pipeline, per stage, with the real model.

    .venv/bin/python bench/ask_bench.py [--questions 30] [--cold 5] [--speculative off,on] [--db demo,concert_singer]

On the demo database (its 30 held-out questions: none is an example of its schema docs, which a question
would find as a verified example to copy) and on Spider's concert_singer: warm (the database's prompt prefix
already evaluated, as in the running API) over --questions questions, and cold (KV cache dropped before each
question, as for the first question after a start) over --cold questions; once per llama.cpp
speculative-decoding setting (prompt-lookup decoding); then, with --switches N, N questions alternating
between the databases, whose prefixes the model loads from disk (saved prefixes) instead of evaluating.
Prints p50/p95 seconds per stage and end to end, and the mean cached share of the prompt.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from service.pipeline import AskPipeline
from service.runtime import Runtime
from service.settings import DEMO_DIR, DatabaseConfig, LlamaCppConfig, Settings

REPO = Path(__file__).resolve().parent.parent
SPIDER = REPO.parent / "shared" / "data" / "spider"
STAGES = ["retrieve", "prompt", "generate", "validate", "execute"]


def questions(db: str, n: int) -> list[str]:
    if db == "demo":
        return [q["question"] for q in json.loads((REPO / "tests" / "data" / "demo_questions.json").read_text())][:n]
    return [q["question"] for q in json.loads((SPIDER / "dev.json").read_text()) if q["db_id"] == db][:n]


def p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def report(label: str, results: list) -> None:
    if not results:
        return
    totals = [sum(r.timings.values()) for r in results]
    per_stage = {s: [r.timings.get(s, 0.0) for r in results] for s in STAGES}
    stages = "  ".join(f"{s} {p(v, 50):.2f}/{p(v, 95):.2f}" for s, v in per_stage.items())
    cached = statistics.mean(r.tokens.cached / max(r.tokens.prompt, 1) for r in results)
    print(f"{label:<34} n={len(results):<3} total p50 {p(totals, 50):.2f} s  p95 {p(totals, 95):.2f} s  "
          f"| {stages} | cached {cached:.0%}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--speculative", default="off,on")
    parser.add_argument("--db", default="demo,concert_singer")
    parser.add_argument("--switches", type=int, default=0,
                        help="Then this many questions alternating between the databases, with saved prefixes")
    args = parser.parse_args()
    databases = {
        "demo": DatabaseConfig(url=f"sqlite:///{DEMO_DIR / 'telecom.sqlite'}", docs=[DEMO_DIR / "telecom.yaml"]),
        "concert_singer": DatabaseConfig(url=f"sqlite:///{SPIDER / 'database/concert_singer/concert_singer.sqlite'}"),
    }
    with tempfile.TemporaryDirectory() as home:
        for speculative in args.speculative.split(","):
            # no saved prefixes: "cold" is a prefix evaluated from scratch, not one loaded from disk
            llm = LlamaCppConfig(speculative_decoding=speculative == "on", prefix_cache=False)
            rt = Runtime(Settings(home=Path(home), databases=databases, llm=llm))
            pipeline = AskPipeline(rt)
            for db in args.db.split(","):
                rt.index(db)
                cold = []
                for q in questions(db, args.cold):
                    rt.llm.forget_prefix()
                    cold.append(pipeline.ask(q, db))
                report(f"{db} cold, speculative {speculative}", cold)
                pipeline.warm_up(db)
                warm = [pipeline.ask(q, db) for q in questions(db, args.questions)]
                report(f"{db} warm, speculative {speculative}", warm)
            rt.close()
        if args.switches:
            switching(Settings(home=Path(home), databases=databases), args.db.split(","), args.switches)


def switching(settings: Settings, databases: list[str], n: int) -> None:
    """One API serving several databases: each question's database differs from the previous one's, so its
    prefix is never in the KV cache; each was warmed up (and saved) once, as at a start."""
    rt = Runtime(settings)
    pipeline = AskPipeline(rt)
    for db in databases:
        pipeline.warm_up(db)
    asked = {db: iter(questions(db, n)) for db in databases}
    report("alternating, saved prefixes", [pipeline.ask(next(asked[databases[i % len(databases)]]),
                                                        databases[i % len(databases)]) for i in range(n)])
    rt.close()


if __name__ == "__main__":
    main()
