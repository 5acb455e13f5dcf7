"""A run's metrics, computed from its prediction records alone: metrics.json can always be checked against
(or rebuilt from) predictions.jsonl."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from eval.sets import HARDNESS_LEVELS

STAGES = ("retrieve", "prompt", "generate", "validate", "execute")
# Why a question is counted wrong; "correct" aside, the pipeline's error kinds come first.
CATEGORIES = (
    "correct", "wrong_rows", "no_sql", "parse", "unknown_identifier", "refused", "runtime", "timeout",
    "crash", "gold_error",
)
Record = dict[str, Any]


def compute_metrics(records: list[Record]) -> dict[str, Any]:
    return {
        "accuracy": accuracy(records),
        "accuracy_by_hardness": {
            level: accuracy(group) for level, group in grouped(records, "hardness", HARDNESS_LEVELS).items()
        },
        "accuracy_by_db": {db: accuracy(group) for db, group in grouped(records, "db_id").items()},
        "categories": _categories(records),
        "self_correction": _self_correction(records),
        "retrieval_recall": _recall(records),
        "latency_s": _latency(records),
        "tokens": _tokens(records),
        "escalation": _escalation(records),
        "candidates": _candidates(records),
        "recheck": _recheck(records),
    }


def _candidates(records: list[Record]) -> dict[str, Any] | None:
    """With several candidates per question: how often they agreed, and accuracy when they did and did not."""
    voted = [r for r in records if r.get("candidates_agreeing") is not None]
    if not voted:
        return None
    most = max(r["candidates_agreeing"] for r in voted)
    unanimous = [r for r in voted if r["candidates_agreeing"] == most]
    split = [r for r in voted if r["candidates_agreeing"] < most]
    mean = float(np.mean([r["candidates_agreeing"] for r in voted]))
    return {"questions": len(voted), "mean_agreeing": round(mean, 2), "all_agree": accuracy(unanimous),
            "split": accuracy(split)}


def _recheck(records: list[Record]) -> dict[str, Any]:
    """Answers that ran but were doubted (no rows, only NULLs, split candidates) and got one more attempt."""
    doubted = [r for r in records if any(a.get("doubt") for a in r["attempts"])]
    reasons = Counter(next(a["doubt"] for a in r["attempts"] if a.get("doubt")).split(".")[0] for r in doubted)
    return {"count": len(doubted), "reasons": dict(reasons), "accuracy": accuracy(doubted)["accuracy"]}


def _escalation(records: list[Record]) -> dict[str, Any]:
    """How many questions went to the escalation model, why, and how those ended."""
    escalated = [r for r in records if r.get("escalated")]
    reasons = Counter(r["escalated"].split(":")[0] for r in escalated)
    return {"share": round(len(escalated) / len(records), 4) if records else None, "count": len(escalated),
            "reasons": dict(reasons), "accuracy": accuracy(escalated)["accuracy"],
            "answered_by": dict(Counter(r.get("model") for r in records))}


def accuracy(records: list[Record]) -> dict[str, Any]:
    correct = sum(r["match"] for r in records)
    return {"accuracy": round(correct / len(records), 4) if records else None, "correct": correct,
            "total": len(records)}


def grouped(records: list[Record], key: str, order: tuple[str, ...] = ()) -> dict[str, list[Record]]:
    """Records by their `key` value: the values of `order` first, then the others sorted."""
    groups: dict[str, list[Record]] = {}
    for r in records:
        groups.setdefault(r[key], []).append(r)
    first = [k for k in order if k in groups]
    return {k: groups[k] for k in first + sorted(set(groups) - set(first))}


def _categories(records: list[Record]) -> dict[str, int]:
    counts = Counter(r["category"] for r in records)
    return {c: counts[c] for c in (*CATEGORIES, *sorted(set(counts) - set(CATEGORIES))) if counts[c]}


def _self_correction(records: list[Record]) -> dict[str, Any]:
    """How often a first attempt failed (error, not wrong rows: those are not seen) and was tried again;
    'fixed' ended in SQL that ran, 'rescued' in the right rows, 'repeated' retries wrote the same SQL again."""
    retried = [r for r in records if len(r["attempts"]) > 1]
    by_first_error: dict[str, dict[str, int]] = {}
    for r in retried:
        entry = by_first_error.setdefault(r["attempts"][0]["error_kind"] or "none",
                                          {"retried": 0, "fixed": 0, "rescued": 0})
        entry["retried"] += 1
        entry["fixed"] += r["category"] in ("correct", "wrong_rows")
        entry["rescued"] += r["match"]
    return {
        "retried": len(retried),
        "rate": round(len(retried) / len(records), 4) if records else None,
        "fixed": sum(e["fixed"] for e in by_first_error.values()),
        "rescued": sum(e["rescued"] for e in by_first_error.values()),
        "repeated": sum(1 for r in retried if r["attempts"][-1]["sql"] == r["attempts"][-2]["sql"]),
        "rescued_ids": [r["id"] for r in retried if r["match"]],
        "by_first_error": by_first_error,
    }


def _recall(records: list[Record]) -> dict[str, Any]:
    """Were the gold tables (and columns) in what the model saw? Questions whose gold SQL sqlglot cannot
    read, or that crashed before a prompt, are left out."""
    scored = [r["recall"] for r in records if r.get("recall")]
    tables = sum(s["tables"] for s in scored)
    columns = sum(s["columns"] for s in scored)
    return {
        "questions": len(scored),
        "tables": round(tables / len(scored), 4) if scored else None,
        "columns": round(columns / len(scored), 4) if scored else None,
        "wrong_with_tables_missing": sum(1 for r in records if r.get("recall") and not r["recall"]["tables"]
                                         and not r["match"]),
    }


def _latency(records: list[Record]) -> dict[str, dict[str, float]]:
    series = {stage: [r["timings"][stage] for r in records if stage in r["timings"]] for stage in STAGES}
    series["total"] = [sum(r["timings"].values()) for r in records if r["timings"]]
    return {
        stage: {"p50": round(float(np.percentile(values, 50)), 4), "p95": round(float(np.percentile(values, 95)), 4),
                "mean": round(float(np.mean(values)), 4), "n": len(values)}
        for stage, values in series.items() if values
    }


def _tokens(records: list[Record]) -> dict[str, Any]:
    kinds = ("prompt", "cached", "generated", "drafted", "accepted")
    totals = {kind: sum(r["tokens"].get(kind, 0) for r in records) for kind in kinds}
    per_question = {kind: round(total / len(records), 1) if records else None for kind, total in totals.items()}
    acceptance = round(totals["accepted"] / totals["drafted"], 4) if totals["drafted"] else None
    return {"total": totals, "per_question": per_question, "draft_acceptance": acceptance}
