"""The eval harness end to end with the real model, embedder, Qdrant and Spider databases: a 20-question
slice over two databases leaves a complete run folder whose metrics agree with its predictions; an
interrupted run resumes without redoing finished questions; a crashing model or a broken gold query is one
failed question, not a failed run. No accuracy threshold: that is what the harness measures."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval import execution_match
from eval.config import load_config
from eval.metrics import compute_metrics
from eval.runner import METRICS, OFFICIAL_GOLD, OFFICIAL_PREDICTIONS, PREDICTIONS, RunSpec, build_settings, run_eval
from eval.sets import BenchmarkSet, load_set
from service.llm.factory import build_llm
from service.runtime import Runtime
from service.settings import Settings
from tests.conftest import DATA, require_data

pytestmark = pytest.mark.slow
DATABASES, LIMIT = ["concert_singer", "pets_1"], 20


@pytest.fixture(scope="module")
def llm():
    return build_llm(Settings())  # the packaged 1.5B model, loaded once for the module


def runtime(bench: BenchmarkSet, spec: RunSpec, home: Path, llm, embedder) -> Runtime:
    db_ids = list(dict.fromkeys(q.db_id for q in bench.questions if q.id in set(spec.question_ids)))
    config = spec.config.model_copy(update={"settings": {"home": home}})
    return Runtime(build_settings(bench, db_ids, config), llm=llm, embedder=embedder)  # shared, loaded once


def spider_spec(bench: BenchmarkSet) -> RunSpec:
    questions = bench.select(DATABASES, LIMIT)
    return RunSpec(set="spider", data=str(DATA), dbs=DATABASES, limit=LIMIT, config=load_config([], None),
                   question_ids=[q.id for q in questions])


@pytest.fixture(scope="module")
def spider_run(tmp_path_factory: pytest.TempPathFactory, llm, embedder) -> tuple[Path, BenchmarkSet, RunSpec]:
    require_data()
    bench = load_set(DATA, "spider")
    spec = spider_spec(bench)
    out = tmp_path_factory.mktemp("run") / "spider-slice"
    rt = runtime(bench, spec, tmp_path_factory.mktemp("home"), llm, embedder)
    try:
        run_eval(bench, spec, out, rt, show_progress=False)
    finally:
        rt.close()
    return out, bench, spec


def records_of(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / PREDICTIONS).read_text().splitlines()]


def test_run_folder_is_complete(spider_run) -> None:
    out, _, spec = spider_run
    for name in ("run.json", PREDICTIONS, METRICS, "report.md", OFFICIAL_PREDICTIONS, OFFICIAL_GOLD,
                 "accuracy_by_hardness.png", "latency.png"):
        assert (out / name).stat().st_size > 0, name
    records = records_of(out)
    assert sorted(r["id"] for r in records) == sorted(spec.question_ids)
    assert {r["db_id"] for r in records} == set(DATABASES)
    for r in records:
        assert {"question", "gold", "predicted", "match", "error", "attempts", "timings", "context"} <= set(r)
        assert r["category"] != "crash", r["error"]
        assert r["context"]["prompt_tables"], r["id"]
    # the official format: one line per question, in the set's order, beside the gold file
    by_position = sorted(records, key=lambda r: r["position"])
    predicted = (out / OFFICIAL_PREDICTIONS).read_text().splitlines()
    gold = (out / OFFICIAL_GOLD).read_text().splitlines()
    assert len(predicted) == len(gold) == LIMIT
    assert [g.split("\t")[1] for g in gold] == [r["db_id"] for r in by_position]
    # the SQL whose rows were scored: what ran (repaired where the repair applied), else the last attempt
    scored = [r["executed_sql"] or r["predicted"] for r in by_position]
    assert [p for p, sql in zip(predicted, scored, strict=True) if sql] == [" ".join(s.split()) for s in scored if s]
    assert any(r["executed_sql"] for r in by_position)
    assert "Execution accuracy" in (out / "report.md").read_text()


def test_metrics_agree_with_predictions(spider_run) -> None:
    out, bench, _ = spider_run
    records = sorted(records_of(out), key=lambda r: r["position"])
    metrics = json.loads((out / METRICS).read_text())
    recomputed = compute_metrics(records)
    assert {k: metrics[k] for k in recomputed} == json.loads(json.dumps(recomputed))
    # and by hand, independently of compute_metrics
    assert metrics["accuracy"]["correct"] == sum(r["match"] for r in records)
    assert metrics["accuracy"]["total"] == LIMIT
    assert sum(metrics["categories"].values()) == LIMIT
    assert metrics["categories"].get("correct", 0) == metrics["accuracy"]["correct"]
    assert sum(g["total"] for g in metrics["accuracy_by_db"].values()) == LIMIT
    assert sum(g["correct"] for g in metrics["accuracy_by_hardness"].values()) == metrics["accuracy"]["correct"]
    assert metrics["tokens"]["total"]["prompt"] == sum(r["tokens"]["prompt"] for r in records)
    assert metrics["model"]["sha256"] and metrics["git"]["commit"] and metrics["config"]["name"] == "default"
    # each verdict is the public scoring function's verdict on the SQL that ran: the model's, after the
    # deterministic repairs (a second, independent path)
    for r in records:
        if r["category"] in ("correct", "wrong_rows"):
            path = bench.database_path(r["db_id"])
            ran = r["attempts"][-1]["repaired_sql"] or r["predicted"]
            assert execution_match(ran, r["gold"], path) == r["match"], r["id"]


def test_interrupted_run_resumes_without_redoing_finished_questions(spider_run, tmp_path: Path, llm,
                                                                    embedder) -> None:
    out, bench, spec = spider_run
    resumed = tmp_path / "resumed"
    shutil.copytree(out, resumed)
    for name in (METRICS, "report.md"):
        (resumed / name).unlink()
    lines = (resumed / PREDICTIONS).read_text().splitlines(keepends=True)
    kept = lines[:-1]
    (resumed / PREDICTIONS).write_text("".join(kept) + lines[-1][:40])  # killed while writing a record
    rt = runtime(bench, spec, tmp_path / "home", llm, embedder)
    try:
        metrics = run_eval(bench, spec, resumed, rt, show_progress=False)
    finally:
        rt.close()
    after = (resumed / PREDICTIONS).read_text().splitlines(keepends=True)
    assert after[: len(kept)] == kept  # finished questions untouched
    assert sorted(json.loads(line)["id"] for line in after) == sorted(spec.question_ids)
    assert metrics["accuracy"]["total"] == LIMIT
    assert list(metrics["run"]["warm_up_s"]) == [DATABASES[-1]]  # only the redone question's database


class CrashingModel:
    """The real model, except that it fails on questions that ask it to (a crash inside the model)."""

    def __init__(self, real) -> None:
        self.real, self.name, self.capabilities = real, real.name, real.capabilities

    def __getattr__(self, name: str):  # everything but complete() is the real model's
        return getattr(self.real, name)

    def complete(self, system, user, prefill="", stop=None, max_tokens=256, on_token=None):
        if "CRASH" in user.rsplit("Question:", 1)[-1]:
            raise RuntimeError("llama_decode returned -3")
        return self.real.complete(system, user, prefill, stop, max_tokens, on_token)


def test_failures_are_recorded_and_the_run_goes_on(tmp_path: Path, llm, embedder) -> None:
    """A set of our own, laid out like shared/data (--data may point at any such folder)."""
    require_data()
    data = tmp_path / "data"
    (data / "mine" / "database" / "singers").mkdir(parents=True)
    with sqlite3.connect(data / "mine" / "database" / "singers" / "singers.sqlite") as target, sqlite3.connect(
            DATA / "spider" / "database" / "concert_singer" / "concert_singer.sqlite") as source:
        source.backup(target)
    questions = [
        {"id": "q-crash", "db_id": "singers", "question": "CRASH: how many singers?", "query": "SELECT 1"},
        {"id": "q-broken-gold", "db_id": "singers", "question": "How many singers are there?",
         "query": "SELECT nope FROM singer"},
        {"id": "q-ok", "db_id": "singers", "question": "How many singers are there?",
         "query": "SELECT count(*) FROM singer"},
    ]
    (data / "mine" / "dev.json").write_text(json.dumps(questions))
    bench = load_set(data, "mine")
    spec = RunSpec(set="mine", data=str(data), dbs=[], limit=None, config=load_config(["no-self-correction"], None),
                   question_ids=[q.id for q in bench.select()])
    rt = runtime(bench, spec, tmp_path / "home", CrashingModel(llm), embedder)
    try:
        metrics = run_eval(bench, spec, tmp_path / "run", rt, show_progress=False)
    finally:
        rt.close()
    by_id = {r["id"]: r for r in records_of(tmp_path / "run")}
    assert by_id["q-crash"]["category"] == "crash" and "llama_decode" in by_id["q-crash"]["error"]
    assert by_id["q-broken-gold"]["category"] == "gold_error" and not by_id["q-broken-gold"]["attempts"]
    assert by_id["q-ok"]["category"] in ("correct", "wrong_rows")  # answered and compared
    assert metrics["categories"]["crash"] == metrics["categories"]["gold_error"] == 1
    assert metrics["accuracy_by_hardness"]["unknown"]["total"] == 3  # no Spider labels for our own questions


def test_compare_lists_questions_that_flipped(spider_run, tmp_path: Path) -> None:
    from ragsql import app  # the command with its eval sub-commands

    out, _, _ = spider_run
    other = tmp_path / "other"
    shutil.copytree(out, other)
    records = records_of(other)
    records[0]["match"], records[0]["category"] = 1 - records[0]["match"], "flipped"
    (other / PREDICTIONS).write_text("".join(json.dumps(r) + "\n" for r in records))
    result = CliRunner().invoke(app, ["eval", "compare", str(out), str(other)])
    assert result.exit_code == 0, result.output
    direction = "Right in B only (1)" if records[0]["match"] else "Right in A only (1)"
    assert direction in result.output and records[0]["id"] in result.output
    assert f"{'+' if records[0]['match'] else '-'}{100 / LIMIT:.1f} pt" in result.output
