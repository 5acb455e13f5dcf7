"""report.md and its plots (accuracy by hardness, latency distribution), from metrics and records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt

from eval.metrics import STAGES

REPORT, HARDNESS_PLOT, LATENCY_PLOT = "report.md", "accuracy_by_hardness.png", "latency.png"
SHOWN_FAILURES = 15


def write_report(out_dir: Path, metrics: dict[str, Any], records: list[dict[str, Any]]) -> None:
    plot_accuracy_by_hardness(metrics, out_dir / HARDNESS_PLOT)
    plot_latency(records, out_dir / LATENCY_PLOT)
    (out_dir / REPORT).write_text(render_report(metrics, records))


def one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def accuracy_row(label: str, acc: dict[str, Any]) -> str:
    return f"| {label} | {percent(acc['accuracy'])} | {acc['correct']}/{acc['total']} |"


def render_report(metrics: dict[str, Any], records: list[dict[str, Any]]) -> str:
    run, config, model = metrics["run"], metrics["config"], metrics["model"]
    ask = ", ".join(f"{k}={v}" for k, v in config["ask"].items())
    commit = metrics["git"]["commit"] or "unknown"
    lines = [
        f"# Eval: {run['set']} [{config['name']}]",
        "",
        f"{run['questions']} questions on {len(metrics['accuracy_by_db'])} databases "
        f"(limit {run['limit']}, databases {', '.join(run['dbs']) or 'all'}); model {model.get('file', model['name'])} "
        f"(sha256 {str(model.get('sha256'))[:12]}); ask options {ask}; commit {commit[:10]}"
        f"{' (dirty)' if metrics['git']['dirty'] else ''}.",
        "",
        f"**Execution accuracy: {percent(metrics['accuracy']['accuracy'])}** "
        f"({metrics['accuracy']['correct']}/{metrics['accuracy']['total']})",
        "",
        "| hardness | accuracy | correct |", "|---|---|---|",
        *(accuracy_row(level, acc) for level, acc in metrics["accuracy_by_hardness"].items()),
        "",
        f"![accuracy by hardness]({HARDNESS_PLOT})",
        "",
        "| database | accuracy | correct |", "|---|---|---|",
        *(accuracy_row(db, acc) for db, acc in metrics["accuracy_by_db"].items()),
        "",
        "## Outcomes", "",
        "| category | questions |", "|---|---|",
        *(f"| {category} | {n} |" for category, n in metrics["categories"].items()),
        "",
        *_self_correction_lines(metrics["self_correction"]),
        "## Retrieval recall", "",
        f"Gold tables all in the prompt: {percent(metrics['retrieval_recall']['tables'])}; gold columns all "
        f"among the prompt tables' columns: {percent(metrics['retrieval_recall']['columns'])} "
        f"({metrics['retrieval_recall']['questions']} questions scored); wrong answers with a gold table missing: "
        f"{metrics['retrieval_recall']['wrong_with_tables_missing']}.",
        "",
        "## Latency and tokens", "",
        "| stage | p50 s | p95 s | mean s |", "|---|---|---|---|",
        *(f"| {stage} | {v['p50']:.3f} | {v['p95']:.3f} | {v['mean']:.3f} |"
          for stage, v in metrics["latency_s"].items()),
        "",
        f"![latency]({LATENCY_PLOT})",
        "",
        "| tokens | total | per question |", "|---|---|---|",
        *(f"| {kind} | {total} | {metrics['tokens']['per_question'][kind]} |"
          for kind, total in metrics["tokens"]["total"].items()),
        "",
        *_failure_lines(records),
    ]
    return "\n".join(lines) + "\n"


def _self_correction_lines(sc: dict[str, Any]) -> list[str]:
    lines = [
        "## Self-correction", "",
        f"Retried {sc['retried']} questions ({percent(sc['rate'])}); the retry ran for {sc['fixed']} and "
        f"gave the right rows for {sc['rescued']}; {sc['repeated']} retries repeated the failed SQL word for word.",
        "",
    ]
    if sc["by_first_error"]:
        lines += ["| first error | retried | ran | right |", "|---|---|---|---|",
                  *(f"| {kind} | {e['retried']} | {e['fixed']} | {e['rescued']} |"
                    for kind, e in sc["by_first_error"].items()), ""]
    return lines


def _failure_lines(records: list[dict[str, Any]]) -> list[str]:
    failures = [r for r in records if not r["match"]][:SHOWN_FAILURES]
    if not failures:
        return []
    lines = [f"## First {len(failures)} failures", "", "| id | category | question | predicted | gold |",
             "|---|---|---|---|---|"]
    for r in failures:
        cells = [r["id"], r["category"], r["question"], r["predicted"] or "-", r["gold"]]
        lines.append("| " + " | ".join(one_line(c).replace("|", "\\|") for c in cells) + " |")
    return [*lines, ""]


def plot_accuracy_by_hardness(metrics: dict[str, Any], path: Path) -> None:
    groups = metrics["accuracy_by_hardness"]
    labels = [*groups, "overall"]
    values = [(g["accuracy"] or 0) * 100 for g in groups.values()] + [(metrics["accuracy"]["accuracy"] or 0) * 100]
    counts = [f"{g['correct']}/{g['total']}" for g in groups.values()] + [
        f"{metrics['accuracy']['correct']}/{metrics['accuracy']['total']}"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bars = ax.bar(labels, values, color=["#4c72b0"] * len(groups) + ["#55a868"])
    ax.bar_label(bars, labels=counts, fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("execution accuracy (%)")
    ax.set_title(f"{metrics['run']['set']} [{metrics['config']['name']}]")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(records: list[dict[str, Any]], path: Path) -> None:
    totals = [sum(r["timings"].values()) for r in records if r["timings"]]
    stages = [s for s in STAGES if any(s in r["timings"] for r in records)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.hist(totals or [0], bins=30, color="#4c72b0")
    left.set_xlabel("seconds per question")
    left.set_ylabel("questions")
    left.set_title("total latency")
    if stages:
        # clipped at 0.1 ms: a log scale shows both the model's seconds and the database's milliseconds
        right.boxplot([[max(r["timings"][s], 1e-4) for r in records if s in r["timings"]] for s in stages])
        right.set_xticks(range(1, len(stages) + 1), stages)
    right.set_yscale("log")
    right.set_ylabel("seconds (log scale)")
    right.set_title("per stage")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
