"""The run loop: every question through the service's own pipeline, in-process, compared by execution.

A run folder holds `run.json` (what is being run), `predictions.jsonl` (one record per question, appended
and flushed as each is answered, so an interrupted run resumes where it stopped), and at the end the
metrics, the report, the plots and the official-format files.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import sqlglot
from pydantic import BaseModel
from tqdm import tqdm

from eval.config import EvalConfig
from eval.gold import gold_columns, gold_tables
from eval.match import MAX_COMPARED_ROWS, order_matters, results_match
from eval.metrics import compute_metrics
from eval.provenance import git_state, model_identity
from eval.report import one_line, write_report
from eval.sets import REPO, BenchmarkSet, Question
from service.catalog import SchemaCatalog
from service.databases import QueryResult
from service.errors import DatabaseError
from service.pipeline import AskPipeline
from service.runtime import Runtime
from service.settings import DatabaseConfig, Settings

EVAL_INDEX = REPO / ".ragsql" / "eval-index"  # git-ignored; kept between runs, so re-indexing is cheap
RUNS = REPO / "runs"
SPEC_FILE, PREDICTIONS, METRICS = "run.json", "predictions.jsonl", "metrics.json"
OFFICIAL_PREDICTIONS, OFFICIAL_GOLD = "predictions.sql", "gold.sql"


class RunSpec(BaseModel):
    """What a run folder is a run of: resuming it with anything else would mix two runs' records."""

    set: str
    data: str
    dbs: list[str]
    limit: int | None
    config: EvalConfig
    question_ids: list[str]


class RunMismatch(ValueError):
    pass


def index_home(bench: BenchmarkSet) -> Path:
    """One index per database folder: Spider-DK's car_1 is not Spider's car_1, though both are 'car_1'."""
    folder = bench.database_folder.resolve()
    return EVAL_INDEX / f"{folder.parent.name}-{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}"


def build_settings(bench: BenchmarkSet, db_ids: list[str], config: EvalConfig) -> Settings:
    home = index_home(bench)
    databases = {db: DatabaseConfig(url=f"sqlite:///{bench.database_path(db)}", docs=bench.docs(db, home / "docs"))
                 for db in db_ids}
    return Settings(**{"home": home, **config.settings, "databases": databases, "default_db": db_ids[0]})


def run_eval(
    bench: BenchmarkSet, spec: RunSpec, out_dir: Path, rt: Runtime, show_progress: bool = True
) -> dict[str, Any]:
    """Answer the spec's questions not yet in `out_dir`, then write metrics, report and official files."""
    by_id = {q.id: q for q in bench.questions}
    questions = [by_id[i] for i in spec.question_ids]
    out_dir.mkdir(parents=True, exist_ok=True)
    _claim(out_dir, spec)
    records = read_records(out_dir / PREDICTIONS)
    todo = [q for q in questions if q.id not in records]
    code = git_state()  # the code that answers, read now: a commit made while the run goes on is not it

    for db_id in dict.fromkeys(q.db_id for q in todo):
        s = rt.index(db_id)
        _say(f"indexed {db_id}: {s.embedded} documents embedded, {s.skipped} unchanged ({s.seconds:.1f} s)")
    pipeline = AskPipeline(rt) if todo else None
    warm_up_s: dict[str, float | None] = {}
    started = time.time()
    correct = sum(r["match"] for r in records.values())
    with (out_dir / PREDICTIONS).open("a") as out, tqdm(
        total=len(questions), initial=len(records), desc=f"{spec.set} [{spec.config.name}]", unit="q",
        file=sys.stderr, disable=not show_progress, dynamic_ncols=True,
    ) as bar:
        for q in todo:
            if q.db_id not in warm_up_s:
                warm_up_s[q.db_id] = _warm_up(pipeline, q.db_id)
            record = evaluate_question(pipeline, rt, q, spec.config)
            out.write(json.dumps(record) + "\n")
            out.flush()
            records[q.id] = record
            correct += record["match"]
            bar.update()
            bar.set_postfix(acc=f"{correct / len(records):.1%}")

    ordered = [records[q.id] for q in questions]
    metrics = _metrics(spec, rt, ordered, warm_up_s, time.time() - started, code)
    (out_dir / METRICS).write_text(json.dumps(metrics, indent=2) + "\n")
    write_official(out_dir, ordered)
    write_report(out_dir, metrics, ordered)
    return metrics


def _metrics(
    spec: RunSpec,
    rt: Runtime,
    records: list[dict[str, Any]],
    warm_up_s: dict[str, float | None],
    seconds: float,
    code: dict[str, Any],
) -> dict[str, Any]:
    """The records' metrics, with what they depend on: configuration, model file, the commit that answered."""
    secrets = {"databases": True, "api_key": True, "qdrant_api_key": True,
               "llm": {"api_key"}, "escalation": {"api_key"}}  # an OpenAI-compatible server's key
    settings = rt.settings.model_dump(mode="json", exclude=secrets)
    return {
        "run": {**spec.model_dump(exclude={"config", "question_ids"}), "questions": len(records),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "seconds_this_session": round(seconds, 1),
                "warm_up_s": warm_up_s},
        "config": {"name": spec.config.name, "ask": spec.config.ask.model_dump(), "settings": settings},
        "model": model_identity(rt.settings.llm),
        **({"escalation_model": model_identity(rt.settings.escalation)} if rt.settings.escalation else {}),
        # what the backends say of themselves now: seed, and a server's speculative acceptance rate so far
        "backend": rt.llm.health() if rt.llm_loaded else None,
        "decoding": "greedy (temperature 0): the seed does not change answers",
        "git": code,
        **compute_metrics(records),
    }


def evaluate_question(pipeline: AskPipeline, rt: Runtime, q: Question, config: EvalConfig) -> dict[str, Any]:
    """One question's record. Whatever fails (model, pipeline, database) is this question's failure only."""
    record: dict[str, Any] = {
        "id": q.id, "position": q.position, "db_id": q.db_id, "hardness": q.hardness, "question": q.question,
        "gold": q.gold, "predicted": None, "executed_sql": None, "match": 0, "category": None, "error": None,
        "attempts": [], "timings": {}, "tokens": {"prompt": 0, "cached": 0, "generated": 0}, "context": None,
        "recall": None, "row_count": None, "gold_row_count": None,
    }
    try:  # first: a record whose gold query fails cannot be scored, so the model is not asked
        gold = rt.database(q.db_id).execute(q.gold, MAX_COMPARED_ROWS, rt.settings.query_timeout_s)
    except DatabaseError as exc:
        return record | {"category": "gold_error", "error": f"gold query failed: {exc}"}
    record["gold_row_count"] = gold.row_count
    try:
        result = pipeline.ask(q.question, q.db_id, max_rows=MAX_COMPARED_ROWS, whole_schema=config.ask.whole_schema,
                              use_examples=config.ask.use_examples)
    except Exception as exc:  # a crash of the model or the pipeline: recorded, the run goes on
        return record | {"category": "crash", "error": f"{type(exc).__name__}: {exc}"}
    record |= {
        "predicted": result.attempts[-1].sql if result.attempts else None,
        "executed_sql": result.sql if result.executed else None,
        "error": result.error,
        "attempts": [a.model_dump() for a in result.attempts],
        "timings": result.timings,
        "tokens": result.tokens.model_dump(),
        "context": result.context.model_dump(),
        "recall": retrieval_recall(q.gold, result.context.prompt_tables, rt.catalog(q.db_id)),
        "row_count": result.row_count if result.executed else None,
        "model": result.model,
        "escalated": result.escalated,
        "candidates_agreeing": result.candidates_agreeing,
    }
    if not result.executed or result.error:
        return record | {"category": result.error_kind or "no_sql"}
    predicted = QueryResult(result.columns, result.rows, result.row_count, result.truncated)
    match = results_match(gold, predicted, order_matters(q.gold))
    return record | {"match": int(match), "category": "correct" if match else "wrong_rows"}


def retrieval_recall(gold_sql: str, prompt_tables: list[str], catalog: SchemaCatalog) -> dict[str, Any] | None:
    """Did the prompt carry the gold tables, and the gold columns among those tables' columns?"""
    try:
        tables, columns = gold_tables(gold_sql), gold_columns(gold_sql)
    except sqlglot.errors.SqlglotError:
        return None
    seen_tables = {t.lower() for t in prompt_tables}
    seen_columns = {c.name.lower() for t in prompt_tables if t in catalog.tables for c in catalog.tables[t].columns}
    return {"tables": tables <= seen_tables, "columns": columns <= seen_columns,
            "missing": sorted(tables - seen_tables) + sorted(columns - seen_columns)}


def read_records(path: Path) -> dict[str, dict[str, Any]]:
    """The records already written; a last line cut off by an interruption is dropped (and its question
    asked again)."""
    if not path.is_file():
        return {}
    text = path.read_text()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
        path.write_text(text)
    return {r["id"]: r for r in map(json.loads, text.splitlines())}


def write_official(out_dir: Path, records: list[dict[str, Any]]) -> None:
    """Spider's own evaluator's inputs: one predicted SQL per line in the set's order, and `gold<TAB>db`."""
    ordered = sorted(records, key=lambda r: r["position"])
    # the SQL whose rows were scored (after the column repair, as run), else the model's last attempt
    (out_dir / OFFICIAL_PREDICTIONS).write_text(
        "".join(f"{one_line(r['executed_sql'] or r['predicted']) or 'SELECT'}\n" for r in ordered))
    (out_dir / OFFICIAL_GOLD).write_text("".join(f"{one_line(r['gold'])}\t{r['db_id']}\n" for r in ordered))


def _claim(out_dir: Path, spec: RunSpec) -> None:
    path = out_dir / SPEC_FILE
    if path.is_file():
        held = RunSpec.model_validate_json(path.read_text())
        if held != spec:
            differ = [k for k in RunSpec.model_fields if getattr(held, k) != getattr(spec, k)]
            raise RunMismatch(f"{out_dir} holds another run (differs in: {', '.join(differ)}); "
                              "choose another --out, or repeat that run's options to resume it")
        return
    path.write_text(spec.model_dump_json(indent=2) + "\n")


def _warm_up(pipeline: AskPipeline, db_id: str) -> float | None:
    """Seconds to evaluate the database's stable prompt prefix (or load it, saved by an earlier run), once, so
    latencies are the service's warm ones; a failure here is left for the questions to record."""
    started = time.perf_counter()
    try:
        pipeline.warm_up(db_id)
    except Exception as exc:
        _say(f"warm-up of {db_id} failed: {type(exc).__name__}: {exc}")
        return None
    return round(time.perf_counter() - started, 2)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)

